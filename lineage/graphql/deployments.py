"""GraphQL of deployments: gated deploy, traffic weights, rollback, kill switch and fallback
rules, feature retirement, the admin's history backfill, and `serving` as of any instant.

Each mutation needs the operator role (the backfill: admin) and runs the deployment service as
the token's principal; each is one audited write, and repeating a change the deployment already
reflects is a no-op (`created: false`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from lineage.errors import LineageError
from lineage.graphql.context import ADMINS, OPERATORS, context_of
from lineage.graphql.nodes import Deployment, ModelVersion, Node
from lineage.graphql.scalars import JSON, DateTime
from lineage.model.times import utcnow
from lineage.services.governance import routing
from lineage.services.governance.deployment import Deployments
from lineage.services.governance.slots import Slots
from lineage.services.registry import Registry
from lineage.services.tokens import Role


class Share(graphene.ObjectType):  # type: ignore[misc]
    """A version in a deployment's slot and its share of the traffic."""

    version = graphene.Field(ModelVersion, required=True, description="The model version.")
    slot = graphene.String(required=True, description="`current`, `standby` or `backup`.")
    weight = graphene.Int(
        required=True, description="Percent of the traffic (0: standing by without traffic)."
    )
    since = DateTime(description="Since when it held this slot and share.")


class DeploymentServing(graphene.ObjectType):  # type: ignore[misc]
    """What one deployment served at an instant."""

    deployment = graphene.Field(Deployment, required=True, description="The deployment.")
    traffic = graphene.List(
        graphene.NonNull(Share),
        required=True,
        description="The versions receiving traffic, largest share first (empty while the "
        "kill switch routes to the rules).",
    )
    current = graphene.Field(Share, description="The current version.")
    standby = graphene.Field(Share, description="The warm standby (the previous current).")
    backup = graphene.Field(Share, description="The cold backup.")
    kill_switch = graphene.Boolean(
        required=True, description="True while decisions go to the fallback rules, not the model."
    )
    kill_switch_since = DateTime(description="Since when the kill switch is on.")
    rules = graphene.Field(Node, description="The fallback rules linked to the deployment.")
    changed_at = DateTime(description="The last change at or before the instant.")


class ServingAnswer(graphene.ObjectType):  # type: ignore[misc]
    """What served at an instant: each deployment that existed then."""

    as_of = DateTime(required=True, description="The instant asked about.")
    deployments = graphene.List(
        graphene.NonNull(DeploymentServing), required=True, description="By deployment ID."
    )


class SlotsState(graphene.ObjectType):  # type: ignore[misc]
    """A deployment's slots before or after a change."""

    current = graphene.ID(description="The current version.")
    standby = graphene.ID(description="The warm standby.")
    backup = graphene.ID(description="The cold backup.")
    weights = JSON(required=True, description="Version to percent of the traffic.")
    kill_switch = graphene.Boolean(required=True, description="Routed to the fallback rules.")
    rules = graphene.ID(description="The fallback rules linked.")

    @staticmethod
    def resolve_weights(slots: Slots, _info: Any) -> dict[str, int]:
        """The shares (what returns once the kill switch is off, while it is on)."""
        return dict(slots.weights)


class DeploymentChangePayload(graphene.ObjectType):  # type: ignore[misc]
    """What a deployment change did."""

    deployment = graphene.Field(Deployment, required=True, description="The deployment.")
    action = graphene.String(required=True, description="e.g. `deploy`, `rollback`.")
    at = DateTime(required=True, description="When the change took effect.")
    before = graphene.Field(SlotsState, required=True, description="The slots before.")
    after = graphene.Field(SlotsState, required=True, description="The slots after.")
    created = graphene.Boolean(
        required=True, description="False when the deployment already was as asked (no-op)."
    )
    audit_seq = graphene.Int(description="The audit sequence number; null for a no-op.")


class FeatureRetirement(graphene.ObjectType):  # type: ignore[misc]
    """What retiring a feature did."""

    feature = graphene.Field(Node, required=True, description="The feature, with `validTo`.")
    created = graphene.Boolean(required=True, description="False when it was already retired.")
    audit_seq = graphene.Int(description="The audit sequence number; null for a no-op.")


