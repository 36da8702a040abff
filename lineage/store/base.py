"""The GraphStore protocol: the small set of operations every backend implements.

Domain rules (immutability, conflicts, the audit chain) live in ``lineage.services``; a backend
only stores, finds and walks. Every backend passes ``tests/contract``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from lineage.errors import InvalidError
from lineage.model.canonical import canonical_json
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind, Page, Subgraph

MAX_DEPTH = 12
MAX_NODES = 10_000
MAX_PAGE = 1_000
Scalar = str | int | float | bool


def clamp(value: int, low: int, high: int, field_name: str) -> int:
    """Validate a limit: below ``low`` is INVALID, above ``high`` is clamped to ``high``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidError(f"must be an integer >= {low}", field=field_name)
    return min(value, high)


@dataclass(frozen=True, slots=True)
class NodeQuery:
    """Find nodes by kind, property equality and a window on ``valid_from``.

    Results are ordered by ``(valid_from, id)``, ascending unless ``newest_first``.
    """

    kind: NodeKind | None = None
    props: Mapping[str, Scalar] = field(default_factory=dict)
    since: datetime | None = None  # valid_from >= since
    until: datetime | None = None  # valid_from < until
    newest_first: bool = False
    limit: int = 100
    after: str | None = None  # cursor from a previous Page

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", clamp(self.limit, 1, MAX_PAGE, "limit"))
        for key, value in self.props.items():
            if not key.isidentifier():
                raise InvalidError(f"property name {key!r} is not an identifier", field="props")
            if not isinstance(value, str | int | float | bool):
                raise InvalidError(f"property {key!r} must be a scalar", field="props")


@dataclass(frozen=True, slots=True)
class EdgeQuery:
    """Find edges touching a node (or all edges when both ends are None), paged.

    ``as_of`` keeps only edges valid at that instant. Ordered by the edge key.
    """

    src: str | None = None
    dst: str | None = None
    kinds: frozenset[EdgeKind] | None = None
    as_of: datetime | None = None
    limit: int = MAX_PAGE
    after: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", clamp(self.limit, 1, MAX_PAGE, "limit"))
        if self.kinds is not None and not all(isinstance(k, EdgeKind) for k in self.kinds):
            raise InvalidError("edge kinds must be EdgeKind values", field="kinds")


