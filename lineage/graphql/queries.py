"""The root Query: the investigators' questions, and the graph by ID and by kind.

Resolvers translate arguments, call :mod:`lineage.services.investigation` and hand its
dataclasses to the answer types; the only store calls here are ``node``, ``nodes`` and
``corrections``. Like every question, ``node`` and ``nodes`` show the corrected facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from lineage.errors import NotFoundError
from lineage.graphql import answers
from lineage.graphql.context import context_of
from lineage.graphql.cost import IMPACT_NODE_BUDGET
from lineage.graphql.deployments import DeploymentQuery
from lineage.graphql.diffs import VersionDiff
from lineage.graphql.governance import GovernanceQuery
from lineage.graphql.incidents import IncidentsQuery
from lineage.graphql.node_records import Correction
from lineage.graphql.nodes import Node
from lineage.graphql.scalars import DateTime
from lineage.graphql.search import SearchFields
from lineage.model.graph import Direction as StoreDirection
from lineage.model.graph import Node as StoreNode
from lineage.model.graph import NodeKind
from lineage.model.ids import parse_id
from lineage.services import investigation, subjects
from lineage.services.corrected import CorrectedReads, history
from lineage.services.names import not_found, resolve_any
from lineage.services.tokens import Role
from lineage.store.base import MAX_DEPTH, NodeQuery

DEFAULT_IMPACT_DEPTH = 6
# Credentials say who can act as whom: only those who audit access may list them.
CREDENTIAL_READERS = frozenset({Role.ADMIN, Role.COMPLIANCE})

# The vocabulary every question shares (README: "Asking the questions: one vocabulary").
_AS_OF = (
    "The world as the graph recorded it at this instant (default: now): nodes registered by "
    "then, temporal edges (owners, deployments) holding then, corrections recorded by then."
)
_NODE = (
    "a full ID (`model:lending_approval@v13`) or an unambiguous short name "
    "(`lending_approval`, `income`)."
)
_KINDS = (
    "A node kind in any spelling the API shows: `DatasetVersion`, `DATASET_VERSION` or an "
    "ID prefix (`dataset` for Dataset, `dataset@` for DatasetVersion, `snapshot`, `batch`)."
)

_DIRECTIONS = {
    "UPSTREAM": "Towards what the node was derived from (its inputs, their sources, their agents).",
    "DOWNSTREAM": "Towards what depends on the node (what was derived from it, what used it).",
    "BOTH": "Both ways.",
}


class Direction(graphene.Enum):  # type: ignore[misc]
    """Which way to walk the graph from a node."""

    UPSTREAM = StoreDirection.OUT.value
    DOWNSTREAM = StoreDirection.IN.value
    BOTH = StoreDirection.BOTH.value

    @property
    def description(self) -> str:
        """Per-value description."""
        return _DIRECTIONS[self.name]


def _store_direction(value: Any) -> StoreDirection:
    return StoreDirection(getattr(value, "value", value))


def _guard_credentials(info: Any, kind: NodeKind) -> None:
    if kind is NodeKind.CREDENTIAL:
        context_of(info).require(CREDENTIAL_READERS, "read credentials")


class Query(GovernanceQuery, DeploymentQuery, IncidentsQuery, SearchFields):
    """Questions about the provenance graph. Every answer that walks the graph says whether a
    limit truncated it."""

    node = graphene.Field(
        Node,
        id=graphene.ID(
            required=True,
            description="A node ID, e.g. `model:lending_approval@v12`, or an unambiguous short "
            "name (`lending_approval@v12`, `income`).",
        ),
        description="One node by ID or short name; null if there is none. A short name that "
        "names several nodes is INVALID, listing their IDs.",
    )
    nodes = graphene.Field(
        answers.NodePage,
        kind=graphene.String(
            required=True,
            description=_KINDS,
        ),
        first=graphene.Int(description="Page size (default 50, capped by the server)."),
        after=graphene.String(description="`endCursor` of the previous page."),
        description="Nodes of one kind, oldest first, paged.",
    )
    models_using_dataset = graphene.Field(
        answers.ModelsUsingDataset,
        dataset=graphene.String(
            required=True, description="The dataset, e.g. `applications` or `dataset:applications`."
        ),
        version=graphene.String(description="Only this version, e.g. `v2`; all when omitted."),
        as_of=DateTime(description=_AS_OF),
        description="Model versions whose training used the dataset, each with the path that "
        "links them (dataset version -> snapshot -> training run -> model version); versions "
        "registered after `asOf` are not listed, and `deployed` is judged at `asOf`.",
    )
    training_provenance = graphene.Field(
        answers.TrainingProvenance,
        model=graphene.String(
            required=True, description="The model, e.g. `lending_approval` or `model:...`."
        ),
        as_of=DateTime(required=True, description="The instant to reconstruct. " + _AS_OF),
        description="The version of the model serving at `asOf` (or, if none was deployed, the "
        "latest registered by then) with its whole provenance and the people in force then.",
    )
    feature_impact = graphene.Field(
        answers.FeatureImpact,
        feature=graphene.String(
            required=True, description="The feature, e.g. `credit_score` or `feature:...`."
        ),
        as_of=DateTime(description=_AS_OF),
        description="What deprecating the feature breaks: snapshots, model versions, deployments "
        "serving them, and who is accountable.",
    )
    decisions = graphene.Field(
        answers.Decisions,
        # ``from`` is a Python keyword, so the arguments up to it go in by name.
        args={
            "model": graphene.Argument(
                graphene.String, required=True, description="The model, e.g. `lending_approval`."
            ),
            "from": graphene.Argument(
                DateTime, required=True, description="Start of the window (inclusive)."
            ),
        },
        to=DateTime(required=True, description="End of the window (exclusive)."),
        snapshot=graphene.String(description="Only batches that used this feature snapshot."),
        subject=graphene.String(
            description="Only this data subject's decisions, by identifier (`john_doe_12345`) "
            "or `field=value` (`applicant_id=john_doe_12345`): the batches holding them, each "
            "with only theirs, found through the subject index without reading other files."
        ),
        description="The model's inference batches whose window overlaps [from, to), with what "
        "they used and their individual decisions.",
    )
    impact = graphene.Field(
        answers.Subgraph,
        node=graphene.ID(required=True, description="Where to start: " + _NODE),
        direction=Direction(required=True, description="Which way to walk."),
        max_depth=graphene.Int(
            description=f"Hops to follow (default {DEFAULT_IMPACT_DEPTH}, clamped to {MAX_DEPTH})."
        ),
        kinds=graphene.List(
            graphene.NonNull(graphene.String),
            description="Only return nodes of these kinds (the walk still passes through "
            "others). " + _KINDS,
        ),
        as_of=DateTime(description=_AS_OF),
        description="The bounded subgraph reachable from the node.",
    )
    upstream_changes = graphene.Field(
        answers.UpstreamChanges,
        node=graphene.ID(required=True, description="The node under investigation: " + _NODE),
        since=DateTime(required=True, description="Only what changed at or after this."),
        until=DateTime(
            description="Only what changed at or before this, e.g. the incident's opening "
            "(default: up to now)."
        ),
        description="Everything that changed upstream of the node in [since, until], newest "
        "first (nodes registered or ended, owners and deployed versions that started or "
        "ended, corrections): the first question of every incident. Of a model or a model "
        "version it also lists its versions, the deployments serving them (rollouts and "
        "rollbacks), their evaluations, bias audits, gate results and sign-offs, and the "
        "incidents naming them.",
    )
    version_diff = graphene.Field(
        VersionDiff,
        a=graphene.String(
            required=True,
            description="The first model version, e.g. `model:lending_approval@v12` or "
            "`lending_approval@v12`.",
        ),
        b=graphene.String(required=True, description="The second model version."),
        as_of=DateTime(description=_AS_OF),
        description="What differs between two model versions, row by row: data (dataset "
        "versions and hashes), snapshot, code, parameters, training, metrics, gates, approvals "
        "and deployments.",
    )
    corrections = graphene.List(
        graphene.NonNull(Correction),
        required=True,
        node=graphene.ID(required=True, description="The corrected node: " + _NODE),
        description="Every correction recorded for the node, oldest first: who, when, why, what "
        "changed. Questions apply those recorded by their `asOf` (by now without one).",
    )
    viewer = graphene.Field(
        answers.Viewer, required=True, description="The principal and roles of the caller."
    )

    @staticmethod
    def resolve_node(_root: Any, info: Any, id: str) -> StoreNode | None:
        """Look the node up."""
        context = context_of(info)
        if ":" not in id:
            try:
                id = resolve_any(context.store, id, "id")
            except NotFoundError:
                return None
        _guard_credentials(info, parse_id(id, "id").kind)
        return CorrectedReads(context.store).get_nodes([id]).get(id)

    @staticmethod
    def resolve_nodes(
        _root: Any, info: Any, kind: str, first: int | None = None, after: str | None = None
    ) -> dict[str, Any]:
        """One page of nodes of the kind."""
        context = context_of(info)
        node_kind = NodeKind.parse(kind, "kind")
        _guard_credentials(info, node_kind)
        query = NodeQuery(kind=node_kind, limit=context.limits.page_size(first), after=after)
        page = context.store.find_nodes(query)
        context.charge(page.items, "nodes")
        return {
            "nodes": CorrectedReads(context.store).nodes(page.items),
            "end_cursor": page.next_cursor,
            "has_next_page": page.next_cursor is not None,
        }

    @staticmethod
    def resolve_models_using_dataset(
        _root: Any,
        info: Any,
        dataset: str,
        version: str | None = None,
        as_of: datetime | None = None,
    ) -> investigation.ModelsUsingDataset:
        """Ask the investigation service."""
        context = context_of(info)
        answer = investigation.models_using_dataset(context.store, dataset, version, as_of)
        return context.charge(answer, "modelsUsingDataset")

    @staticmethod
    def resolve_training_provenance(
        _root: Any, info: Any, model: str, as_of: datetime
    ) -> investigation.TrainingProvenance:
        """Ask the investigation service."""
        context = context_of(info)
        answer = investigation.training_provenance(context.store, model, as_of)
        return context.charge(answer, "trainingProvenance")

    @staticmethod
    def resolve_feature_impact(
        _root: Any, info: Any, feature: str, as_of: datetime | None = None
    ) -> investigation.FeatureImpact:
        """Ask the investigation service."""
        context = context_of(info)
        answer = investigation.feature_impact(context.store, feature, as_of)
        return context.charge(answer, "featureImpact")

    @staticmethod
    def resolve_decisions(
        _root: Any, info: Any, model: str, to: datetime, **args: Any
    ) -> investigation.Decisions:
        """Ask the investigation service (``from`` is a Python keyword, hence ``args``)."""
        context = context_of(info)
        snapshot, subject = args.get("snapshot"), args.get("subject")
        if subject is not None:
            answer = subjects.subject_decisions(
                context.store, context.records, model, args["from"], to, snapshot, subject
            )
        else:
            answer = investigation.decisions(context.store, model, args["from"], to, snapshot)
        return context.charge(answer, "decisions")

    @staticmethod
    def resolve_impact(
        _root: Any,
        info: Any,
        node: str,
        direction: Any,
        max_depth: int | None = None,
        kinds: list[str] | None = None,
        as_of: datetime | None = None,
    ) -> answers.ImpactAnswer:
        """Walk from the node; the depth is clamped and the answer says so via ``maxDepth``."""
        context = context_of(info)
        depth = DEFAULT_IMPACT_DEPTH if max_depth is None else max_depth
        subgraph = investigation.impact(
            context.store,
            node,
            _store_direction(direction),
            depth,
            kinds,
            as_of,
            max_nodes=IMPACT_NODE_BUDGET,
        )
        return answers.ImpactAnswer(context.charge(subgraph, "impact"), min(depth, MAX_DEPTH))

    @staticmethod
    def resolve_upstream_changes(
        _root: Any, info: Any, node: str, since: datetime, until: datetime | None = None
    ) -> investigation.UpstreamChanges:
        """Ask the investigation service."""
        context = context_of(info)
        answer = investigation.upstream_changes(context.store, node, since, until)
        return context.charge(answer, "upstreamChanges")

    @staticmethod
    def resolve_version_diff(
        _root: Any, info: Any, a: str, b: str, as_of: datetime | None = None
    ) -> investigation.VersionDiff:
        """Ask the investigation service."""
        context = context_of(info)
        answer = investigation.version_diff(context.store, a, b, as_of)
        return context.charge(answer, "versionDiff")

    @staticmethod
    def resolve_corrections(_root: Any, info: Any, node: str) -> list[StoreNode]:
        """The node's corrections; NOT_FOUND for a node that is not registered."""
        context = context_of(info)
        node = resolve_any(context.store, node, "node")
        _guard_credentials(info, parse_id(node, "node").kind)
        if not context.store.get_nodes([node]):
            raise not_found(node, "node")
        return context.charge(history(context.store, node), "corrections")

    @staticmethod
    def resolve_viewer(_root: Any, info: Any) -> dict[str, Any]:
        """The caller."""
        principal = context_of(info).principal
        return {"principal": principal.id, "roles": sorted(r.value for r in principal.roles)}