class RulesRegistration(graphene.ObjectType):  # type: ignore[misc]
    """What registerFallbackRules did."""

    rules = graphene.Field(Node, required=True, description="The DecisionRules node.")
    created = graphene.Boolean(required=True, description="False for an identical repeat.")
    audit_seq = graphene.Int(description="The audit sequence number; null for a no-op.")


def _deployments(info: Any, action: str, roles: frozenset[Role] = OPERATORS) -> Deployments:
    context = context_of(info)
    context.require(roles, action)
    return Deployments(context.store, context.records, actor=context.principal.id)


def _mutation(
    name: str,
    doc: str,
    arguments: dict[str, Any],
    call: Any,
    output: type[graphene.ObjectType] = DeploymentChangePayload,
) -> type[graphene.Mutation]:
    """One mutation over the deployment service: ``call(service, **arguments)``."""

    def mutate(_root: Any, info: Any, **given: Any) -> Any:
        service = _deployments(info, f"call {name}")
        return call(service, **given)

    return type(
        name[0].upper() + name[1:],
        (graphene.Mutation,),
        {
            "__doc__": doc,
            "Arguments": type("Arguments", (), arguments),
            "Output": output,
            "mutate": staticmethod(mutate),
        },
    )


_REASON = graphene.String(required=True, description="Why, for the audit log.")
_DEPLOYMENT = graphene.ID(required=True, description="The Deployment, e.g. `deployment:...`.")

Deploy = _mutation(
    "deploy",
    "Make a version current on a deployment, with all the traffic (gated).",
    {
        "version": graphene.ID(required=True, description="The ModelVersion."),
        "deployment": _DEPLOYMENT,
        "reason": _REASON,
        "environment": graphene.String(description="For a new deployment (default production)."),
    },
    lambda s, version, deployment, reason, environment=None: s.deploy(
        version, deployment, reason, environment=environment or "production"
    ),
)
SetTraffic = _mutation(
    "setTraffic",
    "Split a deployment's traffic between the versions in its slots.",
    {
        "deployment": _DEPLOYMENT,
        "weights": JSON(
            required=True,
            description="Version ID to integer percent, adding up to exactly 100; versions left "
            "out stand by.",
        ),
        "reason": _REASON,
    },
    lambda s, deployment, weights, reason: s.set_traffic(deployment, weights, reason),
)
Rollback = _mutation(
    "rollback",
    "Move all of a deployment's traffic to its standby, or to a version it served before.",
    {
        "deployment": _DEPLOYMENT,
        "reason": _REASON,
        "to_version": graphene.ID(description="The version (default: the warm standby)."),
        "incident": graphene.ID(description="The Incident this rollback answers."),
    },
    lambda s, deployment, reason, to_version=None, incident=None: s.rollback(
        deployment, reason, to_version=to_version, incident=incident
    ),
)
SetKillSwitch = _mutation(
    "setKillSwitch",
    "Route a deployment's decisions to its fallback rules (useMl false), or back to the model.",
    {
        "deployment": _DEPLOYMENT,
        "use_ml": graphene.Boolean(required=True, description="False routes to the rules."),
        "reason": _REASON,
    },
    lambda s, deployment, use_ml, reason: s.set_kill_switch(deployment, use_ml, reason),
)
SetFallbackRules = _mutation(
    "setFallbackRules",
    "Link registered fallback rules to a deployment (what its kill switch routes to).",
    {
        "deployment": _DEPLOYMENT,
        "rules": graphene.ID(required=True, description="The DecisionRules, `rules:...`."),
        "reason": _REASON,
    },
    lambda s, deployment, rules, reason: s.set_fallback_rules(deployment, rules, reason),
)
RegisterFallbackRules = _mutation(
    "registerFallbackRules",
    "Register immutable fallback rules for a model's kill switch.",
    {
        "id": graphene.ID(required=True, description="`rules:<name>`."),
        "model": graphene.ID(required=True, description="The Model they stand in for."),
        "rules": JSON(
            required=True,
            description="In order, the first that matches decides: [{when: {income: {gt: "
            "50000}, credit_score: {gt: 650}}, decision: APPROVE}, ...]; comparisons gt, gte, "
            "lt, lte, eq, ne.",
        ),
        "default_decision": graphene.String(
            required=True, description="When no rule matches, e.g. DECLINE."
        ),
        "description": graphene.String(description="Free text."),
    },
    lambda s, id, model, rules, default_decision, description=None: s.register_fallback_rules(
        id, model, rules, default_decision, description=description
    ),
    output=RulesRegistration,
)
RetireFeature = _mutation(
    "retireFeature",
    "Retire a feature from the feature schema: versions that need it can no longer be rolled "
    "back to or given traffic.",
    {
        "feature": graphene.ID(required=True, description="The Feature, `feature:...`."),
        "reason": _REASON,
    },
    lambda s, feature, reason: s.retire_feature(feature, reason),
    output=FeatureRetirement,
)


