"""GraphQL types of the governance answers: risk tiers, gates, readiness to deploy, reviews.

Each mirrors a dataclass of :mod:`lineage.services.governance`; default resolvers read their
attributes, so only renamed or reshaped fields have resolvers here.
"""

from __future__ import annotations

from typing import Any

import graphene

from lineage.graphql.nodes import ModelVersion, Node
from lineage.graphql.scalars import JSON, DateTime
from lineage.services.governance import policy
from lineage.services.governance.gate_values import Check as StoreCheck
from lineage.services.governance.gate_values import GateResult as StoreGate
from lineage.services.governance.policy import TierDecision
from lineage.services.governance.readiness import RoleSignOff as StoreRoleSignOff


class RiskTier(graphene.ObjectType):  # type: ignore[misc]
    """A model's risk tier, computed from its recorded facts, never typed in."""

    tier = graphene.String(required=True, description="`LOW`, `MEDIUM` or `HIGH`.")
    factors = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The aggravating factors found in the model's facts.",
    )
    explanation = graphene.String(required=True, description="How the tier was derived.")
    required_approvals = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The model roles whose approval a version needs at this tier.",
    )
    review_target_hours = graphene.Float(
        required=True, description="The tier's approval time target, in hours."
    )

    @staticmethod
    def resolve_tier(decision: TierDecision, _info: Any) -> str:
        """The tier's name."""
        return decision.tier.value

    @staticmethod
    def resolve_required_approvals(decision: TierDecision, _info: Any) -> list[str]:
        """The approval path of the tier (lineage/services/governance/policy.py)."""
        return list(policy.required_roles(decision.tier))

    @staticmethod
    def resolve_review_target_hours(decision: TierDecision, _info: Any) -> float:
        """The tier's time target."""
        return policy.REVIEW_TARGET[decision.tier].total_seconds() / 3600


class GateCheck(graphene.ObjectType):  # type: ignore[misc]
    """One condition of a gate: what was compared, and whether it held."""

    name = graphene.String(required=True, description="What was checked, e.g. `auc`.")
    passed = graphene.Boolean(required=True, description="Whether it held.")
    detail = graphene.String(required=True, description="The numbers, in words.")
    value = graphene.Float(description="The value measured, where there is one.")
    threshold = graphene.Float(description="The threshold it was held to.")
    subject = graphene.ID(description="The evidence node it is about.")

    @staticmethod
    def resolve_passed(check: StoreCheck, _info: Any) -> bool:
        """Whether it held."""
        return check.passed


class Gate(graphene.ObjectType):  # type: ignore[misc]
    """A gate's verdict on a model version, with the numbers, thresholds and evidence it used."""

    gate = graphene.String(required=True, description="`performance` or `risk`.")
    verdict = graphene.String(required=True, description="`PASS` or `FAIL`.")
    checks = graphene.List(graphene.NonNull(GateCheck), required=True, description="Each check.")
    numbers = JSON(required=True, description="What the gate computed (rates, ratios, metrics).")
    thresholds = JSON(required=True, description="The thresholds it applied.")
    evidence = graphene.List(
        graphene.NonNull(graphene.ID),
        required=True,
        description="The evaluations and bias audits it read.",
    )
    result_id = graphene.ID(
        required=True, description="The GateResult node these inputs give (recorded or not)."
    )
    recorded = graphene.Field(
        Node, description="The GateResult node, when this result has been recorded."
    )

    @staticmethod
    def resolve_verdict(gate: StoreGate, _info: Any) -> str:
        """PASS or FAIL."""
        return gate.verdict.value

    @staticmethod
    def resolve_evidence(gate: StoreGate, _info: Any) -> list[str]:
        """The evidence node IDs, sorted."""
        return sorted(gate.evidence)

    @staticmethod
    def resolve_result_id(gate: StoreGate, _info: Any) -> str:
        """The node ID."""
        return gate.id


class Gates(graphene.ObjectType):  # type: ignore[misc]
    """Both gates of a model version side by side, as known at an instant."""

    model_version = graphene.Field(ModelVersion, required=True, description="The version.")
    at = DateTime(required=True, description="The instant the evidence was read as of.")
    performance = graphene.Field(Gate, required=True, description="The performance gate.")
    risk = graphene.Field(Gate, required=True, description="The independent risk gate.")
    passed = graphene.Boolean(required=True, description="Both gates pass.")
    truncated = graphene.Boolean(
        required=True, description="The evidence walk hit its budget: the verdicts are unsure."
    )


