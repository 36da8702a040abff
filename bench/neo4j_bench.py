"""Neo4j: the store benchmark's tables for a Neo4j server, beside its raw Cypher baselines.

The same generated graph is written twice, chunk by chunk, alternating which goes first: by the
raw driver (``UNWIND ... MERGE`` into a copy under the label ``BenchNode``, edge kinds as
relationship types, properties as one JSON string) and by the batch API
``lineage.services.bulk.load`` into the Neo4j store (``:Node``). The copy is then deleted, so the
walks run on the graph as the store holds it, and the raw walks read that same graph, as the
SQLite baseline reads the store's own tables: same data, same cache, same relationship order.
Then the registration services register a sample graph, and ``store.traverse`` is timed run by
run against:

- ``raw``: the best plain Cypher 5 walk we could write for the same question, one statement and
  one round trip (``walk_query``): breadth first by levels, each level expanding only the new
  frontier (nodes not seen before) and reading no more than the node budget needs, then one
  probe past the depth limit to learn whether it cut anything off; with the node rows and the
  edges among the reached nodes. It returns what ``store.traverse`` returns, and is checked to
  agree with it on every start before anything is timed (when the budget cuts inside a level,
  both keep the nodes in the order the expansion meets them, as SQLite does);
- ``apoc_bfs``: ``apoc.path.subgraphNodes`` with ``bfs: true``, when the server has APOC. It
  gives neither depths nor truncation, so it is a timing baseline only (not checked).

The benchmark DELETES EVERY NODE of the database it is pointed at: give it a throwaway server.
Credentials come from the URI (``bolt://user:password@host:7687``) or
``LINEAGE_BENCH_NEO4J_USER`` / ``LINEAGE_BENCH_NEO4J_PASSWORD``; they are never printed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, LiteralString
from urllib.parse import quote, urlsplit, urlunsplit

from rich.console import Console

from bench import report
from bench.generate import GraphConfig, ProvenanceGraph
from bench.raw_sqlite import RawSubgraph
from bench.store_bench import (
    MAX_DEPTH,
    MAX_NODES,
    ingest,
    progress_bar,
    register_actor,
    register_sample,
    traverse,
)
from lineage.model.canonical import canonical_json
from lineage.model.graph import Edge, EdgeKind, Node
from lineage.model.times import to_text, utcnow
from lineage.services.record_store import RecordStore
from lineage.store import open_store
from lineage.store.neo4j_uri import parse_uri

if TYPE_CHECKING:
    from neo4j import Driver, ManagedTransaction

    from bench.store_bench import Settings

# Batched: one transaction for a 100k-node graph outgrows the server's transaction memory.
# CALL ... IN TRANSACTIONS runs only in an auto-commit transaction (session.run).
WIPE: Final = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
DROP_RAW_COPY: Final = (
    "MATCH (n:BenchNode) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
)
COUNT_RAW_COPY: Final = "MATCH (n:BenchNode) RETURN count(n) AS nodes"
CONSTRAINT: Final = (
    "CREATE CONSTRAINT bench_node_id IF NOT EXISTS FOR (n:BenchNode) REQUIRE n.id IS UNIQUE"
)
SERVER: Final = (
    "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition"
)
HAS_APOC: Final = (
    "SHOW PROCEDURES YIELD name WHERE name = 'apoc.path.subgraphNodes' RETURN count(*) AS found"
)
# The store's nodes+edges, from the count store (constant time), for the services sample.
COUNT_STORE_ITEMS: Final = """
CALL () { MATCH (n:Node) RETURN count(n) AS nodes }
CALL () { MATCH (:Node)-[r]->() RETURN count(r) AS edges }
RETURN nodes + edges AS items
"""
UPSERT_NODES: Final = """
UNWIND $rows AS r
MERGE (n:BenchNode {id: r.id})
SET n.kind = r.kind, n.valid_from = r.valid_from, n.valid_to = r.valid_to,
    n.recorded_at = coalesce(n.recorded_at, r.recorded_at), n.props = r.props
"""
# Relationship types cannot be parameters: one constant per EdgeKind, from the enum only.
UPSERT_EDGES: Final[dict[EdgeKind, str]] = {
    kind: f"""
