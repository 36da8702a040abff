"""The deploy check: may this model version be deployed at this instant, and if not, why not.

A version is deployable at ``at`` when, as known then: its model is scoped (so its risk tier
is computed), both gates pass on the evidence known then, no sign-off role has blocked it
(a role's latest sign-off decides, so a block holds until the blocker's role approves again),
and every approval its tier requires is present and fresh (see
:mod:`lineage.services.governance.signoff`). An approval counts when its approver held the
role when they signed, even if the role has been handed over since.

:func:`deployable` lists EVERY unmet condition, each with a stable code:

- ``MODEL_UNSCOPED``: the model lacks scoping facts (the tier cannot be computed without the
  three tier facts);
- ``NO_EVALUATION``, ``NO_PERFORMANCE_THRESHOLDS``, ``PERFORMANCE_GATE_FAILED`` (with the
  numbers);
- ``NO_BIAS_AUDIT``, ``RISK_GATE_FAILED`` (with the numbers);
- ``BLOCKED`` (by whom, in which role, why), ``APPROVAL_MISSING`` (for which role, who holds
  it), ``APPROVAL_STALE`` (why);
- ``EVIDENCE_TRUNCATED``: more evidence than one walk reads; nothing can be decided on part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lineage.errors import NotFoundError
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import require_kind
from lineage.services.consistency import when
from lineage.services.corrected import CorrectedReads
from lineage.services.governance import policy
from lineage.services.governance.duties import role_holders
from lineage.services.governance.evidence import Evidence, read_evidence
from lineage.services.governance.gates import GateReport, GateResult, report_of
from lineage.services.governance.policy import Tier, TierDecision, tier_from_props
from lineage.services.governance.signoff import BLOCKED, stale_reasons
from lineage.store.base import GraphStore

MODEL_UNSCOPED = "MODEL_UNSCOPED"
NO_EVALUATION = "NO_EVALUATION"
NO_PERFORMANCE_THRESHOLDS = "NO_PERFORMANCE_THRESHOLDS"
PERFORMANCE_GATE_FAILED = "PERFORMANCE_GATE_FAILED"
NO_BIAS_AUDIT = "NO_BIAS_AUDIT"
RISK_GATE_FAILED = "RISK_GATE_FAILED"
BLOCKED_CODE = "BLOCKED"
APPROVAL_MISSING = "APPROVAL_MISSING"
APPROVAL_STALE = "APPROVAL_STALE"
EVIDENCE_TRUNCATED = "EVIDENCE_TRUNCATED"

# Gate checks that say evidence is missing rather than failing; reported under their own code.
_ABSENCE = {
    "evaluated": NO_EVALUATION,
    "thresholds": NO_PERFORMANCE_THRESHOLDS,
    "bias_audit": NO_BIAS_AUDIT,
}
_FAILED = {"performance": PERFORMANCE_GATE_FAILED, "risk": RISK_GATE_FAILED}


@dataclass(frozen=True, slots=True)
class Unmet:
    """One condition a deployment needs that does not hold: a stable code and the why."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class RoleSignOff:
    """Where a sign-off role stands: its latest sign-off (None: none yet) and, for an approval,
    why it is stale (empty while fresh)."""

    role: str
    required: bool
    latest: Node | None
    stale: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """The role's latest sign-off is a block."""
        return self.latest is not None and self.latest.props.get("decision") == BLOCKED

    @property
    def approved(self) -> bool:
        """The role's latest sign-off is an approval that still holds."""
        return self.latest is not None and not self.blocked and not self.stale


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether ``version`` may be deployed at ``at``: ``ok`` exactly when ``unmet`` is empty.

    ``tier`` is the computed risk tier (None for an unscoped model), ``explanation`` how it
    was derived; ``gates`` both gates as known at ``at``; ``sign_offs`` each sign-off role's
    standing.
    """

    ok: bool
    tier: Tier | None
    unmet: list[Unmet]
    version: str = ""
    at: datetime | None = None
    explanation: str | None = None
    gates: GateReport | None = None
    sign_offs: list[RoleSignOff] = field(default_factory=list)


def deployable(store: GraphStore, version: str, at: datetime) -> Readiness:
    """Whether ``version`` may be deployed at ``at``, with every unmet condition.

    INVALID (``version``, ``at``) for a malformed ID or a naive instant; NOT_FOUND
    (``version``) for a version that is not registered, or was not by ``at``. Reads only.
    """
    evidence = read_evidence(store, version, at)
    report = report_of(evidence)
    decision = policy.tier_from_props(evidence.model.props)
    tier = decision.tier if decision is not None else None
    unmet: list[Unmet] = []
    if evidence.truncated:
        unmet.append(Unmet(EVIDENCE_TRUNCATED, f"{version} has more evidence than one walk reads"))
    missing = policy.missing_scoping(evidence.model.props)
    if missing:
        why = "" if decision is not None else "; its risk tier cannot be computed"
        unmet.append(
            Unmet(
                MODEL_UNSCOPED,
                f"{evidence.model.id} is unscoped: it does not record {', '.join(missing)}{why}",
            )
        )
    for result in report.results:
        unmet += _gate_unmet(result)
    standing = sign_offs(evidence, report, tier)
    unmet += _sign_off_unmet(store, evidence, standing)
    return Readiness(
        ok=not unmet,
        tier=tier,
        unmet=unmet,
        version=evidence.version.id,
        at=evidence.at,
        explanation=decision.explanation if decision is not None else None,
        gates=report,
        sign_offs=standing,
    )


def sign_offs(evidence: Evidence, report: GateReport, tier: Tier | None) -> list[RoleSignOff]:
    """Each sign-off role's latest sign-off known at the evidence's instant, and whether the
    tier requires its approval."""
    required = policy.required_roles(tier)
    found = []
    for role in policy.SIGN_OFF_ROLES:
        mine = [n for n in evidence.sign_offs if n.props.get("role") == role]
        latest = mine[-1] if mine else None
        stale = []
        if latest is not None and latest.props.get("decision") != BLOCKED:
            stale = stale_reasons(latest, evidence, report)
        found.append(RoleSignOff(role, role in required, latest, stale))
    return found


def _gate_unmet(result: GateResult) -> list[Unmet]:
    """The unmet conditions of one gate: missing evidence under its own code, then every other
    failed check in one message with its numbers."""
    found = [Unmet(_ABSENCE[c.name], c.detail) for c in result.failures if c.name in _ABSENCE]
    failed = [c.detail for c in result.failures if c.name not in _ABSENCE]
    if failed:
        found.append(
            Unmet(
                _FAILED[result.gate],
                f"{result.gate} gate FAIL for {result.model_version}: {'; '.join(failed)}",
            )
        )
    return found


def _sign_off_unmet(
    store: GraphStore, evidence: Evidence, standing: list[RoleSignOff]
) -> list[Unmet]:
    found: list[Unmet] = []
    version = evidence.version.id
    for role in standing:
        latest = role.latest
        if latest is not None and role.blocked:
            found.append(
                Unmet(
                    BLOCKED_CODE,
                    f"blocked by {latest.props.get('approver')} ({role.role}) in {latest.id} "
                    f"at {when(latest.valid_from)}: {latest.props.get('reason')}",
                )
            )
        elif role.required and latest is None:
            held = role_holders(store, evidence.model.id, role.role, evidence.at)
            found.append(
                Unmet(
                    APPROVAL_MISSING,
                    f"no approval of {version} by its {role.role} "
                    f"(held by {', '.join(held) or 'nobody'})",
                )
            )
        elif role.required and role.stale:
            assert latest is not None
            found.append(
                Unmet(
                    APPROVAL_STALE,
                    f"the {role.role}'s approval {latest.id} by {latest.props.get('approver')} "
                    f"is stale: {'; '.join(role.stale)}",
                )
            )
    return found


def model_tier(store: GraphStore, model: str, at: datetime | None = None) -> TierDecision | None:
    """The tier of a registered model as its facts stand at ``at`` (default now), corrections
    included; None while it is unscoped. NOT_FOUND (field ``model``) for an unknown model."""
    require_kind(model, "model", NodeKind.MODEL)
    found = CorrectedReads(store, at).get_nodes([model]).get(model)
    if found is None:
        raise NotFoundError(f"{model} is not registered", field="model")
    return tier_from_props(found.props)
