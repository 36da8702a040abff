"""A node's neighbourhood: what the ``impact`` question reaches a few hops upstream and
downstream of it, drawn as a layered provenance graph whose nodes link to their pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lineage.drawing import Drawing, from_subgraph, layered_svg
from lineage.model.graph import Direction, Edge, Node, NodeKind, Subgraph
from lineage.services import investigation
from lineage.store.base import GraphStore

UPSTREAM_DEPTH = 2
DOWNSTREAM_DEPTH = 3  # a feature's page reaches the model versions trained on it
WALK_BUDGET = 150  # nodes per direction: a page stays quick on a million-node graph
DRAWN_NODES = 120


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """The drawing, the node's direct neighbours each way, and whether a walk was cut short."""

    drawing: Drawing
    upstream: list[tuple[Edge, Node]]  # what the node depends on, through which edge
    downstream: list[tuple[Edge, Node]]  # what depends on the node
    truncated: bool
    nodes: int


def neighbourhood(
    store: GraphStore,
    node_id: str,
    href: Callable[[str], str | None],
    *,
    show_credentials: bool = False,
    budget: int = WALK_BUDGET,
) -> Neighbourhood:
    """Walk both ways from ``node_id`` through the ``impact`` question and draw the result.

    ``href`` maps an ID to its page. Credentials are left out unless ``show_credentials``
    (the API shows them to compliance and admin only).
    """
    up = investigation.impact(store, node_id, Direction.OUT, UPSTREAM_DEPTH, max_nodes=budget)
    down = investigation.impact(store, node_id, Direction.IN, DOWNSTREAM_DEPTH, max_nodes=budget)
    nodes: dict[str, Node] = {}
    for node in (*up.nodes, *down.nodes):
        if show_credentials or node.kind is not NodeKind.CREDENTIAL:
            nodes.setdefault(node.id, node)
    edges: dict[str, Edge] = {}
    for edge in (*up.edges, *down.edges):
        if edge.src in nodes and edge.dst in nodes:
            edges.setdefault(edge.key, edge)
    truncated = up.truncated or down.truncated
    merged = Subgraph(list(nodes.values()), list(edges.values()), truncated)
    draw_nodes, draw_edges = from_subgraph(merged, focus=node_id, href=href)
    drawing = layered_svg(
        draw_nodes,
        draw_edges,
        title=f"Provenance around {node_id}: upstream left, downstream right",
        max_nodes=DRAWN_NODES,
        truncated=truncated,
    )
    ordered = sorted(edges.values(), key=lambda e: (e.kind.value, e.src, e.dst))
    return Neighbourhood(
        drawing=drawing,
        upstream=[(e, nodes[e.dst]) for e in ordered if e.src == node_id and e.dst != node_id],
        downstream=[(e, nodes[e.src]) for e in ordered if e.dst == node_id and e.src != node_id],
        truncated=truncated or drawing.truncated,
        nodes=len(nodes),
    )
