"""GraphQL types of the nodes the service records about its own operation: incidents,
credentials, corrections, and the kinds exposed through the ``Node`` interface alone (gate
results, tombstones, job runs, OpenLineage jobs, runs and columns ...), and ``TYPE_OF_KIND``, the
object type of every node kind (the provenance kinds are in :mod:`lineage.graphql.nodes`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case

from lineage.graphql.nodes import (
    Dataset,
    DatasetVersion,
    Deployment,
    Evaluation,
    Feature,
    FeatureSnapshot,
    InferenceBatch,
    Model,
    ModelVersion,
    Node,
    Person,
    Pipeline,
    TrainingRun,
    prop,
    valid_from,
)
from lineage.graphql.scalars import JSON, DateTime
from lineage.model.graph import Node as StoreNode
from lineage.model.graph import NodeKind
from lineage.services.incident_signals import history_of, status_at


class IncidentStatusChange(graphene.ObjectType):  # type: ignore[misc]
    """One change of an incident's status: who, when, why."""

    status = graphene.String(required=True, description="`open`, `acknowledged`, `resolved`.")
    at = DateTime(required=True, description="When it took effect.")
    by = graphene.ID(description="Who made it (the monitors' pipeline for the opening).")
    reason = graphene.String(description="Why, as given.")


def _status_history(node: StoreNode, _info: Any) -> list[dict[str, Any]]:
    return history_of(node)


def _status_at(node: StoreNode, _info: Any, as_of: Any) -> str | None:
    return status_at(node, as_of)


class Incident(graphene.ObjectType):  # type: ignore[misc]
    """Something that went wrong in production, and what it affected. Incidents a monitor
    raised also carry the signal, the value and the baseline it broke, the evidence batches,
    the accountable people and the investigation context they opened with."""

    class Meta:
        interfaces = (Node,)

    title = graphene.String(required=True, description="One line.", resolver=prop("title"))
    severity = graphene.String(description="SEV1 to SEV4.", resolver=prop("severity"))
    status = graphene.String(
        description="Now: `open`, `acknowledged` or `resolved`.", resolver=prop("status")
    )
    status_at = graphene.String(
        as_of=DateTime(required=True, description="The instant."),
        description="The status at an instant; null before the incident was opened.",
        resolver=_status_at,
    )
    status_history = graphene.List(
        graphene.NonNull(IncidentStatusChange),
        required=True,
        description="Every status change, oldest first.",
        resolver=_status_history,
    )
    signal = graphene.String(
        description="The monitor signal that raised it; null when registered by hand.",
        resolver=prop("signal"),
    )
    value = graphene.Float(description="The value the signal measured.", resolver=prop("value"))
    baseline = graphene.Float(description="The baseline it broke.", resolver=prop("baseline"))
    model = graphene.ID(description="The model it is about.", resolver=prop("model"))
    model_version = graphene.ID(
        description="The model version it is about.", resolver=prop("model_version")
    )
    deployment = graphene.ID(description="The deployment involved.", resolver=prop("deployment"))
    feature = graphene.ID(description="The feature involved.", resolver=prop("feature"))
    playbook = graphene.ID(description="The playbook to follow.", resolver=prop("playbook"))
    evidence = JSON(
        required=True,
        description="The findings that raised it, newest last (at most 50; `evidenceCount` "
        "counts them all): batch, value, baseline, details.",
        resolver=prop("evidence", []),
    )
    evidence_count = graphene.Int(
        description="How many findings it holds.", resolver=prop("evidence_count")
    )
    details = JSON(description="The opening finding's details.", resolver=prop("details"))
    accountable = JSON(
        description="The model's owner, technical steward and risk approver when it opened.",
        resolver=prop("accountable"),
    )
    context = JSON(
        description="The investigation context it opened with: upstream changes of the last "
        "14 days and the downstream blast radius, each with `truncated`.",
        resolver=prop("context"),
    )
    disposition = graphene.String(
        description="Once resolved: `actionable` or `false_positive`.", resolver=prop("disposition")
    )
    resolved_at = DateTime(description="When it was resolved.", resolver=prop("resolved_at"))
    opened_at = DateTime(required=True, description="When it was opened.", resolver=valid_from)
    affected = graphene.List(
        graphene.NonNull(graphene.ID),
        required=True,
        description="The nodes it affected.",
        resolver=prop("affected", []),
    )
    description = graphene.String(description="What happened.", resolver=prop("description"))
    root_cause = graphene.String(description="Why it happened.", resolver=prop("root_cause"))


class Credential(graphene.ObjectType):  # type: ignore[misc]
    """An API token's record: whose it is and its roles. The token itself is never stored."""

    class Meta:
        interfaces = (Node,)

    principal = graphene.ID(
        description="The Person or Pipeline it stands for.", resolver=prop("principal")
    )
    roles = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The roles it grants.",
        resolver=prop("roles", []),
    )
    label = graphene.String(description="What it is for.", resolver=prop("label"))
    revoked_at = DateTime(
        description="When it was revoked; null while valid.", resolver=prop("revoked_at")
    )


def _api_fields(name: str) -> Callable[..., Any]:
    """A resolver reading a property that maps fields to values, fields spelled as the API
    spells them (``records_used`` -> ``recordsUsed``)."""

    def resolve(node: StoreNode, _info: Any) -> dict[str, Any]:
        values = node.props.get(name) or {}
        return {to_camel_case(field): value for field, value in values.items()}

    return resolve


