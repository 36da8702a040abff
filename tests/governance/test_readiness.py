"""The deploy check: both gates pass and the tier's approvals are in and fresh, or every unmet
condition is listed; on the reference scenario, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import NotFoundError
from lineage.services.corrections import Corrections
from lineage.services.governance import readiness
from lineage.services.governance.assessments import Assessments
from lineage.services.governance.policy import Tier
from lineage.services.governance.readiness import Readiness, deployable
from lineage.services.governance.scenario_steps import MODEL_SCOPING, load_governance
from lineage.services.governance.signoff import SignOff
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, MODEL
from lineage.store import GraphStore
from tests.governance.lending import (
    OWNER,
    RISK,
    V10,
    V11,
    V12,
    V12_RC1,
    V13,
    V14,
    at,
    audit_v14,
    head_seq,
    register_v14,
)

JAN_22_DEPLOY = at("2024-01-22T09:00:00")


def codes(answer: Readiness) -> list[str]:
    return [u.code for u in answer.unmet]


def message(answer: Readiness, code: str) -> str:
    (found,) = [u.message for u in answer.unmet if u.code == code]
    return found


def test_v12_is_deployable_when_it_was_deployed(governed_store: GraphStore) -> None:
    answer = deployable(governed_store, V12, JAN_22_DEPLOY)
    assert answer.ok and answer.unmet == []
    assert answer.tier is Tier.HIGH
    assert answer.explanation is not None and answer.explanation.startswith("HIGH: 3 of 3")
    assert answer.gates is not None and answer.gates.passed
    assert [(s.role, s.approved) for s in answer.sign_offs] == [
        ("owner", True),
        ("risk_approver", True),
    ]


def test_the_candidate_is_not_deployable_for_its_risk_gate_and_the_block(
    governed_store: GraphStore,
) -> None:
    answer = deployable(governed_store, V12_RC1, JAN_22_DEPLOY)
    assert not answer.ok and answer.tier is Tier.HIGH
    assert sorted(codes(answer)) == ["APPROVAL_MISSING", "BLOCKED", "RISK_GATE_FAILED"]
    risk = message(answer, readiness.RISK_GATE_FAILED)
    assert "disparate impact 0.70 < 0.80" in risk
    assert "largest gap between groups 20.4 points >= 5.0 points" in risk
    blocked = message(answer, readiness.BLOCKED_CODE)
    assert blocked.startswith(f"blocked by {RISK} (risk_approver)")
    assert "disparate impact 0.70" in blocked
    assert "owner" in message(answer, readiness.APPROVAL_MISSING)


@pytest.mark.parametrize(
    ("version", "deployed"),
    [
        (V10, "2024-01-06T09:00:00"),
        (V11, "2024-01-13T09:00:00"),
        (V13, "2024-01-25T10:00:00"),
        (V12, "2024-01-25T11:47:00"),  # the rollback
    ],
)
def test_every_deployed_version_was_deployable_then(
    governed_store: GraphStore, version: str, deployed: str
) -> None:
    assert deployable(governed_store, version, at(deployed)).ok


def test_before_its_sign_offs_v12_waits_for_both_roles(governed_store: GraphStore) -> None:
    before = deployable(governed_store, V12, at("2024-01-21T09:00:00"))
    assert codes(before) == ["APPROVAL_MISSING", "APPROVAL_MISSING"]
    assert "held by person:model_risk_officer" in before.unmet[1].message
    between = deployable(governed_store, V12, at("2024-01-21T12:00:00"))
    assert codes(between) == ["APPROVAL_MISSING"] and "risk_approver" in between.unmet[0].message


def test_an_unscoped_model_lists_every_unmet_condition(unscoped_store: GraphStore) -> None:
    answer = deployable(unscoped_store, V12, JAN_22_DEPLOY)
    assert not answer.ok and answer.tier is None and answer.explanation is None
    assert codes(answer) == [
        "MODEL_UNSCOPED",
        "NO_PERFORMANCE_THRESHOLDS",
        "NO_BIAS_AUDIT",
        "APPROVAL_MISSING",
        "APPROVAL_MISSING",
    ]
    unscoped = message(answer, readiness.MODEL_UNSCOPED)
    assert "its risk tier cannot be computed" in unscoped and "intended_use" in unscoped


def test_a_model_scoped_later_has_a_tier_and_its_earlier_approvals_are_stale(
    unscoped_store: GraphStore, records: RecordStore
) -> None:
    load_governance(unscoped_store, records, DEMO_ACTOR)
    Corrections(unscoped_store, None, actor=OWNER).correct(MODEL, MODEL_SCOPING, "scope it")
    now = deployable(unscoped_store, V12, datetime.now(UTC))
    assert now.tier is Tier.HIGH and now.gates is not None and now.gates.passed
    assert codes(now) == ["APPROVAL_STALE", "APPROVAL_STALE"]
    assert "the gates' inputs changed" in now.unmet[0].message
    # As the graph stood at the deployment, the model was unscoped.
    assert "MODEL_UNSCOPED" in codes(deployable(unscoped_store, V12, JAN_22_DEPLOY))


def test_evidence_registered_after_the_approvals_makes_them_stale(
    governed_store: GraphStore, registry: Registry
) -> None:
    registry.register_evaluation(
        {
            "id": "evaluation:lending_approval_v12_rerun",
            "model_version": V12,
            "metrics": {"auc": 0.86},
            "evaluated_at": at("2024-01-23T00:00:00"),
        }
    )
    later = deployable(governed_store, V12, at("2024-01-24T00:00:00"))
    assert codes(later) == ["APPROVAL_STALE", "APPROVAL_STALE"]
    assert "evaluation:lending_approval_v12_rerun was registered after it" in later.unmet[0].message
    assert deployable(governed_store, V12, JAN_22_DEPLOY).ok


def test_the_owners_approval_does_not_lift_the_risk_approvers_block(
    governed_store: GraphStore, records: RecordStore
) -> None:
    SignOff(governed_store, records, OWNER).approve(
        V12_RC1, "owner", "AUC 0.92", at("2024-01-20T18:00:00")
    )
    answer = deployable(governed_store, V12_RC1, JAN_22_DEPLOY)
    assert sorted(codes(answer)) == ["BLOCKED", "RISK_GATE_FAILED"]


def test_a_block_holds_until_the_blocking_role_approves(
    scoped_store: GraphStore, registry: Registry, records: RecordStore
) -> None:
    register_v14(registry)
    Assessments(scoped_store, records, DEMO_ACTOR).register_bias_audit(audit_v14())
    risk = SignOff(scoped_store, records, RISK)
    risk.block(V14, "risk_approver", "stress test pending", at("2024-01-26T07:00:00"))
    SignOff(scoped_store, records, OWNER).approve(V14, "owner", "ok", at("2024-01-26T08:00:00"))
    assert codes(deployable(scoped_store, V14, at("2024-01-26T09:00:00"))) == ["BLOCKED"]
    risk.approve(V14, "risk_approver", "stress test done", at("2024-01-26T10:00:00"))
    assert deployable(scoped_store, V14, at("2024-01-26T11:00:00")).ok


def test_a_low_tier_model_needs_only_its_owner(
    scoped_store: GraphStore, registry: Registry, records: RecordStore
) -> None:
    register_v14(registry)
    Assessments(scoped_store, records, DEMO_ACTOR).register_bias_audit(audit_v14())
    low = {"automation_level": "human_in_the_loop", "reversibility": "easy"}
    Corrections(scoped_store, None, actor=OWNER).correct(
        MODEL, low | {"affected_population": 5_000}, "a pilot with manual review"
    )
    SignOff(scoped_store, records, OWNER).approve(V14, "owner", "pilot")
    answer = deployable(scoped_store, V14, datetime.now(UTC) + timedelta(seconds=1))
    assert answer.ok and answer.tier is Tier.LOW


def test_the_deploy_check_of_an_unknown_version_is_not_found_and_reads_only(
    governed_store: GraphStore,
) -> None:
    seq = head_seq(governed_store)
    with pytest.raises(NotFoundError) as caught:
        deployable(governed_store, V14, JAN_22_DEPLOY)
    assert caught.value.field == "version"
    deployable(governed_store, V12, JAN_22_DEPLOY)
    assert head_seq(governed_store) == seq
