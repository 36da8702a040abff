"""The production backend: Neo4j 5 through the official driver.

Behaves exactly as the SQLite reference (same ordering, cursors, errors and truncation; one
contract suite runs against both). Every statement lives in :mod:`lineage.store.cypher`; the
storage layout is described there. Driver exceptions never leave this module: they become
``UnavailableError`` (outage, authentication, timeouts), ``ConflictError`` (uniqueness) or
``InvalidError`` (a query the server refused).

Outside a ``transaction()`` scope each call runs in its own managed transaction (retried by the
driver on transient failures, so every unit of work here is idempotent). Inside a scope every
call of that thread, reads included, goes through one explicit transaction that starts by taking
the store lock, so scopes are serialised like SQLite's ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import Any, LiteralString, TypeVar

import neo4j
import orjson
from neo4j import exceptions as neo4j_errors

from lineage.errors import (
    ConflictError,
    InvalidError,
    LineageError,
    NotFoundError,
    UnavailableError,
)
from lineage.model.canonical import canonical_json
from lineage.model.graph import (
    Edge,
    EdgeKind,
    Node,
    NodeKind,
    Page,
    Subgraph,
)
from lineage.model.times import from_text, to_text, utcnow
from lineage.store import cypher
from lineage.store.base import (
    MAX_PAGE,
    AuditEvent,
    EdgeQuery,
    NodeQuery,
    Scalar,
    TraversalSpec,
    clamp,
)
from lineage.store.cursor import decode_cursor, encode_cursor
from lineage.store.neo4j_uri import (
    DEFAULT_USER,
    PASSWORD_ENV,
    USER_ENV,
    parse_uri,
)

# An outage must fail a request in seconds, not hang it: the driver's defaults are 30 s to
# connect, 60 s to get a pooled connection and 30 s of transaction retries. A stopped server
# refuses connections at once, so a call fails within about RETRY_TIME of the outage.
CONNECTION_TIMEOUT = 3.0
ACQUISITION_TIMEOUT = 4.0
RETRY_TIME = 3.0
DEFAULT_LOCK_TIMEOUT = 5.0
# The server ends a transaction() scope that runs longer than this, so no scope can hold the
# store lock forever (a wedged client, a lost connection); the largest bulk-load batch commits
# well within it.
TX_TIMEOUT = 60.0
BATCH = 1_000  # rows per UNWIND statement
_LOW, _HIGH = "", "~"  # sort before / after every fixed-width UTC text
_INT64 = (-(2**63), 2**63 - 1)

_T = TypeVar("_T")
_Tx = neo4j.ManagedTransaction | neo4j.Transaction
_DRIVER_ERRORS = (neo4j_errors.Neo4jError, neo4j_errors.DriverError)


# -- rows <-> values -----------------------------------------------------------------------------


def _opt_text(value: datetime | None) -> str | None:
    return to_text(value) if value is not None else None


def _flatten(props: Mapping[str, Any]) -> dict[str, Scalar]:
    """The ``p_<name>`` copies of top-level scalar props (see lineage.store.cypher)."""
    flat: dict[str, Scalar] = {}
    for key, value in props.items():
        if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
            continue  # Neo4j has no bigger integers; such a value is only kept in the JSON
        if isinstance(value, str | int | float | bool):
            flat[f"p_{key}"] = value
    return flat


def _node_row(node: Node, now: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": node.id,
        "kind": node.kind.value,
        "valid_from": to_text(node.valid_from),
        "props": node.props_json(),
        **_flatten(node.props),
    }
    if node.valid_to is not None:
        fields["valid_to"] = to_text(node.valid_to)
    return {"id": node.id, "recorded_at": _opt_text(node.recorded_at) or now, "fields": fields}


def _node(row: Mapping[str, Any]) -> Node:
    return Node(
        id=row["id"],
        kind=NodeKind(row["kind"]),
        valid_from=from_text(row["valid_from"]),
        valid_to=from_text(row["valid_to"]) if row["valid_to"] else None,
        recorded_at=from_text(row["recorded_at"]),
        props=json.loads(row["props"]),
    )


def _edge(row: Mapping[str, Any]) -> Edge:
    return Edge(
        src=row["src"],
        kind=EdgeKind(row["kind"]),
        dst=row["dst"],
        valid_from=from_text(row["valid_from"]) if row["valid_from"] else None,
        valid_to=from_text(row["valid_to"]) if row["valid_to"] else None,
        props=json.loads(row["props"]),
    )


def _edge_key(row: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (row["src"], row["kind"], row["dst"], row["valid_from"])


def _audit(row: Mapping[str, Any]) -> AuditEvent:
    return AuditEvent(
        seq=row["seq"],
        at=from_text(row["at"]),
        actor=row["actor"],
        action=row["action"],
        reason=row["reason"],
        payload_hash=row["payload_hash"],
        subjects=orjson.loads(row["subjects"]),  # megabytes after a batch load: the fast parser
        payload=json.loads(row["payload"]) if row["payload"] is not None else None,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _cursor(cursor: str, size: int) -> list[str]:
    return decode_cursor(cursor, (str,) * size)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _rows(tx: _Tx, query: LiteralString, **params: Any) -> list[neo4j.Record]:
    # Read everything while the transaction is open: a Result dies with it.
    return list(tx.run(query, params))


class _Scope(threading.local):
    """This thread's open transaction() scope, if any."""

    def __init__(self) -> None:
        self.tx: neo4j.Transaction | None = None
        self.depth = 0


