"""The signals: each a pure function of one batch, its trailing window and its thresholds.

Each signal, its value, its baseline, and when it fires:

- ``null_rate``: a feature's null rate, against the window's pooled rate; above ``max_rate``,
  or ``max_increase`` above the baseline.
- ``value_range``: a feature's min or max, against the window's min / max; outside them by
  more than ``tolerance`` of their span.
- ``prediction_shift``: the positive rate (overall, per segment), against the window's; moved
  ``max_rate_change`` with a z of ``min_z``, in a batch (segment) of ``min_decisions`` or more.
  Also the PSI of the predicted classes against the window's distribution, above ``max_psi``.
- ``override_rate``: overrides / decisions, against the window's rate; ``max_increase`` above
  it with a z of ``min_z``, in a batch of ``min_decisions`` or more.
- ``latency_p99``: the batch's p99 in ms, against the window's median p99; above ``max_ms``, or
  ``max_ratio`` times the baseline.
- ``demographic_parity``: a group's disparate impact ratio against the best-treated group in
  the batch (no baseline needed; the window's ratio is reported); below
  ``min_disparate_impact`` with a gap of ``min_gap`` and a z of ``min_z``.
- ``business_metric``: the number at a declared path, against the window's mean; outside
  ``min`` / ``max``, or a relative ``max_drop`` / ``max_rise``.
- ``decision_volatility``: the share of repeated inputs that got another decision, against the
  window's own share; at least ``min_repeats`` repeats and above ``max_rate``.
- ``policy_violation``: a feature's min or max, against the model's ``input_bounds``; outside.

The z statistics are two-proportion tests, so a small batch needs a large move to fire: a
monitor that cries wolf on every noisy batch stops being read.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lineage.jobs.monitors.baselines import BatchView, Window, number
from lineage.jobs.monitors.config import (
    BusinessMetric,
    DecisionVolatility,
    DemographicParity,
    LatencyP99,
    NullRate,
    OverrideRate,
    PredictionShift,
    ValueRange,
)

PSI_FLOOR = 1e-4  # a class absent on one side would make the PSI infinite


@dataclass(frozen=True, slots=True)
class Finding:
    """A signal that fired on a batch. ``feature`` is the feature (or segment, or metric) it
    is about: with the signal and the model, what makes two findings one incident."""

    signal: str
    title: str
    value: float | None
    baseline: float | None
    feature: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def z_score(p1: float, n1: float, p0: float, n0: float) -> float:
    """Two-proportion z statistic of p1 (n1) against p0 (n0); 0 when undefined."""
    if n1 <= 0 or n0 <= 0:
        return 0.0
    pooled = (p1 * n1 + p0 * n0) / (n1 + n0)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    return (p1 - p0) / spread if spread > 0 else 0.0


def pct(value: float) -> str:
    """A rate in words: 0.1 -> 10%."""
    return f"{value * 100:.0f}%"


def null_rate(view: BatchView, window: Window, s: NullRate, ready: bool) -> list[Finding]:
    """Per feature: missing values above the ceiling or above the window's rate."""
    found = []
    for name, stats in sorted(view.features().items()):
        rate = number(stats.get("null_rate"))
        if rate is None:
            continue
        base = window.null_rate(name) if ready else None
        if rate >= s.max_rate or (base is not None and rate - base > s.max_increase):
            was = f" (baseline {pct(base)})" if base is not None else ""
            found.append(
                Finding("null_rate", f"Null rate of {name} is {pct(rate)}{was}", rate, base, name)
            )
    return found


def value_range(view: BatchView, window: Window, s: ValueRange, ready: bool) -> list[Finding]:
    """Per feature: values beyond the window's extremes (widened by the tolerance)."""
    if not ready:
        return []
    found = []
    for name, stats in sorted(view.features().items()):
        seen = window.value_range(name)
        low, high = number(stats.get("min")), number(stats.get("max"))
        if seen is None or low is None or high is None:
            continue
        margin = (seen[1] - seen[0]) * s.tolerance
        for value, bound, side in ((low, seen[0], "below"), (high, seen[1], "above")):
            if (side == "below" and value < bound - margin) or (
                side == "above" and value > bound + margin
            ):
                title = (
                    f"{name} reached {value:g}, {side} the historical range {seen[0]:g}-{seen[1]:g}"
                )
                found.append(
                    Finding("value_range", title, value, bound, name, {"range": list(seen)})
                )
    return found