@dataclass(frozen=True, slots=True)
class TraversalSpec:
    """A bounded walk from ``start``.

    ``edge_kinds`` limits which edges are followed; ``node_kinds`` limits which reached nodes are
    returned (the walk still passes through other kinds). ``max_depth`` and ``max_nodes`` are
    clamped to MAX_DEPTH / MAX_NODES; reaching either sets ``Subgraph.truncated``. ``as_of`` walks
    only edges valid at that instant and nodes that existed then.
    """

    start: str
    direction: Direction = Direction.IN
    edge_kinds: frozenset[EdgeKind] | None = None
    node_kinds: frozenset[NodeKind] | None = None
    max_depth: int = 6
    max_nodes: int = 1_000
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_depth", clamp(self.max_depth, 1, MAX_DEPTH, "max_depth"))
        object.__setattr__(self, "max_nodes", clamp(self.max_nodes, 1, MAX_NODES, "max_nodes"))


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One link of the hash-chained audit log.

    ``subjects`` maps every node ID and edge key the write touched to its content hash, so the
    chain can prove each stored node and edge is what the service wrote. ``subjects_json`` is
    its canonical JSON when the writer already has it (a batch load's map runs to megabytes),
    so a store need not encode it again; it takes no part in comparisons.
    """

    seq: int
    at: datetime
    actor: str
    action: str
    reason: str
    payload_hash: str
    subjects: dict[str, str]
    prev_hash: str
    hash: str
    payload: dict[str, Any] | None = None
    subjects_json: str | None = field(default=None, compare=False, repr=False)

    def subjects_text(self) -> str:
        """The canonical JSON of ``subjects``."""
        return self.subjects_json or canonical_json(self.subjects)


@runtime_checkable
class GraphStore(Protocol):
    """A provenance graph backend."""

    uri: str
    lock_timeout: float

    def upsert_nodes(self, nodes: Sequence[Node]) -> None:
        """Insert or update nodes by ID in one batch; ``recorded_at`` keeps its first value."""

    def upsert_edges(self, edges: Sequence[Edge]) -> None:
        """Insert or update edges by identity; NOT_FOUND (nothing written) if an end is missing."""

    def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        """The nodes that exist among ``ids``, keyed by ID."""

    def find_nodes(self, query: NodeQuery) -> Page[Node]:
        """A page of nodes matching ``query``."""

    def find_edges(self, query: EdgeQuery) -> Page[Edge]:
        """A page of edges matching ``query``."""

    def traverse(self, spec: TraversalSpec) -> Subgraph:
        """The bounded subgraph reachable from ``spec.start`` in one round trip."""

    def delete_nodes(self, ids: Sequence[str]) -> int:
        """Delete nodes and their edges (retention); returns how many nodes were deleted."""

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all; nesting joins the outer scope.

        Waiting for another writer is bounded (``lock_timeout`` seconds): past it the scope
        raises UNAVAILABLE with nothing written. When it returns, the writes are committed;
        when it raises, they are not, except where the backend says the outcome is unknown
        (a connection lost during commit), and an identical retry is then the safe next step.
        """

    def append_audit(self, event: AuditEvent) -> None:
        """Append an event; CONFLICT if its sequence number is taken."""

    def audit_head(self) -> AuditEvent | None:
        """The newest audit event, or None for an empty log."""

    def audit_events(self, after_seq: int = 0, limit: int = MAX_PAGE) -> list[AuditEvent]:
        """Audit events with ``seq > after_seq`` in order."""

    def try_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``now + ttl`` seconds: True when
        ``holder`` holds it afterwards (it was free, expired at ``now``, or already theirs),
        False when another holder's lease is still running. Leases coordinate processes (two
        schedulers never run one job at once); they are not provenance and are not audited."""

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease back if ``holder`` holds it (a no-op otherwise)."""

    def ping(self, write: bool = False) -> None:
        """Raise UNAVAILABLE unless the backend answers; with ``write``, unless a small write
        commits now (readiness: a full disk or a read-only store fails it)."""

    def close(self) -> None:
        """Release connections."""


def node_pages(store: GraphStore, query: NodeQuery) -> Iterator[list[Node]]:
    """The pages of nodes matching ``query``, following the cursor to the last one."""
    while True:
        page = store.find_nodes(query)
        yield page.items
        if page.next_cursor is None:
            return
        query = replace(query, after=page.next_cursor)


def edge_pages(store: GraphStore, query: EdgeQuery) -> Iterator[list[Edge]]:
    """The pages of edges matching ``query``, following the cursor to the last one."""
    while True:
        page = store.find_edges(query)
        yield page.items
        if page.next_cursor is None:
            return
        query = replace(query, after=page.next_cursor)


def iter_nodes(store: GraphStore, query: NodeQuery) -> Iterator[Node]:
    """Every node matching ``query`` (its ``limit`` is the page size)."""
    for items in node_pages(store, query):
        yield from items


def iter_edges(store: GraphStore, query: EdgeQuery) -> Iterator[Edge]:
    """Every edge matching ``query`` (its ``limit`` is the page size)."""
    for items in edge_pages(store, query):
        yield from items


def iter_all_nodes(
    store: GraphStore, kind: NodeKind | None = None, props: Mapping[str, Scalar] | None = None
) -> Iterator[Node]:
    """Every node (of ``kind``, with ``props``), page by page."""
    return iter_nodes(store, NodeQuery(kind=kind, props=props or {}, limit=MAX_PAGE))


def iter_all_edges(store: GraphStore) -> Iterator[Edge]:
    """Every edge, page by page."""
    return iter_edges(store, EdgeQuery())
