"""What the investigators' questions answer: plain dataclasses, one per answer.

``lineage.services.investigation`` computes them; the GraphQL layer only translates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from lineage.model.graph import Edge, Node

if TYPE_CHECKING:
    from lineage.services.governance.gates import GateReport


@dataclass(frozen=True, slots=True)
class Attribution:
    """A person (or pipeline) accountable for a model in a role over an interval."""

    role: str  # owner | technical_steward | risk_approver
    agent: Node
    valid_from: datetime | None
    valid_to: datetime | None


@dataclass(frozen=True, slots=True)
class Serving:
    """A deployment serving a model version from ``since`` (until ``until``, open if None)."""

    deployment: Node
    model_version: Node
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True, slots=True)
class ModelUse:
    """A model version whose training used a dataset, and the path that links them."""

    model_version: Node
    path: list[Node]  # dataset version -> snapshot -> training run -> model version
    deployed_now: bool


@dataclass(frozen=True, slots=True)
class ModelsUsingDataset:
    """Answer to "which models use dataset X (version v)?"."""

    uses: list[ModelUse]
    truncated: bool


@dataclass(frozen=True, slots=True)
class TrainingProvenance:
    """How a model version was trained, as of an instant."""

    model_version: Node
    serving: bool  # whether it was deployed at the instant (else: the latest registered by then)
    training_run: Node
    snapshot: Node
    features: list[Node]
    datasets: list[Node]  # the source dataset versions the run bound, with their hashes
    evaluations: list[Node]
    approvals: list[Node]
    accountable: list[Attribution]  # in force at the instant
    triggered_by: Node | None
    as_of: datetime
    truncated: bool = False  # a walk behind this answer hit its node budget
    risk_assessments: list[Node] = field(default_factory=list)  # bias audits recorded by then
    gate_results: list[Node] = field(default_factory=list)  # gate results recorded by then
    gates: GateReport | None = None  # both gates computed from the evidence known then


@dataclass(frozen=True, slots=True)
class FeatureImpact:
    """What deprecating a feature breaks."""

    feature: Node
    snapshots: list[Node]
    model_versions: list[Node]
    serving: list[Serving]  # deployments serving one of those versions now
    accountable: dict[str, list[Attribution]]  # model id -> people accountable now
    truncated: bool
    sources: list[Node] = field(default_factory=list)  # the columns it was computed from


@dataclass(frozen=True, slots=True)
class DecisionBatch:
    """An inference batch with what it used."""

    batch: Node
    model_version: Node
    snapshot: Node
    datasets: list[Node]  # the dataset versions behind the snapshot


@dataclass(frozen=True, slots=True)
class Decisions:
    """Batches of a model in a window."""

    batches: list[DecisionBatch]
    truncated: bool


@dataclass(frozen=True, slots=True)
class RecordPage:
    """A page of individual decisions from a batch's records file."""

    records: list[dict[str, object]]
    next_cursor: str | None
    total: int


class ChangeKind(StrEnum):
    """What happened upstream."""

    REGISTERED = "REGISTERED"  # a node came into being
    ENDED = "ENDED"  # a node stopped being true (a person left), or a temporal edge closed
    STARTED = "STARTED"  # a temporal edge began to hold (a new owner, a deployment's new version)
    CORRECTED = "CORRECTED"  # a correction of the node was recorded


@dataclass(frozen=True, slots=True)
class Change:
    """One change upstream: ``node`` is what changed, or for an edge its dependent end;
    ``correction`` is the correction node of a CORRECTED change."""

    at: datetime
    what: ChangeKind
    node: Node
    edge: Edge | None = None
    depth: int | None = None
    correction: Node | None = None

    def order(self) -> tuple[str, str, str, str]:
        """A total order among changes at one instant: by node, edge, what, correction."""
        edge = self.edge.key if self.edge else ""
        correction = self.correction.id if self.correction else ""
        return (self.node.id, edge, self.what, correction)


@dataclass(frozen=True, slots=True)
class UpstreamChanges:
    """Everything registered upstream of a node since an instant, newest first."""

    changes: list[Change]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One compared fact of two model versions: ``aspect`` groups it (data, snapshot, code,
    parameters, training, metrics, gates, approvals, deployments), ``field`` names it, ``a``
    and ``b`` are its values (None where a version has none), ``same`` whether they are equal."""

    aspect: str
    field: str
    a: object
    b: object
    same: bool


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """What differs between two model versions, as the graph recorded them at ``as_of``."""

    a: Node
    b: Node
    rows: list[DiffRow]
    as_of: datetime
    truncated: bool = False

    @property
    def differences(self) -> list[DiffRow]:
        """The rows whose values differ."""
        return [row for row in self.rows if not row.same]