def prediction_shift(
    view: BatchView, window: Window, s: PredictionShift, ready: bool, min_decisions: int
) -> list[Finding]:
    """The positive rate overall and per segment, and the PSI of the predicted classes."""
    if not ready or view.decisions < min_decisions:
        return []  # the z approximation needs a few expected events on each side
    found = []
    now, before = view.predictions(), window.predictions
    total, base_total = sum(now.values()), sum(before.values())
    if total and base_total:
        rate, base = round(now[s.positive] / total, 4), round(before[s.positive] / base_total, 4)
        z = z_score(rate, total, base, base_total)
        if abs(rate - base) >= s.max_rate_change and abs(z) >= s.min_z:
            title = f"{s.positive} rate {pct(rate)} against {pct(base)} in the trailing window"
            found.append(Finding("prediction_shift", title, rate, base, None, {"z": round(z, 2)}))
        psi = population_stability(now, before)
        if psi >= s.max_psi and not found:
            title = f"Prediction distribution shifted: PSI {psi:.2f} against the trailing window"
            found.append(Finding("prediction_shift", title, psi, 0.0, None, {"psi": round(psi, 4)}))
    for attribute, feature in sorted(s.segments.items()):
        for group, (count, positives) in sorted(view.groups(attribute).items()):
            pooled = window.group(attribute, group)
            if pooled is None or count < min_decisions:
                continue
            rate, base = round(positives / count, 4), round(pooled[1] / pooled[0], 4)
            z = z_score(rate, count, base, pooled[0])
            if abs(rate - base) >= s.max_rate_change and abs(z) >= s.min_z:
                title = (
                    f"{s.positive} rate for {attribute} {group} {pct(rate)} against "
                    f"{pct(base)} in the trailing window"
                )
                details = {"segment": attribute, "group": group, "z": round(z, 2), "count": count}
                found.append(Finding("prediction_shift", title, rate, base, feature, details))
    return found


def population_stability(now: Counter[str], before: Counter[str]) -> float:
    """PSI of two class distributions: sum of (a - e) * ln(a / e) over the classes."""
    total, base_total = sum(now.values()), sum(before.values())
    psi = 0.0
    for name in set(now) | set(before):
        a = max(now[name] / total, PSI_FLOOR)
        e = max(before[name] / base_total, PSI_FLOOR)
        psi += (a - e) * math.log(a / e)
    return psi


def override_rate(
    view: BatchView, window: Window, s: OverrideRate, ready: bool, min_decisions: int
) -> list[Finding]:
    """Overrides by people above the window's rate, significantly (batches of
    ``min_decisions`` or more: four overrides among 24 decisions is noise at a 3% rate)."""
    overridden = view.overrides()
    if not ready or overridden is None or view.decisions < min_decisions:
        return []
    if not window.override_decisions:
        return []
    rate = round(overridden / view.decisions, 4)
    base = round(window.overrides / window.override_decisions, 4)
    z = z_score(rate, view.decisions, base, window.override_decisions)
    if rate - base >= s.max_increase and z >= s.min_z:
        title = (
            f"People overrode {pct(rate)} of decisions against {pct(base)} in the trailing window"
        )
        return [Finding("override_rate", title, rate, base, None, {"z": round(z, 2)})]
    return []


def latency_p99(view: BatchView, window: Window, s: LatencyP99, ready: bool) -> list[Finding]:
    """The p99 latency above the ceiling, or a multiple of the window's median p99."""
    p99 = view.latency("p99")
    if p99 is None:
        return []
    base = window.median_latency("p99") if ready else None
    if p99 > s.max_ms or (base is not None and base > 0 and p99 > s.max_ratio * base):
        was = f" (trailing median {base:g} ms)" if base is not None else ""
        return [Finding("latency_p99", f"p99 latency {p99:g} ms{was}", p99, base)]
    return []


def demographic_parity(view: BatchView, window: Window, s: DemographicParity) -> list[Finding]:
    """Per group attribute: the worst-treated group against the best-treated one."""
    found = []
    for attribute, feature in sorted(s.groups.items()):
        groups = {
            g: (n, positives / n)
            for g, (n, positives) in view.groups(attribute).items()
            if n >= s.min_group_count
        }
        if len(groups) < 2:
            continue
        best = max(sorted(groups), key=lambda g: groups[g][1])
        best_n, best_rate = groups[best]
        if best_rate <= 0:
            continue
        worst: tuple[float, str, float, float] | None = None
        for group, (n, rate) in sorted(groups.items()):
            ratio, gap = rate / best_rate, best_rate - rate
            z = z_score(best_rate, best_n, rate, n)
            fires = ratio < s.min_disparate_impact and gap >= s.min_gap and z >= s.min_z
            if fires and (worst is None or ratio < worst[0]):
                worst = (ratio, group, rate, z)
        if worst is None:
            continue
        ratio, group, rate, z = worst
        before, before_best = window.group(attribute, group), window.group(attribute, best)
        base_rate = before[1] / before[0] if before else None
        base_ratio = None
        if before and before_best and before_best[1] > 0:
            base_ratio = round((before[1] / before[0]) / (before_best[1] / before_best[0]), 4)
        was = f"; it was {pct(base_rate)} in the trailing window" if base_rate is not None else ""
        title = (
            f"Approval rate for {attribute} {group} is {pct(rate)} against {pct(best_rate)} for "
            f"{best} (disparate impact {ratio:.2f}){was}"
        )
        details = {
            "group_attribute": attribute,
            "group": group,
            "rate": round(rate, 4),
            "reference_group": best,
            "reference_rate": round(best_rate, 4),
            "baseline_rate": None if base_rate is None else round(base_rate, 4),
            "gap": round(best_rate - rate, 4),
            "z": round(z, 2),
            "threshold": s.min_disparate_impact,
        }
        found.append(
            Finding("demographic_parity", title, round(ratio, 4), base_ratio, feature, details)
        )
    return found


