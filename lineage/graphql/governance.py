"""GraphQL of model risk management: accountability, risk tiers, gates, sign-off, gated
deployment, rollback and routing state.

Resolvers are thin: each checks the caller's role, calls one governance service as the token's
principal (an approver is never a field of the request) and hands back its answer. The root
``Query`` and ``Mutation`` inherit these fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from lineage.graphql import governance_types as types
from lineage.graphql.context import ADMINS, WRITERS, context_of
from lineage.graphql.inputs import BiasAuditInput, input_errors, plain
from lineage.graphql.nodes import Model, Node, Person
from lineage.graphql.scalars import DateTime
from lineage.model.ids import parse_id
from lineage.model.times import utcnow
from lineage.services.governance import accountability, readiness
from lineage.services.governance import reviews as review_queue
from lineage.services.governance.assessments import Assessments, GateEvaluation
from lineage.services.governance.gates import GateReport, gates
from lineage.services.governance.policy import TierDecision
from lineage.services.governance.signoff import SignOff, SignOffResult
from lineage.services.tokens import Role

APPROVERS = frozenset({Role.APPROVER, Role.ADMIN})
GATE_RUNNERS = frozenset({Role.PIPELINE, Role.APPROVER, Role.OPERATOR, Role.ADMIN})


class AccountabilityGap(graphene.ObjectType):  # type: ignore[misc]
    """A model role without a current holder: nobody holds it, or its holder has left."""

    model = graphene.Field(Model, required=True, description="The model.")
    role = graphene.String(
        required=True, description="`owner`, `technical_steward` or `risk_approver`."
    )
    problem = graphene.String(
        required=True,
        description="`missing` (no term in force) or `left` (the holder has left).",
    )
    agent = graphene.Field(Node, description="The holder who left (for `left`).")
    since = DateTime(description="When the holder left, or when the last term ended.")


class MarkPersonLeft(graphene.Mutation):  # type: ignore[misc]
    """Record that a person left (admin role): their tokens stop working, and every model role
    they held shows in `accountabilityGaps` until it is handed over."""

    class Arguments:
        person = graphene.ID(required=True, description="The Person, e.g. `person:...`.")
        reason = graphene.String(required=True, description="Why, for the audit log.")
        at = DateTime(description="When they left (default: now).")

    person = graphene.Field(Person, required=True, description="The person, with `leftAt`.")

    @staticmethod
    def mutate(
        _root: Any, info: Any, person: str, reason: str, at: datetime | None = None
    ) -> dict[str, Any]:
        """Mark the person as having left, as the caller."""
        context = context_of(info)
        context.require(ADMINS, "mark a person as having left")
        people = accountability.People(context.store, actor=context.principal.id)
        return {"person": people.mark_left(person, reason, at)}


class RegisterBiasAudit(graphene.Mutation):  # type: ignore[misc]
    """What registerBiasAudit did."""

    class Arguments:
        input = BiasAuditInput(required=True, description="The bias audit.")
        reason = graphene.String(description="Why, for the audit log.")

    risk_assessment = graphene.Field(Node, required=True, description="The RiskAssessment node.")
    created = graphene.Boolean(required=True, description="False for an identical repeat.")
    audit_seq = graphene.Int(description="The audit sequence number; null when nothing written.")

    @staticmethod
    def mutate(_root: Any, info: Any, input: Any, reason: str | None = None) -> dict[str, Any]:
        """Register the audit as the caller (pipeline or admin role)."""
        context = context_of(info)
        context.require(WRITERS, "register a bias audit")
        service = Assessments(context.store, context.records, actor=context.principal.id)
        with input_errors():
            done = service.register_bias_audit(plain(input), reason or "bias audit")
        return {"risk_assessment": done.node, "created": done.created, "audit_seq": done.audit_seq}


class EvaluateGates(graphene.Mutation):  # type: ignore[misc]
    """Record both gates of a version as GateResult nodes (a no-op when the evidence has not
    changed since they were recorded)."""

    class Arguments:
        version = graphene.ID(required=True, description="The ModelVersion.")

    Output = types.GateEvaluationPayload

    @staticmethod
    def mutate(_root: Any, info: Any, version: str) -> GateEvaluation:
        """Compute and record the gates as the caller."""
        context = context_of(info)
        context.require(GATE_RUNNERS, "record gate results")
        return Assessments(context.store, context.records, context.principal.id).evaluate_gates(
            version
        )


def _sign_off(decision: str) -> type[graphene.Mutation]:
    """approve / block: the caller signs in a model role it must hold now."""

    def mutate(_root: Any, info: Any, version: str, role: str, reason: str) -> SignOffResult:
        context = context_of(info)
        context.require(APPROVERS, f"{decision} a model version")
        signer = SignOff(context.store, context.records, actor=context.principal.id)
        sign = signer.approve if decision == "approve" else signer.block
        return sign(version, role, reason)

    verb = "Approve" if decision == "approve" else "Block"
    return type(
        verb,
        (graphene.Mutation,),
        {
            "__doc__": f"{verb} a model version in a model role the caller holds now.",
            "Arguments": type(
                "Arguments",
                (),
                {
                    "version": graphene.ID(required=True, description="The ModelVersion."),
                    "role": graphene.String(
                        required=True, description="`owner` or `risk_approver`."
                    ),
                    "reason": graphene.String(
                        required=True, description="On what evidence, for the record."
                    ),
                },
            ),
            "Output": types.SignOffPayload,
            "mutate": staticmethod(mutate),
        },
    )


Approve = _sign_off("approve")
Block = _sign_off("block")


class GovernanceQuery(graphene.ObjectType):  # type: ignore[misc]
    """The governance questions (mixed into the root Query)."""

    accountability_gaps = graphene.List(
        graphene.NonNull(AccountabilityGap),
        required=True,
        as_of=DateTime(description="The instant to judge (default: now)."),
        description="Models whose owner, technical steward or risk approver is missing or has "
        "left: every model must have all three at all times.",
    )

    risk_tier = graphene.Field(
        types.RiskTier,
        model=graphene.ID(required=True, description="The Model, e.g. `model:lending_approval`."),
        as_of=DateTime(description="As the model's facts stood then (default: now)."),
        description="The model's risk tier, computed from its automation level, affected "
        "population and reversibility, with how it was derived; null while the model is "
        "unscoped.",
    )
    gates = graphene.Field(
        types.Gates,
        version=graphene.ID(required=True, description="The ModelVersion."),
        as_of=DateTime(description="On the evidence known then (default: now)."),
        description="Both gates of a version side by side: the performance gate (evaluations "
        "against the model's thresholds) and the independent risk gate (computed from the "
        "recorded bias audit). Computed, not written: `evaluateGates` records them.",
    )
    deployable = graphene.Field(
        types.Readiness,
        required=True,
        version=graphene.ID(required=True, description="The ModelVersion."),
        as_of=DateTime(description="The instant to judge (default: now)."),
        description="Whether the version may be deployed: both gates pass and the tier's "
        "approvals are present and fresh, with every unmet condition listed. What "
        "`lineage gate check` asks.",
    )
    reviews = graphene.List(
        graphene.NonNull(types.Review),
        required=True,
        overdue_only=graphene.Boolean(description="Only reviews past their tier's target."),
        description="Versions waiting for sign-off (gates pass, not blocked, a required approval "
        "missing or stale), overdue first.",
    )

    @staticmethod
    def resolve_risk_tier(
        _root: Any, info: Any, model: str, as_of: datetime | None = None
    ) -> TierDecision | None:
        """Ask the readiness service."""
        return readiness.model_tier(context_of(info).store, model, as_of)

    @staticmethod
    def resolve_gates(
        _root: Any, info: Any, version: str, as_of: datetime | None = None
    ) -> GateReport:
        """Ask the gates service."""
        parse_id(version, "version")
        return gates(context_of(info).store, version, as_of or utcnow())

    @staticmethod
    def resolve_deployable(
        _root: Any, info: Any, version: str, as_of: datetime | None = None
    ) -> readiness.Readiness:
        """Ask the readiness service."""
        return readiness.deployable(context_of(info).store, version, as_of or utcnow())

    @staticmethod
    def resolve_reviews(
        _root: Any, info: Any, overdue_only: bool | None = None
    ) -> list[review_queue.Review]:
        """Ask the reviews service."""
        context = context_of(info)
        found = review_queue.reviews(context.store, utcnow())
        return context.charge([r for r in found if r.overdue or not overdue_only], "reviews")

    @staticmethod
    def resolve_accountability_gaps(
        _root: Any, info: Any, as_of: datetime | None = None
    ) -> list[accountability.Gap]:
        """Ask the accountability service."""
        context = context_of(info)
        return context.charge(accountability.accountability_gaps(context.store, as_of), "gaps")


class GovernanceMutation(graphene.ObjectType):  # type: ignore[misc]
    """The governance operations (mixed into the root Mutation)."""

    mark_person_left = MarkPersonLeft.Field(
        description="Record that a person left (admin role); audited."
    )
    register_bias_audit = RegisterBiasAudit.Field(
        description="Register a bias audit of a model version: per-group decision counts (the "
        "risk gate computes rates and ratios), the human override path, stress tests."
    )
    evaluate_gates = EvaluateGates.Field(
        description="Compute both gates of a version and record them as GateResult nodes."
    )
    approve = Approve.Field(
        description="Approve a model version as its owner or risk approver (the caller must hold "
        "that role for the model now; the risk approver cannot be the owner or who trained it). "
        "The approval binds the artifact and the evidence it saw: new evidence makes it stale."
    )
    block = Block.Field(
        description="Block a model version as its owner or risk approver: it cannot be deployed "
        "until that role approves it again."
    )
