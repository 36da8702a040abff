"""How a model version was trained, as of an instant: the reconstruction question.

``training_provenance`` picks the version serving at the instant (or the latest registered by
then) and returns its whole provenance: run, snapshot, features, dataset versions and hashes,
evaluations, audits, gates, approvals, and the people accountable then. ``attributions`` (the
people in force at an instant) is shared with the feature-impact question.
"""

from __future__ import annotations

from datetime import datetime

from lineage.errors import NotFoundError
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import NodeId
from lineage.model.times import require_aware
from lineage.services.answers import Attribution, TrainingProvenance
from lineage.services.corrected import CorrectedReads
from lineage.services.governance.evidence import EVIDENCE_KINDS as PROVENANCE_EVIDENCE
from lineage.services.governance.gates import provenance_gates
from lineage.services.names import not_found, resolve, walk
from lineage.services.subgraph_index import SubgraphIndex as _Index
from lineage.store.base import MAX_NODES, GraphStore, TraversalSpec

ROLE_ORDER = ("owner", "technical_steward", "risk_approver")

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
# Deployments and incidents point at a version too, but they are not evidence about it.
# Nor is a correction: its facts are applied to the evidence it corrects.
_EVIDENCE = frozenset(EdgeKind) - {
    EdgeKind.SERVED,
    EdgeKind.STANDS_BY,
    EdgeKind.AFFECTED,
    EdgeKind.SCORED_WITH,
    EdgeKind.CORRECTS,
}



def training_provenance(store: GraphStore, model: str, as_of: datetime) -> TrainingProvenance:
    """The version serving at ``as_of`` (else the latest registered by then) and its provenance.

    ``model`` is a name or a Model ID; a ModelVersion ID pins the version instead. Evaluations
    and approvals are those recorded by ``as_of``; attributions those in force then; corrections
    those recorded by then. Three traversals: the model's versions and deployments, the
    version's upstream, its evidence.
    """
    parsed = resolve(model, "model", NodeKind.MODEL, NodeKind.MODEL_VERSION)
    at = require_aware(as_of, "as_of")
    reads = CorrectedReads(store, at)
    chosen, serving, truncated = _version_at(reads, parsed, at)

    # version -> run -> snapshot -> features, version -> model -> people, dataset version ->
    # dataset: depth 4 reaches the dataset of a version bound only through the snapshot.
    upstream = walk(
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
    accountable = attributions(g, parsed.unversioned, at)

    evidence = walk(
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


def attributions(g: _Index, model_id: str, at: datetime) -> list[Attribution]:
    """The model's attributions in force at ``at`` (in ``g``), by role then agent."""
    found = [
        Attribution(str(e.props.get("role", "")), g.nodes[e.dst], e.valid_from, e.valid_to)
        for e in g.outgoing(model_id, EdgeKind.WAS_ATTRIBUTED_TO)
        if e.valid_at(at) and e.dst in g.nodes
    ]
    rank = {role: i for i, role in enumerate(ROLE_ORDER)}
    return sorted(found, key=lambda a: (rank.get(a.role, len(rank)), a.role, a.agent.id))



def _version_at(reads: CorrectedReads, parsed: NodeId, at: datetime) -> tuple[Node, bool, bool]:
    """(version, whether it was serving at ``at``, truncated) for a model or a pinned version."""
    model_id = parsed.unversioned
    sub = walk(
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
            raise not_found(str(parsed), "model", at)
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



def _weight(served: Edge) -> int:
    """A SERVED edge's share of its deployment's traffic (all of it before shares existed)."""
    weight = served.props.get("weight", 100)
    return weight if isinstance(weight, int) else 100



def _only(found: list[Node], owner: Node) -> Node:
    """The one node a registered version's provenance must have."""
    if not found:
        raise NotFoundError(f"the provenance of {owner.id} is incomplete", field="model")
    return found[0]



def _by_id(node: Node) -> str:
    return node.id


def _by_time(node: Node) -> tuple[datetime, str]:
    return (node.valid_from, node.id)

