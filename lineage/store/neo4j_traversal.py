"""The Neo4j store's bounded walk: one statement (``cypher.traverse_query``, a breadth-first
search unrolled by levels that stops reading when the budget is spent), read into a Subgraph
with the same answer as the SQLite reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import neo4j

from lineage.errors import NotFoundError, UnavailableError
from lineage.model.graph import Subgraph
from lineage.store import cypher
from lineage.store.base import TraversalSpec
from lineage.store.neo4j_rows import edge, edge_key, node, opt_text
from lineage.store.neo4j_session import Tx, rows

_T = TypeVar("_T")
Runner = Callable[[Callable[[Tx], _T]], _T]


def walk_parameters(spec: TraversalSpec) -> dict[str, Any]:
    """The parameters of ``cypher.traverse_query`` for ``spec``."""
    return {
        "start": spec.start,
        "at": opt_text(spec.as_of),
        "max_nodes": spec.max_nodes,
        "node_kinds": sorted(k.value for k in spec.node_kinds)
        if spec.node_kinds is not None
        else None,
    }


def traverse(
    read: Runner[tuple[list[neo4j.Record], list[neo4j.Record]]], uri: str, spec: TraversalSpec
) -> Subgraph:
    """Walk ``spec`` through ``read`` (one read transaction: the walk, plus a look at the start
    only when the walk found no start)."""
    follows_nothing = spec.edge_kinds is not None and not spec.edge_kinds
    statement = (
        cypher.START_NODE
        if follows_nothing
        else cypher.traverse_query(spec.direction, spec.edge_kinds, spec.max_depth)
    )
    params = walk_parameters(spec)

    def work(tx: Tx) -> tuple[list[neo4j.Record], list[neo4j.Record]]:
        found = rows(tx, statement, **params)
        if found or follows_nothing:
            return found, []
        # No row: the start is missing or too young. Only this failure path asks again.
        return found, rows(tx, cypher.START_NODE, start=spec.start)

    walked, start_rows = read(work)
    if follows_nothing:  # following no edge kind: the walk is the start alone
        start_rows, walked = walked, []
    if not walked:
        return _start_alone(uri, spec, start_rows, follows_nothing)
    record = walked[0]
    depths = {record["start"]["id"]: 0}
    reached = [node(record["start"])]
    for depth, level in enumerate(record["levels"], start=1):
        for row in level:
            depths[row["id"]] = depth
            reached.append(node(row))
    reached.sort(key=lambda n: (depths[n.id], n.id))
    return Subgraph(
        nodes=reached,
        edges=[edge(row) for row in sorted(record["edges"], key=edge_key)],
        truncated=bool(record["truncated"]),
        depths={n.id: depths[n.id] for n in reached},
    )


def _start_alone(
    uri: str, spec: TraversalSpec, start_rows: list[neo4j.Record], follows_nothing: bool
) -> Subgraph:
    if not start_rows:
        raise NotFoundError(f"node {spec.start!r} does not exist", field="start")
    at = opt_text(spec.as_of)
    if spec.as_of is not None and at is not None and start_rows[0]["valid_from"] > at:
        raise NotFoundError(
            f"node {spec.start!r} did not exist at {spec.as_of.isoformat()}", field="start"
        )
    if not follows_nothing:  # cannot happen; never answer with a silent partial walk
        raise UnavailableError(
            f"Neo4j at {uri} returned no walk from {spec.start!r}", field="store"
        )
    start = node(start_rows[0])
    return Subgraph(nodes=[start], edges=[], truncated=False, depths={start.id: 0})
