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
    Edge,
    Node,
    Page,
    Subgraph,
)
from lineage.model.times import to_text, utcnow
from lineage.store import sqlite_search, sqlite_traversal
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
from lineage.store.sqlite_rows import (
    EDGE_COLUMNS,
    NODE_COLUMNS,
    SCHEMA,
    UPSERT_EDGE,
    UPSERT_NODE,
    audit_of,
    edge_of,
    node_of,
    valid_at,
)


def _path_of(uri: str) -> str:
    path = uri.removeprefix("sqlite:///")
    if not path or path == ":memory:":
        raise InvalidError("the SQLite store needs a file path: sqlite:///path.db", field="store")
    return path


class SQLiteStore(SQLiteConnections):
    """GraphStore on a SQLite file."""

    def __init__(self, uri: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.uri = uri
        super().__init__(_path_of(uri), SCHEMA, lock_timeout)
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
            conn.executemany(UPSERT_NODE, rows)
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
            conn.executemany(UPSERT_EDGE, rows)

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
                f"SELECT {NODE_COLUMNS} FROM nodes WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(ids)),),
            )
            return {row[0]: node_of(row) for row in rows}

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
        sql = f"SELECT {NODE_COLUMNS} FROM nodes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY valid_from {order}, id {order} LIMIT ?"
        args.append(limit + 1)
        with self._guard(writing=False):
            rows = self._conn().execute(sql, args).fetchall()
        items = [node_of(r) for r in rows[:limit]]
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
            where.append(valid_at())
            args += [at, at]
        if query.after is not None:
            where.append("(src, kind, dst, valid_from) > (?, ?, ?, ?)")
            args += decode_cursor(query.after, (str, str, str, str))
        sql = f"SELECT {EDGE_COLUMNS} FROM edges"
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
        return Page(items=[edge_of(r) for r in rows[:limit]], next_cursor=cursor)

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
            depths, truncated = sqlite_traversal.walk(conn, spec)
            nodes = self.get_nodes(list(depths))
            if spec.node_kinds is not None:
                nodes = {
                    i: n for i, n in nodes.items() if n.kind in spec.node_kinds or i == spec.start
                }
            edges = sqlite_traversal.edges_among(conn, list(nodes), spec)
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

    def audit_head(self) -> AuditEvent | None:
        """The newest audit event."""
        with self._guard(writing=False):
            row = self._conn().execute("SELECT * FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return audit_of(row) if row else None

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
        return [audit_of(r) for r in rows]

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
