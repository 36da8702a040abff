"""The performance gate and the independent risk gate: computed from recorded evidence, recorded
as GateResult nodes whose IDs follow from their inputs, on every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from lineage.errors import ConflictError, InvalidError, LineageError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.services.bulk import load
from lineage.services.corrections import Corrections
from lineage.services.governance.assessments import Assessments
from lineage.services.governance.gates import gates
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, MODEL
from lineage.store import EdgeQuery, GraphStore, NodeQuery
from tests.governance.lending import (
    OWNER,
    RISK,
    STEWARD,
    V12,
    V12_RC1,
    V14,
    at,
    audit_v14,
    head_seq,
    register_v14,
)

JAN_22_DEPLOY = at("2024-01-22T09:00:00")
AFTER_V14_AUDIT = at("2024-01-26T07:00:00")


@pytest.fixture
def assessments(store: GraphStore, records: RecordStore) -> Assessments:
    """Bias audits and gates recorded by the scenario's loader."""
    return Assessments(store, records, actor=DEMO_ACTOR)


def kinds_stored(store: GraphStore) -> tuple[int, ...]:
    counted = (NodeKind.RISK_ASSESSMENT, NodeKind.GATE_RESULT, NodeKind.MODEL)
    return tuple(len(store.find_nodes(NodeQuery(kind=k, limit=1000)).items) for k in counted)


def refused(
    store: GraphStore, error: type[LineageError], write: Callable[[], object]
) -> LineageError:
    """The error ``write`` raised; asserts the audit chain and the governance nodes unchanged."""
    before = head_seq(store), kinds_stored(store)
    with pytest.raises(error) as info:
        write()
    assert (head_seq(store), kinds_stored(store)) == before
    return info.value


# -- the reference scenario ---------------------------------------------------------------------


def test_the_candidate_fails_the_risk_gate_although_its_performance_gate_passes(
    governed_store: GraphStore,
) -> None:
    report = gates(governed_store, V12_RC1, JAN_22_DEPLOY)
    assert report.performance.passed and report.performance.checks[0].value == 0.92
    assert not report.risk.passed and not report.passed
    assert {c.name for c in report.risk.failures} == {"disparate_impact", "rate_gap"}
    numbers = report.risk.numbers
    assert numbers["disparate_impact"] == pytest.approx(0.70)
    assert (numbers["lowest_group"], numbers["highest_group"]) == ("65+", "35-49")
    assert numbers["rates"]["65+"] == pytest.approx(0.476)
    assert numbers["rate_gap"] == pytest.approx(0.204)
    (di,) = [c for c in report.risk.checks if c.name == "disparate_impact"]
    assert di.detail.startswith("disparate impact 0.70 < 0.80")


def test_the_retrained_version_passes_both_gates(governed_store: GraphStore) -> None:
    report = gates(governed_store, V12, JAN_22_DEPLOY)
    assert report.passed
    assert report.risk.numbers["disparate_impact"] == pytest.approx(0.62 / 0.63)
    assert report.risk.thresholds == {"min_disparate_impact": 0.80, "max_rate_gap": 0.05}
    assert report.performance.thresholds == {"auc": 0.85}
    # The scenario recorded both results: the report says so.
    assert report.performance.recorded is not None and report.risk.recorded is not None


def test_gates_read_only_the_evidence_known_at_the_instant(governed_store: GraphStore) -> None:
    before_evaluation = gates(governed_store, V12, at("2024-01-21T03:00:00"))
    assert [c.name for c in before_evaluation.performance.failures] == ["evaluated"]
    before_audit = gates(governed_store, V12, at("2024-01-21T05:00:00"))
    assert before_audit.performance.passed
    assert [c.name for c in before_audit.risk.failures] == ["bias_audit"]


def test_asking_for_the_gates_writes_nothing(governed_store: GraphStore) -> None:
    before = head_seq(governed_store)
    gates(governed_store, V12, JAN_22_DEPLOY)
    assert head_seq(governed_store) == before


def test_a_model_without_performance_thresholds_fails_its_performance_gate(
    unscoped_store: GraphStore,
) -> None:
    report = gates(unscoped_store, V12, JAN_22_DEPLOY)
    assert [c.name for c in report.performance.failures] == ["thresholds"]
    assert "sets no performance thresholds" in report.performance.failures[0].detail


