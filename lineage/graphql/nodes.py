"""GraphQL types of the provenance graph's nodes and edges.

Every node type implements the ``Node`` interface (``id``, ``kind``, validity, ``props``); the
kinds the investigators' questions return also expose their properties as typed fields. Resolvers
read the store's :class:`lineage.model.graph.Node` values; the one exception is a model's current
holders, which live on its temporal edges and are read when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case

from lineage.graphql.context import context_of
from lineage.graphql.scalars import JSON, BigInt, DateTime
from lineage.model.graph import Edge as StoreEdge
from lineage.model.graph import Node as StoreNode
from lineage.model.graph import NodeKind
from lineage.model.ids import parse_id
from lineage.services.governance.accountability import holders
from lineage.services.incidents import history_of, status_at

# Properties never served: a credential's token hash would let anyone test guesses offline.
_HIDDEN_PROPS: dict[NodeKind, frozenset[str]] = {NodeKind.CREDENTIAL: frozenset({"token_hash"})}


def visible_props(node: StoreNode) -> dict[str, Any]:
    """A node's properties minus the ones the API never serves."""
    hidden = _HIDDEN_PROPS.get(node.kind)
    if not hidden:
        return node.props
    return {k: v for k, v in node.props.items() if k not in hidden}


def prop(name: str, default: Any = None) -> Callable[..., Any]:
    """A resolver reading one property of a store node."""

    def resolve(node: StoreNode, _info: Any) -> Any:
        return node.props.get(name, default)

    return resolve


def _valid_from(node: StoreNode, _info: Any) -> Any:
    return node.valid_from


def _name(node: StoreNode, _info: Any) -> Any:
    return node.props.get("name") or parse_id(node.id).name


def _version(node: StoreNode, _info: Any) -> Any:
    return node.props.get("version") or parse_id(node.id).version


def _unversioned(node: StoreNode, _info: Any) -> Any:
    return parse_id(node.id).unversioned


class Node(graphene.Interface):  # type: ignore[misc]
    """A node of the provenance graph: a W3C PROV entity, activity or agent."""

    id = graphene.ID(
        required=True,
        description="Stable ID `kind:name` or `kind:name@version`, e.g. `dataset:applications@v2`.",
    )
    kind = graphene.String(
        required=True,
        description="The node kind, e.g. `DatasetVersion`, `ModelVersion`, `InferenceBatch`.",
    )
    valid_from = DateTime(
        required=True,
        description="When the thing came into being in the domain (creation, start of a run).",
    )
    valid_to = DateTime(description="When it stopped being true (a person leaving); null if open.")
    recorded_at = DateTime(description="When this service first recorded the node.")
    props = JSON(
        required=True,
        description="Every property, as a JSON object (as corrected, like the typed fields).",
    )
    corrected_by = graphene.List(
        graphene.NonNull(graphene.ID),
        required=True,
        description="The corrections applied to what this node shows, oldest first: those "
        "recorded by the question's `asOf` (by now without one). Empty when it shows the node "
        "as registered. See `corrections(node)`.",
    )

    @classmethod
    def resolve_type(cls, instance: StoreNode, _info: Any) -> type[graphene.ObjectType]:
        """The object type of the node's kind."""
        return TYPE_OF_KIND[instance.kind]

    @staticmethod
    def resolve_kind(node: StoreNode, _info: Any) -> str:
        """The kind's name."""
        return node.kind.value

    @staticmethod
    def resolve_props(node: StoreNode, _info: Any) -> dict[str, Any]:
        """The stored properties, minus secrets."""
        return visible_props(node)

    @staticmethod
    def resolve_corrected_by(node: StoreNode, _info: Any) -> list[str]:
        """The IDs of the corrections the view applies."""
        return list(getattr(node, "corrected_by", ()))


class Dataset(graphene.ObjectType):  # type: ignore[misc]
    """A named dataset; its content lives in immutable DatasetVersions."""

    class Meta:
        interfaces = (Node,)

    name = graphene.String(required=True, description="The dataset's name.", resolver=_name)


class DatasetVersion(graphene.ObjectType):  # type: ignore[misc]
    """An immutable, content-addressed version of a dataset."""

    class Meta:
        interfaces = (Node,)

    dataset = graphene.ID(
        required=True, description="The Dataset this is a version of.", resolver=_unversioned
    )
    version = graphene.String(required=True, description="The version label.", resolver=_version)
    content_hash = graphene.String(
        required=True,
        description="SHA-256 of the content (or of its manifest of file hashes).",
        resolver=prop("content_hash"),
    )
    record_count = BigInt(
        required=True, description="How many records it holds.", resolver=prop("record_count")
    )
    created_at = DateTime(
        required=True, description="When this version was created.", resolver=_valid_from
    )
    uri = graphene.String(description="Where the content is stored.", resolver=prop("uri"))
    description = graphene.String(description="Free text.", resolver=prop("description"))


