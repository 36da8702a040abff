"""GraphQL types of the investigators' answers.

Each mirrors a result dataclass of :mod:`lineage.services.investigation`; the default resolvers
read those dataclasses' attributes, so only renamed or reshaped fields have resolvers here.
"""

from __future__ import annotations

from typing import Any

import graphene

from lineage.graphql.context import context_of
from lineage.graphql.governance_types import Gates
from lineage.graphql.node_records import Correction
from lineage.graphql.nodes import (
    DatasetVersion,
    Deployment,
    Edge,
    Evaluation,
    Feature,
    FeatureSnapshot,
    InferenceBatch,
    ModelVersion,
    Node,
    TrainingRun,
)
from lineage.graphql.scalars import JSON, DateTime
from lineage.model.graph import Subgraph as StoreSubgraph
from lineage.services import investigation
from lineage.services.subjects import SubjectBatch, subject_page


class ModelUse(graphene.ObjectType):  # type: ignore[misc]
    """A model version whose training used the dataset, and the path that links them."""

    model_version = graphene.Field(ModelVersion, required=True, description="The model version.")
    path = graphene.List(
        graphene.NonNull(Node),
        required=True,
        description="dataset version -> feature snapshot -> training run -> model version.",
    )
    deployed = graphene.Boolean(
        required=True,
        description="Whether a deployment serves this version at `asOf` (now when not given).",
    )

    @staticmethod
    def resolve_deployed(use: investigation.ModelUse, _info: Any) -> bool:
        """Deployed at the instant asked about."""
        return use.deployed_now


class ModelsUsingDataset(graphene.ObjectType):  # type: ignore[misc]
    """Which model versions were trained on a dataset (any version, or one)."""

    uses = graphene.List(
        graphene.NonNull(ModelUse), required=True, description="One entry per model version."
    )
    truncated = graphene.Boolean(
        required=True, description="True when a depth or size limit cut the search short."
    )


class Attribution(graphene.ObjectType):  # type: ignore[misc]
    """A person (or pipeline) accountable for a model in a role over an interval."""

    role = graphene.String(
        required=True, description="`owner`, `technical_steward` or `risk_approver`."
    )
    agent = graphene.Field(Node, required=True, description="The Person or Pipeline.")
    valid_from = DateTime(description="Start of the term.")
    valid_to = DateTime(description="End of the term; null while it lasts.")


class TrainingProvenance(graphene.ObjectType):  # type: ignore[misc]
    """How the model version in service (or latest registered) at an instant was trained."""

    as_of = DateTime(required=True, description="The instant asked about.")
    model_version = graphene.Field(ModelVersion, required=True, description="The model version.")
    serving = graphene.Boolean(
        required=True,
        description="True if it was deployed at `asOf`; false if it is the latest registered "
        "version because none was deployed.",
    )
    training_run = graphene.Field(
        TrainingRun,
        required=True,
        description="The run: code commit, parameters, split, seed, records used of available.",
    )
    snapshot = graphene.Field(
        FeatureSnapshot,
        required=True,
        description="The feature snapshot: features, hash, computed_by.",
    )
    features = graphene.List(
        graphene.NonNull(Feature), required=True, description="The snapshot's features."
    )
    datasets = graphene.List(
        graphene.NonNull(DatasetVersion),
        required=True,
        description="The source dataset versions the run bound: hashes, record counts, created.",
    )
    evaluations = graphene.List(
        graphene.NonNull(Evaluation), required=True, description="Evaluations of the version."
    )
    approvals = graphene.List(
        graphene.NonNull(Node),
        required=True,
        description="Approvals and blocks of the version recorded by `asOf`.",
    )
    risk_assessments = graphene.List(
        graphene.NonNull(Node),
        required=True,
        description="Bias audits of the version recorded by `asOf` (the risk gate's evidence).",
    )
    gate_results = graphene.List(
        graphene.NonNull(Node), required=True, description="Gate results recorded by `asOf`."
    )
    gates = graphene.Field(
        Gates, description="Both gates computed from the evidence known at `asOf`."
    )
    accountable = graphene.List(
        graphene.NonNull(Attribution),
        required=True,
        description="Owner, technical steward and risk approver in force at `asOf`.",
    )
    triggered_by = graphene.Field(Node, description="Who ran the training.")
    truncated = graphene.Boolean(
        required=True, description="True when a size limit cut a walk behind this answer short."
    )