# -- recording results --------------------------------------------------------------------------


def test_recording_the_gates_twice_on_the_same_evidence_writes_nothing(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    assessments.register_bias_audit(audit_v14())
    first = assessments.evaluate_gates(V14, AFTER_V14_AUDIT)
    assert first.created and len(first.written) == 2 and first.report.passed
    seq = head_seq(scoped_store)
    assert first.audit_seq == seq

    again = assessments.evaluate_gates(V14, at("2024-01-27T00:00:00"))
    assert not again.created and head_seq(scoped_store) == seq
    assert [r.id for r in again.report.results] == [n.id for n in first.written]
    # The recorded results keep the instant they were first evaluated at.
    assert again.report.performance.recorded is not None
    assert again.report.performance.recorded.valid_from == AFTER_V14_AUDIT


def test_a_gate_result_holds_its_numbers_and_links_the_evidence_it_read(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    assessments.register_bias_audit(audit_v14())
    written = {n.props["gate"]: n for n in assessments.evaluate_gates(V14, AFTER_V14_AUDIT).written}

    risk = written["risk"]
    assert risk.kind is NodeKind.GATE_RESULT and risk.id.startswith("gate:risk-")
    assert risk.props["verdict"] == "PASS" and risk.props["model_version"] == V14
    assert risk.props["thresholds"] == {"min_disparate_impact": 0.80, "max_rate_gap": 0.05}
    assert risk.props["numbers"]["rates"] == {"18-49": 0.63, "50+": 0.625}
    assert {c["name"]: c["passed"] for c in risk.props["checks"]} == {
        "bias_audit": True,
        "disparate_impact": True,
        "rate_gap": True,
        "human_override_path": True,
        "stress_tests": True,
        "forbidden_features": True,
    }
    for gate, evidence in (
        ("risk", "risk:lending_approval_v14_bias_audit"),
        ("performance", "evaluation:lending_approval_v14"),
    ):
        node = written[gate]
        used = scoped_store.find_edges(
            EdgeQuery(src=node.id, kinds=frozenset({EdgeKind.USED}))
        ).items
        assert {(e.dst, e.props["role"]) for e in used} == {
            (V14, "gated"),
            (evidence, "evidence"),
        }
        assert set(node.props["evidence"]) == {evidence}


def test_new_evidence_gives_a_new_result_of_the_gate_that_reads_it(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    assessments.register_bias_audit(audit_v14())
    first = assessments.evaluate_gates(V14, AFTER_V14_AUDIT).report
    registry.register_evaluation(
        {
            "id": "evaluation:lending_approval_v14_holdout",
            "model_version": V14,
            "metrics": {"auc": 0.86},
            "evaluated_at": at("2024-01-26T08:00:00"),
        }
    )
    second = assessments.evaluate_gates(V14, at("2024-01-26T09:00:00"))
    assert [n.props["gate"] for n in second.written] == ["performance"]
    assert second.report.performance.id != first.performance.id
    assert second.report.risk.id == first.risk.id


def test_a_corrected_evaluation_gives_a_new_result(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    assessments.register_bias_audit(audit_v14())
    now = datetime.now(UTC)
    before = gates(scoped_store, V14, now).performance
    Corrections(scoped_store, None, actor=STEWARD).correct(
        "evaluation:lending_approval_v14", {"metrics": {"auc": 0.84}}, "scored on the wrong split"
    )
    after = gates(scoped_store, V14, datetime.now(UTC)).performance
    assert before.passed and not after.passed
    assert after.id != before.id
    assert after.failures[0].detail == "auc 0.84 < 0.85 (evaluation:lending_approval_v14)"
    # Asked as of before the correction, the gate answers as the graph stood then.
    assert gates(scoped_store, V14, now).performance.id == before.id


# -- the performance gate -----------------------------------------------------------------------


def test_an_evaluation_below_the_minimum_fails_the_performance_gate(
    scoped_store: GraphStore, registry: Registry
) -> None:
    register_v14(registry, auc=0.84)
    report = gates(scoped_store, V14, AFTER_V14_AUDIT)
    (failure,) = report.performance.failures
    assert (failure.value, failure.threshold) == (0.84, 0.85)


def test_a_better_evaluation_does_not_outvote_a_worse_one(
    scoped_store: GraphStore, registry: Registry
) -> None:
    register_v14(registry, auc=0.84)
    registry.register_evaluation(
        {
            "id": "evaluation:lending_approval_v14_again",
            "model_version": V14,
            "metrics": {"auc": 0.91},
            "evaluated_at": at("2024-01-26T05:00:00"),
        }
    )
    report = gates(scoped_store, V14, AFTER_V14_AUDIT)
    assert not report.performance.passed
    assert [c.passed for c in report.performance.checks] == [False, True]


def test_a_thresholded_metric_no_evaluation_reports_fails(
    scoped_store: GraphStore, registry: Registry
) -> None:
    register_v14(registry)
    Corrections(scoped_store, None, actor=OWNER).correct(
        MODEL, {"performance_thresholds": {"auc": 0.85, "recall": 0.6}}, "recall matters too"
    )
    report = gates(scoped_store, V14, datetime.now(UTC))
    (failure,) = report.performance.failures
    assert failure.name == "recall" and "no evaluation reports recall" in failure.detail


# -- the risk gate ------------------------------------------------------------------------------


def test_a_ratio_of_exactly_the_minimum_meets_it(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    # 0.48 / 0.60 is 0.7999999999999999 in floating point, exactly 0.80 as a fraction.
    assessments.register_bias_audit(audit_v14(approved=(6_000, 4_800)))
    (di,) = [
        c
        for c in gates(scoped_store, V14, AFTER_V14_AUDIT).risk.checks
        if c.name == "disparate_impact"
    ]
    assert di.passed


def test_no_override_path_and_a_failed_stress_test_fail_the_risk_gate(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    audit = audit_v14(stress_tests=[{"name": "income_shock", "passed": False}])
    del audit["human_override_path"]
    assessments.register_bias_audit(audit)
    risk = gates(scoped_store, V14, AFTER_V14_AUDIT).risk
    assert {c.name for c in risk.failures} == {"human_override_path", "stress_tests"}


def test_an_audit_without_stress_tests_fails_the_risk_gate(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    assessments.register_bias_audit(audit_v14(stress_tests=[]))
    risk = gates(scoped_store, V14, AFTER_V14_AUDIT).risk
    assert [(c.name, c.detail) for c in risk.failures] == [
        ("stress_tests", "no stress test recorded")
    ]


def test_a_forbidden_feature_in_the_training_snapshot_fails_the_risk_gate(
    governed_store: GraphStore,
) -> None:
    Corrections(governed_store, None, actor=OWNER).correct(
        MODEL,
        {"forbidden_features": ["zip_code", "age"]},
        "age may not be used directly",
    )
    now = gates(governed_store, V12, datetime.now(UTC)).risk
    assert [c.name for c in now.failures] == ["forbidden_features"]
    assert "forbidden features: age" in now.failures[0].detail
    # The correction was recorded now: as of the deployment, the gate still passed.
    assert gates(governed_store, V12, JAN_22_DEPLOY).risk.passed


def test_a_re_audit_supersedes_an_earlier_audit(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    assessments.register_bias_audit(audit_v14(approved=(6_300, 5_000)))
    assessments.register_bias_audit(
        audit_v14(audit_id="risk:lending_approval_v14_re_audit", audited_at="2024-01-26T10:00:00")
    )
    assert not gates(scoped_store, V14, AFTER_V14_AUDIT).risk.passed
    later = gates(scoped_store, V14, at("2024-01-26T11:00:00")).risk
    assert later.passed and set(later.evidence) == {"risk:lending_approval_v14_re_audit"}


# -- bad input: refused, nothing written ----------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "field"),
    [
        (
            {
                "18-49": {"decisions": 100, "approved": 60},
                "50+": {"decisions": 100, "approved": 101},
            },
            "counts.50+.approved",
        ),
        (
            {"18-49": {"decisions": 100, "approved": 60}, "50+": {"decisions": -5, "approved": 0}},
            "counts.50+.decisions",
        ),
        (
            {
                "18-49": {"decisions": 100, "approved": -1},
                "50+": {"decisions": 100, "approved": 60},
            },
            "counts.18-49.approved",
        ),
        (
            {"18-49": {"decisions": 100, "approved": 60}, "50+": {"decisions": 0, "approved": 0}},
            "counts.50+.decisions",
        ),
        (
            {"18-49": {"decisions": 100, "approved": "60"}, "50+": {"decisions": 9, "approved": 1}},
            "counts.18-49.approved",
        ),
        ({"all": {"decisions": 100, "approved": 60}}, "counts"),
    ],
    ids=["approved_over_decisions", "negative", "negative_approved", "empty_group", "text", "one"],
)
def test_a_bias_audit_with_inconsistent_counts_is_invalid_naming_the_count(
    scoped_store: GraphStore,
    registry: Registry,
    assessments: Assessments,
    counts: dict[str, Any],
    field: str,
) -> None:
    register_v14(registry)
    error = refused(
        scoped_store,
        InvalidError,
        lambda: assessments.register_bias_audit(audit_v14(counts=counts)),
    )
    assert error.field == field


def test_a_bias_audit_of_an_unknown_version_is_not_found(
    scoped_store: GraphStore, assessments: Assessments
) -> None:
    error = refused(
        scoped_store, NotFoundError, lambda: assessments.register_bias_audit(audit_v14())
    )
    assert error.field == "model_version"


def test_a_bias_audit_before_its_version_existed_is_a_conflict(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    early = audit_v14(audited_at="2024-01-25T00:00:00")
    error = refused(scoped_store, ConflictError, lambda: assessments.register_bias_audit(early))
    assert error.field == "audited_at"


def test_reregistering_a_bias_audit_is_a_noop_and_changing_it_a_conflict(
    scoped_store: GraphStore, registry: Registry, assessments: Assessments
) -> None:
    register_v14(registry)
    first = assessments.register_bias_audit(audit_v14())
    again = assessments.register_bias_audit(audit_v14())
    assert first.created and not again.created and again.node == first.node
    changed = audit_v14(approved=(6_300, 6_000))
    error = refused(scoped_store, ConflictError, lambda: assessments.register_bias_audit(changed))
    assert error.field == "counts"


def test_evaluating_the_gates_of_an_unknown_version_is_not_found(
    scoped_store: GraphStore, assessments: Assessments
) -> None:
    error = refused(scoped_store, NotFoundError, lambda: assessments.evaluate_gates(V14))
    assert error.field == "version"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"risk_thresholds": {"min_disparate_impact": 1.5}},
            "risk_thresholds.min_disparate_impact",
        ),
        ({"risk_thresholds": {"min_disparate_impact": 0}}, "risk_thresholds.min_disparate_impact"),
        ({"risk_thresholds": {"max_rate_gap": -0.05}}, "risk_thresholds.max_rate_gap"),
        ({"risk_thresholds": {"max_rate_gap": "0.05"}}, "risk_thresholds.max_rate_gap"),
        ({"performance_thresholds": {"auc": "0.9"}}, "performance_thresholds.auc"),
        ({"performance_thresholds": {}}, "performance_thresholds"),
        ({"automation_level": "sometimes"}, "automation_level"),
        ({"affected_population": -1}, "affected_population"),
    ],
)
def test_thresholds_and_facts_out_of_range_are_invalid_naming_the_field(
    scoped_store: GraphStore, registry: Registry, change: dict[str, Any], field: str
) -> None:
    model = {
        "id": "model:fraud_detection",
        "owner": OWNER,
        "technical_steward": STEWARD,
        "risk_approver": RISK,
    }
    error = refused(scoped_store, InvalidError, lambda: registry.register_model(model | change))
    assert error.field == field
    fix = Corrections(scoped_store, None, actor=OWNER)
    error = refused(scoped_store, InvalidError, lambda: fix.correct(MODEL, change, "tighten"))
    assert error.field == f"changes.{field}"


def test_a_bias_audit_without_counts_fails_the_risk_gate_instead_of_breaking_it(
    scoped_store: GraphStore, registry: Registry
) -> None:
    register_v14(registry)
    audit = Node("risk:imported", NodeKind.RISK_ASSESSMENT, AFTER_V14_AUDIT, {"ratio": 0.9})
    used = Edge(audit.id, EdgeKind.USED, V14, {"role": "audited"})
    load(scoped_store, [audit, used], actor=DEMO_ACTOR, reason="import from the old tool")
    (failure,) = gates(scoped_store, V14, AFTER_V14_AUDIT).risk.failures
    assert failure.name == "bias_audit" and "does not record decisions" in failure.detail
