"""What a correction may change, per node kind: the one table to review.

Registered provenance is immutable, so a mistake is fixed by a correction node that records the
new values beside the original (see :mod:`lineage.services.corrections`). Only what *describes*
a registered thing may be corrected: a location, a note, counts and statistics, parameters, and
the references the registry turned into edges (who triggered a run, which deployment served a
batch). What *defines* what was registered (its ID, content hash, inputs, version, times) is
refused: a different thing is a new version, registered as such.

Each entry also says how to rebuild the registration record from a stored node, so a corrected
node is validated by the same pydantic record (and its model-wide rules) as a registration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lineage.errors import shown
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.records import (
    DatasetVersionRecord,
    EvaluationRecord,
    FeatureSnapshotRecord,
    IncidentRecord,
    InferenceBatchRecord,
    ModelProfile,
    PersonRecord,
    PipelineRecord,
    Record,
    TrainingRunRecord,
)


@dataclass(frozen=True, slots=True)
class Reference:
    """A field the registry also wrote as an edge from the node to the node it names."""

    edge: EdgeKind
    props: Mapping[str, Any] = field(default_factory=dict)

    def edge_to(self, src: str, dst: str) -> Edge:
        """The edge exactly as registration writes it."""
        return Edge(src, self.edge, dst, dict(self.props))


@dataclass(frozen=True, slots=True)
class Correctable:
    """How one node kind may be corrected."""

    record: type[Record]
    time_field: str  # the record field the node keeps as ``valid_from``
    fields: frozenset[str]  # descriptive properties
    references: Mapping[str, Reference]  # properties the registry also wrote as edges
    identity: frozenset[str]  # properties that define what was registered
    # Properties changed by another operation than a correction, and which one.
    elsewhere: Mapping[str, str] = field(default_factory=dict)
    # Properties the registry derived; not record fields, left out when rebuilding the record.
    derived: frozenset[str] = frozenset()
    adapt: Callable[[Node, dict[str, Any]], dict[str, Any]] | None = None

    @property
    def correctable(self) -> frozenset[str]:
        """Every field a correction may change."""
        return self.fields | frozenset(self.references)

    def record_input(self, node: Node) -> dict[str, Any]:
        """The registration record's input that would have produced ``node`` (as corrected)."""
        data = {k: v for k, v in node.props.items() if k not in self.derived}
        data |= {"id": node.id, self.time_field: node.valid_from}
        return self.adapt(node, data) if self.adapt is not None else data


def _run_input(node: Node, data: dict[str, Any]) -> dict[str, Any]:
    # The node keeps its dataset bindings as {id: hash}; the record takes a list.
    bindings = data.get("datasets") or {}
    return data | {"datasets": [{"id": k, "content_hash": v} for k, v in bindings.items()]}


def _batch_input(node: Node, data: dict[str, Any]) -> dict[str, Any]:
    skew = node.props.get("snapshot_skew")
    return data | ({"skew_reason": skew.get("reason")} if isinstance(skew, dict) else {})


# Every kind's time and ID are identity; so are the store's own columns.
_ALWAYS = frozenset({"id", "kind", "valid_from", "valid_to", "recorded_at"})
_ASSOCIATED = Reference(EdgeKind.WAS_ASSOCIATED_WITH)
_ON_BEHALF_OF = Reference(EdgeKind.ACTED_ON_BEHALF_OF)
_TRIGGERED_BY = {"role": "triggered_by"}
_ROLE_HANDOVER = "a model's roles are held over time: hand one over with assign_role"

