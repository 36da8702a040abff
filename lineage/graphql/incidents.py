"""GraphQL of incidents: list and read them (reader), acknowledge and resolve them (operator),
and how often each monitor's alerts were worth raising.

Resolvers are thin: each checks the caller's role and calls :mod:`lineage.services.incidents`
as the token's principal. The root ``Query`` and ``Mutation`` inherit these fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from lineage.graphql.context import OPERATORS, context_of
from lineage.graphql.node_records import Incident
from lineage.graphql.scalars import DateTime
from lineage.model.graph import Node as StoreNode
from lineage.model.graph import NodeKind
from lineage.model.ids import require_kind
from lineage.services import incidents
from lineage.services.incident_signals import Precision


class AlertPrecision(graphene.ObjectType):  # type: ignore[misc]
    """How often one signal's incidents were worth raising."""

    signal = graphene.String(required=True, description="The monitor signal.")
    raised = graphene.Int(required=True, description="Incidents it raised.")
    open = graphene.Int(required=True, description="Of those, not resolved yet.")
    resolved = graphene.Int(required=True, description="Of those, resolved.")
    actionable = graphene.Int(required=True, description="Resolved as actionable.")
    false_positive = graphene.Int(required=True, description="Resolved as false positives.")
    precision = graphene.Float(
        description="Actionable / resolved; null until one is resolved.",
    )

    @staticmethod
    def resolve_precision(row: Precision, _info: Any) -> float | None:
        """Computed from the counts."""
        return row.precision


class IncidentChange(graphene.ObjectType):  # type: ignore[misc]
    """What acknowledgeIncident or resolveIncident did."""

    incident = graphene.Field(Incident, required=True, description="The incident now.")
    created = graphene.Boolean(
        required=True, description="False when it already stood so (an idempotent repeat)."
    )
    audit_seq = graphene.Int(description="The audit sequence number; null for a no-op.")


def _payload(done: incidents.IncidentResult) -> dict[str, Any]:
    return {"incident": done.incident, "created": done.created, "audit_seq": done.audit_seq}


class AcknowledgeIncident(graphene.Mutation):  # type: ignore[misc]
    """Acknowledge an open incident: someone is on it (operator role)."""

    class Arguments:
        incident = graphene.ID(required=True, description="The Incident, `incident:...`.")
        reason = graphene.String(required=True, description="Why, for the audit log.")

    Output = IncidentChange

    @staticmethod
    def mutate(_root: Any, info: Any, incident: str, reason: str) -> dict[str, Any]:
        """Acknowledge as the caller."""
        context = context_of(info)
        context.require(OPERATORS, "acknowledge an incident")
        service = incidents.Incidents(context.store, context.records, context.principal.id)
        return _payload(service.acknowledge(incident, reason))


class ResolveIncident(graphene.Mutation):  # type: ignore[misc]
    """Resolve an incident with its root cause, saying whether the alert was actionable
    (operator role)."""

    class Arguments:
        incident = graphene.ID(required=True, description="The Incident, `incident:...`.")
        disposition = graphene.String(
            required=True,
            description="`actionable` (the alert found a real problem) or `false_positive`: "
            "what `alertPrecision` counts.",
        )
        root_cause = graphene.String(required=True, description="What caused it.")
        reason = graphene.String(required=True, description="Why it is resolved now.")

    Output = IncidentChange

    @staticmethod
    def mutate(
        _root: Any, info: Any, incident: str, disposition: str, root_cause: str, reason: str
    ) -> dict[str, Any]:
        """Resolve as the caller."""
        context = context_of(info)
        context.require(OPERATORS, "resolve an incident")
        service = incidents.Incidents(context.store, context.records, context.principal.id)
        return _payload(service.resolve(incident, disposition, root_cause, reason))


class IncidentsQuery(graphene.ObjectType):  # type: ignore[misc]
    """The incident questions (mixed into the root Query)."""

    incidents = graphene.List(
        graphene.NonNull(Incident),
        required=True,
        status=graphene.String(
            description="Only incidents in this status at `asOf`: `open`, `acknowledged`, "
            "`resolved`."
        ),
        model=graphene.String(description="Only incidents about this model (name or ID)."),
        since=DateTime(description="Only incidents opened at or after this instant."),
        as_of=DateTime(
            description="Judge the status at this instant, among incidents opened by then "
            "(default: now)."
        ),
        first=graphene.Int(description="At most this many (default 50, capped by the server)."),
        description="Incidents, newest first: what the monitors raised and what people "
        "registered by hand.",
    )
    incident = graphene.Field(
        Incident,
        id=graphene.ID(required=True, description="The Incident, `incident:...`."),
        description="One incident with its evidence, status history and investigation "
        "context; null if there is none.",
    )
    alert_precision = graphene.List(
        graphene.NonNull(AlertPrecision),
        required=True,
        signal=graphene.String(description="Only this signal."),
        description="Per monitor signal: incidents raised and resolved, and the share of "
        "resolved ones that were actionable.",
    )

    @staticmethod
    def resolve_incidents(
        _root: Any,
        info: Any,
        status: str | None = None,
        model: str | None = None,
        since: datetime | None = None,
        as_of: datetime | None = None,
        first: int | None = None,
    ) -> list[StoreNode]:
        """Ask the incidents service."""
        context = context_of(info)
        size = context.limits.page_size(first)
        model_id = None
        if model is not None:
            model_id = model if ":" in model else f"model:{model}"
            require_kind(model_id, "model", NodeKind.MODEL)
        found = incidents.find_incidents(context.store, status, model_id, since, as_of)
        return context.charge(found[:size], "incidents")

    @staticmethod
    def resolve_incident(_root: Any, info: Any, id: str) -> StoreNode | None:
        """Look the incident up."""
        require_kind(id, "id", NodeKind.INCIDENT)
        return context_of(info).store.get_nodes([id]).get(id)

    @staticmethod
    def resolve_alert_precision(
        _root: Any, info: Any, signal: str | None = None
    ) -> list[Precision]:
        """Ask the incidents service."""
        return incidents.alert_precision(context_of(info).store, signal)


class IncidentsMutation(graphene.ObjectType):  # type: ignore[misc]
    """The incident operations (mixed into the root Mutation)."""

    acknowledge_incident = AcknowledgeIncident.Field(
        description="Acknowledge an incident (operator): open -> acknowledged, recorded with "
        "who, when and why. A no-op when already acknowledged."
    )
    resolve_incident = ResolveIncident.Field(
        description="Resolve an incident (operator) with its root cause and whether the alert "
        "was actionable; repeating it is a no-op."
    )
