"""The embedded default: SQLite (stdlib ``sqlite3``) in WAL mode.

Nodes and edges are rows with JSON properties; times are fixed-width UTC text so they compare as
strings. Each thread gets its own connection (WAL lets readers run beside the one writer); writes
take ``BEGIN IMMEDIATE`` so a read-check-write in a transaction scope is serialised.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.model.canonical import canonical_json
from lineage.model.graph import (
    Direction,
    Edge,
    EdgeKind,
    Node,
    NodeKind,
    Page,
    Subgraph,
)
from lineage.model.times import from_stored, from_text, to_text, utcnow
from lineage.store import sqlite_search
from lineage.store.base import (
    MAX_PAGE,
    AuditEvent,
    EdgeQuery,
    NodeQuery,
    SearchPage,
    SearchQuery,
    TraversalSpec,
    clamp,
)
from lineage.store.cursor import decode_cursor, encode_cursor
from lineage.store.sqlite_connections import DEFAULT_LOCK_TIMEOUT, SQLiteConnections

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    recorded_at TEXT NOT NULL,
    props       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_kind_time ON nodes (kind, valid_from, id);
CREATE INDEX IF NOT EXISTS nodes_time ON nodes (valid_from, id);
-- An index on a JSON property cost every node write a JSON parse for a lookup no service made.
DROP INDEX IF EXISTS nodes_content_hash;
-- Edge ends are checked by upsert_edges (naming the missing one) and edges are removed with
-- their nodes by delete_nodes, in the write transaction: foreign keys would repeat both checks
-- on every row (about 5% of the batch-load time) for nothing.
CREATE TABLE IF NOT EXISTS edges (
    eid        INTEGER PRIMARY KEY,
    src        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    dst        TEXT NOT NULL,
    valid_from TEXT NOT NULL DEFAULT '',  -- '' = no start: a structural edge
    valid_to   TEXT,
    props      TEXT NOT NULL,
    UNIQUE (src, kind, dst, valid_from)
);
CREATE INDEX IF NOT EXISTS edges_dst ON edges (dst, kind);
-- Leases between processes (schedulers): coordination, not provenance, so not audited.
CREATE TABLE IF NOT EXISTS leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
-- One row that readiness probes rewrite: proof that a write can commit now.
CREATE TABLE IF NOT EXISTS readiness (id INTEGER PRIMARY KEY, probed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    subjects     TEXT NOT NULL,
    payload      TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
"""

_NODE_COLUMNS = "id, kind, valid_from, valid_to, recorded_at, props"
_EDGE_COLUMNS = "src, kind, dst, valid_from, valid_to, props"

_UPSERT_NODE = f"""
INSERT INTO nodes ({_NODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    kind = excluded.kind, valid_from = excluded.valid_from,
    valid_to = excluded.valid_to, props = excluded.props
"""
_UPSERT_EDGE = f"""
INSERT INTO edges ({_EDGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (src, kind, dst, valid_from) DO UPDATE SET
    valid_to = excluded.valid_to, props = excluded.props
"""


def _valid_at(table: str = "", param: str = "?") -> str:
    """SQL: the edge held at the instant ``param`` (a structural edge's '' start always holds)."""
    return (
        f"{table}valid_from <= {param} AND ({table}valid_to IS NULL OR {table}valid_to > {param})"
    )


def _path_of(uri: str) -> str:
    path = uri.removeprefix("sqlite:///")
    if not path or path == ":memory:":
        raise InvalidError("the SQLite store needs a file path: sqlite:///path.db", field="store")
    return path


_NODE_KINDS = {k.value: k for k in NodeKind}
_EDGE_KINDS = {k.value: k for k in EdgeKind}


def _node(row: sqlite3.Row | tuple[Any, ...]) -> Node:
    # Rows were validated on the way in; rebuilding them is the hot path of every traversal.
    return Node.stored(
        row[0],
        _NODE_KINDS[row[1]],
        from_stored(row[2]),
        row[5],
        from_stored(row[3]) if row[3] else None,
        from_stored(row[4]),
    )


def _edge(row: sqlite3.Row | tuple[Any, ...]) -> Edge:
    return Edge.stored(
        row[0],
        _EDGE_KINDS[row[1]],
        row[2],
        row[5],
        from_stored(row[3]) if row[3] else None,
        from_stored(row[4]) if row[4] else None,
    )