UNWIND $rows AS r
MATCH (a:BenchNode {{id: r.src}})
MATCH (b:BenchNode {{id: r.dst}})
MERGE (a)-[e:{kind.value} {{valid_from: r.valid_from}}]->(b)
SET e.valid_to = r.valid_to, e.props = r.props
"""
    for kind in EdgeKind
}

# -- the raw walk: breadth first by levels, in one statement ------------------------------------
# Cypher has no loop, so the levels are unrolled (walk_query), from a clamped int only.
# ``seen`` holds every node kept so far (``n IN seen`` is answered from a hash set the runtime
# builds once per list value), ``frontier`` the nodes kept at the last level: only those are
# expanded, from the bound nodes' adjacency (no label scan, no path enumeration). A level stops
# pulling at LIMIT $max_nodes distinct new nodes (LIMIT cannot take a variable; $max_nodes is at
# least the room left + 1, enough to tell a cut) and keeps what fits in the budget, in the order
# the expansion met them, as SQLite's walk does. With the budget spent, an EXISTS (which stops at
# the first match) asks whether anything new lies beyond: that is a cut. A cut empties the
# frontier, so every later level reads nothing. CASE keeps the EXISTS from running otherwise.
_WALK_START: Final = """
MATCH (s:Node {id: $start})
WITH [s] AS seen, [s] AS frontier, [] AS levels, false AS truncated
"""
_WALK_LEVEL: Final = """
CALL (seen, frontier) {
  WITH seen, frontier
  WHERE size(seen) < $max_nodes
  UNWIND frontier AS f
  MATCH (f)<--(n:Node)
  WHERE NOT n IN seen
  WITH DISTINCT n
  LIMIT $max_nodes
  RETURN collect(n) AS found
}
WITH seen, frontier, levels, truncated, found, $max_nodes - size(seen) AS room
WITH seen, levels, found[..room] AS kept,
     truncated OR CASE
       WHEN room > 0 THEN size(found) > room
       WHEN size(frontier) = 0 THEN false
       ELSE any(f IN frontier WHERE EXISTS { (f)<--(n:Node) WHERE NOT n IN seen })
     END AS truncated
WITH seen + kept AS seen, levels + [kept] AS levels, truncated,
     CASE WHEN truncated THEN [] ELSE kept END AS frontier
"""
# One level past the depth limit, only to learn whether the limit hid anything.
_WALK_PROBE: Final = """
WITH seen, levels,
     truncated OR any(f IN frontier WHERE EXISTS { (f)<--(n:Node) WHERE NOT n IN seen })
       AS truncated
"""
_WALK_END: Final = """
CALL (seen) {
  UNWIND seen AS a
  MATCH (a)-[e]->(b:Node)
  WHERE b IN seen
  RETURN collect([a.id, type(e), b.id, e.valid_from, e.valid_to, e.props]) AS edges
}
RETURN [level IN levels | [n IN level | n.id]] AS levels, truncated, edges,
       [n IN seen | [n.id, n.kind, n.valid_from, n.valid_to, n.recorded_at, n.props]] AS nodes
"""
APOC_WALK: Final = """
MATCH (s:Node {id: $start})
CALL apoc.path.subgraphNodes(s, {relationshipFilter: '<', maxLevel: $max_depth,
                                 limit: $max_nodes, bfs: true}) YIELD node
WITH collect(node) AS seen
CALL (seen) {
  UNWIND seen AS a
  MATCH (a)-[e]->(b:Node)
  WHERE b IN seen
  RETURN collect([a.id, type(e), b.id, e.valid_from, e.valid_to, e.props]) AS edges
}
RETURN edges,
       [n IN seen | [n.id, n.kind, n.valid_from, n.valid_to, n.recorded_at, n.props]] AS nodes
"""
MAX_WALK_DEPTH: Final = 12


def walk_query(max_depth: int) -> LiteralString:
    """The raw walk for ``max_depth`` levels (clamped to 1..12) plus the probe level."""
    levels = max(1, min(int(max_depth), MAX_WALK_DEPTH))
    return _WALK_START + _WALK_LEVEL * levels + _WALK_PROBE + _WALK_END


def _credentials(uri: str) -> tuple[str, str, str]:
    """(URI without userinfo, user, password): from the URI, else the bench's environment."""
    parts = urlsplit(uri)
    user = parts.username or os.environ.get("LINEAGE_BENCH_NEO4J_USER", "neo4j")
    password = parts.password or os.environ.get("LINEAGE_BENCH_NEO4J_PASSWORD", "")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, user, password


def store_uri(uri: str) -> str:
    """The URI the store opens: the bench's credentials carried in its userinfo."""
    bare, user, password = _credentials(uri)
    parts = urlsplit(bare)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


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


def raw_subgraph(record: Any, start: str) -> RawSubgraph:
    """A raw walk's answer in the shape ``bench.raw_sqlite.differences`` compares."""
    depths = {start: 0}
    for depth, level in enumerate(record["levels"], start=1):
        depths.update(dict.fromkeys(level, depth))
    # In edge-key order, as the store returns its edges.
    edges = sorted((tuple(row) for row in record["edges"]), key=lambda row: row[:4])
    nodes = [tuple(row) for row in record["nodes"]]
    return RawSubgraph(depths=depths, truncated=bool(record["truncated"]), nodes=nodes, edges=edges)


