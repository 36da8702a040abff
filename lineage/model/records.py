"""Registration inputs: pydantic records that reject bad input naming the field.

Every ``*Record`` is what a pipeline sends; ``lineage.services.registry`` turns it into nodes and
edges. :func:`parse_record` converts pydantic's errors into one INVALID error with the field path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    model_validator,
)

from lineage.errors import InvalidError
from lineage.model.graph import NodeKind
from lineage.model.record_fields import (
    AgentId,
    AnyId,
    ConsentBasis,
    Count,
    DatasetVersionId,
    GitCommit,
    Instant,
    Integer,
    JsonObject,
    ModelId,
    ModelVersionId,
    Name,
    Number,
    PersonId,
    Ratio,
    RetentionClassName,
    Sensitivity,
    Sha256,
    SnapshotId,
    Text,
    id_of,
)


class Record(BaseModel):
    """Base of every input record: immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PersonRecord(Record):
    """A person who owns, approves, trains or investigates."""

    id: PersonId
    name: Name
    email: str | None = Field(default=None, max_length=320)
    title: str | None = Field(default=None, max_length=200)
    manager: PersonId | None = None
    since: Instant | None = None


class PipelineRecord(Record):
    """An automated agent (a training, feature or inference job)."""

    id: Annotated[str, id_of(NodeKind.PIPELINE)]
    name: Name
    owner: PersonId | None = None
    since: Instant | None = None


class DatasetVersionRecord(Record):
    """An immutable, content-addressed version of a dataset."""

    id: DatasetVersionId
    content_hash: Sha256
    record_count: Count
    created_at: Instant
    uri: str | None = Field(default=None, max_length=2_000)
    description: str | None = Field(default=None, max_length=2_000)
    # Governance metadata (see lineage.services.retention_classes). The class is a name of
    # jobs/retention.toml (e.g. regulated, standard); only its form is checked here, since the
    # configuration can change: the pruning job reports a class it does not know.
    retention_class: RetentionClassName | None = None
    consent_basis: ConsentBasis | None = None
    sensitivity: Sensitivity | None = None


class FeatureSnapshotRecord(Record):
    """A content-addressed set of computed features and the dataset versions it came from."""

    id: SnapshotId
    features: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1)
    sources: list[DatasetVersionId] = Field(min_length=1)
    content_hash: Sha256
    computed_by: Name
    created_at: Instant
    record_count: Count | None = None

    @model_validator(mode="after")
    def _unique(self) -> FeatureSnapshotRecord:
        if len(set(self.features)) != len(self.features):
            raise ValueError("features: each feature may appear once")
        if len(set(self.sources)) != len(self.sources):
            raise ValueError("sources: each dataset version may appear once")
        return self

    def feature_ids(self) -> list[str]:
        """Features as node IDs (``credit_score`` -> ``feature:credit_score``)."""
        return [f if f.startswith("feature:") else f"feature:{f}" for f in self.features]


# Scoping facts of a model, from which its risk tier is computed (lineage.services.governance).
AutomationLevel = Literal["autonomous", "human_in_the_loop"]
Reversibility = Literal["easy", "permanent"]
# A ratio of rates or a gap between them, as a fraction of 1: more than 0, at most 1.


class RiskThresholds(Record):
    """The risk gate's limits for a model's versions; one left out takes the policy default."""

    min_disparate_impact: Ratio | None = None
    max_rate_gap: Ratio | None = None


class InputBounds(Record):
    """The values of one input the model is meant to decide on: at least ``min``, at most
    ``max`` (either may be left out). Inputs outside are outside its intended use."""

    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _ordered(self) -> InputBounds:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("max: cannot be below min")
        return self


