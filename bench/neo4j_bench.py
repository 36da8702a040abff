"""Neo4j: the same graph written with the raw driver and walked in raw Cypher, beside the store.

The raw baseline keeps its own copy of the graph under the label ``BenchNode`` (edge kinds as
relationship types, properties as one JSON string) so it never depends on the store's schema.
The store side runs only when the ``lineage.store.neo4j`` backend exists.

The benchmark DELETES EVERY NODE of the database it is pointed at: give it a throwaway server.
Credentials come from the URI (``bolt://user:password@host:7687``) or
``LINEAGE_BENCH_NEO4J_USER`` / ``LINEAGE_BENCH_NEO4J_PASSWORD``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console

from bench import report
from bench.generate import GraphConfig, ProvenanceGraph, chunked
from bench.store_bench import ACTOR, register_actor
from lineage.model.canonical import canonical_json
from lineage.model.graph import Direction, Edge, EdgeKind, Node
from lineage.model.times import to_text, utcnow
from lineage.services.bulk import load
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore, TraversalSpec

if TYPE_CHECKING:
    from neo4j import Driver, ManagedTransaction

    from bench.store_bench import Settings

CONSTRAINT = (
    "CREATE CONSTRAINT bench_node_id IF NOT EXISTS FOR (n:BenchNode) REQUIRE n.id IS UNIQUE"
)
WIPE = "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
UPSERT_NODES = """
UNWIND $rows AS r
MERGE (n:BenchNode {id: r.id})
SET n.kind = r.kind, n.valid_from = r.valid_from, n.valid_to = r.valid_to,
    n.recorded_at = coalesce(n.recorded_at, r.recorded_at), n.props = r.props
"""
# Relationship types cannot be parameters: one constant per EdgeKind, from the enum only.
UPSERT_EDGES: dict[EdgeKind, str] = {
    kind: f"""
