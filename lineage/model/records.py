"""Registration inputs: pydantic records that reject bad input naming the field.

Every ``*Record`` is what a pipeline sends; ``lineage.services.registry`` turns it into nodes and
edges. :func:`parse_record` converts pydantic's errors into one INVALID error with the field path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    ValidationError,
    model_validator,
)

from lineage.errors import InvalidError, LineageError
from lineage.model.graph import NodeKind
from lineage.model.ids import parse_id, require_kind

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")


def _sha256(value: str) -> str:
    value = value.strip().lower().removeprefix("sha256:")
    if not _SHA256.match(value):
        raise ValueError("must be a SHA-256 digest: 64 hexadecimal characters")
    return value


def _id_of(*kinds: NodeKind) -> AfterValidator:
    def check(value: str) -> str:
        try:
            require_kind(value, "id", *kinds)
        except LineageError as exc:
            raise ValueError(exc.message) from exc
        return value

    return AfterValidator(check)


def _any_id(value: str) -> str:
    try:
        parse_id(value)
    except LineageError as exc:
        raise ValueError(exc.message) from exc
    return value


def _commit(value: str) -> str:
    if not _COMMIT.match(value):
        raise ValueError("must be a git commit: 7 to 64 lowercase hexadecimal characters")
    return value


Sha256 = Annotated[str, AfterValidator(_sha256)]
AnyId = Annotated[str, AfterValidator(_any_id)]
PersonId = Annotated[str, _id_of(NodeKind.PERSON)]
AgentId = Annotated[str, _id_of(NodeKind.PERSON, NodeKind.PIPELINE)]
DatasetVersionId = Annotated[str, _id_of(NodeKind.DATASET_VERSION)]
SnapshotId = Annotated[str, _id_of(NodeKind.FEATURE_SNAPSHOT)]
ModelId = Annotated[str, _id_of(NodeKind.MODEL)]
ModelVersionId = Annotated[str, _id_of(NodeKind.MODEL_VERSION)]
Text = Annotated[str, Field(min_length=1, max_length=2_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


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
    since: AwareDatetime | None = None


class PipelineRecord(Record):
    """An automated agent (a training, feature or inference job)."""

    id: Annotated[str, _id_of(NodeKind.PIPELINE)]
    name: Name
    owner: PersonId | None = None
    since: AwareDatetime | None = None


class DatasetVersionRecord(Record):
    """An immutable, content-addressed version of a dataset."""

    id: DatasetVersionId
    content_hash: Sha256
    record_count: NonNegativeInt
    created_at: AwareDatetime
    uri: str | None = Field(default=None, max_length=2_000)
    description: str | None = Field(default=None, max_length=2_000)


class FeatureSnapshotRecord(Record):
    """A content-addressed set of computed features and the dataset versions it came from."""

    id: SnapshotId
    features: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1)
    sources: list[DatasetVersionId] = Field(min_length=1)
    content_hash: Sha256
    computed_by: Name
    created_at: AwareDatetime
    record_count: NonNegativeInt | None = None

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


class ModelRecord(Record):
    """A model and the people accountable for it."""

    id: ModelId
    description: str | None = Field(default=None, max_length=2_000)
    owner: PersonId
    technical_steward: PersonId
    risk_approver: PersonId
    since: AwareDatetime | None = None

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

    id: Annotated[str, _id_of(NodeKind.TRAINING_RUN)]
    model_version: ModelVersionId
    snapshot: SnapshotId
    datasets: list[DataBinding] = Field(min_length=1)
    code_commit: Annotated[str, AfterValidator(_commit)]
    parameters: dict[str, Any] = Field(default_factory=dict)
    split: dict[str, float] = Field(default_factory=dict)
    seed: int | None = None
    records_available: NonNegativeInt
    records_used: NonNegativeInt
    triggered_by: AgentId
    reason: Text
    started_at: AwareDatetime
    ended_at: AwareDatetime

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

    id: Annotated[str, _id_of(NodeKind.EVALUATION)]
    model_version: ModelVersionId
    metrics: dict[Name, float] = Field(min_length=1)
    evaluated_at: AwareDatetime
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

    id: Annotated[str, _id_of(NodeKind.INFERENCE_BATCH)]
    model_version: ModelVersionId
    snapshot: SnapshotId
    window_start: AwareDatetime
    window_end: AwareDatetime
    record_count: NonNegativeInt
    counts: dict[Name, NonNegativeInt] = Field(default_factory=dict)
    statistics: dict[str, Any] = Field(default_factory=dict)
    records_hash: Sha256 | None = None
    records: list[dict[str, Any]] | None = None
    deployment: Annotated[str, _id_of(NodeKind.DEPLOYMENT)] | None = None

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

    deployment: Annotated[str, _id_of(NodeKind.DEPLOYMENT)]
    model_version: ModelVersionId
    at: AwareDatetime
    environment: Name = "production"
    reason: Text


class IncidentRecord(Record):
    """Something went wrong in production, and what it affected."""

    id: Annotated[str, _id_of(NodeKind.INCIDENT)]
    title: Text
    severity: Annotated[str, Field(pattern=r"^(SEV1|SEV2|SEV3|SEV4)$")]
    opened_at: AwareDatetime
    affected: list[AnyId] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=10_000)
    root_cause: str | None = Field(default=None, max_length=10_000)


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
