"""The review queue: versions whose evidence is complete but whose approvals are not, and
those waiting past their tier's target; on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineage.services.corrections import Corrections
from lineage.services.governance.assessments import Assessments
from lineage.services.governance.policy import Tier
from lineage.services.governance.reviews import reviews
from lineage.services.governance.signoff import SignOff
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.store import GraphStore
from tests.governance.lending import OWNER, RISK, STEWARD, V12, V14, at, audit_v14, register_v14

AUDITED = at("2024-01-26T06:00:00")


@pytest.fixture
def v14(scoped_store: GraphStore, registry: Registry, records: RecordStore) -> str:
    """A v14 whose gates pass (audited Jan 26 06:00), not signed off."""
    register_v14(registry)
    Assessments(scoped_store, records, DEMO_ACTOR).register_bias_audit(audit_v14())
    return V14


def test_nothing_waits_in_the_governed_scenario(governed_store: GraphStore) -> None:
    assert reviews(governed_store, at("2024-01-26T00:00:00")) == []


def test_a_version_with_complete_evidence_waits_from_its_last_piece_of_evidence(
    scoped_store: GraphStore, v14: str
) -> None:
    (review,) = reviews(scoped_store, at("2024-01-26T07:00:00"))
    assert review.model_version.id == v14 and review.tier is Tier.HIGH
    assert review.awaiting == ["owner", "risk_approver"] and review.stale == []
    assert review.since == AUDITED
    assert review.due == AUDITED + timedelta(hours=24) and not review.overdue
    assert review.waiting(at("2024-01-26T07:00:00")) == timedelta(hours=1)


def test_a_high_tier_version_waiting_more_than_a_day_is_overdue(
    scoped_store: GraphStore, v14: str
) -> None:
    (review,) = reviews(scoped_store, AUDITED + timedelta(hours=24, minutes=1))
    assert review.overdue


def test_each_approval_takes_its_role_off_the_list(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    SignOff(scoped_store, records, OWNER).approve(v14, "owner", "ok", at("2024-01-26T08:00:00"))
    (review,) = reviews(scoped_store, at("2024-01-26T09:00:00"))
    assert review.awaiting == ["risk_approver"]
    SignOff(scoped_store, records, RISK).approve(
        v14, "risk_approver", "ok", at("2024-01-26T10:00:00")
    )
    assert reviews(scoped_store, at("2024-01-26T11:00:00")) == []


def test_a_blocked_version_is_not_waiting_for_review(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    SignOff(scoped_store, records, RISK).block(v14, "risk_approver", "no", at("2024-01-26T08:00"))
    assert reviews(scoped_store, at("2024-01-26T09:00:00")) == []


def test_a_version_failing_a_gate_is_not_waiting_for_review(
    scoped_store: GraphStore, registry: Registry
) -> None:
    register_v14(registry)  # evaluated, never audited: the risk gate fails
    assert reviews(scoped_store, at("2024-01-26T09:00:00")) == []


def test_an_unscoped_models_versions_are_not_waiting_for_review(
    unscoped_store: GraphStore,
) -> None:
    assert reviews(unscoped_store, at("2024-01-26T00:00:00")) == []


def test_new_evidence_puts_an_approved_version_back_with_stale_approvals(
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
    (review,) = reviews(governed_store, at("2024-01-23T12:00:00"))
    assert review.model_version.id == V12
    assert review.stale == ["owner", "risk_approver"] == review.awaiting
    assert review.since == at("2024-01-23T00:00:00")


def test_a_correction_of_the_evidence_restarts_the_clock(
    scoped_store: GraphStore, v14: str
) -> None:
    done = Corrections(scoped_store, None, actor=STEWARD).correct(
        "evaluation:lending_approval_v14", {"notes": "holdout of Jan 24"}, "forgotten"
    )
    (review,) = reviews(scoped_store, datetime.now(UTC))
    assert review.since == done.correction.valid_from


def test_overdue_reviews_come_first(
    scoped_store: GraphStore, registry: Registry, records: RecordStore, v14: str
) -> None:
    registry.register_training_run(
        {
            "id": "run:lending_approval_v15",
            "model_version": "model:lending_approval@v15",
            "snapshot": "snapshot:credit_model_training_2024_01_24",
            "datasets": [
                {"id": d, "content_hash": n.props["content_hash"]}
                for d, n in scoped_store.get_nodes(
                    ["dataset:applications@v2", "dataset:credit_bureau@v1"]
                ).items()
            ],
            "code_commit": "f6a7b8c9d0e1",
            "records_available": 510_000,
            "records_used": 400_000,
            "triggered_by": "pipeline:credit_training",
            "reason": "second candidate",
            "started_at": at("2024-01-27T00:00:00"),
            "ended_at": at("2024-01-27T06:00:00"),
        }
    )
    registry.register_evaluation(
        {
            "id": "evaluation:lending_approval_v15",
            "model_version": "model:lending_approval@v15",
            "metrics": {"auc": 0.9},
            "evaluated_at": at("2024-01-27T07:00:00"),
        }
    )
    Assessments(scoped_store, records, DEMO_ACTOR).register_bias_audit(
        audit_v14(audit_id="risk:lending_approval_v15_bias_audit", audited_at="2024-01-27T08:00")
        | {"model_version": "model:lending_approval@v15"}
    )
    found = reviews(scoped_store, at("2024-01-27T09:00:00"))
    assert [(r.model_version.id, r.overdue) for r in found] == [
        (v14, True),
        ("model:lending_approval@v15", False),
    ]
