"""The investigators' questions, answered over the GraphStore protocol.

Each function answers one question of DESIGN.md section 1 and returns plain dataclasses; the
GraphQL resolvers only translate them (the dataclasses live in ``lineage.services.answers``
and are re-exported here). Every answer that walks the graph carries ``truncated``.

The walks are sized to the graph the registry writes: each one follows only the edge kinds its
question needs, to the depth at which the answer's nodes lie, so a walk is one round trip and a
``truncated`` walk means the node budget (or an unexpected, longer shape) cut something off.

Every answer shows the corrected facts as known at the question's instant (its ``asOf``, else
now): each read goes through :class:`lineage.services.corrected.CorrectedReads`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind, Subgraph
from lineage.model.ids import PREFIX_OF, NodeId, parse_id, require_kind
from lineage.model.times import from_text, require_aware, utcnow
from lineage.services.answers import (
    Attribution,
    Change,
    ChangeKind,
    DecisionBatch,
    Decisions,
    FeatureImpact,
    ModelsUsingDataset,
    ModelUse,
    RecordPage,
    Serving,
    TrainingProvenance,
    UpstreamChanges,
)
from lineage.services.corrected import CorrectedReads
from lineage.services.erased_records import erasure_id, served_records_hash, with_erasures
from lineage.services.governance.evidence import EVIDENCE_KINDS as PROVENANCE_EVIDENCE
from lineage.services.governance.gates import provenance_gates
from lineage.services.record_store import RecordStore
from lineage.services.subgraph_index import SubgraphIndex as _Index
from lineage.store.base import MAX_DEPTH, MAX_NODES, GraphStore, TraversalSpec, clamp
from lineage.store.cursor import decode_cursor, encode_cursor

__all__ = [
    "Attribution",
    "Change",
    "ChangeKind",
    "DecisionBatch",
    "Decisions",
    "FeatureImpact",
    "ModelUse",
    "ModelsUsingDataset",
    "RecordPage",
    "Serving",
    "TrainingProvenance",
    "UpstreamChanges",
    "batch_records",
    "decisions",
    "feature_impact",
    "impact",
    "models_using_dataset",
    "training_provenance",
    "upstream_changes",
]

MAX_RECORDS_PAGE = 500
ROLE_ORDER = ("owner", "technical_steward", "risk_approver")

_TRAINING_DOWNSTREAM = frozenset(
    {
        EdgeKind.SPECIALIZATION_OF,
        EdgeKind.WAS_DERIVED_FROM,
        EdgeKind.USED,
        EdgeKind.WAS_GENERATED_BY,
        EdgeKind.SERVED,
    }
)
_TRAINING_UPSTREAM = frozenset(
    {
        EdgeKind.WAS_GENERATED_BY,
        EdgeKind.USED,
        EdgeKind.HAD_MEMBER,
        EdgeKind.WAS_DERIVED_FROM,
        EdgeKind.WAS_ASSOCIATED_WITH,
        EdgeKind.SPECIALIZATION_OF,
        EdgeKind.WAS_ATTRIBUTED_TO,
    }
)
# What a downstream walk from data keeps: the training chain and who serves its result.
_TRAINED_KINDS = frozenset(
    {
        NodeKind.FEATURE_SNAPSHOT,
        NodeKind.TRAINING_RUN,
        NodeKind.MODEL_VERSION,
        NodeKind.DEPLOYMENT,
    }
)
# Deployments and incidents point at a version too, but they are not evidence about it.
# Nor is a correction: its facts are applied to the evidence it corrects.
_EVIDENCE = frozenset(EdgeKind) - {
    EdgeKind.SERVED,
    EdgeKind.STANDS_BY,
    EdgeKind.AFFECTED,
    EdgeKind.SCORED_WITH,
    EdgeKind.CORRECTS,
}


# -- the questions -----------------------------------------------------------------------------


def models_using_dataset(
    store: GraphStore, dataset: str, version: str | None = None, now: datetime | None = None
) -> ModelsUsingDataset:
    """Model versions whose training used the dataset (any version, or ``version``).

    ``dataset`` is a name, a Dataset ID or a DatasetVersion ID. A version uses the dataset when
    its training run used one of its versions, directly or through a feature snapshot derived
    from it; the path through a snapshot is preferred. ``deployed_now``: some deployment serves
    the version at ``now`` (default: the current instant), which is also the instant whose
    corrections apply. One traversal.
    """
    parsed = _resolve(dataset, "dataset", NodeKind.DATASET, NodeKind.DATASET_VERSION)
    if version is not None:
        if parsed.version is not None and parsed.version != version:
            raise InvalidError(f"{parsed} already names version {parsed.version}", field="version")
        parsed = parse_id(f"{parsed.unversioned}@{version}", "version")
    at = require_aware(now, "now") if now is not None else utcnow()
    reads = CorrectedReads(store, at)
    start = str(parsed)
    versioned = parsed.version is not None
    spec = TraversalSpec(
        start=start,
        direction=Direction.IN,
        edge_kinds=_TRAINING_DOWNSTREAM,
        node_kinds=_TRAINED_KINDS | {NodeKind.DATASET_VERSION},
        # dataset <- version <- snapshot <- run <- model version <- deployment
        max_depth=4 if versioned else 5,
        max_nodes=MAX_NODES,
    )
    try:
        sub = reads.traverse(spec)
    except NotFoundError as exc:
        missing_dataset = versioned and not store.get_nodes([parsed.unversioned])
        name = "version" if versioned and not missing_dataset else "dataset"
        raise NotFoundError(f"{start} is not registered", field=name) from exc
    g = _Index(sub)
    versions = [g.nodes[start]] if versioned else g.sources(start, EdgeKind.SPECIALIZATION_OF)
    versions = sorted(versions, key=_by_id)
    paths: dict[str, list[Node]] = {}
    for dv in versions:
        for snap in g.sources(dv.id, EdgeKind.WAS_DERIVED_FROM, NodeKind.FEATURE_SNAPSHOT):
            for run in g.sources(snap.id, EdgeKind.USED, NodeKind.TRAINING_RUN):
                for mv in g.sources(run.id, EdgeKind.WAS_GENERATED_BY, NodeKind.MODEL_VERSION):
                    paths.setdefault(mv.id, [dv, snap, run, mv])
    for dv in versions:
        for run in g.sources(dv.id, EdgeKind.USED, NodeKind.TRAINING_RUN):
            for mv in g.sources(run.id, EdgeKind.WAS_GENERATED_BY, NodeKind.MODEL_VERSION):
                paths.setdefault(mv.id, [dv, run, mv])
    uses = [
        ModelUse(
            model_version=path[-1],
            path=path,
            deployed_now=any(e.valid_at(at) for e in g.incoming(mv_id, EdgeKind.SERVED)),
        )
        for mv_id, path in sorted(paths.items())
    ]
    return ModelsUsingDataset(uses=uses, truncated=sub.truncated)


def training_provenance(store: GraphStore, model: str, as_of: datetime) -> TrainingProvenance:
    """The version serving at ``as_of`` (else the latest registered by then) and its provenance.

    ``model`` is a name or a Model ID; a ModelVersion ID pins the version instead. Evaluations
    and approvals are those recorded by ``as_of``; attributions those in force then; corrections
    those recorded by then. Three traversals: the model's versions and deployments, the
    version's upstream, its evidence.
    """
    parsed = _resolve(model, "model", NodeKind.MODEL, NodeKind.MODEL_VERSION)
    at = require_aware(as_of, "as_of")
    reads = CorrectedReads(store, at)
    chosen, serving, truncated = _version_at(reads, parsed, at)

    # version -> run -> snapshot -> features, version -> model -> people, dataset version ->
    # dataset: depth 4 reaches the dataset of a version bound only through the snapshot.
    upstream = _walk(
        reads,
        TraversalSpec(
            start=chosen.id,
            direction=Direction.OUT,
            edge_kinds=_TRAINING_UPSTREAM,
            max_depth=4,
            max_nodes=MAX_NODES,
        ),
        "model",
    )
    g = _Index(upstream)
    run = _only(g.targets(chosen.id, EdgeKind.WAS_GENERATED_BY, NodeKind.TRAINING_RUN), chosen)
    snapshot = _only(g.targets(run.id, EdgeKind.USED, NodeKind.FEATURE_SNAPSHOT), run)
    datasets = g.targets(run.id, EdgeKind.USED, NodeKind.DATASET_VERSION) or g.targets(
        snapshot.id, EdgeKind.WAS_DERIVED_FROM, NodeKind.DATASET_VERSION
    )
    declared = [f"feature:{f}" if ":" not in f else f for f in snapshot.props.get("features", [])]
    features = sorted(
        g.targets(snapshot.id, EdgeKind.HAD_MEMBER, NodeKind.FEATURE),
        key=lambda n: (declared.index(n.id) if n.id in declared else len(declared), n.id),
    )
    agents = [e for e in g.outgoing(run.id, EdgeKind.WAS_ASSOCIATED_WITH) if e.dst in g.nodes]
    agents.sort(key=lambda e: (e.props.get("role") != "triggered_by", e.dst))
    accountable = _attributions(g, parsed.unversioned, at)

    evidence = _walk(
        reads,
        TraversalSpec(
            start=chosen.id,
            direction=Direction.IN,
            edge_kinds=_EVIDENCE,
            node_kinds=PROVENANCE_EVIDENCE,
            max_depth=1,
            max_nodes=MAX_NODES,
            # Only what was recorded by then, which also keeps later batches out of the budget.
            as_of=max(at, chosen.valid_from),
        ),
        "model",
    )
    known = sorted((n for n in evidence.nodes if n.valid_from <= at), key=_by_time)
    return TrainingProvenance(
        model_version=chosen,
        serving=serving,
        training_run=run,
        snapshot=snapshot,
        features=features,
        datasets=sorted(datasets, key=_by_id),
        evaluations=[n for n in known if n.kind is NodeKind.EVALUATION],
        approvals=[
            n
            for n in known
            if n.kind is NodeKind.APPROVAL and (n.valid_to is None or at < n.valid_to)
        ],
        accountable=accountable,
        triggered_by=g.nodes[agents[0].dst] if agents else None,
        as_of=at,
        truncated=truncated or upstream.truncated or evidence.truncated,
        risk_assessments=[n for n in known if n.kind is NodeKind.RISK_ASSESSMENT],
        gate_results=[n for n in known if n.kind is NodeKind.GATE_RESULT],
        gates=provenance_gates(
            chosen, g.nodes.get(parsed.unversioned), run, snapshot, evidence.nodes, at
        ),
    )


def feature_impact(store: GraphStore, feature: str, now: datetime | None = None) -> FeatureImpact:
    """Snapshots containing the feature, versions trained on them, deployments serving them.

    ``accountable`` maps the model of every affected version to the people accountable for it
    at ``now`` (default: the current instant), whose corrections apply. One traversal, plus one
    per affected model.
    """
    feature_id = str(_resolve(feature, "feature", NodeKind.FEATURE))
    at = require_aware(now, "now") if now is not None else utcnow()
    reads = CorrectedReads(store, at)
    sub = _walk(
        reads,
        TraversalSpec(
            start=feature_id,
            direction=Direction.IN,
            edge_kinds=frozenset(
                {EdgeKind.HAD_MEMBER, EdgeKind.USED, EdgeKind.WAS_GENERATED_BY, EdgeKind.SERVED}
            ),
            node_kinds=_TRAINED_KINDS,
            # feature <- snapshot <- run <- model version <- deployment
            max_depth=4,
            max_nodes=MAX_NODES,
        ),
        "feature",
    )
    g = _Index(sub)
    snapshots = sorted(g.sources(feature_id, EdgeKind.HAD_MEMBER), key=_by_id)
    versions: dict[str, Node] = {}
    for snap in snapshots:
        for run in g.sources(snap.id, EdgeKind.USED, NodeKind.TRAINING_RUN):
            for mv in g.sources(run.id, EdgeKind.WAS_GENERATED_BY, NodeKind.MODEL_VERSION):
                versions[mv.id] = mv
    serving = [
        Serving(g.nodes[e.src], versions[mv_id], _run_start(g, e), e.valid_to)
        for mv_id in sorted(versions)
        for e in g.incoming(mv_id, EdgeKind.SERVED)
        if e.valid_at(at) and e.src in g.nodes
    ]
    truncated = sub.truncated
    accountable: dict[str, list[Attribution]] = {}
    for model_id in sorted({parse_id(mv_id).unversioned for mv_id in versions}):
        people = _walk(
            reads,
            TraversalSpec(
                start=model_id,
                direction=Direction.OUT,
                edge_kinds=frozenset({EdgeKind.WAS_ATTRIBUTED_TO}),
                max_depth=1,
                max_nodes=MAX_NODES,
            ),
            "model",
        )
        accountable[model_id] = _attributions(_Index(people), model_id, at)
        truncated = truncated or people.truncated
    return FeatureImpact(
        feature=g.nodes[feature_id],
        snapshots=snapshots,
        model_versions=[versions[i] for i in sorted(versions)],
        serving=serving,
        accountable=accountable,
        truncated=truncated,
    )


def decisions(
    store: GraphStore, model: str, start: datetime, end: datetime, snapshot: str | None = None
) -> Decisions:
    """Inference batches of the model whose window overlaps [start, end).

    ``model`` is a name or a Model ID (a ModelVersion ID keeps that version only); ``snapshot``
    (name or ID) keeps the batches that used it. Sorted by window start, then ID. One
    traversal (bounded by the node budget, so ``truncated`` if a long history fills it), then
    the snapshots and their source dataset versions in two batched reads. The question has no
    ``asOf``: every correction recorded by now applies.
    """
    parsed = _resolve(model, "model", NodeKind.MODEL, NodeKind.MODEL_VERSION)
    lo = require_aware(start, "from")
    hi = require_aware(end, "to")
    if hi <= lo:
        raise InvalidError("must be after from", field="to")
    snapshot_id = (
        str(_resolve(snapshot, "snapshot", NodeKind.FEATURE_SNAPSHOT)) if snapshot else None
    )
    root = str(parsed)
    reads = CorrectedReads(store)
    spec = TraversalSpec(
        start=root,
        direction=Direction.IN,
        edge_kinds=frozenset({EdgeKind.SPECIALIZATION_OF, EdgeKind.SCORED_WITH}),
        node_kinds=frozenset({NodeKind.MODEL_VERSION, NodeKind.INFERENCE_BATCH}),
        max_depth=2 if parsed.version is None else 1,  # model <- version <- batch
        max_nodes=MAX_NODES,
        as_of=hi,  # batches starting at or after the end cannot overlap
    )
    try:
        sub: Subgraph | None = reads.traverse(spec)
    except NotFoundError as exc:
        if not store.get_nodes([root]):
            raise NotFoundError(f"{root} is not registered", field="model") from exc
        sub = None  # registered after the window: no decisions in it
    batches: dict[str, tuple[Node, Node]] = {}
    if sub is not None:
        g = _Index(sub)
        versions = (
            [g.nodes[root]] if parsed.version else g.sources(root, EdgeKind.SPECIALIZATION_OF)
        )
        for mv in versions:
            for batch in g.sources(mv.id, EdgeKind.SCORED_WITH, NodeKind.INFERENCE_BATCH):
                if batch.valid_from < hi and _window_end(batch) > lo:
                    batches.setdefault(batch.id, (batch, mv))
    if snapshot_id is not None:
        batches = {k: v for k, v in batches.items() if v[0].props.get("snapshot") == snapshot_id}
    # The batch, snapshot and source IDs are properties written with the SCORED_WITH and
    # WAS_DERIVED_FROM edges in the same registration; reading them saves a walk per batch.
    wanted = {str(b.props["snapshot"]) for b, _ in batches.values() if b.props.get("snapshot")}
    # The batches' first erasures come in the same read (no extra round trip when none exist).
    first_erasures = {erasure_id(batch_id, 1) for batch_id in batches}
    snapshots = reads.get_nodes(
        sorted(wanted | ({snapshot_id} if snapshot_id else set()) | first_erasures)
    )
    erasures = {k: snapshots.pop(k) for k in first_erasures if k in snapshots}
    if snapshot_id is not None and snapshot_id not in snapshots:
        raise NotFoundError(f"{snapshot_id} is not registered", field="snapshot")
    sources = reads.get_nodes(
        sorted({str(s) for snap in snapshots.values() for s in snap.props.get("sources", [])})
    )
    found = []
    for batch, mv in sorted(batches.values(), key=lambda pair: _by_time(pair[0])):
        snap = snapshots.get(str(batch.props.get("snapshot")))
        if snap is None:
            raise NotFoundError(
                f"{batch.id} used {batch.props.get('snapshot')}, which is not in the store",
                field="snapshot",
            )
        dvs = [sources[s] for s in sorted(snap.props.get("sources", [])) if s in sources]
        found.append(DecisionBatch(batch=batch, model_version=mv, snapshot=snap, datasets=dvs))
    # A batch whose records had a data subject erased says so (``erasures``), and its records
    # are read from the redacted file.
    erased = with_erasures(store, [b.batch for b in found], erasures)
    found = [replace(b, batch=erased.get(b.batch.id, b.batch)) for b in found]
    return Decisions(batches=found, truncated=sub.truncated if sub is not None else False)


def batch_records(
    records: RecordStore,
    batch: Node,
    first: int = 50,
    after: str | None = None,
    store: GraphStore | None = None,
) -> RecordPage:
    """A page of the individual decisions of a batch, read from the record store.

    ``first`` is 1 to 500 (more is clamped); ``after`` is the ``next_cursor`` of the previous
    page of the same batch. ``total`` counts every record of the batch. After an erasure the
    redacted file is read, where each erased decision is ``{"erased_sha256": <hash>}``: the
    batch as :func:`decisions` answers it says so, or give ``store`` to look it up.
    """
    if batch.kind is not NodeKind.INFERENCE_BATCH:
        raise InvalidError(f"{batch.id} is a {batch.kind.value}, not a batch", field="batch")
    size = clamp(first, 1, MAX_RECORDS_PAGE, "first")
    digest = served_records_hash(batch, store)
    if not isinstance(digest, str):
        raise NotFoundError(f"{batch.id} has no records file", field="records_hash")
    offset = 0
    if after is not None:
        tag, offset = decode_cursor(after, (str, int))
        if tag != digest[:16]:
            raise InvalidError("not a cursor of this batch's records", field="after")
    rows = list(records.iter_records(digest))
    if not 0 <= offset <= len(rows):
        raise InvalidError("not a cursor of this batch's records", field="after")
    end = offset + size
    cursor = encode_cursor([digest[:16], end]) if end < len(rows) else None
    return RecordPage(records=rows[offset:end], next_cursor=cursor, total=len(rows))


def impact(
    store: GraphStore,
    node: str,
    direction: Direction,
    max_depth: int = 6,
    kinds: list[str] | None = None,
    as_of: datetime | None = None,
    max_nodes: int = 1_000,
) -> Subgraph:
    """The bounded subgraph reachable from ``node``.

    ``kinds`` (NodeKind values or names) limits the nodes returned, not the walk; empty or None
    returns every kind. Depth and budget are clamped to the store's maxima. The corrections
    recorded by ``as_of`` (default: now) apply, and what is reachable only over an edge a
    correction hid is not returned.
    """
    start = str(parse_id(node, "node"))
    node_kinds = frozenset(NodeKind.parse(k, "kinds") for k in kinds) if kinds else None
    try:
        way = Direction(direction)
    except ValueError as exc:
        known = ", ".join(d.value for d in Direction)
        raise InvalidError(
            f"unknown direction {direction!r}; one of {known}", field="direction"
        ) from exc
    at = require_aware(as_of, "as_of") if as_of is not None else None
    spec = TraversalSpec(
        start=start,
        direction=way,
        node_kinds=node_kinds,
        max_depth=max_depth,
        max_nodes=max_nodes,
        as_of=at,
    )
    return _walk(CorrectedReads(store, at), spec, "node", exact=True)


def upstream_changes(store: GraphStore, node: str, since: datetime) -> UpstreamChanges:
    """What changed upstream of ``node`` at or after ``since``, newest first.

    A change is a node registered (its ``valid_from``) or ended (its ``valid_to``: a person
    leaving), or corrected (the correction's time), or a temporal edge that started or ended: a
    new owner, a deployment switching version. Structural edges come with the node that
    registered them and are not listed apart. The start node's own edges and corrections count
    (its owners are upstream of it); its own registration does not. One traversal at the
    store's maximum depth and budget; ``depth`` is hops from ``node``. Every correction recorded
    by now applies, so a re-attributed batch lists its new deployment's changes, not the old.
    """
    start = str(parse_id(node, "node"))
    cutoff = require_aware(since, "since")
    reads = CorrectedReads(store)
    sub = _walk(
        reads,
        TraversalSpec(
            start=start, direction=Direction.OUT, max_depth=MAX_DEPTH, max_nodes=MAX_NODES
        ),
        "node",
    )
    nodes = {n.id: n for n in sub.nodes}
    changes: list[Change] = []
    for n in sub.nodes:
        depth = sub.depths.get(n.id)
        changes += [
            Change(c.valid_from, ChangeKind.CORRECTED, n, depth=depth, correction=c)
            for c in reads.applied(n.id)
            if c.valid_from >= cutoff
        ]
        if n.id == start:
            continue
        if n.valid_from >= cutoff:
            changes.append(Change(n.valid_from, ChangeKind.REGISTERED, n, depth=depth))
        if n.valid_to is not None and n.valid_to >= cutoff:
            changes.append(Change(n.valid_to, ChangeKind.ENDED, n, depth=depth))
    for e in sub.edges:
        if e.valid_from is None:  # structural: it came with the node that registered it
            continue
        if e.kind is EdgeKind.STANDS_BY:
            continue  # a version without traffic decides nothing; SERVED lists what moved
        depth = sub.depths.get(e.src)
        if e.valid_from >= cutoff:
            changes.append(Change(e.valid_from, ChangeKind.STARTED, nodes[e.src], e, depth))
        if e.valid_to is not None and e.valid_to >= cutoff:
            changes.append(Change(e.valid_to, ChangeKind.ENDED, nodes[e.src], e, depth))
    changes.sort(key=Change.order)
    changes.sort(key=lambda c: c.at, reverse=True)
    return UpstreamChanges(changes=changes, truncated=sub.truncated)


# -- helpers -----------------------------------------------------------------------------------


def _resolve(value: str, field_name: str, *kinds: NodeKind) -> NodeId:
    """A full ID, or a bare name taken to be of the first of ``kinds``."""
    if not isinstance(value, str) or not value:
        raise InvalidError("must be a name or an ID", field=field_name)
    text = value if ":" in value else f"{PREFIX_OF[kinds[0]]}:{value}"
    return require_kind(text, field_name, *kinds)


def _walk(
    reads: CorrectedReads, spec: TraversalSpec, field_name: str, *, exact: bool = False
) -> Subgraph:
    """Traverse (corrected), reporting a missing start node against the caller's argument."""
    try:
        return reads.traverse(spec, exact=exact)
    except NotFoundError as exc:
        raise NotFoundError(exc.message, field=field_name, details=exc.details) from exc


def _version_at(reads: CorrectedReads, parsed: NodeId, at: datetime) -> tuple[Node, bool, bool]:
    """(version, whether it was serving at ``at``, truncated) for a model or a pinned version."""
    model_id = parsed.unversioned
    sub = _walk(
        reads,
        TraversalSpec(
            start=model_id,
            direction=Direction.IN,
            edge_kinds=frozenset({EdgeKind.SPECIALIZATION_OF, EdgeKind.SERVED}),
            max_depth=2,  # model <- version <- deployment
            max_nodes=MAX_NODES,
        ),
        "model",
    )
    g = _Index(sub)
    versions = g.sources(model_id, EdgeKind.SPECIALIZATION_OF, NodeKind.MODEL_VERSION)
    served = [
        (e, g.nodes[e.src], mv)
        for mv in versions
        for e in g.incoming(mv.id, EdgeKind.SERVED)
        if e.valid_at(at) and e.src in g.nodes
    ]
    if parsed.version is not None:
        pinned = [mv for mv in versions if mv.id == str(parsed) and mv.valid_from <= at]
        if not pinned:
            raise NotFoundError(f"{parsed} was not registered by {at.isoformat()}", field="model")
        return pinned[0], any(mv.id == pinned[0].id for _, _, mv in served), sub.truncated
    if served:
        # Several deployments may serve at once (staging, canary) and versions share traffic:
        # production first, then the version with the largest share, then the most recent
        # change.
        _, _, mv = max(
            served,
            key=lambda s: (
                s[1].props.get("environment") == "production",
                _weight(s[0]),
                s[0].valid_from or at,
                s[2].id,
            ),
        )
        return mv, True, sub.truncated
    registered = [mv for mv in versions if mv.valid_from <= at]
    if not registered:
        raise NotFoundError(
            f"no version of {model_id} was registered by {at.isoformat()}", field="model"
        )
    return max(registered, key=_by_time), False, sub.truncated


def _attributions(g: _Index, model_id: str, at: datetime) -> list[Attribution]:
    """The model's attributions in force at ``at``, by role then agent."""
    found = [
        Attribution(str(e.props.get("role", "")), g.nodes[e.dst], e.valid_from, e.valid_to)
        for e in g.outgoing(model_id, EdgeKind.WAS_ATTRIBUTED_TO)
        if e.valid_at(at) and e.dst in g.nodes
    ]
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    return sorted(found, key=lambda a: (rank.get(a.role, len(rank)), a.role, a.agent.id))


def _weight(served: Edge) -> int:
    """A SERVED edge's share of its deployment's traffic (all of it before shares existed)."""
    weight = served.props.get("weight", 100)
    return weight if isinstance(weight, int) else 100


def _run_start(g: _Index, served: Edge) -> datetime | None:
    """When a version's serving run started: a change of its share closes one SERVED window
    and opens the next at the same instant, and the run is all of them."""
    windows: dict[datetime | None, datetime | None] = {
        e.valid_to: e.valid_from
        for e in g.incoming(served.dst, EdgeKind.SERVED)
        if e.src == served.src and e.valid_to is not None
    }
    start = served.valid_from
    while (earlier := windows.get(start)) is not None:
        start = earlier
    return start


def _only(found: list[Node], owner: Node) -> Node:
    """The one node a registered version's provenance must have."""
    if not found:
        raise NotFoundError(f"the provenance of {owner.id} is incomplete", field="model")
    return found[0]


def _window_end(batch: Node) -> datetime:
    end = batch.props.get("window_end")
    return from_text(end) if isinstance(end, str) else batch.valid_to or batch.valid_from


def _by_id(node: Node) -> str:
    return node.id


def _by_time(node: Node) -> tuple[datetime, str]:
    return (node.valid_from, node.id)