CORRECTABLE: dict[NodeKind, Correctable] = {
    NodeKind.DATASET_VERSION: Correctable(
        record=DatasetVersionRecord,
        time_field="created_at",
        fields=frozenset(
            {"uri", "description", "retention_class", "consent_basis", "sensitivity"}
        ),
        references={},
        identity=frozenset({"content_hash", "record_count", "created_at", "version"}),
        derived=frozenset({"version"}),
    ),
    NodeKind.FEATURE_SNAPSHOT: Correctable(
        record=FeatureSnapshotRecord,
        time_field="created_at",
        fields=frozenset({"computed_by", "record_count"}),
        references={},
        identity=frozenset({"content_hash", "features", "sources", "created_at"}),
    ),
    NodeKind.TRAINING_RUN: Correctable(
        record=TrainingRunRecord,
        time_field="started_at",
        fields=frozenset(
            {
                "parameters",
                "split",
                "seed",
                "records_available",
                "records_used",
                "reason",
                "code_commit",
            }
        ),
        references={"triggered_by": Reference(EdgeKind.WAS_ASSOCIATED_WITH, _TRIGGERED_BY)},
        identity=frozenset(
            {
                "model_version",
                "snapshot",
                "datasets",
                "snapshot_hash",
                "started_at",
                "ended_at",
                "artifact_hash",
            }
        ),
        derived=frozenset({"snapshot_hash"}),
        adapt=_run_input,
    ),
    NodeKind.EVALUATION: Correctable(
        record=EvaluationRecord,
        time_field="evaluated_at",
        fields=frozenset({"metrics", "notes"}),
        references={
            "dataset": Reference(EdgeKind.USED, {"role": "evaluation_data"}),
            "evaluator": Reference(EdgeKind.WAS_ASSOCIATED_WITH, {"role": "evaluator"}),
        },
        identity=frozenset({"model_version", "evaluated_at"}),
    ),
    NodeKind.INFERENCE_BATCH: Correctable(
        record=InferenceBatchRecord,
        time_field="window_start",
        fields=frozenset({"counts", "statistics"}),
        references={"deployment": _ASSOCIATED},
        identity=frozenset(
            {
                "model_version",
                "snapshot",
                "window_start",
                "window_end",
                "record_count",
                "records_hash",
                "records",
                "skew_reason",
                "snapshot_skew",
            }
        ),
        derived=frozenset({"snapshot_skew"}),
        adapt=_batch_input,
    ),
    NodeKind.PERSON: Correctable(
        record=PersonRecord,
        time_field="since",
        fields=frozenset({"name", "email", "title"}),
        references={"manager": _ON_BEHALF_OF},
        identity=frozenset({"since"}),
    ),
    NodeKind.PIPELINE: Correctable(
        record=PipelineRecord,
        time_field="since",
        fields=frozenset({"name"}),
        references={"owner": _ON_BEHALF_OF},
        identity=frozenset({"since"}),
    ),
    NodeKind.MODEL: Correctable(
        # The people are not the model's to correct (assign_role hands a role over): the
        # profile record validates what describes it, so an existing model can be scoped.
        record=ModelProfile,
        time_field="since",
        fields=frozenset(
            {
                "description",
                "intended_use",
                "scope",
                "assumptions",
                "forbidden_features",
                "automation_level",
                "affected_population",
                "reversibility",
                "performance_thresholds",
                "risk_thresholds",
                "input_bounds",
            }
        ),
        references={},
        identity=frozenset({"since"}),
        elsewhere={
            "owner": _ROLE_HANDOVER,
            "technical_steward": _ROLE_HANDOVER,
            "risk_approver": _ROLE_HANDOVER,
        },
        # Models registered before the roles lived on edges alone carry copies of them.
        derived=frozenset({"owner", "technical_steward", "risk_approver"}),
    ),
    NodeKind.INCIDENT: Correctable(
        record=IncidentRecord,
        time_field="opened_at",
        fields=frozenset({"title", "description", "root_cause", "severity"}),
        references={},
        identity=frozenset({"opened_at", "affected"}),
        elsewhere={"status": "an incident's status follows its lifecycle, not a correction"},
        derived=frozenset({"status"}),
    ),
}

# Why the other kinds cannot be corrected, where there is more to say than "they cannot".
NOT_CORRECTABLE: dict[NodeKind, str] = {
    NodeKind.MODEL_VERSION: "its properties are its training run's: correct the training run",
    NodeKind.DEPLOYMENT: "what it served is a history of deploys: deploy or roll back instead",
    NodeKind.CORRECTION: "a correction is itself corrected by another correction of its target",
    NodeKind.CREDENTIAL: "revoke the token and create another",
}

# Properties the registry copied onto another node: kind -> {field: the property naming the
# node that holds the copy}. Correcting the field records a correction of the copy too, in the
# same write: a ModelVersion holds its training run's code commit.
COPIES: dict[NodeKind, dict[str, str]] = {
    NodeKind.TRAINING_RUN: {"code_commit": "model_version"},
}
# The kinds whose nodes may carry corrections: what the questions look corrections up for.
CARRY_CORRECTIONS = frozenset(CORRECTABLE) | {NodeKind.MODEL_VERSION}


def refusal(spec: Correctable, kind: NodeKind, name: str) -> str | None:
    """Why ``name`` may not be corrected on a node of ``kind``; None when it may."""
    if name in spec.correctable:
        return None
    if name in spec.identity or name in _ALWAYS:
        return f"{name} defines what was registered: register a new version instead"
    if name in spec.elsewhere:
        return f"{name} cannot be corrected: {spec.elsewhere[name]}"
    known = ", ".join(sorted(spec.correctable))
    return f"a {kind.value} has no correctable field {shown(name)}; correctable: {known}"
