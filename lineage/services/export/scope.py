"""What an evidence bundle covers: the subgraph that answers "why is this model in production?".

For a model, a model version or a deployment: the versions concerned, their whole upstream
provenance, their evidence (evaluations, bias audits, gate results, sign-offs), the deployment
history of every deployment that held them, the corrections of what is exported, and, within
the window, their inference batches (with erasures), incidents and rollback drills. Everything
is read through the GraphStore protocol and the existing services, so it works on every
backend; nothing here decides a domain question the services already answer.

Batches are kept apart from the rest (``batches``): a version can have tens of thousands, and
the writers stream them, while the rest of the scope is small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind, Subgraph
from lineage.model.ids import require_kind
from lineage.model.times import from_text, require_aware
from lineage.services.corrected import corrections_of
from lineage.services.erased_records import erasures_of, served_records_hash, view_with
from lineage.services.governance import slots
from lineage.services.governance.evidence import EVIDENCE_KINDS
from lineage.services.governance.readiness import Readiness, deployable
from lineage.store.base import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_PAGE,
    EdgeQuery,
    GraphStore,
    TraversalSpec,
    iter_edges,
)

ROOT_KINDS = (NodeKind.MODEL, NodeKind.MODEL_VERSION, NodeKind.DEPLOYMENT)
UPSTREAM = frozenset(
    {
        EdgeKind.WAS_GENERATED_BY,
        EdgeKind.USED,
        EdgeKind.HAD_MEMBER,
        EdgeKind.WAS_DERIVED_FROM,
        EdgeKind.WAS_ASSOCIATED_WITH,
        EdgeKind.SPECIALIZATION_OF,
        EdgeKind.WAS_ATTRIBUTED_TO,
        EdgeKind.ACTED_ON_BEHALF_OF,
    }
)
Progress = Callable[[str, int], None]  # what is being read, how many so far


@dataclass(frozen=True, slots=True)
class Window:
    """The window batches, incidents and drills are kept in: ``[start, end)``, open ends
    allowed. Upstream provenance, evidence and deployment history are kept whole (up to
    ``end``): they are why the model is where it is."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None:
            require_aware(self.start, "from")
        if self.end is not None:
            require_aware(self.end, "to")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidError("must be after from", field="to")

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in the window."""
        return (self.start is None or self.start <= instant) and (
            self.end is None or instant < self.end
        )

    def overlaps(self, lo: datetime, hi: datetime) -> bool:
        """Whether ``[lo, hi)`` meets the window."""
        return (self.end is None or lo < self.end) and (self.start is None or hi > self.start)

    def recorded_by_end(self, instant: datetime) -> bool:
        """Whether something that came into being at ``instant`` existed before ``end``."""
        return self.end is None or instant < self.end


@dataclass(slots=True)
class Scope:
    """The subgraph of one bundle. ``nodes`` and ``edges`` (by key) hold everything but the
    inference batches, which are ``batches`` (by window start, then ID) with ``batch_edges``
    and ``records`` (batch ID -> the records file to read: the redacted one after an
    erasure); ``decisions`` and ``overrides`` sum what the batches registered. Batches are
    kept as stored text: writers read their ``props_json`` (``props`` would decode and cache
    it on every batch for the rest of the export). ``truncated`` says a walk hit its depth or
    node budget, with ``notes`` saying which; ``readiness`` is each version's deployability at
    ``as_of``."""

    root: Node
    window: Window
    as_of: datetime
    models: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    deployments: list[str] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[str, Edge] = field(default_factory=dict)
    batches: list[Node] = field(default_factory=list)
    batch_edges: list[Edge] = field(default_factory=list)
    records: dict[str, str] = field(default_factory=dict)
    decisions: int = 0  # the batches' record counts, summed
    overrides: int = 0  # the human overrides their statistics count, summed
    readiness: dict[str, Readiness] = field(default_factory=dict)
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    def sorted_nodes(self) -> list[Node]:
        """The non-batch nodes by ID."""
        return [self.nodes[k] for k in sorted(self.nodes)]

    def sorted_edges(self) -> list[Edge]:
        """The non-batch edges by key."""
        return [self.edges[k] for k in sorted(self.edges)]

    def of_kind(self, *kinds: NodeKind) -> list[Node]:
        """The non-batch nodes of these kinds, by ``(valid_from, id)``."""
        found = [n for n in self.nodes.values() if n.kind in kinds]
        return sorted(found, key=lambda n: (n.valid_from, n.id))

    def subgraph(self) -> Subgraph:
        """The non-batch part as a Subgraph (for drawings and analysis)."""
        return Subgraph(self.sorted_nodes(), self.sorted_edges(), self.truncated)

    def node_count(self) -> int:
        """Every node exported, batches included."""
        return len(self.nodes) + len(self.batches)

    def edge_count(self) -> int:
        """Every edge exported, batch edges included."""
        return len(self.edges) + len(self.batch_edges)


def collect_scope(
    store: GraphStore,
    node_id: str,
    window: Window,
    as_of: datetime,
    progress: Progress | None = None,
) -> Scope:
    """The scope of a bundle for ``node_id`` (a Model, ModelVersion or Deployment ID).

    INVALID (field ``node``) for another kind or a malformed ID; NOT_FOUND (``node``) when it
    is not registered. ``as_of`` is the instant the readiness of each version is asked at
    (the window's end, else the export's time).
    """
    tick = progress or (lambda _what, _n: None)
    require_kind(node_id, "node", *ROOT_KINDS)
    root = store.get_nodes([node_id]).get(node_id)
    if root is None:
        raise NotFoundError(f"{node_id} is not registered", field="node")
    scope = Scope(root=root, window=window, as_of=as_of)
    _add_nodes(scope, [root])
    versions = _versions(store, scope)
    scope.versions = sorted(versions)
    scope.models = sorted(
        {root.id} if root.kind is NodeKind.MODEL else {str(root.props.get("model", ""))} - {""}
    )
    for version in versions.values():
        model = version.props.get("model")
        if isinstance(model, str) and model not in scope.models:
            scope.models = sorted({*scope.models, model})
    tick("upstream provenance", len(scope.nodes))
    for start in (*scope.versions, *scope.models):
        spec = TraversalSpec(
            start=start,
            direction=Direction.OUT,
            edge_kinds=UPSTREAM,
            max_depth=MAX_DEPTH,
            max_nodes=MAX_NODES,
        )
        _walk(store, scope, spec, "upstream of " + start)
    tick("evidence", len(scope.nodes))
    _evidence(store, scope)
    tick("deployment history", len(scope.nodes))
    _deployments(store, scope)
    tick("incidents and drills", len(scope.nodes))
    _incidents_and_drills(store, scope)
    _corrections(store, scope)
    tick("inference batches", len(scope.nodes))
    _batches(store, scope, tick)
    _batch_corrections(store, scope)
    _readiness(store, scope)
    return scope


# -- the parts ---------------------------------------------------------------------------------


def _versions(store: GraphStore, scope: Scope) -> dict[str, Node]:
    root = scope.root
    if root.kind is NodeKind.MODEL_VERSION:
        return {root.id: root}
    if root.kind is NodeKind.MODEL:
        ids = [
            e.src
            for e in iter_edges(
                store, EdgeQuery(dst=root.id, kinds=frozenset({EdgeKind.SPECIALIZATION_OF}))
            )
            if e.src.startswith("model:")
        ]
    else:
        ids = [
            e.dst
            for e in slots.history(store, root.id)
            if e.kind in slots.SLOT_EDGES
            and (e.valid_from is None or scope.window.recorded_by_end(e.valid_from))
        ]
    found = _get(store, ids)
    versions = {
        k: v
        for k, v in found.items()
        if v.kind is NodeKind.MODEL_VERSION and scope.window.recorded_by_end(v.valid_from)
    }
    _add_nodes(scope, versions.values())
    return versions


def _walk(store: GraphStore, scope: Scope, spec: TraversalSpec, what: str) -> None:
    sub = store.traverse(spec)
    if sub.truncated:
        scope.truncated = True
        scope.notes.append(f"the walk {what} hit its depth or node budget")
    _add_nodes(scope, (n for n in sub.nodes if scope.window.recorded_by_end(n.valid_from)))
    _add_edges(scope, sub.edges)


def _evidence(store: GraphStore, scope: Scope) -> None:
    reached: list[Node] = []
    for version_id in scope.versions:
        sub = store.traverse(
            TraversalSpec(
                start=version_id,
                direction=Direction.IN,
                edge_kinds=frozenset({EdgeKind.USED}),
                node_kinds=EVIDENCE_KINDS,
                max_depth=1,
                max_nodes=MAX_NODES,
            )
        )
        if sub.truncated:
            scope.truncated = True
            scope.notes.append(f"the evidence of {version_id} is larger than one walk reads")
        known = [
            n
            for n in sub.nodes
            if n.kind in EVIDENCE_KINDS and scope.window.recorded_by_end(n.valid_from)
        ]
        reached += known
        _add_nodes(scope, known)
        _add_edges(scope, sub.edges)
    # What each piece of evidence used or was made by (an approval's gates, an evaluation's
    # dataset and evaluator), so the bundle shows on what evidence each sign-off was made.
    _outgoing(store, scope, [n.id for n in reached])


def _outgoing(store: GraphStore, scope: Scope, sources: Iterable[str]) -> None:
    edges = [e for src in sources for e in iter_edges(store, EdgeQuery(src=src))]
    missing = sorted({e.dst for e in edges} - scope.nodes.keys())
    found = _get(store, missing)
    _add_nodes(
        scope,
        (
            n
            for n in found.values()
            if n.kind is not NodeKind.INFERENCE_BATCH and scope.window.recorded_by_end(n.valid_from)
        ),
    )
    _add_edges(scope, edges)


def _deployments(store: GraphStore, scope: Scope) -> None:
    if scope.root.kind is NodeKind.DEPLOYMENT:
        deployment_ids = {scope.root.id}
    else:
        deployment_ids = {
            e.src
            for version_id in scope.versions
            for e in iter_edges(store, EdgeQuery(dst=version_id, kinds=slots.SLOT_EDGES))
        }
    _add_nodes(scope, _get(store, sorted(deployment_ids)).values())
    scope.deployments = sorted(d for d in deployment_ids if d in scope.nodes)
    history = [
        e
        for d in scope.deployments
        for e in slots.history(store, d)
        if e.valid_from is None or scope.window.recorded_by_end(e.valid_from)
    ]
    _add_nodes(scope, _get(store, sorted({e.dst for e in history})).values())
    _add_edges(scope, history)


def _incidents_and_drills(store: GraphStore, scope: Scope) -> None:
    targets = [*scope.models, *scope.versions, *scope.deployments]
    affected = [e for t in targets for e in iter_edges(store, EdgeQuery(dst=t, kinds=_AFFECTED))]
    drills = [
        e
        for d in scope.deployments
        for e in iter_edges(store, EdgeQuery(dst=d, kinds=frozenset({EdgeKind.USED})))
        if e.src.startswith("drill:")
    ]
    found = _get(store, sorted({e.src for e in (*affected, *drills)}))
    kept = [n for n in found.values() if scope.window.contains(n.valid_from)]
    # An incident a rollback answered is part of the deployment history even outside the window.
    _add_nodes(scope, kept)
    _add_edges(scope, affected)
    _add_edges(scope, drills)
    incidents = [
        n.id for n in scope.nodes.values() if n.kind in (NodeKind.INCIDENT, NodeKind.DRILL)
    ]
    _outgoing(store, scope, incidents)


_AFFECTED = frozenset({EdgeKind.AFFECTED})
_BATCH_ENDS = ((EdgeKind.SCORED_WITH, "snapshot"), (EdgeKind.WAS_ASSOCIATED_WITH, "deployment"))


def _corrections(store: GraphStore, scope: Scope) -> None:
    found = corrections_of(store, sorted(scope.nodes))
    nodes = [c for cs in found.values() for c in cs if scope.window.recorded_by_end(c.valid_from)]
    _add_nodes(scope, nodes)
    _outgoing(store, scope, [n.id for n in nodes])


def _batches(store: GraphStore, scope: Scope, tick: Progress) -> None:
    scored = frozenset({EdgeKind.SCORED_WITH})
    to_version: list[Edge] = [
        e
        for v in scope.versions
        for e in iter_edges(store, EdgeQuery(dst=v, kinds=scored))
        if e.src.startswith("batch:")
    ]
    ids = sorted({e.src for e in to_version})
    kept: dict[str, Node] = {}
    for start in range(0, len(ids), MAX_PAGE):
        for batch in store.get_nodes(ids[start : start + MAX_PAGE]).values():
            if scope.root.kind is NodeKind.DEPLOYMENT and (
                batch.props.get("deployment") != scope.root.id
            ):
                continue
            if scope.window.overlaps(batch.valid_from, _window_end(batch)):
                kept[batch.id] = batch
        tick("inference batches", len(kept))
    erasures = erasures_of(store, list(kept))
    ordered = sorted(kept.values(), key=lambda n: (n.valid_from, n.id))
    for batch in ordered:
        digest = served_records_hash(view_with(batch, erasures.get(batch.id, [])))
        if digest is not None:
            scope.records[batch.id] = digest
        statistics = batch.props.get("statistics")
        overrides = statistics.get("overrides") if isinstance(statistics, dict) else None
        scope.decisions += int(batch.props.get("record_count", 0) or 0)
        scope.overrides += overrides if isinstance(overrides, int) else 0
    # Kept as their stored JSON only: a batch's decoded statistics weigh ten times its text,
    # and the writers need the text (and the content hash) alone.
    scope.batches = [
        Node.stored(b.id, b.kind, b.valid_from, b.props_json(), b.valid_to, b.recorded_at)
        for b in ordered
    ]
    erased = [e for es in erasures.values() for e in es]
    _add_nodes(scope, erased)
    # The batches' other ends: their snapshots and deployments, each read in one paged scan.
    edges = [e for e in to_version if e.src in kept]
    ends = {
        (kind, str(b.props[prop]))
        for b in ordered
        for kind, prop in _BATCH_ENDS
        if b.props.get(prop)
    }
    for kind, dst in sorted(ends):
        if dst not in scope.nodes:
            _add_nodes(scope, _get(store, [dst]).values())
        edges += [
            e
            for e in iter_edges(store, EdgeQuery(dst=dst, kinds=frozenset({kind})))
            if e.src in kept
        ]
    for erasure in erased:
        edges += list(iter_edges(store, EdgeQuery(src=erasure.id)))
    known = scope.nodes.keys() | kept.keys()
    unique = {e.key: e for e in edges if e.src in known and e.dst in known}
    scope.batch_edges = [unique[k] for k in sorted(unique)]


def _batch_corrections(store: GraphStore, scope: Scope) -> None:
    found = corrections_of(store, [b.id for b in scope.batches])
    nodes = [c for cs in found.values() for c in cs if scope.window.recorded_by_end(c.valid_from)]
    if not nodes:
        return
    _add_nodes(scope, nodes)
    batch_ids = {b.id for b in scope.batches}
    extra = [e for c in nodes for e in iter_edges(store, EdgeQuery(src=c.id))]
    _add_nodes(scope, _get(store, sorted({e.dst for e in extra} - batch_ids)).values())
    _add_edges(scope, extra)
    edges = {e.key: e for e in scope.batch_edges}
    edges |= {e.key: e for e in extra if e.dst in batch_ids and e.src in scope.nodes}
    scope.batch_edges = [edges[k] for k in sorted(edges)]


def _readiness(store: GraphStore, scope: Scope) -> None:
    for version_id in scope.versions:
        version = scope.nodes[version_id]
        if version.valid_from <= scope.as_of:
            scope.readiness[version_id] = deployable(store, version_id, scope.as_of)


# -- helpers -----------------------------------------------------------------------------------


def _get(store: GraphStore, ids: list[str]) -> dict[str, Node]:
    found: dict[str, Node] = {}
    for start in range(0, len(ids), MAX_PAGE):
        found |= store.get_nodes(ids[start : start + MAX_PAGE])
    return found


def _add_nodes(scope: Scope, nodes: Iterable[Node]) -> None:
    for node in nodes:
        if node.kind is not NodeKind.INFERENCE_BATCH and node.kind is not NodeKind.CREDENTIAL:
            scope.nodes.setdefault(node.id, node)


def _add_edges(scope: Scope, edges: Iterable[Edge]) -> None:
    for edge in edges:
        if edge.src in scope.nodes and edge.dst in scope.nodes:
            scope.edges.setdefault(edge.key, edge)


def _window_end(batch: Node) -> datetime:
    end = batch.props.get("window_end")
    return from_text(end) if isinstance(end, str) else batch.valid_from
