"""The independent risk gate, computed from a recorded bias audit (see
:mod:`lineage.services.governance.gates` for the rule)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from lineage.model.graph import Node
from lineage.services.consistency import when
from lineage.services.governance import policy
from lineage.services.governance.evidence import Evidence
from lineage.services.governance.gate_values import RISK, Check, GateResult, result_of


def risk_gate(evidence: Evidence) -> GateResult:
    """The risk gate on the latest bias audit known at the evidence's instant."""
    thresholds = policy.risk_thresholds(evidence.model.props)
    audit = evidence.latest_audit
    checks: list[Check] = []
    numbers: dict[str, Any] = {}
    if audit is None:
        checks.append(
            Check(
                "bias_audit",
                False,
                f"no bias audit of {evidence.version.id} by {when(evidence.at)}",
            )
        )
    elif not _counted(audit.props.get("counts")):
        # Only an audit written some other way (a bulk load) can lack the counts it validates.
        checks.append(
            Check(
                "bias_audit",
                False,
                f"{audit.id} does not record decisions and approvals for two or more groups",
                subject=audit.id,
            )
        )
    else:
        checks.append(Check("bias_audit", True, f"bias audit {audit.id}", subject=audit.id))
        rate_checks, numbers = _rate_checks(audit, thresholds)
        checks += rate_checks
        checks += _audit_checks(audit)
    features_check, features = _features_check(evidence)
    checks.append(features_check)
    numbers |= features
    used = {audit.id: audit.content_hash()} if audit is not None else {}
    return result_of(RISK, evidence, checks, numbers, thresholds, used)


def _counted(counts: object) -> bool:
    """Whether ``counts`` is what a bias audit records: per group, decisions (at least one)
    and approvals (at most the decisions), for two groups or more."""
    if not isinstance(counts, dict) or len(counts) < 2:
        return False
    for counted in counts.values():
        decisions = counted.get("decisions") if isinstance(counted, dict) else None
        approved = counted.get("approved") if isinstance(counted, dict) else None
        if not isinstance(decisions, int) or not isinstance(approved, int):
            return False
        if not 0 <= approved <= decisions or decisions < 1:
            return False
    return True


def _rate_checks(audit: Node, thresholds: dict[str, float]) -> tuple[list[Check], dict[str, Any]]:
    """Disparate impact and largest gap, computed exactly from the audit's counts."""
    counts: dict[str, dict[str, int]] = audit.props.get("counts") or {}
    rates = {g: Fraction(c["approved"], c["decisions"]) for g, c in sorted(counts.items())}
    high = max(rates, key=lambda g: (rates[g], g))
    low = min(rates, key=lambda g: (rates[g], g))
    # Nobody approved in any group treats every group alike.
    ratio = rates[low] / rates[high] if rates[high] else Fraction(1)
    gap = rates[high] - rates[low]
    minimum = Fraction(repr(thresholds["min_disparate_impact"]))
    widest = Fraction(repr(thresholds["max_rate_gap"]))
    attribute = audit.props.get("group_attribute")
    between = f"{attribute} {low} {_pct(rates[low])} vs {high} {_pct(rates[high])}"
    di_held = ratio >= minimum
    gap_held = gap < widest
    checks = [
        Check(
            "disparate_impact",
            di_held,
            f"disparate impact {float(ratio):.2f} {'>=' if di_held else '<'} "
            f"{float(minimum):.2f} ({between})",
            value=float(ratio),
            threshold=float(minimum),
            subject=audit.id,
        ),
        Check(
            "rate_gap",
            gap_held,
            f"largest gap between groups {_points(gap)} {'<' if gap_held else '>='} "
            f"{_points(widest)} ({between})",
            value=float(gap),
            threshold=float(widest),
            subject=audit.id,
        ),
    ]
    numbers = {
        "group_attribute": attribute,
        "counts": counts,
        "rates": {g: float(r) for g, r in rates.items()},
        "highest_group": high,
        "lowest_group": low,
        "disparate_impact": float(ratio),
        "rate_gap": float(gap),
    }
    return checks, numbers


def _audit_checks(audit: Node) -> list[Check]:
    """A human override path, and stress tests recorded and passed."""
    override = audit.props.get("human_override_path")
    tests: list[dict[str, Any]] = audit.props.get("stress_tests") or []
    failed = [str(t.get("name")) for t in tests if t.get("passed") is not True]
    if not tests:
        stress = Check("stress_tests", False, "no stress test recorded", subject=audit.id)
    elif failed:
        stress = Check(
            "stress_tests",
            False,
            f"{len(failed)} of {len(tests)} stress tests failed: {', '.join(failed)}",
            subject=audit.id,
        )
    else:
        stress = Check("stress_tests", True, f"{len(tests)} stress tests passed", subject=audit.id)
    return [
        Check(
            "human_override_path",
            bool(override),
            f"human override path: {override}" if override else "no human override path defined",
            subject=audit.id,
        ),
        stress,
    ]


def _features_check(evidence: Evidence) -> tuple[Check, dict[str, Any]]:
    """None of the model's forbidden features among the trained snapshot's features."""
    declared = evidence.model.props.get("forbidden_features") or []
    forbidden = sorted({_feature_name(f) for f in declared})
    snapshot = evidence.snapshot
    if snapshot is None:
        missing = f"the training snapshot of {evidence.version.id} is not registered"
        return Check("forbidden_features", False, missing), {"forbidden_features": forbidden}
    features = sorted(_feature_name(f) for f in snapshot.props.get("features") or [])
    used = sorted(set(forbidden) & set(features))
    if used:
        detail = f"{snapshot.id} holds forbidden features: {', '.join(used)}"
    elif forbidden:
        detail = f"none of {', '.join(forbidden)} is among the features of {snapshot.id}"
    else:
        detail = f"{evidence.model.id} forbids no feature"
    numbers = {
        "snapshot": snapshot.id,
        "snapshot_hash": snapshot.props.get("content_hash"),
        "features": features,
        "forbidden_features": forbidden,
    }
    return Check("forbidden_features", not used, detail, subject=snapshot.id), numbers


def _feature_name(feature: object) -> str:
    return str(feature).removeprefix("feature:")


def _pct(rate: Fraction) -> str:
    return f"{float(rate) * 100:.1f}%"


def _points(gap: Fraction) -> str:
    return f"{float(gap) * 100:.1f} points"