class Correction(graphene.ObjectType):  # type: ignore[misc]
    """A correction of a registered node: who recorded it, when, why and what it changed.

    The corrected node is never rewritten: questions apply its corrections as of their instant,
    so one asked `asOf` before `recordedAt` answers as the graph stood then."""

    class Meta:
        interfaces = (Node,)

    target = graphene.ID(required=True, description="The corrected node.", resolver=prop("target"))
    recorded_at = DateTime(
        required=True,
        description="When it was recorded, by the server's clock: from then on it applies.",
        resolver=valid_from,
    )
    by = graphene.ID(
        required=True, description="The Person or Pipeline that recorded it.", resolver=prop("by")
    )
    reason = graphene.String(required=True, description="Why.", resolver=prop("reason"))
    changes = JSON(
        required=True,
        description="Each corrected field, spelled as the node type spells it (`uri`, "
        "`recordsUsed`), and its corrected value; null removed the field.",
        resolver=_api_fields("changes"),
    )
    previous = JSON(
        required=True,
        description="The values the correction replaced, by field; null where the field was "
        "not set.",
        resolver=_api_fields("previous"),
    )
    copy_of = graphene.ID(
        description="Set when the registry had copied the corrected field onto this node (a "
        "model version's code commit is its training run's): the correction it follows.",
        resolver=prop("copy_of"),
    )
    added_edges = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Keys (`src|KIND|dst|validFrom`) of the edges it added for a corrected "
        "reference, such as a batch's deployment.",
        resolver=prop("added_edges", []),
    )
    hidden_edges = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Keys of the edges it hides: they stay stored, and questions asked `asOf` "
        "before it still follow them.",
        resolver=prop("hidden_edges", []),
    )


def _plain(kind: NodeKind, description: str) -> type[graphene.ObjectType]:
    """An object type exposing only the Node interface, for kinds no question types yet."""
    meta = type("Meta", (), {"name": kind.value, "interfaces": (Node,), "description": description})
    return type(kind.value, (graphene.ObjectType,), {"Meta": meta})


Approval = _plain(NodeKind.APPROVAL, "A sign-off on a model version by its owner or risk approver.")
RiskAssessment = _plain(NodeKind.RISK_ASSESSMENT, "An independent risk gate's finding.")
Monitor = _plain(NodeKind.MONITOR, "A scheduled monitor that watches production.")
Drill = _plain(NodeKind.DRILL, "A rehearsed rollback.")
Playbook = _plain(NodeKind.PLAYBOOK, "An operational playbook.")
DecisionRules = _plain(
    NodeKind.DECISION_RULES,
    "The recorded rules a deployment decides by when its kill switch routes around the model.",
)
GateResult = _plain(
    NodeKind.GATE_RESULT,
    "A performance or risk gate's verdict on a model version: the numbers, thresholds and "
    "checks it used, linked to the evidence it read.",
)
Tombstone = _plain(
    NodeKind.TOMBSTONE,
    "What retention pruned: the pruned node's ID, kind and content hash, when, and the policy.",
)
LegalHold = _plain(
    NodeKind.LEGAL_HOLD, "A legal hold: nothing it holds, or derived from it, is pruned."
)
Erasure = _plain(
    NodeKind.ERASURE,
    "A data subject's decisions erased from a batch's records: the hashes kept, the payload gone.",
)
JobRun = _plain(NodeKind.JOB_RUN, "One run of a scheduled job: when, its outcome and counts.")
# OpenLineage ingestion (lineage.openlineage): props hold the facets as sent.
Job = _plain(NodeKind.JOB, "An OpenLineage job: the plan its runs execute (a PROV Plan).")
PipelineRun = _plain(
    NodeKind.PIPELINE_RUN, "One run of an OpenLineage job: its state, events and facets."
)
Column = _plain(NodeKind.COLUMN, "A column of a dataset; column lineage connects columns.")

TYPE_OF_KIND: dict[NodeKind, type[graphene.ObjectType]] = {
    NodeKind.DATASET: Dataset,
    NodeKind.DATASET_VERSION: DatasetVersion,
    NodeKind.FEATURE: Feature,
    NodeKind.FEATURE_SNAPSHOT: FeatureSnapshot,
    NodeKind.TRAINING_RUN: TrainingRun,
    NodeKind.MODEL: Model,
    NodeKind.MODEL_VERSION: ModelVersion,
    NodeKind.EVALUATION: Evaluation,
    NodeKind.RISK_ASSESSMENT: RiskAssessment,
    NodeKind.APPROVAL: Approval,
    NodeKind.PERSON: Person,
    NodeKind.PIPELINE: Pipeline,
    NodeKind.DEPLOYMENT: Deployment,
    NodeKind.INFERENCE_BATCH: InferenceBatch,
    NodeKind.INCIDENT: Incident,
    NodeKind.MONITOR: Monitor,
    NodeKind.DRILL: Drill,
    NodeKind.PLAYBOOK: Playbook,
    NodeKind.CREDENTIAL: Credential,
    NodeKind.CORRECTION: Correction,
    NodeKind.DECISION_RULES: DecisionRules,
    NodeKind.GATE_RESULT: GateResult,
    NodeKind.TOMBSTONE: Tombstone,
    NodeKind.LEGAL_HOLD: LegalHold,
    NodeKind.ERASURE: Erasure,
    NodeKind.JOB_RUN: JobRun,
    NodeKind.JOB: Job,
    NodeKind.PIPELINE_RUN: PipelineRun,
    NodeKind.COLUMN: Column,
}
NODE_TYPES: list[type[graphene.ObjectType]] = list(TYPE_OF_KIND.values())
