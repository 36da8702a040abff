"""The two independent gates a model version must pass before it may be deployed.

- The **performance gate** holds every evaluation of the version known at the instant against
  the model's ``performance_thresholds`` (metric -> minimum). Every evaluation that reports a
  thresholded metric must reach its minimum: a worse evaluation is not outvoted by a better one
  (a wrong one is fixed by a correction, which is audited). A thresholded metric no evaluation
  reports fails, and so does a model without thresholds.
- The **risk gate** reads the most recent bias audit known at the instant (a re-audit
  supersedes an earlier one) and computes, from its per-group decision counts, each group's
  approval rate, the disparate impact ratio (lowest rate / highest rate), which must be at least
  ``min_disparate_impact``, and the largest gap between two groups' rates, which must be below
  ``max_rate_gap``. It also requires a human override path, at least one stress test with
  every one passed, and none of the model's forbidden features among the features of the
  snapshot the version was trained on. Ratios are computed exactly (as fractions), so a ratio
  of exactly 0.80 meets a minimum of 0.80.

A gate's result is a value (:class:`GateResult`) and, once recorded, a ``GateResult`` node
whose ID is derived from the gate's inputs: the same evidence, thresholds and features give the
same ID, so recording it again writes nothing, and new or corrected evidence gives a new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lineage.model.graph import Node
from lineage.services.consistency import when
from lineage.services.governance.evidence import Evidence, evidence_of, read_evidence
from lineage.services.governance.gate_values import (
    PERFORMANCE,
    RISK,
    RULES_VERSION,
    Check,
    GateReport,
    GateResult,
    Verdict,
    result_of,
    with_recorded,
)
from lineage.services.governance.risk_gate import risk_gate
from lineage.store.base import GraphStore

__all__ = [
    "PERFORMANCE",
    "RISK",
    "RULES_VERSION",
    "Check",
    "GateReport",
    "GateResult",
    "Verdict",
    "gates",
    "performance_gate",
    "provenance_gates",
    "report_of",
    "risk_gate",
    "with_recorded",
]


def gates(store: GraphStore, version: str, at: datetime) -> GateReport:
    """Both gates of ``version`` computed from the evidence known at ``at``; writes nothing.

    INVALID / NOT_FOUND (field ``version``) as :func:`read_evidence` says.
    """
    return report_of(read_evidence(store, version, at))


def report_of(evidence: Evidence) -> GateReport:
    """Both gates computed from evidence already read; each says whether it was recorded."""
    report = GateReport(
        model_version=evidence.version,
        at=evidence.at,
        performance=performance_gate(evidence),
        risk=risk_gate(evidence),
        truncated=evidence.truncated,
    )
    return with_recorded(report, {n.id: n for n in evidence.gate_results})


def performance_gate(evidence: Evidence) -> GateResult:
    """The performance gate on the evaluations known at the evidence's instant."""
    version = evidence.version.id
    minimums: dict[str, float] = dict(evidence.model.props.get("performance_thresholds") or {})
    evaluations = evidence.evaluations
    checks: list[Check] = []
    if not minimums:
        checks.append(
            Check(
                "thresholds",
                False,
                f"{evidence.model.id} sets no performance thresholds: there is nothing to pass",
            )
        )
    if not evaluations:
        checks.append(
            Check("evaluated", False, f"no evaluation of {version} by {when(evidence.at)}")
        )
    for metric, minimum in sorted(minimums.items()):
        reported = [
            (e, e.props["metrics"][metric])
            for e in evaluations
            if isinstance(e.props.get("metrics"), dict) and metric in e.props["metrics"]
        ]
        if evaluations and not reported:
            checks.append(
                Check(
                    metric,
                    False,
                    f"no evaluation reports {metric} (minimum {minimum})",
                    threshold=minimum,
                )
            )
        for evaluation, value in reported:
            held = value >= minimum
            checks.append(
                Check(
                    metric,
                    held,
                    f"{metric} {value} {'>=' if held else '<'} {minimum} ({evaluation.id})",
                    value=value,
                    threshold=minimum,
                    subject=evaluation.id,
                )
            )
    numbers = {"metrics": {e.id: e.props.get("metrics", {}) for e in evaluations}}
    used = {e.id: e.content_hash() for e in evaluations}
    return result_of(PERFORMANCE, evidence, checks, numbers, minimums, used)


def provenance_gates(
    version: Node,
    model: Node | None,
    run: Node | None,
    snapshot: Node | None,
    evidence: Iterable[Node],
    at: datetime,
) -> GateReport | None:
    """Both gates from what a provenance question already read (the version's upstream and
    its evidence, corrected as known at ``at``); None when its model was not among them."""
    if model is None:
        return None
    return report_of(evidence_of(version, model, run, snapshot, evidence, at))