UNWIND $rows AS r
MATCH (a:BenchNode {{id: r.src}})
MATCH (b:BenchNode {{id: r.dst}})
MERGE (a)-[e:{kind.value} {{valid_from: r.valid_from}}]->(b)
SET e.valid_to = r.valid_to, e.props = r.props
"""
    for kind in EdgeKind
}
# Breadth-first by shortest path length (Neo4j 5.21+), one level past the depth limit so the
# caller can tell whether the limit cut anything off.
WALK_DOWNSTREAM = """
MATCH (s:BenchNode {id: $start})
MATCH p = ANY SHORTEST (s)<-[]-{1,7}(n:BenchNode)
WITH n.id AS id, length(p) AS depth
ORDER BY depth, id
LIMIT $limit
RETURN id, depth
"""
NODE_ROWS = """
MATCH (n:BenchNode) WHERE n.id IN $ids
RETURN n.id, n.kind, n.valid_from, n.valid_to, n.recorded_at, n.props
"""
EDGE_ROWS = """
MATCH (a:BenchNode)-[e]->(b:BenchNode) WHERE a.id IN $ids AND b.id IN $ids
RETURN a.id, type(e), b.id, e.valid_from, e.valid_to, e.props
"""


def _auth(uri: str) -> tuple[str, tuple[str, str]]:
    parts = urlsplit(uri)
    user = parts.username or os.environ.get("LINEAGE_BENCH_NEO4J_USER", "neo4j")
    password = parts.password or os.environ.get("LINEAGE_BENCH_NEO4J_PASSWORD", "")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, (user, password)


def _write_chunk(tx: ManagedTransaction, nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
    now = to_text(utcnow())
    tx.run(
        UPSERT_NODES,
        rows=[
            {
                "id": n.id,
                "kind": n.kind.value,
                "valid_from": to_text(n.valid_from),
                "valid_to": to_text(n.valid_to) if n.valid_to else None,
                "recorded_at": now,
                "props": canonical_json(n.props),
            }
            for n in nodes
        ],
    ).consume()
    by_kind: dict[EdgeKind, list[dict[str, Any]]] = {}
    for e in edges:
        by_kind.setdefault(e.kind, []).append(
            {
                "src": e.src,
                "dst": e.dst,
                "valid_from": to_text(e.valid_from) if e.valid_from else "",
                "valid_to": to_text(e.valid_to) if e.valid_to else None,
                "props": canonical_json(e.props),
            }
        )
    for kind, rows in by_kind.items():
        tx.run(UPSERT_EDGES[kind], rows=rows).consume()


def _walk(
    tx: ManagedTransaction, start: str, max_depth: int, max_nodes: int
) -> tuple[dict[str, int], bool, list[Any], list[Any]]:
    depths = {start: 0}
    truncated = False
    for record in tx.run(WALK_DOWNSTREAM, start=start, limit=max_nodes + 1):
        if record["depth"] > max_depth or len(depths) == max_nodes:
            truncated = True
            break
        depths[record["id"]] = record["depth"]
    ids = list(depths)
    nodes = list(tx.run(NODE_ROWS, ids=ids))
    edges = list(tx.run(EDGE_ROWS, ids=ids))
    return depths, truncated, nodes, edges


def raw_traverse(driver: Driver, start: str, max_depth: int, max_nodes: int) -> int:
    """One raw-Cypher traversal in one read transaction; returns the node count."""
    with driver.session() as session:
        depths, _, _, _ = session.execute_read(_walk, start, max_depth, max_nodes)
    return len(depths)


def run_neo4j(uri: str, nodes: int, settings: Settings, console: Console) -> dict[str, Any] | str:
    """Ingest and traversal on Neo4j; a string is the reason it was skipped."""
    try:
        from neo4j import GraphDatabase
        from neo4j.exceptions import Neo4jError, ServiceUnavailable
    except ImportError:
        return "neo4j: skipped, the neo4j driver is not installed"
    bare, auth = _auth(uri)
    driver = GraphDatabase.driver(bare, auth=auth, connection_timeout=5)
    try:
        try:
            driver.verify_connectivity()
        except (ServiceUnavailable, Neo4jError, OSError) as exc:
            return f"neo4j: skipped, {bare} did not answer: {exc}"
        console.log(f"neo4j, {nodes:,} nodes: wiping {bare} and loading")
        with driver.session() as session:  # CALL ... IN TRANSACTIONS needs auto-commit
            session.run(WIPE).consume()
        driver.execute_query(CONSTRAINT)
        graph = ProvenanceGraph(GraphConfig(nodes=nodes, seed=settings.seed))
        raw_ns = 0
        for chunk, _ in chunked(graph.items(), settings.batch_size):
            ns = [i for i in chunk if isinstance(i, Node)]
            es = [i for i in chunk if isinstance(i, Edge)]
            started = perf_counter_ns()
            with driver.session() as session:
                session.execute_write(_write_chunk, ns, es)
            raw_ns += perf_counter_ns() - started
        items = graph.counts.nodes + graph.counts.edges
        result: dict[str, Any] = {
            "backend": "neo4j",
            "nodes": graph.counts.nodes,
            "edges": graph.counts.edges,
            "ingest": {
                "raw": {
                    "items": items,
                    "seconds": raw_ns / report.NS_PER_S,
                    "items_per_s": report.rate(items, raw_ns),
                    "note": "raw Cypher UNWIND/MERGE through the driver",
                }
            },
            "traversal": {},
        }
        starts = graph.start_nodes(settings.popular, settings.typical, settings.seed)
        store_part = _store_side(uri, graph, settings, console)
        if isinstance(store_part, str):
            result["skipped"] = store_part
            console.print(store_part)
        for label, ids in starts.items():
            raw_times = []
            returned = []
            for run in range(settings.runs):
                start = ids[run % len(ids)]
                started = perf_counter_ns()
                returned.append(raw_traverse(driver, start, 6, 1_000))
                raw_times.append(perf_counter_ns() - started)
            row: dict[str, Any] = {"starts": ids, "runs": len(raw_times)}
            row["raw"] = report.latency(raw_times)
            row["nodes_returned_raw"] = {"min": min(returned), "max": max(returned)}
            if not isinstance(store_part, str):
                store_times = _store_times(store_part, ids, settings.runs)
                row["store"] = report.latency(store_times)
                row["ratio_p50"] = row["store"]["p50"] / row["raw"]["p50"]
                row["ratio_p95"] = row["store"]["p95"] / row["raw"]["p95"]
            result["traversal"][label] = row
        return result
    finally:
        driver.close()


def _store_side(
    uri: str, graph: ProvenanceGraph, settings: Settings, console: Console
) -> GraphStore | str:
    """Load the graph through the batch API into the Neo4j store, or say why not."""
    try:
        from lineage.store import open_store
        from lineage.store.neo4j import Neo4jStore  # noqa: F401
    except ModuleNotFoundError:
        return "neo4j store rows: skipped, lineage.store.neo4j does not exist yet"
    store = open_store(uri)
    register_actor(store, RecordStore(tempfile.gettempdir()))
    started = perf_counter_ns()
    load(
        store,
        graph.items(),
        actor=ACTOR,
        reason="benchmark",
        batch_size=settings.batch_size,
    )
    elapsed = perf_counter_ns() - started
    console.log(f"neo4j store batch load: {elapsed / report.NS_PER_S:.1f} s (incl. generation)")
    return store


def _store_times(store: GraphStore, ids: list[str], runs: int) -> list[int]:
    times = []
    for run in range(runs):
        spec = TraversalSpec(ids[run % len(ids)], Direction.IN, max_depth=6, max_nodes=1_000)
        started = perf_counter_ns()
        store.traverse(spec)
        times.append(perf_counter_ns() - started)
    return times