def business_metric(
    view: BatchView, window: Window, s: BusinessMetric, ready: bool
) -> list[Finding]:
    """The model's declared business metrics against their bounds and the window's mean."""
    found = []
    for metric in s.metrics:
        if metric.model not in (view.model, view.model.removeprefix("model:")):
            continue
        value = view.at_path(metric.path)
        if value is None:
            continue
        mean = window.metric_mean(metric.path) if ready else None
        broken: str | None = None
        if metric.min is not None and value < metric.min:
            broken = f"below its floor {metric.min:g}"
        elif metric.max is not None and value > metric.max:
            broken = f"above its ceiling {metric.max:g}"
        elif mean is not None and mean > 0:
            change = (value - mean) / mean
            if metric.max_drop is not None and -change >= metric.max_drop:
                broken = f"{pct(-change)} below the trailing mean {mean:g}"
            elif metric.max_rise is not None and change >= metric.max_rise:
                broken = f"{pct(change)} above the trailing mean {mean:g}"
        if broken is not None:
            title = f"{metric.name} is {value:g}, {broken}"
            details = {"metric": metric.name, "path": metric.path}
            found.append(Finding("business_metric", title, value, mean, metric.name, details))
    return found


def decision_volatility(view: BatchView, window: Window, s: DecisionVolatility) -> list[Finding]:
    """Inputs seen before (or twice in the batch) that got different decisions."""
    if not view.inputs:
        return []
    mine: dict[str, set[str]] = {}
    for digest, decision in view.inputs:
        mine.setdefault(digest, set()).add(decision)
    counts = Counter(digest for digest, _ in view.inputs)
    repeats = volatile = 0
    for digest, decisions in mine.items():
        earlier = window.inputs.get(digest)
        if earlier is None and counts[digest] < 2:
            continue
        repeats += 1
        volatile += len(decisions | set(earlier or ())) > 1
    if repeats < s.min_repeats or not repeats:
        return []
    rate = round(volatile / repeats, 4)
    again = [d for d in window.inputs.values() if sum(d.values()) > 1]
    base = sum(len(d) > 1 for d in again) / len(again) if again else None
    if rate <= s.max_rate:
        return []
    title = (
        f"{volatile} of {repeats} repeated inputs got a different decision than before "
        f"({pct(rate)})"
    )
    details = {"repeats": repeats, "volatile": volatile}
    return [Finding("decision_volatility", title, rate, base, None, details)]


def policy_violation(view: BatchView, bounds: dict[str, Any]) -> list[Finding]:
    """Features whose batch min or max lies outside the model's ``input_bounds``."""
    found = []
    features = view.features()
    for name, bound in sorted(bounds.items()):
        stats = features.get(name)
        if not isinstance(stats, dict) or not isinstance(bound, dict):
            continue
        low, high = number(stats.get("min")), number(stats.get("max"))
        floor, ceiling = number(bound.get("min")), number(bound.get("max"))
        outside = None
        if floor is not None and low is not None and low < floor:
            outside = (low, floor)
        elif ceiling is not None and high is not None and high > ceiling:
            outside = (high, ceiling)
        if outside is not None:
            title = (
                f"Decisions on {name} {outside[0]:g}, outside the intended use "
                f"({_bounds_text(floor, ceiling)})"
            )
            details = {"bounds": {"min": floor, "max": ceiling}}
            found.append(Finding("policy_violation", title, outside[0], outside[1], name, details))
    return found


def _bounds_text(floor: float | None, ceiling: float | None) -> str:
    if floor is not None and ceiling is not None:
        return f"{floor:g} to {ceiling:g}"
    return f"at least {floor:g}" if floor is not None else f"at most {ceiling:g}"
