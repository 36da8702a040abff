"""The governance facts of the reference scenario (DESIGN.md section 8), as data.

The lending model is scoped (:data:`MODEL_SCOPING`, merged into its registration) and held to
AUC >= 0.85 and the default risk thresholds. Each version has a bias audit counted per age
band; the candidate v12-rc1 (AUC 0.92) approves 68% of applicants aged 35-49 but 47.6% of
those aged 65+, a disparate impact of 0.70, so its risk gate fails although its performance gate
passes, and the model risk officer blocks it. The retrained v12 (AUC 0.87) approves 63% vs 62%
(disparate impact 0.98) and both gates pass. v10, v11 and v13 pass too (v13 on an audit that
grouped everyone aged 50+ together, which is how the 65+ problem got through). The owner and
the risk approver approve v10, v11, v12 and v13 after their evaluations and before their
deployments. The training runs are triggered by ``pipeline:credit_training``, so the risk
approver is independent of them.

:func:`load_governance` records it all through the services, idempotently: call it after the
scenario's evaluations and before its deployments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from lineage.errors import ConflictError
from lineage.services.governance.assessments import Assessments
from lineage.services.governance.signoff import SignOff
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore

# The scenario's IDs, repeated here so that the scenario module can import this one.
MODEL = "model:lending_approval"
OWNER = "person:head_of_lending"
RISK_APPROVER = "person:model_risk_officer"
AUDITOR = RISK_APPROVER
AGE_BANDS = ("18-34", "35-49", "50-64", "65+")

# Merged into the scenario's register_model input.
MODEL_SCOPING: dict[str, Any] = {
    "intended_use": "Credit approval for consumer loan applicants aged 18-75 with income "
    "above $30K",
    "scope": "US applicants only",
    "assumptions": [
        "Training data skews toward urban applicants",
        "Income is verified before an application is scored",
    ],
    "forbidden_features": ["zip_code", "race", "sex", "marital_status"],
    "automation_level": "autonomous",
    "affected_population": 510_000,
    "reversibility": "permanent",
    "performance_thresholds": {"auc": 0.85},
    "risk_thresholds": {"min_disparate_impact": 0.80, "max_rate_gap": 0.05},
}

# The credit policy's manual rules: what the kill switch routes decisions to.
FALLBACK_RULES_ID = "rules:lending_approval_fallback"
FALLBACK_RULES: list[dict[str, Any]] = [
    {"when": {"income": {"gt": 50_000}, "credit_score": {"gt": 650}}, "decision": "APPROVE"},
    {"when": {"income": {"lt": 50_000}, "credit_score": {"gt": 700}}, "decision": "REVIEW"},
]
FALLBACK_DEFAULT = "DECLINE"

OVERRIDE_PATH = (
    "A declined applicant may ask for a manual review by a credit officer within 30 days; "
    "the officer's decision replaces the model's"
)
STRESS_TESTS = [
    {"name": "income_shock_minus_20pct", "passed": True, "result": "approval rate -3.1 points"},
    {"name": "credit_bureau_outage", "passed": True, "result": "falls back to manual review"},
]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _bands(*approved: int, decisions: int = 10_000) -> dict[str, dict[str, int]]:
    return {
        band: {"decisions": decisions, "approved": k}
        for band, k in zip(AGE_BANDS, approved, strict=True)
    }


# version -> (audited at, group attribute, counts, notes)
AUDITS: dict[str, tuple[str, str, dict[str, dict[str, int]], str]] = {
    "v10": ("2024-01-04T09:00:00", "age_band", _bands(6_000, 5_900, 5_850, 5_820), ""),
    "v11": ("2024-01-12T08:00:00", "age_band", _bands(6_100, 6_000, 5_950, 5_856), ""),
    "v12-rc1": (
        "2024-01-20T16:00:00",
        "age_band",
        _bands(6_000, 6_800, 6_200, 4_760),
        "applicants aged 65+ are approved far less often than those aged 35-49",
    ),
    "v12": ("2024-01-21T06:00:00", "age_band", _bands(6_300, 6_300, 6_250, 6_200), ""),
    "v13": (
        "2024-01-24T23:00:00",
        "age_band",
        {
            "18-49": {"decisions": 20_000, "approved": 12_400},
            "50+": {"decisions": 20_000, "approved": 12_000},
        },
        "audited on two age groups: the 65+ segment is inside 50+, not measured on its own",
    ),
}
# (version, role, decision, at, reason); the gates are recorded 30 minutes after each audit.
SIGN_OFFS: list[tuple[str, str, str, str, str]] = [
    ("v10", "owner", "approve", "2024-01-05T10:00:00", "weekly release: gates passed"),
    ("v10", "risk_approver", "approve", "2024-01-05T15:00:00", "risk gate passed"),
    ("v11", "owner", "approve", "2024-01-12T11:00:00", "weekly release: gates passed"),
    ("v11", "risk_approver", "approve", "2024-01-12T16:00:00", "risk gate passed"),
    (
        "v12-rc1",
        "risk_approver",
        "block",
        "2024-01-20T17:30:00",
        "risk gate FAIL: disparate impact 0.70 below 0.80 (ages 65+ vs 35-49); retrain",
    ),
    ("v12", "owner", "approve", "2024-01-21T10:00:00", "retrained candidate: gates passed"),
    ("v12", "risk_approver", "approve", "2024-01-21T15:00:00", "disparate impact 0.98"),
    ("v13", "owner", "approve", "2024-01-25T07:00:00", "weekly release: gates passed"),
    ("v13", "risk_approver", "approve", "2024-01-25T08:30:00", "risk gate passed"),
]
GATES_AFTER_AUDIT_MINUTES = 30

# (actor, operation, label, input); the actor is None for the loader's own.
Step = tuple[str | None, str, str, dict[str, Any]]


def governance_steps() -> Iterator[Step]:
    """(actor, operation, label, input) in order: per version its audit and gates, then the
    sign-offs."""
    for version, (audited, attribute, counts, notes) in AUDITS.items():
        model_version = f"{MODEL}@{version}"
        audit: dict[str, Any] = {
            "id": f"risk:lending_approval_{version.replace('-', '_')}_bias_audit",
            "model_version": model_version,
            "group_attribute": attribute,
            "counts": counts,
            "human_override_path": OVERRIDE_PATH,
            "stress_tests": STRESS_TESTS,
            "audited_at": _t(audited),
            "auditor": AUDITOR,
        }
        if notes:
            audit["notes"] = notes
        yield None, "register_bias_audit", audit["id"], audit
        at = _t(audited).replace(minute=GATES_AFTER_AUDIT_MINUTES)
        gates = {"version": model_version, "at": at}
        yield None, "evaluate_gates", f"gates of {model_version}", gates
    holders = {"owner": OWNER, "risk_approver": RISK_APPROVER}
    for version, role, decision, at_text, reason in SIGN_OFFS:
        data = {"version": f"{MODEL}@{version}", "role": role, "reason": reason, "at": _t(at_text)}
        yield holders[role], decision, f"{decision} {version} as {role}", data


def run_step(store: GraphStore, records: RecordStore | None, actor: str, step: Step) -> object:
    """Take one governance step (``actor`` registers audits and gates; a sign-off is made by
    its approver). A sign-off that is recorded already and still holds is not made again."""
    signer, operation, _label, data = step
    assessments = Assessments(store, records, actor)
    if operation == "register_bias_audit":
        return assessments.register_bias_audit(data)
    if operation == "evaluate_gates":
        return assessments.evaluate_gates(data["version"], data["at"])
    assert signer is not None
    sign = SignOff(store, records, signer)
    method = sign.approve if operation == "approve" else sign.block
    try:
        return method(data["version"], data["role"], data["reason"], data["at"])
    except ConflictError as exc:
        if "existing" not in exc.details:
            raise
        return exc.details["existing"]


def load_governance(
    store: GraphStore,
    records: RecordStore | None,
    actor: str,
    progress: Callable[[str, object], None] | None = None,
) -> list[object]:
    """Record the scenario's bias audits, gate results and sign-offs (see :func:`run_step`).
    Idempotent: what is recorded already is not recorded again."""
    done: list[object] = []
    for step in governance_steps():
        result = run_step(store, records, actor, step)
        done.append(result)
        if progress is not None:
            progress(step[2], result)
    return done


def steps_size() -> int:
    """How many steps :func:`load_governance` takes (for progress bars)."""
    return sum(1 for _ in governance_steps())
