"""The model risk policy: tiers computed from three facts, approval paths, targets, defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lineage.services.governance import policy
from lineage.services.governance.policy import Tier
from lineage.services.governance.scenario_steps import MODEL_SCOPING


def test_the_lending_model_is_high_risk_with_all_three_factors() -> None:
    decision = policy.tier_from_props(MODEL_SCOPING)
    assert decision is not None
    assert decision.tier is Tier.HIGH
    assert len(decision.factors) == 3
    assert "510,000 people" in decision.explanation
    assert "two or three are HIGH" in decision.explanation


@pytest.mark.parametrize(
    ("automation", "population", "reversibility", "tier"),
    [
        ("human_in_the_loop", 5_000, "easy", Tier.LOW),
        ("autonomous", 5_000, "easy", Tier.MEDIUM),
        ("human_in_the_loop", 5_000, "permanent", Tier.MEDIUM),
        ("human_in_the_loop", 100_000, "easy", Tier.MEDIUM),
        ("human_in_the_loop", 99_999, "easy", Tier.LOW),
        ("autonomous", 5_000, "permanent", Tier.HIGH),
        ("human_in_the_loop", 250_000, "permanent", Tier.HIGH),
        ("autonomous", 510_000, "permanent", Tier.HIGH),
    ],
)
def test_each_aggravating_factor_raises_the_tier(
    automation: str, population: int, reversibility: str, tier: Tier
) -> None:
    assert policy.tier_of(automation, population, reversibility).tier is tier


def test_a_model_without_its_tier_facts_has_no_tier() -> None:
    partial = {k: v for k, v in MODEL_SCOPING.items() if k != "reversibility"}
    assert policy.tier_from_props(partial) is None
    assert policy.missing_scoping(partial) == ["reversibility"]


def test_an_empty_list_of_forbidden_features_counts_as_scoped() -> None:
    assert policy.missing_scoping(MODEL_SCOPING | {"forbidden_features": []}) == []
    assert policy.missing_scoping({}) == list(policy.SCOPING_FIELDS)


def test_low_needs_the_owner_and_higher_tiers_the_owner_and_the_risk_approver() -> None:
    assert policy.required_roles(Tier.LOW) == ("owner",)
    assert policy.required_roles(Tier.MEDIUM) == ("owner", "risk_approver")
    assert policy.required_roles(Tier.HIGH) == ("owner", "risk_approver")
    assert policy.required_roles(None) == ("owner", "risk_approver")
    assert "technical_steward" not in policy.SIGN_OFF_ROLES


def test_review_targets_are_one_eight_and_twenty_four_hours() -> None:
    targets = policy.REVIEW_TARGET
    assert (targets[Tier.LOW], targets[Tier.MEDIUM], targets[Tier.HIGH]) == (
        timedelta(hours=1),
        timedelta(hours=8),
        timedelta(hours=24),
    )


def test_risk_thresholds_default_to_four_fifths_and_five_points() -> None:
    assert policy.risk_thresholds({}) == {"min_disparate_impact": 0.80, "max_rate_gap": 0.05}
    own = {"risk_thresholds": {"max_rate_gap": 0.03}}
    assert policy.risk_thresholds(own) == {"min_disparate_impact": 0.80, "max_rate_gap": 0.03}