class Feature(graphene.ObjectType):  # type: ignore[misc]
    """A feature that feature snapshots contain."""

    class Meta:
        interfaces = (Node,)

    name = graphene.String(required=True, description="The feature's name.", resolver=_name)


class FeatureSnapshot(graphene.ObjectType):  # type: ignore[misc]
    """A content-addressed set of computed features and the dataset versions it came from."""

    class Meta:
        interfaces = (Node,)

    features = graphene.List(
        graphene.NonNull(graphene.ID),
        required=True,
        description="The Feature IDs it contains.",
        resolver=prop("features", []),
    )
    sources = graphene.List(
        graphene.NonNull(graphene.ID),
        required=True,
        description="The DatasetVersion IDs it was computed from.",
        resolver=prop("sources", []),
    )
    content_hash = graphene.String(
        required=True, description="SHA-256 of the snapshot.", resolver=prop("content_hash")
    )
    computed_by = graphene.String(
        description="What computed it, e.g. `feast v3.1`.", resolver=prop("computed_by")
    )
    created_at = DateTime(required=True, description="When it was computed.", resolver=_valid_from)
    record_count = BigInt(description="How many rows it holds.", resolver=prop("record_count"))


class Model(graphene.ObjectType):  # type: ignore[misc]
    """A model: the named thing whose ModelVersions get trained, approved and deployed."""

    class Meta:
        interfaces = (Node,)

    name = graphene.String(required=True, description="The model's name.", resolver=_name)
    description = graphene.String(description="Free text.", resolver=prop("description"))
    accountable = graphene.List(
        graphene.NonNull("lineage.graphql.answers.Attribution"),
        required=True,
        description="Who holds the model's roles now (owner, technical steward, risk approver), "
        "read from its temporal attributions, so a handover shows at once. A holder who has "
        "left still appears here until the role is handed over (see `accountabilityGaps`).",
    )

    @staticmethod
    def resolve_accountable(node: StoreNode, info: Any) -> list[Any]:
        """The current holders (one read of the model's attributions)."""
        return holders(context_of(info).store, node.id)


class ModelVersion(graphene.ObjectType):  # type: ignore[misc]
    """One trained version of a model."""

    class Meta:
        interfaces = (Node,)

    model = graphene.ID(required=True, description="The Model.", resolver=_unversioned)
    version = graphene.String(required=True, description="The version label.", resolver=_version)
    training_run = graphene.ID(
        description="The TrainingRun that produced it.", resolver=prop("training_run")
    )
    snapshot = graphene.ID(
        description="The FeatureSnapshot it was trained on.", resolver=prop("snapshot")
    )
    code_commit = graphene.String(
        description="The git commit of the training code.", resolver=prop("code_commit")
    )
    registered_at = DateTime(
        required=True, description="When training finished.", resolver=_valid_from
    )


class DatasetBinding(graphene.ObjectType):  # type: ignore[misc]
    """A training input bound by its exact content hash."""

    id = graphene.ID(required=True, description="The DatasetVersion.")
    content_hash = graphene.String(required=True, description="The hash the run bound.")


def _bindings(node: StoreNode, _info: Any) -> list[dict[str, str]]:
    datasets = node.props.get("datasets") or {}
    return [{"id": k, "content_hash": v} for k, v in sorted(datasets.items())]


class TrainingRun(graphene.ObjectType):  # type: ignore[misc]
    """A training run: what it used, how, and the model version it produced."""

    class Meta:
        interfaces = (Node,)

    model_version = graphene.ID(
        required=True, description="The ModelVersion it produced.", resolver=prop("model_version")
    )
    snapshot = graphene.ID(
        required=True, description="The FeatureSnapshot it used.", resolver=prop("snapshot")
    )
    snapshot_hash = graphene.String(
        description="The snapshot's hash at training time.", resolver=prop("snapshot_hash")
    )
    datasets = graphene.List(
        graphene.NonNull(DatasetBinding),
        required=True,
        description="The source dataset versions, bound by exact hash.",
        resolver=_bindings,
    )
    code_commit = graphene.String(
        required=True, description="Git commit of the training code.", resolver=prop("code_commit")
    )
    parameters = JSON(
        required=True, description="Hyper-parameters.", resolver=prop("parameters", {})
    )
    split = JSON(
        required=True,
        description="Train/test fractions, e.g. {train: 0.8}.",
        resolver=prop("split", {}),
    )
    seed = graphene.Int(description="Random seed.", resolver=prop("seed"))
    records_available = BigInt(
        description="Records available to training.", resolver=prop("records_available")
    )
    records_used = BigInt(description="Records training used.", resolver=prop("records_used"))
    triggered_by = graphene.ID(
        description="The Person or Pipeline that ran it.", resolver=prop("triggered_by")
    )
    reason = graphene.String(description="Why it ran.", resolver=prop("reason"))
    started_at = DateTime(required=True, description="When it started.", resolver=_valid_from)
    ended_at = DateTime(description="When it ended.", resolver=prop("ended_at"))