class Unmet(graphene.ObjectType):  # type: ignore[misc]
    """A condition a deployment needs that does not hold."""

    code = graphene.String(
        required=True,
        description="Stable code, e.g. `RISK_GATE_FAILED`, `APPROVAL_MISSING`, `BLOCKED`.",
    )
    message = graphene.String(required=True, description="What does not hold, with numbers.")


class RoleSignOff(graphene.ObjectType):  # type: ignore[misc]
    """Where one sign-off role stands on a version."""

    role = graphene.String(required=True, description="`owner` or `risk_approver`.")
    required = graphene.Boolean(required=True, description="Whether the tier requires it.")
    latest = graphene.Field(Node, description="The role's latest approval or block, if any.")
    approved = graphene.Boolean(required=True, description="An approval that still holds.")
    blocked = graphene.Boolean(required=True, description="The latest sign-off is a block.")
    stale = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Why the approval no longer holds (new or corrected evidence); empty while "
        "fresh.",
    )

    @staticmethod
    def resolve_approved(sign_off: StoreRoleSignOff, _info: Any) -> bool:
        """An approval that still holds."""
        return sign_off.approved

    @staticmethod
    def resolve_blocked(sign_off: StoreRoleSignOff, _info: Any) -> bool:
        """The latest sign-off is a block."""
        return sign_off.blocked


class Readiness(graphene.ObjectType):  # type: ignore[misc]
    """Whether a version may be deployed now: both gates pass and the tier's approvals are
    present and fresh. `unmet` lists every condition that does not hold."""

    ok = graphene.Boolean(required=True, description="True exactly when `unmet` is empty.")
    version = graphene.ID(required=True, description="The model version.")
    at = DateTime(description="The instant judged.")
    tier = graphene.String(description="The computed risk tier; null for an unscoped model.")
    explanation = graphene.String(description="How the tier was derived.")
    unmet = graphene.List(graphene.NonNull(Unmet), required=True, description="What is missing.")
    gates = graphene.Field(Gates, description="Both gates as known at the instant.")
    sign_offs = graphene.List(
        graphene.NonNull(RoleSignOff), required=True, description="Each sign-off role."
    )

    @staticmethod
    def resolve_tier(readiness: Any, _info: Any) -> str | None:
        """The tier's name."""
        return readiness.tier.value if readiness.tier is not None else None


class Review(graphene.ObjectType):  # type: ignore[misc]
    """A version waiting for sign-off, since when, and by when its tier wants it done."""

    model_version = graphene.Field(ModelVersion, required=True, description="The version.")
    model = graphene.ID(required=True, description="Its model.")
    tier = graphene.String(required=True, description="The model's risk tier.")
    awaiting = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Roles still to approve."
    )
    stale = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Roles whose approval no longer holds.",
    )
    since = DateTime(required=True, description="Pending since its evidence was complete.")
    due = DateTime(required=True, description="When the tier's time target runs out.")
    overdue = graphene.Boolean(required=True, description="Past its target.")

    @staticmethod
    def resolve_tier(review: Any, _info: Any) -> str:
        """The tier's name."""
        return str(review.tier.value)


class SignOffPayload(graphene.ObjectType):  # type: ignore[misc]
    """What an approval or a block recorded."""

    approval = graphene.Field(Node, required=True, description="The Approval node.")
    gates = graphene.Field(Gates, required=True, description="The gates as the approver saw them.")
    audit_seq = graphene.Int(required=True, description="The audit sequence number.")


class GateEvaluationPayload(graphene.ObjectType):  # type: ignore[misc]
    """What recording the gates did."""

    gates = graphene.Field(Gates, required=True, description="Both gates.")
    created = graphene.Boolean(
        required=True, description="False when these results were already recorded."
    )
    audit_seq = graphene.Int(description="The audit sequence number; null when nothing was new.")

    @staticmethod
    def resolve_gates(evaluation: Any, _info: Any) -> Any:
        """The report."""
        return evaluation.report

    @staticmethod
    def resolve_created(evaluation: Any, _info: Any) -> bool:
        """Whether anything was written."""
        return bool(evaluation.created)


__all__ = [
    "Gate",
    "GateCheck",
    "GateEvaluationPayload",
    "Gates",
    "Readiness",
    "Review",
    "RiskTier",
    "RoleSignOff",
    "SignOffPayload",
    "Unmet",
]
