"""The investigators' questions about datasets and features, and the graph walk, over the store.

Each function answers one question of DESIGN.md section 1 and returns plain dataclasses; the
GraphQL resolvers only translate them (the dataclasses live in ``lineage.services.answers``
and are re-exported here). Every answer that walks the graph carries ``truncated``. The other
questions live beside this module and are re-exported here too: ``training_provenance``
(:mod:`lineage.services.provenance`), ``decisions`` and ``batch_records``
(:mod:`lineage.services.decisions`), ``upstream_changes`` (:mod:`lineage.services.changes`),
``version_diff`` (:mod:`lineage.services.version_diff`). Names are resolved by
:mod:`lineage.services.names`.

The walks are sized to the graph the registry writes: each one follows only the edge kinds its
question needs, to the depth at which the answer's nodes lie, so a walk is one round trip and a
``truncated`` walk means the node budget (or an unexpected, longer shape) cut something off.

``as_of`` means one thing in every question: the world as the graph recorded it at that
instant. A node exists from its ``valid_from`` (a model version from the end of its training
run, a dataset version from its creation); a temporal edge (an owner, a deployment serving a
version) holds from its ``valid_from`` until its ``valid_to``; the corrections recorded by then
apply (:class:`lineage.services.corrected.CorrectedReads`). Without ``as_of``, the instant is
now.
"""

from __future__ import annotations

from datetime import datetime

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind, Subgraph
from lineage.model.ids import parse_id
from lineage.model.times import require_aware, utcnow
from lineage.services.answers import (
    Attribution,
    Change,
    ChangeKind,
    DecisionBatch,
    Decisions,
    DiffRow,
    FeatureImpact,
    ModelsUsingDataset,
    ModelUse,
    RecordPage,
    Serving,
    TrainingProvenance,
    UpstreamChanges,
    VersionDiff,
)
from lineage.services.changes import upstream_changes
from lineage.services.corrected import CorrectedReads
from lineage.services.decisions import MAX_RECORDS_PAGE, batch_records, decisions
from lineage.services.names import not_found, resolve, resolve_any, walk
from lineage.services.provenance import ROLE_ORDER, attributions, training_provenance
from lineage.services.subgraph_index import SubgraphIndex as _Index
from lineage.services.version_diff import version_diff
from lineage.store.base import MAX_NODES, GraphStore, TraversalSpec

__all__ = [
    "MAX_RECORDS_PAGE",
    "ROLE_ORDER",
    "Attribution",
    "Change",
    "ChangeKind",
    "DecisionBatch",
    "Decisions",
    "DiffRow",
    "FeatureImpact",
    "ModelUse",
    "ModelsUsingDataset",
    "RecordPage",
    "Serving",
    "TrainingProvenance",
    "UpstreamChanges",
    "VersionDiff",
    "batch_records",
    "decisions",
    "feature_impact",
    "impact",
    "models_using_dataset",
    "training_provenance",
    "upstream_changes",
    "version_diff",
]