class Evaluation(graphene.ObjectType):  # type: ignore[misc]
    """Metrics of a model version on some data."""

    class Meta:
        interfaces = (Node,)

    model_version = graphene.ID(
        required=True, description="The evaluated ModelVersion.", resolver=prop("model_version")
    )
    metrics = JSON(
        required=True,
        description="Metric name to value, e.g. {auc: 0.87}.",
        resolver=prop("metrics", {}),
    )
    evaluated_at = DateTime(required=True, description="When.", resolver=_valid_from)
    dataset = graphene.ID(description="The DatasetVersion evaluated on.", resolver=prop("dataset"))
    evaluator = graphene.ID(description="Who evaluated.", resolver=prop("evaluator"))
    notes = graphene.String(description="Free text.", resolver=prop("notes"))


class Person(graphene.ObjectType):  # type: ignore[misc]
    """A person who owns, approves, trains or investigates."""

    class Meta:
        interfaces = (Node,)

    name = graphene.String(required=True, description="Display name.", resolver=_name)
    email = graphene.String(description="Email address.", resolver=prop("email"))
    title = graphene.String(description="Job title.", resolver=prop("title"))
    manager = graphene.ID(description="The Person they act on behalf of.", resolver=prop("manager"))
    left_at = DateTime(
        description="When they left; null while they are here.", resolver=lambda n, _i: n.valid_to
    )


class Pipeline(graphene.ObjectType):  # type: ignore[misc]
    """An automated agent: a training, feature or inference job."""

    class Meta:
        interfaces = (Node,)

    name = graphene.String(required=True, description="Display name.", resolver=_name)
    owner = graphene.ID(description="The Person it acts on behalf of.", resolver=prop("owner"))


class Deployment(graphene.ObjectType):  # type: ignore[misc]
    """A deployment target that serves one model version at a time."""

    class Meta:
        interfaces = (Node,)

    model = graphene.ID(description="The Model it serves.", resolver=prop("model"))
    environment = graphene.String(description="E.g. `production`.", resolver=prop("environment"))


class InferenceBatch(graphene.ObjectType):  # type: ignore[misc]
    """A window of decisions by one model version with one feature snapshot."""

    class Meta:
        interfaces = (Node,)

    model_version = graphene.ID(
        required=True, description="The ModelVersion that decided.", resolver=prop("model_version")
    )
    snapshot = graphene.ID(
        required=True, description="The FeatureSnapshot it used.", resolver=prop("snapshot")
    )
    deployment = graphene.ID(
        description="The Deployment that served it.", resolver=prop("deployment")
    )
    window_start = DateTime(required=True, description="Start of the window.", resolver=_valid_from)
    window_end = DateTime(
        required=True, description="End of the window (exclusive).", resolver=prop("window_end")
    )
    record_count = BigInt(
        required=True, description="How many decisions.", resolver=prop("record_count")
    )
    counts = JSON(
        required=True,
        description="Decisions per outcome, e.g. {APPROVED: 11}.",
        resolver=prop("counts", {}),
    )
    statistics = JSON(
        required=True,
        description="Null rates and ranges per feature, prediction distribution, rates by group, "
        "overrides, latency percentiles.",
        resolver=prop("statistics", {}),
    )
    records_hash = graphene.String(
        required=True,
        description="SHA-256 of the records file in the record store.",
        resolver=prop("records_hash"),
    )


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
    opened_at = DateTime(required=True, description="When it was opened.", resolver=_valid_from)
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
        resolver=_valid_from,
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


class Edge(graphene.ObjectType):  # type: ignore[misc]
    """A typed, directed edge; edges point from the dependent node to what it depends on."""

    src = graphene.ID(required=True, description="The dependent node.")
    dst = graphene.ID(required=True, description="The node it depends on.")
    kind = graphene.String(
        required=True, description="The edge kind, e.g. `USED`, `WAS_GENERATED_BY`, `SERVED`."
    )
    prov = graphene.String(required=True, description="The W3C PROV relation, e.g. `prov:used`.")
    valid_from = DateTime(description="Start of validity for edges that change over time.")
    valid_to = DateTime(description="End of validity; null while it holds.")
    props = JSON(required=True, description="The edge's properties.")

    @staticmethod
    def resolve_kind(edge: StoreEdge, _info: Any) -> str:
        """The kind's name."""
        return edge.kind.value

    @staticmethod
    def resolve_prov(edge: StoreEdge, _info: Any) -> str:
        """The PROV relation."""
        return edge.kind.prov
