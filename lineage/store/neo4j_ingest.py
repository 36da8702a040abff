"""The Neo4j store's writes at volume: batched ``UNWIND`` upserts grouped by label or type, and
deletion in bounded statements.

Throughput comes from few, large statements of up to ``UNWIND_ROWS`` rows, grouped by label or
relationship type (query text, not parameters): one statement per node kind; one statement per
chunk of edges, with one MERGE subquery per type present. Nothing is looked up twice: a node
MERGE is one seek of the ``node_id`` constraint's index, an edge's ends one seek each, in the
statement that writes the edge (see ``cypher.UPSERT_EDGES_TEMPLATE``). The transaction is the
caller's: one managed transaction per call, or the caller's ``transaction()`` scope
(``bulk.load`` makes one per batch of ``DEFAULT_BATCH`` items, its audit event included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, LiteralString

from lineage.errors import LineageError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import to_text, utcnow
from lineage.store import cypher
from lineage.store.neo4j_rows import edge_row, node_row
from lineage.store.neo4j_session import Tx, rows

# Rows per UNWIND statement. Each statement is one round trip and one plan-cache hit; larger
# ones amortise both but hold their rows (and, for edges, the matched ends) in the server's
# query memory. 5,000 rows of our size are a few MB. Tune with the benchmark on a real server
# (`LINEAGE_BENCH_NEO4J_URI=... python -m bench.store_bench`): raise it while batch ingest
# nodes+edges/s still rises, and stay well under `db.memory.transaction.max`.
UNWIND_ROWS = 5_000
# IDs per DETACH DELETE statement. The transaction stays the caller's (retention deletes one
# chunk of batches per transaction, atomic with its audit event); outside a scope each slice
# of this size is its own transaction, so no delete of any size holds one unbounded transaction.
DELETE_ROWS = 1_000

Batches = list[tuple[LiteralString, list[dict[str, Any]]]]


def _slices(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def node_batches(nodes: Sequence[Node]) -> Batches:
    """One (statement, rows) per node kind, in kind order, split at UNWIND_ROWS."""
    now = to_text(utcnow())
    by_kind: dict[NodeKind, list[dict[str, Any]]] = {}
    for n in nodes:
        by_kind.setdefault(n.kind, []).append(node_row(n, now))
    return [
        (cypher.upsert_nodes_query(kind), chunk)
        for kind, kind_rows in sorted(by_kind.items())
        for chunk in _slices(kind_rows, UNWIND_ROWS)
    ]


def write_nodes(batches: Batches) -> Callable[[Tx], None]:
    """The unit of work writing ``node_batches``."""

    def work(tx: Tx) -> None:
        for query, chunk in batches:
            tx.run(query, rows=chunk).consume()

    return work


def edge_batches(edges: Sequence[Edge]) -> Batches:
    """Statements of up to UNWIND_ROWS edges, each writing every kind its rows have (so a call
    of up to UNWIND_ROWS edges, registrations included, is one statement: all or nothing)."""
    ordered = sorted(edges, key=lambda e: e.kind.value)
    batches: Batches = []
    for chunk in _slices(ordered, UNWIND_ROWS):
        kinds: list[EdgeKind] = sorted({e.kind for e in chunk}, key=lambda k: k.value)
        group = {kind: i for i, kind in enumerate(kinds)}
        batches.append(
            (
                cypher.upsert_edges_query(*kinds),
                [{**edge_row(e), "group": group[e.kind]} for e in chunk],
            )
        )
    return batches


def write_edges(batches: Batches, doom: Callable[[LineageError], None]) -> Callable[[Tx], None]:
    """The unit of work writing ``edge_batches``: NOT_FOUND naming the missing ends of the
    first statement that has any, nothing of that statement written. When an earlier statement
    of the call had written, ``doom`` hears of it: the enclosing transaction must roll back (a
    managed one does as the error leaves it)."""

    def work(tx: Tx) -> None:
        for done, (query, chunk) in enumerate(batches):
            result = rows(tx, query, rows=chunk)[0]
            missing = sorted(set(result["missing"]))
            if missing:
                error = NotFoundError(
                    f"edge end {missing[0]!r} does not exist",
                    field="edges",
                    details={"missing": missing},
                )
                if done:
                    doom(error)
                raise error
            if result["written"] != len(chunk):  # cannot happen: every end was matched
                error = NotFoundError("an edge end was deleted while writing", field="edges")
                doom(error)
                raise error

    return work


def delete_slices(ids: Sequence[str]) -> list[list[str]]:
    """The IDs to delete, deduplicated in order, in slices of DELETE_ROWS."""
    return list(_slices(list(dict.fromkeys(ids)), DELETE_ROWS))


def delete_work(slices: list[list[str]]) -> Callable[[Tx], int]:
    """The unit of work deleting ``slices`` (nodes and every edge touching them)."""

    def work(tx: Tx) -> int:
        return sum(int(rows(tx, cypher.DELETE_NODES, ids=ids)[0]["deleted"]) for ids in slices)

    return work
