"""The GraphStore protocol: the small set of operations every backend implements.

Domain rules (immutability, conflicts, the audit chain) live in ``lineage.services``; a backend
only stores, finds and walks. Every backend passes ``tests/contract``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from lineage.errors import InvalidError, UnavailableError
from lineage.model.canonical import canonical_json
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind, Page, Subgraph

MAX_DEPTH = 12
MAX_NODES = 10_000
MAX_PAGE = 1_000
MAX_SEARCH_HITS = 100
MAX_SEARCH_TEXT = 200
Scalar = str | int | float | bool


class WouldWait(UnavailableError):
    """``transaction(wait=False)`` could not start without waiting; nothing was done.

    Callers catch it and run the work where waiting is fine (a worker thread). It is an
    UNAVAILABLE error so that, were one ever to escape, it would say what happened.
    """


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


class SearchMatch(StrEnum):
    """How a search hit matched the text; hits come in this order (see SearchQuery)."""

    ID = "ID"  # the text is the node's ID
    ID_PREFIX = "ID_PREFIX"  # the ID, or its part after ``kind:``, starts with the text
    WORDS = "WORDS"  # every word of the text is a word of the node's indexed text


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Find nodes by ID, ID prefix or words, ranked (see lineage.store.search_plan).

    Hits come as: the node whose ID is ``text``; then nodes whose ID, or its name part after
    ``kind:``, starts with ``text`` (``model:lending``, ``applications@v``), closest first; then
    nodes whose indexed text (ID name and version, a few descriptive properties) holds every
    word of ``text``, the last one as a prefix, by relevance (BM25). ``kinds`` keeps only
    those kinds; ``limit`` is clamped to MAX_SEARCH_HITS.
    """

    text: str
    kinds: frozenset[NodeKind] | None = None
    limit: int = 20

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise InvalidError("must be a non-empty text", field="text")
        text = self.text.strip()
        if len(text) > MAX_SEARCH_TEXT:
            raise InvalidError(
                f"must be at most {MAX_SEARCH_TEXT} characters, got {len(text)}", field="text"
            )
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "limit", clamp(self.limit, 1, MAX_SEARCH_HITS, "limit"))
        if self.kinds is not None:
            if not self.kinds or not all(isinstance(k, NodeKind) for k in self.kinds):
                raise InvalidError("must be a non-empty set of NodeKind values", field="kinds")
            object.__setattr__(self, "kinds", frozenset(self.kinds))


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One node found, how it matched and its score: for ID and ID_PREFIX hits the share of
    the ID (or of its name part) the text covers, for WORDS hits the relevance (higher is
    better). Scores compare only within one ``match``."""

    node: Node
    match: SearchMatch
    score: float


@dataclass(frozen=True, slots=True)
class SearchPage:
    """The best hits, in rank order; ``truncated`` when more nodes matched than were returned."""

    hits: list[SearchHit]
    truncated: bool


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

    def search(self, query: SearchQuery) -> SearchPage:
        """Nodes by ID, ID prefix and words, ranked, from an index (see SearchQuery)."""

    def delete_nodes(self, ids: Sequence[str]) -> int:
        """Delete nodes and their edges (retention); returns how many nodes were deleted.

        Inside a ``transaction()`` scope the deletes are part of it (atomic with the audit event
        that records them); outside one a backend may split a large delete into bounded
        transactions (Neo4j does), so a failure part-way can leave the earlier part deleted."""

    def transaction(self, wait: bool = True) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all; nesting joins the outer scope.

        Scopes are serialised: from its first operation to its commit, no other scope writes,
        so a read-merge-write inside one (the events of an OpenLineage run, which may arrive at
        once) never loses another's update. SQLite takes ``BEGIN IMMEDIATE``; Neo4j writes a
        lock node first, whose write lock is held to commit.

        Waiting for another writer is bounded (``lock_timeout`` seconds): past it the scope
        raises UNAVAILABLE with nothing written. When it returns, the writes are committed;
        when it raises, they are not, except where the backend says the outcome is unknown
        (a connection lost during commit), and an identical retry is then the safe next step.

        ``wait=False`` asks for a scope whose every operation runs in this process without
        waiting, so that a short one may run on an event loop: unless the write lock is free
        now and the backend does no network I/O, it raises :class:`WouldWait` before doing
        anything (Neo4j always does). Inside an open scope it joins it, as ever.
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