# -- the store -----------------------------------------------------------------------------------


class Neo4jStore:
    """GraphStore on a Neo4j 5 server (``neo4j://``, ``neo4j+s://``, ``bolt://`` ...)."""

    def __init__(self, uri: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        target = parse_uri(uri)
        self.uri = target.uri
        self.database = target.database
        if not lock_timeout > 0:
            raise InvalidError("must be a positive number of seconds", field="lock_timeout")
        self.lock_timeout = lock_timeout
        # Threads of this process queue here before taking the server-side store lock, so a
        # write blocked by another of this process's writes gives up after lock_timeout.
        self._writer = threading.Lock()
        self._scope = _Scope()
        self._closed = False
        auth = (
            (target.user or DEFAULT_USER, target.password) if target.password is not None else None
        )
        try:
            self._driver = neo4j.GraphDatabase.driver(
                target.driver_uri,
                auth=auth,
                connection_timeout=CONNECTION_TIMEOUT,
                connection_acquisition_timeout=ACQUISITION_TIMEOUT,
                max_transaction_retry_time=RETRY_TIME,
                user_agent="lineage",
            )
        except (neo4j_errors.ConfigurationError, ValueError) as exc:
            raise InvalidError(f"cannot use Neo4j URI {self.uri}: {exc}", field="store") from None
        # Chain every session's bookmarks so a read always sees this store's earlier writes,
        # also when a cluster routes it to another member.
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        try:
            self._driver.verify_connectivity()
            self._create_schema()
        except _DRIVER_ERRORS as exc:
            self._driver.close()
            raise self._translate(exc) from exc
        except BaseException:
            self._driver.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------

    def _session(self) -> neo4j.Session:
        if self._closed:
            raise UnavailableError("the store is closed", field="store")
        return self._driver.session(database=self.database, bookmark_manager=self._bookmarks)

    def _create_schema(self) -> None:
        with self._session() as session:
            for statement in cypher.SCHEMA:
                try:
                    session.run(statement).consume()
                except neo4j_errors.ClientError as exc:
                    # Two processes starting together (API and scheduler) can both try to
                    # create the same rule; IF NOT EXISTS does not cover that race.
                    if not (exc.code or "").endswith("AlreadyExists"):
                        raise

    def _run(self, work: Callable[[_Tx], _T], *, write: bool) -> _T:
        """Run ``work`` in this thread's open scope, else in a managed transaction."""
        try:
            tx = self._scope.tx
            if tx is not None:
                return work(tx)
            with self._session() as session:
                if write:
                    return session.execute_write(work)
                return session.execute_read(work)
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, writing=write) from exc

    def _translate(self, exc: Exception, *, writing: bool = False) -> LineageError:
        """The LineageError a driver exception means; the message names no credentials.

        ``writing``: the failure ended a write transaction before it committed, so nothing was
        written; the message says so.
        """
        if isinstance(exc, neo4j_errors.IncompleteCommit):
            return UnavailableError(
                f"the connection to Neo4j at {self.uri} was lost while committing: the write "
                "may or may not have been committed. Retry the identical request: a "
                "registration already written is a no-op",
                field="store",
                details={"neo4j": type(exc).__name__, "outcome": "unknown"},
            )
        error = self._meaning(exc)
        if writing and isinstance(error, UnavailableError):
            error.message += "; nothing was written"
        return error

    def _meaning(self, exc: Exception) -> LineageError:
        where = f"Neo4j at {self.uri}"
        message = exc.message if isinstance(exc, neo4j_errors.Neo4jError) else str(exc)
        code = exc.code if isinstance(exc, neo4j_errors.Neo4jError) else type(exc).__name__
        details = {"neo4j": code}
        if isinstance(exc, neo4j_errors.AuthError):
            return UnavailableError(
                f"{where}: authentication failed; check the user and password in the store URI "
                f"or {USER_ENV} / {PASSWORD_ENV}",
                field="store",
                details=details,
            )
        if isinstance(exc, neo4j_errors.ConstraintError):
            return ConflictError(f"{where} refused a duplicate: {message}", details=details)
        if isinstance(exc, neo4j_errors.Forbidden):
            return UnavailableError(
                f"{where}: the configured user may not do this: {message}",
                field="store",
                details=details,
            )
        if isinstance(exc, neo4j_errors.ClientError):
            if code == "Neo.ClientError.Database.DatabaseNotFound":
                return UnavailableError(
                    f"{where}: database {self.database!r} does not exist",
                    field="store",
                    details=details,
                )
            return InvalidError(f"{where} rejected a query: {message}", details=details)
        if isinstance(exc, neo4j_errors.TransientError):
            return UnavailableError(
                f"{where} could not complete the request now ({message}); try again",
                details=details,
            )
        if isinstance(exc, neo4j_errors.ConfigurationError):
            return InvalidError(f"cannot use {where}: {message}", field="store", details=details)
        if isinstance(
            exc,
            neo4j_errors.ServiceUnavailable
            | neo4j_errors.SessionExpired
            | neo4j_errors.ConnectionAcquisitionTimeoutError,
        ):
            return UnavailableError(
                f"cannot reach {where}: {message}", field="store", details=details
            )
        return UnavailableError(f"{where} failed: {message}", field="store", details=details)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All operations inside share one transaction; an exception rolls it all back.

        Nested scopes join the outer one. Scopes are serialised: first among this process's
        threads (waiting at most ``lock_timeout``, then UNAVAILABLE with nothing written), then
        by the store lock on the server. A commit whose answer is lost with the connection is
        reported as such: its outcome is unknown, and an identical retry is the safe next step.
        """
        scope = self._scope
        if scope.tx is not None:
            scope.depth += 1
            try:
                yield
            finally:
                scope.depth -= 1
            return
        if not self._writer.acquire(timeout=self.lock_timeout):
            raise UnavailableError(
                f"Neo4j at {self.uri} is busy: another write of this service held the store "
                f"lock for more than {self.lock_timeout:g}s; nothing was written. Retry: an "
                "identical registration is a no-op if it was already written",
                field="store",
            )
        try:
            with self._scoped_transaction(scope):
                yield
        finally:
            self._writer.release()

    @contextmanager
    def _scoped_transaction(self, scope: _Scope) -> Iterator[None]:
        session = self._session()
        try:
            tx = session.begin_transaction(timeout=TX_TIMEOUT)
            tx.run(cypher.TAKE_LOCK).consume()
        except _DRIVER_ERRORS as exc:
            self._quietly(session.close)
            raise self._translate(exc, writing=True) from exc
        scope.tx, scope.depth = tx, 1
        try:
            yield
        except BaseException:
            scope.tx, scope.depth = None, 0
            self._quietly(tx.rollback)
            self._quietly(session.close)
            raise
        scope.tx, scope.depth = None, 0
        try:
            tx.commit()
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, writing=True) from exc
        finally:
            self._quietly(session.close)

    @staticmethod
    def _quietly(action: Callable[[], object]) -> None:
        # Cleaning up after a failure that is already being reported.
        with suppress(*_DRIVER_ERRORS):
            action()

    # -- writes -----------------------------------------------------------------------------

    def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        """Insert or update nodes by ID; ``recorded_at`` is kept from the first write."""
        if not nodes:
            return
        now = to_text(utcnow())
        by_kind: dict[NodeKind, list[dict[str, Any]]] = {}
        for node in nodes:
            by_kind.setdefault(node.kind, []).append(_node_row(node, now))
        batches = [
            (cypher.upsert_nodes_query(kind), rows) for kind, rows in sorted(by_kind.items())
        ]

        def work(tx: _Tx) -> None:
            for query, rows in batches:
                for chunk in _chunks(rows):
                    tx.run(query, rows=chunk).consume()

        self._run(work, write=True)

    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Insert or update edges; NOT_FOUND naming the first missing end, nothing written."""
        if not edges:
            return
        by_kind: dict[EdgeKind, list[dict[str, Any]]] = {}
        for e in edges:
            by_kind.setdefault(e.kind, []).append(
                {
                    "src": e.src,
                    "dst": e.dst,
                    "valid_from": _opt_text(e.valid_from) or "",
                    "valid_to": _opt_text(e.valid_to),
                    "props": e.props_json(),
                }
            )
        batches = [
            (cypher.upsert_edges_query(kind), rows) for kind, rows in sorted(by_kind.items())
        ]
        ends = sorted({e.src for e in edges} | {e.dst for e in edges})

        def work(tx: _Tx) -> None:
            found = {r["id"] for r in _rows(tx, cypher.EXISTING_IDS, ids=ends)}
            missing = [i for i in ends if i not in found]
            if missing:
                raise NotFoundError(
                    f"edge end {missing[0]!r} does not exist",
                    field="edges",
                    details={"missing": missing},
                )
            for query, rows in batches:
                for chunk in _chunks(rows):
                    written = _rows(tx, query, rows=chunk)[0]["written"]
                    if written != len(chunk):  # an end was deleted since the check above
                        raise NotFoundError("an edge end was deleted while writing", field="edges")

        self._run(work, write=True)

    def delete_nodes(self, ids: Sequence[str]) -> int:
        """Delete nodes and every edge touching them; returns how many nodes existed."""
        if not ids:
            return 0
        wanted = list(ids)

        def work(tx: _Tx) -> int:
            return int(_rows(tx, cypher.DELETE_NODES, ids=wanted)[0]["deleted"])

        return self._run(work, write=True)

    def append_audit(self, event: AuditEvent) -> None:
        """Append one audit event; CONFLICT if the sequence number exists."""
        stored = {
            "seq": event.seq,
            "at": to_text(event.at),
            "actor": event.actor,
            "action": event.action,
            "reason": event.reason,
            "payload_hash": event.payload_hash,
            "subjects": event.subjects_text(),
            "payload": canonical_json(event.payload) if event.payload is not None else None,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }

        def work(tx: _Tx) -> int:
            return int(_rows(tx, cypher.APPEND_AUDIT, seq=event.seq, event=stored)[0]["created"])

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

        def work(tx: _Tx) -> list[neo4j.Record]:
            return _rows(tx, cypher.GET_NODES, ids=wanted)

        return {row["id"]: _node(row) for row in self._run(work, write=False)}

    def find_nodes(self, query: NodeQuery) -> Page[Node]:
        """Nodes by kind / properties / valid_from window, ordered by (valid_from, id)."""
        after_from = after_id = None
        if query.after is not None:
            after_from, after_id = _cursor(query.after, 2)
        filters = []
        for key, value in sorted(query.props.items()):
            if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
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

        def work(tx: _Tx) -> list[neo4j.Record]:
            return _rows(tx, statement, **params)

        rows = self._run(work, write=False)
        cursor = None
        if len(rows) > query.limit:
            last = rows[query.limit - 1]
            cursor = encode_cursor([last["valid_from"], last["id"]])
        return Page(items=[_node(r) for r in rows[: query.limit]], next_cursor=cursor)

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
            "at": _opt_text(query.as_of),
            "after": after,
            "src_lo": after[0] if after is not None else _LOW,
            "limit": limit + 1,
        }

        def work(tx: _Tx) -> list[neo4j.Record]:
            return _rows(tx, statement, **params)

        rows = self._run(work, write=False)
        cursor = None
        if len(rows) > limit:
            cursor = encode_cursor(list(_edge_key(rows[limit - 1])))
        return Page(items=[_edge(r) for r in rows[:limit]], next_cursor=cursor)

    def traverse(self, spec: TraversalSpec) -> Subgraph:
        """Breadth-first bounded walk in one query; see ``cypher.TRAVERSE_TEMPLATE``."""
        at = _opt_text(spec.as_of)
        follows_nothing = spec.edge_kinds is not None and not spec.edge_kinds
        statement = (
            cypher.START_NODE
            if follows_nothing
            else cypher.traverse_query(spec.direction, spec.edge_kinds, spec.max_depth)
        )
        params: dict[str, Any] = {
            "start": spec.start,
            "at": at,
            "max_depth": spec.max_depth,
            "probe": spec.max_nodes,
            "keep": spec.max_nodes - 1,
            "node_kinds": sorted(k.value for k in spec.node_kinds)
            if spec.node_kinds is not None
            else None,
        }

        def work(tx: _Tx) -> tuple[list[neo4j.Record], list[neo4j.Record]]:
            rows = _rows(tx, statement, **params)
            if rows or follows_nothing:
                return rows, []
            # No row: the start is missing or too young. Only this failure path asks again.
            return rows, _rows(tx, cypher.START_NODE, start=spec.start)

        rows, start_rows = self._run(work, write=False)
        if follows_nothing:  # following no edge kind: the walk is the start alone
            start_rows, rows = rows, []
        if not rows:
            if not start_rows:
                raise NotFoundError(f"node {spec.start!r} does not exist", field="start")
            if spec.as_of is not None and at is not None and start_rows[0]["valid_from"] > at:
                raise NotFoundError(
                    f"node {spec.start!r} did not exist at {spec.as_of.isoformat()}", field="start"
                )
            if not follows_nothing:  # cannot happen; never answer with a silent partial walk
                raise UnavailableError(
                    f"Neo4j at {self.uri} returned no walk from {spec.start!r}", field="store"
                )
            start = _node(start_rows[0])
            return Subgraph(nodes=[start], edges=[], truncated=False, depths={start.id: 0})
        record = rows[0]
        reached = [record["start"], *record["nodes"]]
        depths = {row["id"]: int(row["depth"]) for row in reached}
        nodes = sorted((_node(row) for row in reached), key=lambda n: (depths[n.id], n.id))
        edges = [_edge(row) for row in sorted(record["edges"], key=_edge_key)]
        return Subgraph(
            nodes=nodes,
            edges=edges,
            truncated=bool(record["truncated"]),
            depths={n.id: depths[n.id] for n in nodes},
        )

    def audit_head(self) -> AuditEvent | None:
        """The newest audit event."""

        def work(tx: _Tx) -> list[neo4j.Record]:
            return _rows(tx, cypher.AUDIT_HEAD)

        rows = self._run(work, write=False)
        return _audit(rows[0]) if rows else None

    def audit_events(self, after_seq: int = 0, limit: int = 1_000) -> list[AuditEvent]:
        """Events after ``after_seq`` in sequence order."""
        params = {"after_seq": after_seq, "limit": clamp(limit, 1, MAX_PAGE, "limit")}

        def work(tx: _Tx) -> list[neo4j.Record]:
            return _rows(tx, cypher.AUDIT_EVENTS, **params)

        return [_audit(r) for r in self._run(work, write=False)]

    def try_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        """Take or renew a lease (see GraphStore.try_lease): one statement inside a scope
        that holds the store lock (see cypher.TRY_LEASE)."""
        params = {
            "name": name,
            "holder": holder,
            "now": to_text(now),
            "until": to_text(now + timedelta(seconds=ttl)),
        }

        def work(tx: _Tx) -> bool:
            return bool(_rows(tx, cypher.TRY_LEASE, **params)[0]["held"])

        with self.transaction():
            return self._run(work, write=True)

    def release_lease(self, name: str, holder: str) -> None:
        """Give a lease back if ``holder`` holds it."""

        def work(tx: _Tx) -> None:
            _rows(tx, cypher.RELEASE_LEASE, name=name, holder=holder)

        self._run(work, write=True)

    def ping(self, write: bool = False) -> None:
        """Raise UNAVAILABLE unless the server answers ``RETURN 1``; with ``write``, unless a
        write to the ``:LineageReadiness`` node commits now (a read-only database, a full disk
        or a lost write leader fail it)."""
        statement = cypher.WRITE_PROBE if write else cypher.PING
        try:
            tx = self._scope.tx
            if tx is not None:
                tx.run(statement).consume()
                return
            # Auto-commit, not execute_read: a health probe should report an outage at once
            # instead of retrying it for RETRY_TIME.
            with self._session() as session:
                session.run(neo4j.Query(statement, timeout=self.lock_timeout)).consume()
        except _DRIVER_ERRORS as exc:
            error = self._translate(exc)
            if isinstance(error, UnavailableError):
                raise error from exc
            raise UnavailableError(error.message, field="store", details=error.details) from exc

    def close(self) -> None:
        """Close the driver and its connection pool."""
        if self._closed:
            return
        self._closed = True
        self._quietly(self._driver.close)