class ModelProfile(Record):
    """What describes a model: its purpose, scope, constraints and the gates' thresholds.

    A model registered without its scoping facts is unscoped: its risk tier cannot be computed
    and none of its versions is deployable until a correction scopes it. A correction of a
    model is validated by this record.
    """

    id: ModelId
    description: str | None = Field(default=None, max_length=2_000)
    intended_use: Text | None = None
    scope: Text | None = None
    assumptions: list[Text] | None = Field(default=None, max_length=100)
    # Features (or proxies of protected attributes) the model must not use, e.g. zip_code.
    forbidden_features: list[Name] | None = Field(default=None, max_length=1_000)
    automation_level: AutomationLevel | None = None
    affected_population: Count | None = None
    reversibility: Reversibility | None = None
    # Metric name -> the minimum each evaluation of a version must reach, e.g. {"auc": 0.85}.
    performance_thresholds: dict[Name, Number] | None = Field(
        default=None, min_length=1, max_length=100
    )
    risk_thresholds: RiskThresholds | None = None
    # Input name -> the values the intended use covers, e.g. {"age": {"min": 18, "max": 75}};
    # the policy monitor flags decisions on inputs outside them.
    input_bounds: dict[Name, InputBounds] | None = Field(default=None, min_length=1, max_length=100)
    since: Instant | None = None

    @model_validator(mode="after")
    def _thresholds(self) -> ModelProfile:
        for name, value in (self.performance_thresholds or {}).items():
            if not math.isfinite(value):
                raise ValueError(f"performance_thresholds.{name}: must be a finite number")
        features = self.forbidden_features or []
        if len(set(features)) != len(features):
            raise ValueError("forbidden_features: each feature may appear once")
        return self


class ModelRecord(ModelProfile):
    """A model, the people accountable for it, and (optionally) its scoping facts."""

    owner: PersonId
    technical_steward: PersonId
    risk_approver: PersonId

    @model_validator(mode="after")
    def _separation_of_duties(self) -> ModelRecord:
        if self.risk_approver == self.owner:
            raise ValueError("risk_approver: the risk approver cannot be the model owner")
        return self


class DataBinding(Record):
    """A training input bound by exact content hash, not by name."""

    id: DatasetVersionId
    content_hash: Sha256


class TrainingRunRecord(Record):
    """A training run and the model version it produced."""

    id: Annotated[str, id_of(NodeKind.TRAINING_RUN)]
    model_version: ModelVersionId
    snapshot: SnapshotId
    datasets: list[DataBinding] = Field(min_length=1)
    code_commit: GitCommit
    parameters: JsonObject = Field(default_factory=dict)
    split: dict[str, Number] = Field(default_factory=dict)
    seed: Integer | None = None
    records_available: Count
    records_used: Count
    triggered_by: AgentId
    reason: Text
    started_at: Instant
    ended_at: Instant
    # SHA-256 of the trained artifact; approvals bind it (else the model version node's hash).
    artifact_hash: Sha256 | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TrainingRunRecord:
        if self.records_used > self.records_available:
            raise ValueError("records_used: cannot exceed records_available")
        if self.ended_at < self.started_at:
            raise ValueError("ended_at: cannot be before started_at")
        if self.split:
            if any(not 0 < v <= 1 for v in self.split.values()):
                raise ValueError("split: each fraction must be in (0, 1]")
            if not math.isclose(sum(self.split.values()), 1.0, abs_tol=1e-6):
                raise ValueError("split: fractions must add up to 1")
        ids = [d.id for d in self.datasets]
        if len(set(ids)) != len(ids):
            raise ValueError("datasets: each dataset version may appear once")
        return self


class EvaluationRecord(Record):
    """Metrics of a model version on some data."""

    id: Annotated[str, id_of(NodeKind.EVALUATION)]
    model_version: ModelVersionId
    metrics: dict[Name, Number] = Field(min_length=1)
    evaluated_at: Instant
    dataset: DatasetVersionId | None = None
    evaluator: AgentId | None = None
    notes: str | None = Field(default=None, max_length=2_000)

    @model_validator(mode="after")
    def _finite(self) -> EvaluationRecord:
        for name, value in self.metrics.items():
            if not math.isfinite(value):
                raise ValueError(f"metrics.{name}: must be a finite number")
        return self


class InferenceBatchRecord(Record):
    """A window of decisions by one model version with one feature snapshot.

    Individual decisions live in the record store: either ``records`` inline (the service writes
    them and computes the hash) or ``records_hash`` of a file already put there.
    """

    id: Annotated[str, id_of(NodeKind.INFERENCE_BATCH)]
    model_version: ModelVersionId
    snapshot: SnapshotId
    window_start: Instant
    window_end: Instant
    record_count: Count
    counts: dict[Name, Count] = Field(default_factory=dict)
    statistics: JsonObject = Field(default_factory=dict)
    records_hash: Sha256 | None = None
    records: list[JsonObject] | None = None
    deployment: Annotated[str, id_of(NodeKind.DEPLOYMENT)] | None = None
    # Why the batch was scored with another snapshot than its version was trained on: the only
    # way such a skew is accepted, and it is recorded on the batch.
    skew_reason: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InferenceBatchRecord:
        if self.window_end <= self.window_start:
            raise ValueError("window_end: must be after window_start")
        if (self.records is None) == (self.records_hash is None):
            raise ValueError("records: give exactly one of records (inline) or records_hash")
        if self.records is not None and len(self.records) != self.record_count:
            raise ValueError(
                f"record_count: says {self.record_count} but {len(self.records)} records were sent"
            )
        if self.counts and sum(self.counts.values()) > self.record_count:
            raise ValueError("counts: add up to more than record_count")
        return self