class BackfillPayload(graphene.ObjectType):  # type: ignore[misc]
    """What backfillDeployment recorded."""

    deployment = graphene.Field(Deployment, required=True, description="The deployment.")
    created = graphene.Boolean(required=True, description="False when already recorded.")
    audit_seq = graphene.Int(description="The audit sequence number; null for a no-op.")


class BackfillDeployment(graphene.Mutation):  # type: ignore[misc]
    """Record history that predates this service: a deployment serving a version from a past
    instant, WITHOUT the gates (admin role only; audited as `backfill_deploy`)."""

    class Arguments:
        deployment = _DEPLOYMENT
        version = graphene.ID(required=True, description="The ModelVersion.")
        at = DateTime(required=True, description="When it started serving.")
        reason = _REASON
        environment = graphene.String(description="For a new deployment (default production).")

    Output = BackfillPayload

    @staticmethod
    def mutate(
        _root: Any,
        info: Any,
        deployment: str,
        version: str,
        at: datetime,
        reason: str,
        environment: str | None = None,
    ) -> dict[str, Any]:
        """Backfill as the caller."""
        context = context_of(info)
        context.require(ADMINS, "backfill deployment history")
        registry = Registry(context.store, context.records, actor=context.principal.id)
        record = {
            "deployment": deployment,
            "model_version": version,
            "at": at,
            "reason": reason,
            "environment": environment or "production",
        }
        try:
            done = registry.backfill_deploy(record)
        except LineageError as exc:
            if exc.field == "model_version":
                exc.field = "version"
            raise
        return {"deployment": done.node, "created": done.created, "audit_seq": done.audit_seq}


class DeploymentQuery(graphene.ObjectType):  # type: ignore[misc]
    """The deployment questions (mixed into the root Query)."""

    serving = graphene.Field(
        ServingAnswer,
        required=True,
        target=graphene.ID(
            required=True,
            description="A Deployment (`deployment:...`), or a Model (name or `model:...`) for "
            "each of its deployments.",
        ),
        as_of=DateTime(description="The instant (default: now)."),
        description="What served at an instant: per deployment, the versions with traffic and "
        "their weights, the standby and backup, the kill switch and its rules.",
    )

    @staticmethod
    def resolve_serving(
        _root: Any, info: Any, target: str, as_of: datetime | None = None
    ) -> routing.ServingAnswer:
        """Ask the routing service."""
        context = context_of(info)
        return routing.serving(context.store, target, as_of or utcnow())


class DeploymentMutation(graphene.ObjectType):  # type: ignore[misc]
    """The deployment operations (mixed into the root Mutation)."""

    deploy = Deploy.Field(
        description="Deploy a version (operator role): FORBIDDEN, listing every unmet "
        "condition, unless both gates pass and the tier's approvals are present and fresh. The "
        "previous current becomes the warm standby, the previous standby the cold backup."
    )
    set_traffic = SetTraffic.Field(
        description="Split the traffic between the versions in a deployment's slots (operator)."
    )
    rollback = Rollback.Field(
        description="Roll back (operator): all traffic to the standby or a version served "
        "before, atomically, with who, when, why and the incident. Refused when the version "
        "needs a retired feature. Not gated: the version passed its gates when deployed."
    )
    set_kill_switch = SetKillSwitch.Field(
        description="Kill switch (operator): useMl false routes decisions to the fallback rules."
    )
    set_fallback_rules = SetFallbackRules.Field(
        description="Link fallback rules to a deployment (operator)."
    )
    register_fallback_rules = RegisterFallbackRules.Field(
        description="Register fallback rules for a model (operator)."
    )
    retire_feature = RetireFeature.Field(
        description="Retire a feature (operator): rollbacks to versions needing it are refused."
    )
    backfill_deployment = BackfillDeployment.Field(
        description="Backfill deployment history without the gates (admin only)."
    )
