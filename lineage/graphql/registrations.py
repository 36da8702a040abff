"""The registrations that were Python-only: pipelines, incidents, and handing over a model role.

``PipelineInput`` and ``IncidentInput`` shape :class:`lineage.model.records.PipelineRecord` and
``IncidentRecord`` (a test keeps the field sets equal); their ``register*`` mutations are built
in :mod:`lineage.graphql.mutations` like the others. ``assignRole`` hands a model's owner,
technical steward or risk approver role to another person from an instant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from lineage.errors import InvalidError
from lineage.graphql.context import WRITERS, context_of
from lineage.graphql.nodes import Model
from lineage.graphql.scalars import DateTime
from lineage.model.graph import NodeKind
from lineage.model.times import require_aware, utcnow
from lineage.services.names import resolve
from lineage.services.registry import ROLES, Registry


class PipelineInput(graphene.InputObjectType):  # type: ignore[misc]
    """An automated agent: a training, feature or inference job."""

    id = graphene.ID(required=True, description="`pipeline:<name>`.")
    name = graphene.String(required=True, description="Display name.")
    owner = graphene.ID(description="The Person it acts on behalf of.")
    since = DateTime(description="Since when (default: now).")


class IncidentInput(graphene.InputObjectType):  # type: ignore[misc]
    """Something that went wrong in production, and what it affected."""

    id = graphene.ID(required=True, description="`incident:<name>`.")
    title = graphene.String(required=True, description="One line.")
    severity = graphene.String(required=True, description="`SEV1` to `SEV4`.")
    opened_at = DateTime(required=True, description="When it was opened.")
    affected = graphene.List(
        graphene.NonNull(graphene.ID),
        required=True,
        description="The registered nodes it affected (a model version, a deployment ...).",
    )
    description = graphene.String(description="What happened.")
    root_cause = graphene.String(description="Why it happened, once known.")


class AssignRole(graphene.Mutation):  # type: ignore[misc]
    """What assignRole did."""

    class Meta:
        name = "AssignRolePayload"

    class Arguments:
        model = graphene.String(
            required=True, description="The Model, e.g. `model:lending_approval` or its name."
        )
        role = graphene.String(
            required=True, description="`owner`, `technical_steward` or `risk_approver`."
        )
        person = graphene.ID(required=True, description="The registered Person taking it.")
        at = DateTime(description="From when (default: now); the current holder's term ends.")
        reason = graphene.String(required=True, description="Why, for the audit log.")

    model = graphene.Field(Model, required=True, description="The model, with its people now.")
    created = graphene.Boolean(
        required=True, description="False when the person already held the role then (a no-op)."
    )
    audit_seq = graphene.Int(
        description="The audit log sequence number of the write; null when nothing was written."
    )

    @staticmethod
    def mutate(
        _root: Any,
        info: Any,
        model: str,
        role: str,
        person: str,
        reason: str,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Hand the role over as the caller."""
        context = context_of(info)
        context.require(WRITERS, "call assignRole")
        model_id = str(resolve(model, "model", NodeKind.MODEL))
        person_id = str(resolve(person, "person", NodeKind.PERSON, NodeKind.PIPELINE))
        if role not in ROLES:
            raise InvalidError(f"unknown role {role!r}; roles: {', '.join(ROLES)}", field="role")
        when = require_aware(at, "at") if at is not None else utcnow()
        registry = Registry(context.store, context.records, actor=context.principal.id)
        done = registry.assign_role(model_id, role, person_id, when, reason)
        return {"model": done.node, "created": done.created, "audit_seq": done.audit_seq}