class Serving(graphene.ObjectType):  # type: ignore[misc]
    """A deployment serving a model version over an interval."""

    deployment = graphene.Field(Deployment, required=True, description="The deployment.")
    model_version = graphene.Field(
        ModelVersion, required=True, description="The version it serves."
    )
    since = DateTime(description="Serving since.")
    until = DateTime(description="Serving until; null while it serves.")


class ModelAccountability(graphene.ObjectType):  # type: ignore[misc]
    """The people accountable for one model."""

    model = graphene.ID(required=True, description="The Model.")
    accountable = graphene.List(
        graphene.NonNull(Attribution), required=True, description="Who, in which role."
    )


class FeatureImpact(graphene.ObjectType):  # type: ignore[misc]
    """What deprecating a feature breaks."""

    feature = graphene.Field(Feature, required=True, description="The feature.")
    snapshots = graphene.List(
        graphene.NonNull(FeatureSnapshot),
        required=True,
        description="Snapshots that contain the feature.",
    )
    model_versions = graphene.List(
        graphene.NonNull(ModelVersion),
        required=True,
        description="Model versions trained on those snapshots.",
    )
    serving = graphene.List(
        graphene.NonNull(Serving),
        required=True,
        description="Deployments serving one of those versions at `asOf` (now by default).",
    )
    accountable = graphene.List(
        graphene.NonNull(ModelAccountability),
        required=True,
        description="The people accountable for each affected model.",
    )
    sources = graphene.List(
        graphene.NonNull(Node),
        required=True,
        description="The source columns the feature was computed from, however many "
        "derivations back, as column lineage recorded them (OpenLineage `columnLineage`); "
        "empty when none was recorded.",
    )
    truncated = graphene.Boolean(
        required=True, description="True when a depth or size limit cut the search short."
    )

    @staticmethod
    def resolve_accountable(
        impact: investigation.FeatureImpact, _info: Any
    ) -> list[dict[str, Any]]:
        """One entry per model, in ID order."""
        return [
            {"model": model, "accountable": people}
            for model, people in sorted(impact.accountable.items())
        ]


class DecisionPage(graphene.ObjectType):  # type: ignore[misc]
    """A page of individual decisions read from a batch's records file."""

    decisions = graphene.List(
        graphene.NonNull(JSON), required=True, description="The decisions, in file order."
    )
    end_cursor = graphene.String(description="Pass as `after` for the next page.")
    has_next_page = graphene.Boolean(required=True, description="Whether more decisions follow.")
    total = graphene.Int(required=True, description="How many decisions the batch holds.")


