"""Each signal on hand-made batches: it fires on the change it watches and stays quiet on
ordinary noise. No store: a batch is a node value and a window is slid by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lineage.jobs.monitors import signals
from lineage.jobs.monitors.baselines import BatchView, Window
from lineage.jobs.monitors.config import (
    BusinessMetric,
    CustomMetric,
    DecisionVolatility,
    DemographicParity,
    LatencyP99,
    NullRate,
    OverrideRate,
    PredictionShift,
    ValueRange,
)
from lineage.model.graph import Node, NodeKind
from tests.monitors.conftest import t

START = t("2024-02-01T00:00")


def batch(i: int, n: int = 200, **stats: Any) -> BatchView:
    """The i-th six-hour batch of model m with ``n`` decisions and these statistics."""
    start = START + timedelta(hours=6 * i)
    node = Node(
        f"batch:b{i}",
        NodeKind.INFERENCE_BATCH,
        start,
        {
            "model_version": "model:m@v1",
            "window_end": (start + timedelta(hours=6)).isoformat(),
            "record_count": n,
            "statistics": stats,
        },
    )
    return BatchView.of(node)


def normal(i: int, **changes: Any) -> BatchView:
    """A batch like every other: half approved, 2% overridden, income 20K-150K."""
    stats: dict[str, Any] = {
        "features": {"income": {"null_rate": 0.0, "min": 20_000, "max": 150_000}},
        "predictions": {"APPROVED": 100, "DECLINED": 100},
        "overrides": 4,
        "latency_ms": {"p50": 40, "p95": 80, "p99": 120},
        "approval_rate_by_age_band": {
            "18-34": {"count": 100, "approval_rate": 0.5},
            "65+": {"count": 100, "approval_rate": 0.48},
        },
        "approval_rate_by_income_band": {"50-60K": {"count": 60, "approval_rate": 0.45}},
        "business": {"average_approved_amount": 12_000},
    }
    return batch(i, **(stats | changes))


def judged(view: BatchView, history: int = 4) -> Window:
    """The window after ``history`` normal batches, advanced to ``view``."""
    window = Window(timedelta(days=7), 50)
    for i in range(history):
        window.push(normal(i))
    window.advance(view)
    return window


def test_null_rate_fires_when_a_feature_goes_missing() -> None:
    view = normal(9, features={"income": {"null_rate": 0.3, "min": 20_000, "max": 150_000}})
    (found,) = signals.null_rate(view, judged(view), NullRate(), True)
    assert (found.feature, found.value, found.baseline) == ("income", 0.3, 0.0)
    assert signals.null_rate(normal(9), judged(normal(9)), NullRate(), True) == []


def test_value_range_fires_outside_the_windows_extremes_not_within_tolerance() -> None:
    view = normal(9, features={"income": {"null_rate": 0, "min": 20_000, "max": 1_500_000}})
    (found,) = signals.value_range(view, judged(view), ValueRange(), True)
    assert (found.value, found.baseline) == (1_500_000, 150_000)
    near = normal(9, features={"income": {"null_rate": 0, "min": 19_000, "max": 155_000}})
    assert signals.value_range(near, judged(near), ValueRange(), True) == []


def test_prediction_shift_fires_on_a_significant_approval_drop() -> None:
    view = normal(9, predictions={"APPROVED": 40, "DECLINED": 160})
    found = signals.prediction_shift(view, judged(view), PredictionShift(), True, 50)
    assert [(f.value, f.baseline) for f in found] == [(0.2, 0.5)]


def test_prediction_shift_stays_quiet_on_a_small_noisy_batch() -> None:
    view = batch(9, n=10, predictions={"APPROVED": 2, "DECLINED": 8})
    assert signals.prediction_shift(view, judged(view), PredictionShift(), True, 50) == []


def test_prediction_shift_per_segment_names_the_feature_it_comes_from() -> None:
    view = normal(9, approval_rate_by_income_band={"50-60K": {"count": 60, "approval_rate": 0.12}})
    settings = PredictionShift(segments={"income_band": "income"})
    (found,) = signals.prediction_shift(view, judged(view), settings, True, 50)
    assert found.feature == "income" and found.details["group"] == "50-60K"
    assert (found.value, found.baseline) == (0.12, 0.45)


def test_population_stability_is_zero_for_the_same_distribution() -> None:
    same = normal(0).predictions()
    assert signals.population_stability(same, same) == 0.0


def test_override_rate_fires_when_people_overrule_the_model_more() -> None:
    view = normal(9, overrides=60)
    (found,) = signals.override_rate(view, judged(view), OverrideRate(), True, 50)
    assert (found.value, found.baseline) == (0.3, 0.02)


def test_latency_p99_fires_above_twice_the_trailing_median() -> None:
    view = normal(9, latency_ms={"p50": 40, "p95": 90, "p99": 300})
    (found,) = signals.latency_p99(view, judged(view), LatencyP99(), True)
    assert (found.value, found.baseline) == (300, 120)


def test_demographic_parity_fires_on_a_significant_gap_between_groups() -> None:
    groups = {
        "18-34": {"count": 50, "approval_rate": 0.5},
        "65+": {"count": 50, "approval_rate": 0.1},
    }
    view = normal(9, approval_rate_by_age_band=groups)
    (found,) = signals.demographic_parity(view, judged(view), DemographicParity())
    assert found.feature == "age" and found.value == 0.2
    assert found.details["group"] == "65+" and found.details["baseline_rate"] == 0.48
    assert found.title.startswith("Approval rate for age_band 65+ is 10% against 50% for 18-34")


def test_demographic_parity_does_not_judge_groups_too_small_to_tell() -> None:
    groups = {"18-34": {"count": 6, "approval_rate": 0.83}, "65+": {"count": 6, "approval_rate": 0}}
    view = normal(9, approval_rate_by_age_band=groups)
    assert signals.demographic_parity(view, judged(view), DemographicParity()) == []


def test_business_metric_fires_on_a_drop_against_the_trailing_mean() -> None:
    metric = CustomMetric(
        model="model:m",
        name="average_approved_amount",
        path="business.average_approved_amount",
        max_drop=0.25,
    )
    view = normal(9, business={"average_approved_amount": 8_000})
    (found,) = signals.business_metric(view, judged(view), BusinessMetric(metrics=[metric]), True)
    assert (found.feature, found.value, found.baseline) == (
        "average_approved_amount",
        8_000,
        12_000,
    )


def test_decision_volatility_fires_when_repeated_inputs_change_decision() -> None:
    window = Window(timedelta(days=7), 50)
    before = normal(0)
    before.inputs = [(f"input{i}", "APPROVED") for i in range(10)]
    window.push(before)
    view = normal(1)
    view.inputs = [(f"input{i}", "DECLINED" if i < 6 else "APPROVED") for i in range(10)]
    window.advance(view)
    (found,) = signals.decision_volatility(view, window, DecisionVolatility())
    assert found.value == 0.6 and found.details == {"repeats": 10, "volatile": 6}


def test_decision_volatility_ignores_inputs_never_seen_before() -> None:
    view = normal(1)
    view.inputs = [(f"new{i}", "APPROVED") for i in range(10)]
    assert signals.decision_volatility(view, judged(view), DecisionVolatility()) == []


def test_policy_violation_fires_outside_the_models_input_bounds() -> None:
    view = normal(9, features={"age": {"null_rate": 0, "min": 16, "max": 70}})
    (found,) = signals.policy_violation(view, {"age": {"min": 18, "max": 75}})
    assert (found.feature, found.value, found.baseline) == ("age", 16, 18)
    assert signals.policy_violation(normal(9), {"age": {"min": 18, "max": 75}}) == []


def test_a_window_holds_only_batches_that_ended_before_the_judged_one_started() -> None:
    window = Window(timedelta(days=1), 3)
    views = [normal(i) for i in range(8)]
    for view in views[:7]:
        window.push(view)
    window.advance(views[7])
    assert [v.node.id for v in window.views] == ["batch:b4", "batch:b5", "batch:b6"]
    assert window.decisions == 600
