"""GraphQL types of the provenance graph's nodes and edges.

Every node type implements the ``Node`` interface (``id``, ``kind``, validity, ``props``); the
kinds the investigators' questions return also expose their properties as typed fields. The
types of what the service itself records (incidents, credentials, corrections, gate results
and the other operational kinds) and the map from kind to type are in
:mod:`lineage.graphql.node_records`. Resolvers
read the store's :class:`lineage.model.graph.Node` values; the one exception is a model's current
holders, which live on its temporal edges and are read when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphene

from lineage.graphql.context import context_of
from lineage.graphql.scalars import JSON, BigInt, DateTime
from lineage.model.graph import Edge as StoreEdge
from lineage.model.graph import Node as StoreNode
from lineage.model.graph import NodeKind
from lineage.model.ids import parse_id
from lineage.services.governance.accountability import holders

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


def valid_from(node: StoreNode, _info: Any) -> Any:
    """A resolver for a field that is the node's ``valid_from`` under a name of its own."""
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
        from lineage.graphql.node_records import TYPE_OF_KIND  # it imports this module

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
        required=True, description="When this version was created.", resolver=valid_from
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
    created_at = DateTime(required=True, description="When it was computed.", resolver=valid_from)
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
        required=True, description="When training finished.", resolver=valid_from
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
    started_at = DateTime(required=True, description="When it started.", resolver=valid_from)
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
    evaluated_at = DateTime(required=True, description="When.", resolver=valid_from)
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
    window_start = DateTime(required=True, description="Start of the window.", resolver=valid_from)
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