class DecisionBatch(graphene.ObjectType):  # type: ignore[misc]
    """An inference batch with the model version, snapshot and data behind it."""

    batch = graphene.Field(
        InferenceBatch,
        required=True,
        description="The batch: window, counts and statistics.",
    )
    model_version = graphene.Field(
        ModelVersion, required=True, description="The model version that decided."
    )
    snapshot = graphene.Field(
        FeatureSnapshot, required=True, description="The feature snapshot it used."
    )
    datasets = graphene.List(
        graphene.NonNull(DatasetVersion),
        required=True,
        description="The source dataset versions behind the snapshot.",
    )
    records = graphene.Field(
        DecisionPage,
        required=True,
        first=graphene.Int(description="Page size (default 50, capped by the server)."),
        after=graphene.String(description="`endCursor` of the previous page."),
        description="The individual decisions, paged, from the record store.",
    )

    @staticmethod
    def resolve_records(
        batch: investigation.DecisionBatch,
        info: Any,
        first: int | None = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        """Read one page of the batch's records file."""
        context = context_of(info)
        size = context.limits.page_size(first)
        if isinstance(batch, SubjectBatch):  # decisions(subject:): only the subject's, read once
            page = subject_page(batch, first=size, after=after)
        else:
            page = investigation.batch_records(
                context.records, batch.batch, first=size, after=after
            )
        context.charge(page, "records")
        return {
            "decisions": page.records,
            "end_cursor": page.next_cursor,
            "has_next_page": page.next_cursor is not None,
            "total": page.total,
        }


class Decisions(graphene.ObjectType):  # type: ignore[misc]
    """The inference batches of a model in a window."""

    batches = graphene.List(
        graphene.NonNull(DecisionBatch), required=True, description="Oldest window first."
    )
    truncated = graphene.Boolean(
        required=True, description="True when a size limit cut the list short."
    )


class NodeDepth(graphene.ObjectType):  # type: ignore[misc]
    """How many hops a reached node is from the start."""

    id = graphene.ID(required=True, description="The node.")
    depth = graphene.Int(required=True, description="Hops from the start node.")


class Subgraph(graphene.ObjectType):  # type: ignore[misc]
    """What a bounded traversal reached."""

    nodes = graphene.List(graphene.NonNull(Node), required=True, description="Reached nodes.")
    edges = graphene.List(
        graphene.NonNull(Edge), required=True, description="Edges among the reached nodes."
    )
    truncated = graphene.Boolean(
        required=True,
        description="True when the depth limit or the node budget stopped the walk before it "
        "reached everything.",
    )
    depths = graphene.List(
        graphene.NonNull(NodeDepth), required=True, description="Hops from the start, per node."
    )
    max_depth = graphene.Int(
        required=True, description="The depth limit applied (a larger request is clamped)."
    )

    @staticmethod
    def resolve_depths(answer: ImpactAnswer, _info: Any) -> list[dict[str, Any]]:
        """Sorted by depth, then ID."""
        pairs = sorted(answer.subgraph.depths.items(), key=lambda item: (item[1], item[0]))
        return [{"id": node_id, "depth": depth} for node_id, depth in pairs]

    @staticmethod
    def resolve_nodes(answer: ImpactAnswer, _info: Any) -> list[Any]:
        """The reached nodes."""
        return answer.subgraph.nodes

    @staticmethod
    def resolve_edges(answer: ImpactAnswer, _info: Any) -> list[Any]:
        """The edges among them."""
        return answer.subgraph.edges

    @staticmethod
    def resolve_truncated(answer: ImpactAnswer, _info: Any) -> bool:
        """Whether a limit stopped the walk."""
        return answer.subgraph.truncated


class ImpactAnswer:
    """A traversal's subgraph and the depth limit it ran with."""

    __slots__ = ("max_depth", "subgraph")

    def __init__(self, subgraph: StoreSubgraph, max_depth: int) -> None:
        self.subgraph = subgraph
        self.max_depth = max_depth


_CHANGES = {
    "REGISTERED": "The node came into being (its validFrom).",
    "ENDED": "The node stopped being true (a person left), or the edge stopped holding.",
    "STARTED": "The edge began to hold: a new owner, a deployment serving another version.",
    "CORRECTED": "A correction of the node was recorded: a registered fact was fixed.",
}


ChangeKind = graphene.Enum.from_enum(
    investigation.ChangeKind,
    # graphene calls a callable description with each value, and with None for the type.
    description=lambda value: _CHANGES[value.name] if value else "What happened upstream.",
)


class UpstreamChange(graphene.ObjectType):  # type: ignore[misc]
    """Something that changed upstream of the node: a node registered or ended, or a temporal
    edge (an owner, a deployment's version) that started or ended."""

    node = graphene.Field(
        Node, required=True, description="What changed; for an edge, its dependent end."
    )
    at = DateTime(required=True, description="When it happened.")
    what = graphene.Field(ChangeKind, required=True, description="What happened.")
    edge = graphene.Field(Edge, description="The edge that started or ended; null for a node.")
    depth = graphene.Int(description="Hops upstream of the node asked about.")
    correction = graphene.Field(
        Correction, description="For a `CORRECTED` change, the correction: who, why, what changed."
    )


class UpstreamChanges(graphene.ObjectType):  # type: ignore[misc]
    """Everything that changed upstream of a node since an instant, newest first."""

    changes = graphene.List(
        graphene.NonNull(UpstreamChange), required=True, description="Newest first."
    )
    truncated = graphene.Boolean(
        required=True, description="True when a depth or size limit cut the search short."
    )


class NodePage(graphene.ObjectType):  # type: ignore[misc]
    """A page of nodes."""

    nodes = graphene.List(graphene.NonNull(Node), required=True, description="The nodes.")
    end_cursor = graphene.String(description="Pass as `after` for the next page.")
    has_next_page = graphene.Boolean(required=True, description="Whether more nodes follow.")


class Viewer(graphene.ObjectType):  # type: ignore[misc]
    """Who the API thinks is calling."""

    principal = graphene.ID(required=True, description="The token's Person or Pipeline.")
    roles = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="The roles it holds."
    )