class RawCypher:
    """The raw baselines over one driver: each walk is one read transaction, one statement."""

    def __init__(self, driver: Driver, database: str | None) -> None:
        self.driver = driver
        self.database = database

    def downstream(
        self, start: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
    ) -> RawSubgraph:
        """The breadth-first walk by levels (the ``raw`` baseline)."""
        walk = walk_query(max_depth)
        with self.driver.session(database=self.database) as session:
            record = session.execute_read(
                lambda tx: tx.run(walk, start=start, max_nodes=max_nodes).single(strict=True)
            )
        return raw_subgraph(record, start)

    def apoc(self, start: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> int:
        """``apoc.path.subgraphNodes`` with ``bfs`` (the ``apoc_bfs`` baseline): node count."""
        with self.driver.session(database=self.database) as session:
            record = session.execute_read(
                lambda tx: tx.run(
                    APOC_WALK, start=start, max_depth=max_depth, max_nodes=max_nodes
                ).single(strict=True)
            )
        return len(record["nodes"])

    def write(self, nodes: list[Node], edges: list[Edge]) -> None:
        """The ingest baseline: one managed write transaction a chunk."""
        with self.driver.session(database=self.database) as session:
            session.execute_write(_write_chunk, nodes, edges)

    def scalar(self, query: LiteralString) -> Any:
        """The single value of a one-row, one-column statement."""
        records, _, _ = self.driver.execute_query(query, database_=self.database)
        return records[0][0]

    def has_apoc(self) -> bool:
        """Whether the server has ``apoc.path.subgraphNodes`` (APOC is not a dependency)."""
        from neo4j.exceptions import Neo4jError

        try:
            return bool(self.scalar(HAS_APOC))
        except Neo4jError:
            return False

    def wipe(self, statement: LiteralString = WIPE) -> None:
        """Delete every node (or ``DROP_RAW_COPY``: the raw ingest's copy), in batches."""
        with self.driver.session(database=self.database) as session:
            session.run(statement).consume()


def run_neo4j(uri: str, nodes: int, settings: Settings, console: Console) -> dict[str, Any] | str:
    """Ingest and traversal on Neo4j, in the rows SQLite gives; a string says why it skipped."""
    try:
        from neo4j import GraphDatabase
        from neo4j.exceptions import Neo4jError, ServiceUnavailable
    except ImportError:
        return "neo4j: skipped, the neo4j driver is not installed"
    target = parse_uri(store_uri(uri))
    driver = GraphDatabase.driver(
        target.driver_uri, auth=(target.user or "neo4j", target.password or ""),
        connection_timeout=5,
    )  # fmt: skip
    raw = RawCypher(driver, target.database)
    try:
        try:
            driver.verify_connectivity()
        except (ServiceUnavailable, Neo4jError, OSError) as exc:
            return f"neo4j: skipped, {target.uri} did not answer: {exc}"
        console.log(f"neo4j, {nodes:,} nodes: wiping {target.uri} and loading")
        raw.wipe()
        driver.execute_query(CONSTRAINT, database_=target.database)
        server = [dict(r) for r in driver.execute_query(SERVER, database_=target.database)[0]]
        return _measure(raw, store_uri(uri), nodes, settings, console, server)
    finally:
        driver.close()


def _measure(
    raw: RawCypher,
    uri: str,
    nodes: int,
    settings: Settings,
    console: Console,
    server: list[dict[str, Any]],
) -> dict[str, Any]:
    store = open_store(uri)
    try:
        with tempfile.TemporaryDirectory(prefix="lineage-bench-", dir=settings.workdir) as tmp:
            register_actor(store, RecordStore(Path(tmp) / "records"))
            graph = ProvenanceGraph(GraphConfig(nodes=nodes, seed=settings.seed))
            with progress_bar(console) as progress:
                ingested = ingest(graph, raw.write, store, settings, progress)
                console.log(
                    f"loaded {graph.counts.nodes:,} nodes and {graph.counts.edges:,} edges: "
                    f"raw {ingested['raw']['items_per_s']:,.0f}/s, "
                    f"batch {ingested['batch']['items_per_s']:,.0f}/s"
                )
                raw.wipe(DROP_RAW_COPY)
                starts = graph.start_nodes(settings.popular, settings.typical, settings.seed)
                others: dict[str, Callable[[str], object]] = {}
                if raw.has_apoc():
                    others["apoc_bfs"] = raw.apoc
                traversal, disagreements = traverse(
                    store, raw.downstream, starts, settings, progress, others
                )
                console.log(
                    f"traversal p95 store {traversal['all']['store']['p95']:.1f} ms, "
                    f"raw {traversal['all']['raw']['p95']:.1f} ms"
                )
                ingested["services"] = register_sample(
                    store, lambda: int(raw.scalar(COUNT_STORE_ITEMS)), Path(tmp), settings, progress
                )
                console.log(f"services {ingested['services']['records_per_s']:,.0f} records/s")
    finally:
        store.close()
    baselines = {"raw": "bench/neo4j_bench.py walk_query: BFS by levels, one Cypher statement"}
    if others:
        baselines["apoc_bfs"] = "apoc.path.subgraphNodes {bfs: true}, timing only"
    return report.size_result(
        "neo4j", graph, ingested, traversal, disagreements, server=server, baselines=baselines
    )