class DeploymentRecord(Record):
    """Put a model version into service on a deployment target at an instant."""

    deployment: Annotated[str, id_of(NodeKind.DEPLOYMENT)]
    model_version: ModelVersionId
    at: Instant
    environment: Name = "production"
    reason: Text


class IncidentRecord(Record):
    """Something went wrong in production, and what it affected."""

    id: Annotated[str, id_of(NodeKind.INCIDENT)]
    title: Text
    severity: Annotated[str, Field(pattern=r"^(SEV1|SEV2|SEV3|SEV4)$")]
    opened_at: Instant
    affected: list[AnyId] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=10_000)
    root_cause: str | None = Field(default=None, max_length=10_000)


class GroupCounts(Record):
    """The decisions a bias audit counted for one group, and how many were approvals."""

    decisions: Count
    approved: Count


class StressTest(Record):
    """A stress test run for a bias audit and whether the model passed it."""

    name: Name
    passed: StrictBool
    result: Text | None = None


class BiasAuditRecord(Record):
    """A bias audit of a model version: decisions and approvals counted per group.

    The risk gate computes rates, the disparate impact ratio and the largest gap from these
    counts; ratios are never typed in.
    """

    id: Annotated[str, id_of(NodeKind.RISK_ASSESSMENT)]
    model_version: ModelVersionId
    group_attribute: Name  # e.g. age_band
    counts: dict[Name, GroupCounts] = Field(min_length=2, max_length=1_000)
    human_override_path: Text | None = None  # how a person overrides a decision, if they can
    stress_tests: list[StressTest] = Field(default_factory=list, max_length=100)
    audited_at: Instant
    auditor: AgentId
    dataset: DatasetVersionId | None = None
    notes: Text | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BiasAuditRecord:
        # Group names are data ("65+"), not identifiers, so the "field: reason" convention of
        # the other records cannot name them: the error names its field itself.
        for group, counted in self.counts.items():
            if counted.decisions == 0:
                raise InvalidError(
                    "a group needs at least one decision: its approval rate is undefined "
                    "otherwise",
                    field=f"counts.{group}.decisions",
                )
            if counted.approved > counted.decisions:
                raise InvalidError(
                    f"{counted.approved} approvals out of {counted.decisions} decisions: "
                    "approvals cannot exceed decisions",
                    field=f"counts.{group}.approved",
                )
        names = [t.name for t in self.stress_tests]
        if len(set(names)) != len(names):
            raise ValueError("stress_tests: each test name may appear once")
        return self


class SignOffRecord(Record):
    """An approval or a block of a model version; the approver is the caller, never a field."""

    version: ModelVersionId
    role: Name  # the model role signed in: owner or risk_approver
    reason: Text
    at: Instant | None = None  # default now; explicit only for trusted backfills


R = TypeVar("R", bound=Record)


def parse_record(cls: type[R], data: R | Mapping[str, Any]) -> R:
    """Validate ``data`` as ``cls``; INVALID naming the first bad field (all in ``details``)."""
    if isinstance(data, cls):
        return data
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": _field_of(err), "message": _message_of(err)} for err in exc.errors()]
        first = errors[0]
        raise InvalidError(
            first["message"], field=first["field"], details={"errors": errors}
        ) from None


def _field_of(err: Any) -> str:
    loc = ".".join(str(part) for part in err["loc"])
    message = str(err.get("msg", ""))
    # Model-level checks name their field as "field: reason".
    prefix = message.removeprefix("Value error, ").split(":", 1)[0]
    if not loc and re.fullmatch(r"[a-z_][a-z_0-9.]*", prefix):
        return prefix
    return loc or "input"


def _message_of(err: Any) -> str:
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if ":" in message and not err["loc"]:
        head, rest = message.split(":", 1)
        if re.fullmatch(r"[a-z_][a-z_0-9.]*", head):
            return rest.strip()
    return message