_TRAINING_DOWNSTREAM = frozenset(
    {
        EdgeKind.SPECIALIZATION_OF,
        EdgeKind.WAS_DERIVED_FROM,
        EdgeKind.USED,
        EdgeKind.WAS_GENERATED_BY,
        EdgeKind.SERVED,
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


# -- the questions -----------------------------------------------------------------------------


def models_using_dataset(
    store: GraphStore,
    dataset: str,
    version: str | None = None,
    as_of: datetime | None = None,
    *,
    now: datetime | None = None,
) -> ModelsUsingDataset:
    """Model versions whose training used the dataset (any version, or ``version``), as the
    graph recorded them at ``as_of`` (default: now; ``now`` is its former name).

    ``dataset`` is a name, a Dataset ID or a DatasetVersion ID. A version uses the dataset when
    its training run used one of its versions, directly or through a feature snapshot derived
    from it; the path through a snapshot is preferred. A version registered after ``as_of``
    (its training run ended later) is not listed. ``deployed_now``: some deployment serves the
    version at ``as_of``. One traversal.
    """
    parsed = resolve(dataset, "dataset", NodeKind.DATASET, NodeKind.DATASET_VERSION)
    if version is not None:
        if parsed.version is not None and parsed.version != version:
            raise InvalidError(f"{parsed} already names version {parsed.version}", field="version")
        parsed = parse_id(f"{parsed.unversioned}@{version}", "version")
    given = as_of if as_of is not None else now
    at = require_aware(given, "as_of") if given is not None else utcnow()
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
        as_of=at,
    )
    try:
        sub = reads.traverse(spec)
    except NotFoundError as exc:
        missing_dataset = versioned and not store.get_nodes([parsed.unversioned])
        name = "version" if versioned and not missing_dataset else "dataset"
        raise not_found(start, name, at if store.get_nodes([start]) else None) from exc
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


def feature_impact(
    store: GraphStore,
    feature: str,
    as_of: datetime | None = None,
    *,
    now: datetime | None = None,
) -> FeatureImpact:
    """Snapshots containing the feature, versions trained on them, deployments serving them,
    as the graph recorded them at ``as_of`` (default: now; ``now`` is its former name).

    ``accountable`` maps the model of every affected version to the people accountable for it
    at ``as_of``, whose corrections apply; ``sources`` are the columns the feature was computed
    from, as column lineage recorded them. Two traversals, plus one per affected model.
    """
    feature_id = str(resolve(feature, "feature", NodeKind.FEATURE))
    given = as_of if as_of is not None else now
    at = require_aware(given, "as_of") if given is not None else utcnow()
    reads = CorrectedReads(store, at)
    sub = walk(
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
    # Not walked as of ``at``: a serving run's earlier windows (closed SERVED edges) date it.
    g = _Index(_recorded_by(sub, at))
    if feature_id not in g.nodes:
        raise not_found(feature_id, "feature", at)
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
        people = walk(
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
        accountable[model_id] = attributions(_Index(people), model_id, at)
        truncated = truncated or people.truncated
    # Where the feature came from: the source columns column lineage (OpenLineage) recorded,
    # however many derivations back.
    derived = walk(
        reads,
        TraversalSpec(
            start=feature_id,
            direction=Direction.OUT,
            edge_kinds=frozenset({EdgeKind.WAS_DERIVED_FROM}),
            node_kinds=frozenset({NodeKind.COLUMN}),
            max_depth=6,
            max_nodes=MAX_NODES,
        ),
        "feature",
    )
    truncated = truncated or derived.truncated
    sources = sorted(
        (n for n in _recorded_by(derived, at).nodes if n.kind is NodeKind.COLUMN), key=_by_id
    )
    return FeatureImpact(
        feature=g.nodes[feature_id],
        snapshots=snapshots,
        model_versions=[versions[i] for i in sorted(versions)],
        serving=serving,
        accountable=accountable,
        truncated=truncated,
        sources=sources,
    )


def impact(
    store: GraphStore,
    node: str,
    direction: Direction,
    max_depth: int = 6,
    kinds: list[str] | None = None,
    as_of: datetime | None = None,
    max_nodes: int = 1_000,
) -> Subgraph:
    """The bounded subgraph reachable from ``node`` (a full ID or an unambiguous short name).

    ``kinds`` (any spelling :meth:`NodeKind.parse` accepts) limits the nodes returned, not the
    walk; empty or None returns every kind. Depth and budget are clamped to the store's maxima.
    With ``as_of`` the walk sees the graph as recorded then: nodes registered by then, temporal
    edges holding then, the corrections recorded by then (without it: everything recorded,
    corrected as known now). What is reachable only over an edge a correction hid is not
    returned.
    """
    start = resolve_any(store, node, "node")
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
    return walk(CorrectedReads(store, at), spec, "node", exact=True)


# -- helpers -----------------------------------------------------------------------------------



def _recorded_by(sub: Subgraph, at: datetime) -> Subgraph:
    """``sub`` without what was registered after ``at``: nodes that came later, and temporal
    edges that began later. Edges that ended by then stay: they are the record's history."""
    nodes = [n for n in sub.nodes if n.valid_from <= at]
    kept = {n.id for n in nodes}
    edges = [
        e
        for e in sub.edges
        if e.src in kept and e.dst in kept and (e.valid_from is None or e.valid_from <= at)
    ]
    depths = {i: d for i, d in sub.depths.items() if i in kept}
    return Subgraph(nodes=nodes, edges=edges, truncated=sub.truncated, depths=depths)


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


def _by_id(node: Node) -> str:
    return node.id