def _audit(row: tuple[Any, ...]) -> AuditEvent:
    return AuditEvent(
        seq=row[0],
        at=from_text(row[1]),
        actor=row[2],
        action=row[3],
        reason=row[4],
        payload_hash=row[5],
        subjects=orjson.loads(row[6]),  # megabytes after a batch load: the fast parser
        payload=json.loads(row[7]) if row[7] is not None else None,
        prev_hash=row[8],
        hash=row[9],
    )


class SQLiteStore(SQLiteConnections):
    """GraphStore on a SQLite file."""

    def __init__(self, uri: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.uri = uri
        super().__init__(_path_of(uri), _SCHEMA, lock_timeout)
        if not sqlite_search.has_index(self._conn()):  # a store from before search existed
            with self._write() as conn:
                sqlite_search.create_index(conn)

    # -- writes ------------------------------------------------------------------------------

    def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        """Insert or update nodes by ID; ``recorded_at`` is kept from the first write."""
        if not nodes:
            return
        now = to_text(utcnow())
        rows = [
            (
                n.id,
                str(n.kind),  # a StrEnum's value, without the enum property's cost
                to_text(n.valid_from),
                to_text(n.valid_to) if n.valid_to else None,
                to_text(n.recorded_at) if n.recorded_at else now,
                n.props_json(),
            )
            for n in nodes
        ]
        with self._write() as conn:
            conn.executemany(_UPSERT_NODE, rows)
            sqlite_search.index_nodes(conn, nodes)

    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Insert or update edges; NOT_FOUND naming the first missing end, nothing written."""
        if not edges:
            return
        rows = [
            (
                e.src,
                str(e.kind),
                e.dst,
                to_text(e.valid_from) if e.valid_from else "",
                to_text(e.valid_to) if e.valid_to else None,
                e.props_json(),
            )
            for e in edges
        ]
        ends = list({e.src for e in edges} | {e.dst for e in edges})
        with self._write() as conn:
            found = {
                r[0]
                for r in conn.execute(
                    "SELECT id FROM nodes WHERE id IN (SELECT value FROM json_each(?))",
                    (orjson.dumps(ends).decode(),),
                )
            }
            missing = sorted(i for i in ends if i not in found)
            if missing:
                raise NotFoundError(
                    f"edge end {missing[0]!r} does not exist",
                    field="edges",
                    details={"missing": missing},
                )
            conn.executemany(_UPSERT_EDGE, rows)

    def delete_nodes(self, ids: Sequence[str]) -> int:
        """Delete nodes and every edge from or to them."""
        if not ids:
            return 0
        doomed = (json.dumps(list(ids)),)
        with self._write() as conn:
            sqlite_search.unindex_nodes(conn, doomed[0])
            conn.execute(
                "DELETE FROM edges WHERE src IN (SELECT value FROM json_each(?1)) "
                "OR dst IN (SELECT value FROM json_each(?1))",
                doomed,
            )
            cur = conn.execute(
                "DELETE FROM nodes WHERE id IN (SELECT value FROM json_each(?))", doomed
            )
            return cur.rowcount

    def append_audit(self, event: AuditEvent) -> None:
        """Append one audit event; CONFLICT if the sequence number exists."""
        row = (
            event.seq,
            to_text(event.at),
            event.actor,
            event.action,
            event.reason,
            event.payload_hash,
            event.subjects_text(),
            canonical_json(event.payload) if event.payload is not None else None,
            event.prev_hash,
            event.hash,
        )
        with self._write() as conn:
            try:
                conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            except sqlite3.IntegrityError as exc:
                raise ConflictError(
                    f"audit sequence {event.seq} already exists", field="seq"
                ) from exc

    # -- reads -------------------------------------------------------------------------------

    def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        """The nodes that exist among ``ids``."""
        if not ids:
            return {}
        with self._guard(writing=False):
            rows = self._conn().execute(
                f"SELECT {_NODE_COLUMNS} FROM nodes WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(ids)),),
            )
            return {row[0]: _node(row) for row in rows}

    def find_nodes(self, query: NodeQuery) -> Page[Node]:
        """Nodes by kind / properties / valid_from window, ordered by (valid_from, id)."""
        where: list[str] = []
        args: list[Any] = []
        if query.kind is not None:
            where.append("kind = ?")
            args.append(query.kind.value)
        for key, value in sorted(query.props.items()):
            # Compare JSON types too: SQLite reads JSON true as 1, so a bare json_extract
            # equality would match {"flag": 1} for flag=True (and 1 for true).
            path = f"'$.{key}'"
            if isinstance(value, bool):
                where.append(f"json_type(props, {path}) = ?")
                args.append("true" if value else "false")
            else:
                types = "'text'" if isinstance(value, str) else "'integer', 'real'"
                where.append(
                    f"json_type(props, {path}) IN ({types}) AND json_extract(props, {path}) = ?"
                )
                args.append(value)
        if query.since is not None:
            where.append("valid_from >= ?")
            args.append(to_text(query.since))
        if query.until is not None:
            where.append("valid_from < ?")
            args.append(to_text(query.until))
        limit = query.limit
        op, order = ("<", "DESC") if query.newest_first else (">", "ASC")
        if query.after is not None:
            after_time, after_id = decode_cursor(query.after, (str, str))
            where.append(f"(valid_from, id) {op} (?, ?)")
            args += [after_time, after_id]
        sql = f"SELECT {_NODE_COLUMNS} FROM nodes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY valid_from {order}, id {order} LIMIT ?"
        args.append(limit + 1)
        with self._guard(writing=False):
            rows = self._conn().execute(sql, args).fetchall()
        items = [_node(r) for r in rows[:limit]]
        cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            cursor = encode_cursor([last[2], last[0]])
        return Page(items=items, next_cursor=cursor)

    def find_edges(self, query: EdgeQuery) -> Page[Edge]:
        """Edges from / to a node (or all), ordered by their identity."""
        limit = query.limit
        where: list[str] = []
        args: list[Any] = []
        if query.src is not None:
            where.append("src = ?")
            args.append(query.src)
        if query.dst is not None:
            where.append("dst = ?")
            args.append(query.dst)
        if query.kinds is not None:
            where.append("kind IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(sorted(k.value for k in query.kinds)))
        if query.as_of is not None:
            at = to_text(query.as_of)
            where.append(_valid_at())
            args += [at, at]
        if query.after is not None:
            where.append("(src, kind, dst, valid_from) > (?, ?, ?, ?)")
            args += decode_cursor(query.after, (str, str, str, str))
        sql = f"SELECT {_EDGE_COLUMNS} FROM edges"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY src, kind, dst, valid_from LIMIT ?"
        args.append(limit + 1)
        with self._guard(writing=False):
            rows = self._conn().execute(sql, args).fetchall()
        cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            cursor = encode_cursor([last[0], last[1], last[2], last[3]])
        return Page(items=[_edge(r) for r in rows[:limit]], next_cursor=cursor)

    def traverse(self, spec: TraversalSpec) -> Subgraph:
        """Breadth-first bounded walk, read from one snapshot of the database."""
        conn = self._conn()
        with self._guard(writing=False), self._snapshot():
            start = conn.execute("SELECT valid_from FROM nodes WHERE id = ?", (spec.start,))
            start_row = start.fetchone()
            if start_row is None:
                raise NotFoundError(f"node {spec.start!r} does not exist", field="start")
            if spec.as_of is not None and start_row[0] > to_text(spec.as_of):
                raise NotFoundError(
                    f"node {spec.start!r} did not exist at {spec.as_of.isoformat()}",
                    field="start",
                )
            depths, truncated = self._walk(conn, spec)
            nodes = self.get_nodes(list(depths))
            if spec.node_kinds is not None:
                nodes = {
                    i: n for i, n in nodes.items() if n.kind in spec.node_kinds or i == spec.start
                }
            edges = self._edges_among(conn, list(nodes), spec)
        ordered = sorted(nodes.values(), key=lambda n: (depths[n.id], n.id))
        return Subgraph(
            nodes=ordered,
            edges=edges,
            truncated=truncated,
            depths={n.id: depths[n.id] for n in ordered},
        )

    def search(self, query: SearchQuery) -> SearchPage:
        """Nodes by ID, ID prefix and words (FTS5), read from one snapshot; see sqlite_search."""
        with self._guard(writing=False), self._snapshot():
            return sqlite_search.search(self._conn(), query)

    def _walk(self, conn: sqlite3.Connection, spec: TraversalSpec) -> tuple[dict[str, int], bool]:
        """Node -> depth, and whether a limit cut the walk short.

        One query per level, each expanding the whole frontier through the edge indexes and
        read as a stream: the first new node past the budget, or any new node one level past
        max_depth, ends the walk as truncated. A single recursive CTE was measured 5-10x slower
        on 1M-node graphs: SQLite re-expands a node for every depth it is reached at and pays
        for a de-duplication table whose rows are never read (see bench/README.md).
        """
        arms = []
        if spec.direction in (Direction.IN, Direction.BOTH):
            arms.append(("src", "dst"))
        if spec.direction in (Direction.OUT, Direction.BOTH):
            arms.append(("dst", "src"))
        arm_args: list[Any] = []
        filters = ""
        if spec.as_of is not None:
            at = to_text(spec.as_of)
            filters += f" AND {_valid_at('e.')} AND n.valid_from <= ?"
            arm_args += [at, at, at]
        if spec.edge_kinds is not None:
            filters += " AND e.kind IN (SELECT value FROM json_each(?))"
            arm_args.append(json.dumps(sorted(k.value for k in spec.edge_kinds)))
        sql = " UNION ALL ".join(
            f"SELECT e.{nxt} FROM edges e "
            + (f"JOIN nodes n ON n.id = e.{nxt} " if spec.as_of is not None else "")
            + f"WHERE e.{here} IN (SELECT value FROM json_each(?)){filters}"
            for nxt, here in arms
        )
        depths: dict[str, int] = {spec.start: 0}
        frontier = [spec.start]
        for depth in range(1, spec.max_depth + 2):
            if not frontier:
                break
            level = json.dumps(frontier)
            found: list[str] = []
            for (node_id,) in conn.execute(sql, [arg for _ in arms for arg in (level, *arm_args)]):
                if node_id in depths:
                    continue
                if depth > spec.max_depth or len(depths) == spec.max_nodes:
                    return depths, True
                depths[node_id] = depth
                found.append(node_id)
            frontier = found
        return depths, False

    def _edges_among(
        self, conn: sqlite3.Connection, ids: list[str], spec: TraversalSpec
    ) -> list[Edge]:
        if not ids:
            return []
        where = [
            "src IN (SELECT value FROM json_each(?1))",
            "dst IN (SELECT value FROM json_each(?1))",
        ]
        args: list[Any] = [json.dumps(ids)]
        if spec.edge_kinds is not None:
            where.append("kind IN (SELECT value FROM json_each(?2))")
            args.append(json.dumps(sorted(k.value for k in spec.edge_kinds)))
        if spec.as_of is not None:
            n = len(args) + 1
            where.append(_valid_at(param=f"?{n}"))
            args.append(to_text(spec.as_of))
        rows = conn.execute(
            f"SELECT {_EDGE_COLUMNS} FROM edges WHERE {' AND '.join(where)} "
            "ORDER BY src, kind, dst, valid_from",
            args,
        )
        return [_edge(r) for r in rows]

    def audit_head(self) -> AuditEvent | None:
        """The newest audit event."""
        with self._guard(writing=False):
            row = self._conn().execute("SELECT * FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return _audit(row) if row else None

    def audit_events(self, after_seq: int = 0, limit: int = 1_000) -> list[AuditEvent]:
        """Events after ``after_seq`` in sequence order."""
        size = clamp(limit, 1, MAX_PAGE, "limit")
        with self._guard(writing=False):
            rows = (
                self._conn()
                .execute(
                    "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, size)
                )
                .fetchall()
            )
        return [_audit(r) for r in rows]

    def try_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        """Take or renew a lease (see GraphStore.try_lease), in a write transaction."""
        at, until = to_text(now), to_text(now + timedelta(seconds=ttl))
        with self._write() as conn:
            row = conn.execute(
                "SELECT holder, expires_at FROM leases WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and row[0] != holder and row[1] > at:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO leases (name, holder, expires_at) VALUES (?, ?, ?)",
                (name, holder, until),
            )
            return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give a lease back if ``holder`` holds it."""
        with self._write() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    def ping(self, write: bool = False) -> None:
        """Raise UNAVAILABLE unless the file answers a query; with ``write``, unless a write
        commits now (one row of the ``readiness`` table, rewritten: a full disk, a read-only
        file or a lock held past ``lock_timeout`` all fail it)."""
        with self._guard(writing=False):
            self._conn().execute("SELECT 1 FROM nodes LIMIT 1").fetchall()
        if write:
            with self._write() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO readiness (id, probed_at) VALUES (1, ?)",
                    (to_text(utcnow()),),
                )
