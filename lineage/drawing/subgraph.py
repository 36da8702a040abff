"""Turn a traversal's :class:`Subgraph` into nodes and edges to draw."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from lineage.drawing.elements import DrawEdge, DrawNode
from lineage.model.graph import Node, Subgraph


def short_time(instant: datetime) -> str:
    """A UTC instant as ``2024-01-22`` at midnight, ``2024-01-25 10:00`` otherwise."""
    utc = instant.astimezone(UTC)
    if (utc.hour, utc.minute, utc.second) == (0, 0, 0):
        return utc.strftime("%Y-%m-%d")
    return utc.strftime("%Y-%m-%d %H:%M")


def node_label(node_id: str) -> str:
    """An ID without its ``kind:`` prefix: ``lending_approval@v12``."""
    return node_id.split(":", 1)[1] if ":" in node_id else node_id


def edge_label(kind: str) -> str:
    """An edge kind as PROV writes relations: ``WAS_GENERATED_BY`` -> ``wasGeneratedBy``."""
    head, *rest = kind.lower().split("_")
    return head + "".join(word.capitalize() for word in rest)


def _detail(node: Node) -> str:
    start = short_time(node.valid_from)
    if node.valid_to is not None:
        return f"{start} → {short_time(node.valid_to)}"
    return start


def from_subgraph(
    subgraph: Subgraph,
    *,
    focus: str | None = None,
    href: Callable[[str], str | None] | None = None,
) -> tuple[list[DrawNode], list[DrawEdge]]:
    """The nodes (labelled without their kind prefix, with their validity as the detail) and
    edges of ``subgraph``, the ``focus`` node marked and each node linked to ``href(id)``.
    Nodes keep the subgraph's order; edges whose ends are not both in it are left out."""
    nodes = [
        DrawNode(
            id=node.id,
            label=node_label(node.id),
            kind=node.kind.value,
            detail=_detail(node),
            href=href(node.id) if href is not None else None,
            focus=node.id == focus,
        )
        for node in subgraph.nodes
    ]
    present = {node.id for node in subgraph.nodes}
    edges = [
        DrawEdge(edge.src, edge.dst, edge_label(edge.kind.value))
        for edge in subgraph.edges
        if edge.src in present and edge.dst in present
    ]
    return nodes, edges
