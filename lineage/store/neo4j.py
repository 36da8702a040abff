"""The production backend: Neo4j 5 through the official driver.

Behaves exactly as the SQLite reference (same ordering, cursors, errors and truncation; one
contract suite runs against both). Every statement lives in :mod:`lineage.store.cypher`, which
also describes the storage layout. The pieces:

- :mod:`lineage.store.neo4j_session`: the driver, read routing and bookmarks, transactions and
  the ``transaction()`` scope, and the translation of driver errors;
- :mod:`lineage.store.neo4j_ingest`: batched upserts and bounded deletes;
- :mod:`lineage.store.neo4j_traversal`: the bounded walk;
- :mod:`lineage.store.neo4j_rows`: values to and from rows.

Reads run in read transactions (a cluster routes them to followers or read replicas), writes in
write transactions on the leader; one bookmark manager per store lets a read see every write
this process made before it (see :mod:`lineage.store.neo4j_session`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import neo4j

from lineage.errors import ConflictError, InvalidError
from lineage.model.graph import Edge, Node, Page, Subgraph
from lineage.model.times import to_text
from lineage.store import cypher, neo4j_search
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
from lineage.store.neo4j_ingest import (
    delete_slices,
    delete_work,
    edge_batches,
    node_batches,
    write_edges,
    write_nodes,
)
from lineage.store.neo4j_rows import INT64, audit, audit_row, edge, edge_key, node, opt_text
from lineage.store.neo4j_session import (
    DEFAULT_LOCK_TIMEOUT,
    Neo4jConnections,
    Tx,
    rows,
)
from lineage.store.neo4j_traversal import traverse
from lineage.store.neo4j_uri import parse_uri

__all__ = ["DEFAULT_LOCK_TIMEOUT", "Neo4jStore", "parse_uri"]

_LOW, _HIGH = "", "~"  # sort before / after every fixed-width UTC text


def _cursor(cursor: str, size: int) -> list[str]:
    return decode_cursor(cursor, (str,) * size)


class Neo4jStore(Neo4jConnections):
    """GraphStore on a Neo4j 5 server (``neo4j://``, ``neo4j+s://``, ``bolt://`` ...)."""

    # -- writes -----------------------------------------------------------------------------

    def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        """Insert or update nodes by ID; ``recorded_at`` is kept from the first write."""
        if nodes:
            self._run(write_nodes(node_batches(nodes)), write=True)

    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Insert or update edges; NOT_FOUND naming a missing end, nothing written (inside a
        ``transaction()`` scope, a call larger than one statement that fails part-way leaves
        the scope able only to roll back)."""
        if edges:
            self._run(write_edges(edge_batches(edges), self._doom_scope), write=True)

    def delete_nodes(self, ids: Sequence[str]) -> int:
        """Delete nodes and every edge touching them; returns how many nodes existed.

        Inside a ``transaction()`` scope the deletes join it (retention: atomic with the audit
        event that records them, bounded by the caller's chunk); outside one, every slice of
        ``neo4j_ingest.DELETE_ROWS`` IDs is its own transaction, so a large delete never holds
        one unbounded transaction (a failure part-way leaves the earlier slices deleted)."""
        if not ids:
            return 0
        slices = delete_slices(ids)
        if self._in_scope():
            return self._run(delete_work(slices), write=True)
        return sum(self._run(delete_work([part]), write=True) for part in slices)

    def append_audit(self, event: AuditEvent) -> None:
        """Append one audit event; CONFLICT if the sequence number exists."""
        stored = audit_row(event)

        def work(tx: Tx) -> int:
            return int(rows(tx, cypher.APPEND_AUDIT, seq=event.seq, event=stored)[0]["created"])

        conflict = ConflictError(f"audit sequence {event.seq} already exists", field="seq")
        try:
            created = self._run(work, write=True)
        except ConflictError as exc:  # a concurrent append won the race for this seq
            raise conflict from exc
        if not created:
            raise conflict

    # -- reads ------------------------------------------------------------------------------

    def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        """The nodes that exist among ``ids``."""
        if not ids:
            return {}
        wanted = list(ids)

        def work(tx: Tx) -> list[neo4j.Record]:
            return rows(tx, cypher.GET_NODES, ids=wanted)

        return {row["id"]: node(row) for row in self._run(work, write=False)}

    def find_nodes(self, query: NodeQuery) -> Page[Node]:
        """Nodes by kind / properties / valid_from window, ordered by (valid_from, id)."""
        after_from = after_id = None
        if query.after is not None:
            after_from, after_id = _cursor(query.after, 2)
        filters = []
        for key, value in sorted(query.props.items()):
            if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
                raise InvalidError(f"property {key!r} is out of the 64-bit range", field="props")
            filters.append({"key": f"p_{key}", "value": value})
        lo = to_text(query.since) if query.since is not None else _LOW
        top = _HIGH
        if after_from is not None:  # narrow the index range to the rest of the pages
            if query.newest_first:
                top = after_from
            else:
                lo = max(lo, after_from)
        params: dict[str, Any] = {
            "kind": query.kind.value if query.kind is not None else None,
            "content_hash": query.props.get("content_hash"),
            "filters": filters,
            "lo": lo,
            "top": top,
            "hi": to_text(query.until) if query.until is not None else _HIGH,
            "after_from": after_from,
            "after_id": after_id,
            "limit": query.limit + 1,
        }
        if params["content_hash"] is not None:
            statement = (
                cypher.FIND_NODES_BY_HASH_DESC
                if query.newest_first
                else cypher.FIND_NODES_BY_HASH_ASC
            )
        elif query.kind is not None:
            statement = (
                cypher.FIND_NODES_BY_KIND_DESC
                if query.newest_first
                else cypher.FIND_NODES_BY_KIND_ASC
            )
        else:
            statement = (
                cypher.FIND_NODES_BY_TIME_DESC
                if query.newest_first
                else cypher.FIND_NODES_BY_TIME_ASC
            )

        def work(tx: Tx) -> list[neo4j.Record]:
            return rows(tx, statement, **params)

        found = self._run(work, write=False)
        cursor = None
        if len(found) > query.limit:
            last = found[query.limit - 1]
            cursor = encode_cursor([last["valid_from"], last["id"]])
        return Page(items=[node(r) for r in found[: query.limit]], next_cursor=cursor)

    def find_edges(self, query: EdgeQuery) -> Page[Edge]:
        """Edges from / to a node (or all), ordered by (src, kind, dst, valid_from)."""
        limit = query.limit  # EdgeQuery clamps it to MAX_PAGE
        after = _cursor(query.after, 4) if query.after is not None else None
        if query.src is not None and query.dst is not None:
            statement = cypher.FIND_EDGES_BETWEEN
        elif query.src is not None:
            statement = cypher.FIND_EDGES_FROM
        elif query.dst is not None:
            statement = cypher.FIND_EDGES_TO
        else:
            statement = cypher.FIND_EDGES_ANY
        params: dict[str, Any] = {
            "src": query.src,
            "dst": query.dst,
            "kinds": sorted(k.value for k in query.kinds) if query.kinds is not None else None,
            "at": opt_text(query.as_of),
            "after": after,
            "src_lo": after[0] if after is not None else _LOW,
            "limit": limit + 1,
        }

        def work(tx: Tx) -> list[neo4j.Record]:
            return rows(tx, statement, **params)

        found = self._run(work, write=False)
        cursor = None
        if len(found) > limit:
            cursor = encode_cursor(list(edge_key(found[limit - 1])))
        return Page(items=[edge(r) for r in found[:limit]], next_cursor=cursor)

    def traverse(self, spec: TraversalSpec) -> Subgraph:
        """Breadth-first bounded walk in one statement (see ``cypher.traverse_query``)."""
        return traverse(lambda work: self._run(work, write=False), self.uri, spec)

    # Set once the nodes written before search existed have their words (neo4j_search).
    _search_ready = False

    def search(self, query: SearchQuery) -> SearchPage:
        """Nodes by ID, ID prefix and words (the full-text index); see neo4j_search."""
        # Not inside a transaction() scope: its rollback would undo the backfill.
        if not self._search_ready and not self._in_scope():
            neo4j_search.prepare(lambda work: self._run(work, write=True))
            self._search_ready = True
        return self._run(lambda tx: neo4j_search.search(tx, query), write=False)

    def audit_head(self) -> AuditEvent | None:
        """The newest audit event."""

        def work(tx: Tx) -> list[neo4j.Record]:
            return rows(tx, cypher.AUDIT_HEAD)

        found = self._run(work, write=False)
        return audit(found[0]) if found else None

    def audit_events(self, after_seq: int = 0, limit: int = 1_000) -> list[AuditEvent]:
        """Events after ``after_seq`` in sequence order."""
        params = {"after_seq": after_seq, "limit": clamp(limit, 1, MAX_PAGE, "limit")}

        def work(tx: Tx) -> list[neo4j.Record]:
            return rows(tx, cypher.AUDIT_EVENTS, **params)

        return [audit(r) for r in self._run(work, write=False)]

    # -- leases -----------------------------------------------------------------------------

    def try_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        """Take or renew a lease (see GraphStore.try_lease): one statement inside a scope
        that holds the store lock (see cypher.TRY_LEASE)."""
        params = {
            "name": name,
            "holder": holder,
            "now": to_text(now),
            "until": to_text(now + timedelta(seconds=ttl)),
        }

        def work(tx: Tx) -> bool:
            return bool(rows(tx, cypher.TRY_LEASE, **params)[0]["held"])

        with self.transaction():
            return self._run(work, write=True)

    def release_lease(self, name: str, holder: str) -> None:
        """Give a lease back if ``holder`` holds it."""

        def work(tx: Tx) -> None:
            rows(tx, cypher.RELEASE_LEASE, name=name, holder=holder)

        self._run(work, write=True)
