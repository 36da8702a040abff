"""The model risk policy: the one module to review for what the service enforces.

- **Risk tier** (LOW / MEDIUM / HIGH) is computed from three facts a model records, never typed
  in. Each fact that makes a wrong decision worse is an aggravating factor:

  1. the decisions are ``autonomous`` (no person reviews one before it takes effect);
  2. their effect is ``permanent`` (it cannot easily be undone);
  3. they affect a large population: at least ``LARGE_POPULATION`` (100,000) people.

  No factor: LOW. One: MEDIUM. Two or three: HIGH. The lending model (autonomous, 510,000
  people, permanent) has all three: HIGH.
- **Approval path** per tier: LOW needs the model owner's approval; MEDIUM and HIGH need the
  owner's AND the risk approver's. The technical steward never signs off. Either sign-off role
  can block a version, whatever the tier.
- **Review targets** per tier: how long a version whose evidence is complete may wait for its
  approvals before it is overdue: LOW 1 hour, MEDIUM 8 hours, HIGH 24 hours.
- **Default risk thresholds**: a disparate impact ratio (lowest group approval rate / highest)
  of at least 0.80 (the four-fifths rule) and a gap between group approval rates below 0.05
  (5 percentage points), unless the model sets its own.
- **Scoping**: a model is scoped when it records its intended use, scope, assumptions,
  forbidden features (an empty list says "none"), automation level, affected population and
  reversibility. An unscoped model's versions are not deployable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any


class Tier(StrEnum):
    """A model's risk tier."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


OWNER = "owner"
RISK_APPROVER = "risk_approver"
TECHNICAL_STEWARD = "technical_steward"
# The model roles whose holders may approve or block a version.
SIGN_OFF_ROLES = (OWNER, RISK_APPROVER)
MODEL_ROLES = (OWNER, TECHNICAL_STEWARD, RISK_APPROVER)

LARGE_POPULATION = 100_000
APPROVAL_PATH: dict[Tier, tuple[str, ...]] = {
    Tier.LOW: (OWNER,),
    Tier.MEDIUM: (OWNER, RISK_APPROVER),
    Tier.HIGH: (OWNER, RISK_APPROVER),
}
REVIEW_TARGET: dict[Tier, timedelta] = {
    Tier.LOW: timedelta(hours=1),
    Tier.MEDIUM: timedelta(hours=8),
    Tier.HIGH: timedelta(hours=24),
}
DEFAULT_MIN_DISPARATE_IMPACT = 0.80
DEFAULT_MAX_RATE_GAP = 0.05

# The facts the tier is computed from, and everything a scoped model records.
TIER_FACTS = ("automation_level", "affected_population", "reversibility")
SCOPING_FIELDS = (
    "intended_use",
    "scope",
    "assumptions",
    "forbidden_features",
    *TIER_FACTS,
)


@dataclass(frozen=True, slots=True)
class TierDecision:
    """A computed tier, the aggravating factors found, and how the tier follows from them."""

    tier: Tier
    factors: list[str]
    explanation: str


def tier_of(automation_level: str, affected_population: int, reversibility: str) -> TierDecision:
    """The risk tier of a model with these facts, explained."""
    factors: list[str] = []
    if automation_level == "autonomous":
        factors.append("decisions are autonomous: no person reviews one before it takes effect")
    if reversibility == "permanent":
        factors.append("a decision's effect is permanent: it cannot easily be undone")
    if affected_population >= LARGE_POPULATION:
        factors.append(f"it affects {affected_population:,} people, at least {LARGE_POPULATION:,}")
    tier = Tier.LOW if not factors else Tier.MEDIUM if len(factors) == 1 else Tier.HIGH
    found = "; ".join(factors) if factors else "none"
    explanation = (
        f"{tier.value}: {len(factors)} of 3 aggravating factors ({found}). Rule: none is LOW, "
        "one is MEDIUM, two or three are HIGH."
    )
    return TierDecision(tier=tier, factors=factors, explanation=explanation)


def tier_from_props(props: dict[str, Any]) -> TierDecision | None:
    """The tier of a model from its node's properties; None while a tier fact is missing."""
    level = props.get("automation_level")
    population = props.get("affected_population")
    reversibility = props.get("reversibility")
    if not isinstance(level, str) or not isinstance(reversibility, str):
        return None
    if not isinstance(population, int) or isinstance(population, bool):
        return None
    return tier_of(level, population, reversibility)


def missing_scoping(props: dict[str, Any]) -> list[str]:
    """The scoping fields a model's properties lack (empty lists count as recorded)."""
    return [name for name in SCOPING_FIELDS if props.get(name) is None]


def risk_thresholds(props: dict[str, Any]) -> dict[str, float]:
    """The risk gate's thresholds for a model: its own where it sets them, else the defaults."""
    own = props.get("risk_thresholds") or {}
    minimum = own.get("min_disparate_impact")
    gap = own.get("max_rate_gap")
    return {
        "min_disparate_impact": DEFAULT_MIN_DISPARATE_IMPACT if minimum is None else minimum,
        "max_rate_gap": DEFAULT_MAX_RATE_GAP if gap is None else gap,
    }


def required_roles(tier: Tier | None) -> tuple[str, ...]:
    """The roles whose approval a version of a model of ``tier`` needs; every sign-off role
    while the tier is unknown."""
    return APPROVAL_PATH[tier] if tier is not None else SIGN_OFF_ROLES

