"""The reference scenario: the lending story of DESIGN.md section 8.

``load_scenario`` registers it through the ordinary registration services, so it is idempotent
(a second load changes nothing) and exercises exactly the paths pipelines use. Hashes are
SHA-256 of a description of each artifact: deterministic, hence the same on every machine.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lineage.services.batch_hooks import BatchHook, after_batch
from lineage.services.governance.deployment import Deployments
from lineage.services.governance.scenario_steps import (
    FALLBACK_DEFAULT,
    FALLBACK_RULES,
    FALLBACK_RULES_ID,
    MODEL_SCOPING,
    governance_steps,
    run_step,
)
from lineage.services.governance.scenario_steps import Step as GovernanceStep
from lineage.services.registry import Registration, Registry

DEMO_ACTOR = "pipeline:lineage_demo"
OPERATOR = "person:credit_ml_lead"  # deploys and rolls back
MODEL = "model:lending_approval"
DEPLOYMENT = "deployment:lending_approval_production"
SNAPSHOT_JAN20 = "snapshot:credit_model_training_2024_01_20"
SNAPSHOT_JAN24 = "snapshot:credit_model_training_2024_01_24"
FEATURES = ["credit_score", "income", "debt_ratio", "age"]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def content_hash(label: str) -> str:
    """The demo's stand-in for a real content address."""
    return hashlib.sha256(f"lineage-demo:{label}".encode()).hexdigest()


PEOPLE: list[dict[str, Any]] = [
    {
        "id": "person:head_of_lending",
        "name": "Head of Lending",
        "title": "Model owner",
        "since": _t("2023-06-01T00:00:00"),
    },
    {
        "id": "person:credit_ml_lead",
        "name": "Credit ML Lead",
        "title": "Technical steward",
        "manager": "person:head_of_lending",
        "since": _t("2023-06-01T00:00:00"),
    },
    {
        "id": "person:model_risk_officer",
        "name": "Model Risk Officer",
        "title": "Independent risk approver",
        "since": _t("2023-06-01T00:00:00"),
    },
    {
        "id": "person:oncall_ml_engineer",
        "name": "On-call ML Engineer",
        "manager": "person:credit_ml_lead",
        "since": _t("2023-09-01T00:00:00"),
    },
]
# The loader registers itself first: every other write needs its actor to be a registered agent.
DEMO_PIPELINE: dict[str, Any] = {
    "id": DEMO_ACTOR,
    "name": "Reference scenario loader",
    "since": _t("2023-06-01T00:00:00"),
}
PIPELINES: list[dict[str, Any]] = [
    {
        "id": "pipeline:credit_training",
        "name": "Credit model training (weekly)",
        "owner": "person:credit_ml_lead",
        "since": _t("2023-06-01T00:00:00"),
    },
    {
        "id": "pipeline:lending_inference",
        "name": "Lending decision service",
        "owner": "person:credit_ml_lead",
        "since": _t("2023-06-01T00:00:00"),
    },
]
DATASETS = [  # id, created, records
    ("dataset:applications@v0", "2024-01-02T06:00:00", 490_000),
    ("dataset:credit_bureau@v0", "2024-01-02T06:00:00", 2_000_000),
    ("dataset:applications@v1", "2024-01-10T06:00:00", 500_000),
    ("dataset:credit_bureau@v1", "2024-01-10T06:00:00", 2_100_000),
    ("dataset:applications@v2", "2024-01-15T06:00:00", 510_000),
]
SNAPSHOTS = [  # id, sources, created
    (
        "snapshot:credit_model_training_2024_01_03",
        ["dataset:applications@v0", "dataset:credit_bureau@v0"],
        "2024-01-03T08:00:00",
    ),
    (
        "snapshot:credit_model_training_2024_01_11",
        ["dataset:applications@v1", "dataset:credit_bureau@v1"],
        "2024-01-11T08:00:00",
    ),
    (
        SNAPSHOT_JAN20,
        ["dataset:applications@v2", "dataset:credit_bureau@v1"],
        "2024-01-20T08:00:00",
    ),
    (
        SNAPSHOT_JAN24,
        ["dataset:applications@v2", "dataset:credit_bureau@v1"],
        "2024-01-24T08:00:00",
    ),
]


@dataclass(frozen=True, slots=True)
class Version:
    """One trained version of the demo model."""

    version: str
    snapshot: str
    commit: str
    started: str
    ended: str
    available: int
    used: int
    auc: float
    di: float
    reason: str
    notes: str


VERSIONS = [
    Version(
        "v10",
        "snapshot:credit_model_training_2024_01_03",
        "0a1b2c3d4e5f",
        "2024-01-03T12:00:00",
        "2024-01-04T01:00:00",
        490_000,
        392_000,
        0.85,
        0.97,
        "weekly retrain",
        "passed gates",
    ),
    Version(
        "v11",
        "snapshot:credit_model_training_2024_01_11",
        "1b2c3d4e5f60",
        "2024-01-11T12:00:00",
        "2024-01-12T01:00:00",
        500_000,
        400_000,
        0.86,
        0.96,
        "weekly retrain",
        "passed gates",
    ),
    Version(
        "v12-rc1",
        SNAPSHOT_JAN20,
        "9f8e7d6c5b4a",
        "2024-01-20T10:00:00",
        "2024-01-20T13:00:00",
        510_000,
        408_000,
        0.92,
        0.70,
        "candidate on applications v2",
        "blocked by the independent risk gate: disparate impact 0.70 below 0.80",
    ),
    Version(
        "v12",
        SNAPSHOT_JAN20,
        "abc123def456",
        "2024-01-20T14:00:00",
        "2024-01-21T02:00:00",
        510_000,
        400_000,
        0.87,
        0.98,
        "retrain after the candidate was blocked for disparate impact",
        "approved: performance gate and risk gate passed",
    ),
    Version(
        "v13",
        SNAPSHOT_JAN24,
        "d4e5f6a7b8c9",
        "2024-01-24T10:00:00",
        "2024-01-24T20:00:00",
        510_000,
        402_000,
        0.88,
        0.95,
        "weekly retrain",
        "passed gates on the aggregate; the 65+ segment was missing from one training batch",
    ),
]
DEPLOYS = [  # version, at, reason
    ("v10", "2024-01-06T09:00:00", "weekly release"),
    ("v11", "2024-01-13T09:00:00", "weekly release"),
    ("v12", "2024-01-22T09:00:00", "release of the retrained, risk-approved model"),
    ("v13", "2024-01-25T10:00:00", "weekly release"),
    ("v12", "2024-01-25T11:47:00", "rollback: approval rate for ages 65+ fell from 50% to 10%"),
]
# Inference windows: start, end, version, snapshot
BATCHES = [
    ("2024-01-22T09:00:00", "2024-01-23T00:00:00", "v12", SNAPSHOT_JAN20),
    ("2024-01-23T00:00:00", "2024-01-24T00:00:00", "v12", SNAPSHOT_JAN20),
    ("2024-01-24T00:00:00", "2024-01-25T00:00:00", "v12", SNAPSHOT_JAN20),
    ("2024-01-25T00:00:00", "2024-01-25T10:00:00", "v12", SNAPSHOT_JAN20),
    ("2024-01-25T10:00:00", "2024-01-25T11:30:00", "v13", SNAPSHOT_JAN24),
    ("2024-01-25T11:30:00", "2024-01-25T11:47:00", "v13", SNAPSHOT_JAN24),
    ("2024-01-25T11:47:00", "2024-01-26T00:00:00", "v12", SNAPSHOT_JAN20),
]
JOHN_DOE = {
    "applicant_id": "john_doe_12345",
    "decision": "APPROVED",
    "confidence": 0.87,
    "age_band": "35-49",
    "credit_score": 742,
    "income": 86_000,
    "debt_ratio": 0.21,
    "age": 41,
    "override": False,
    "latency_ms": 38,
}


def batch_id(start: str) -> str:
    """ID of the demo batch whose window starts at ``start``."""
    return (
        "batch:lending_approval_" + start.replace("-", "_").replace("T", "_").replace(":", "")[:15]
    )


def decisions(start: str, version: str, size: int = 24) -> list[dict[str, Any]]:
    """Deterministic synthetic decisions; v13 approves few applicants aged 65+."""
    rng = random.Random(f"{start}/{version}")
    rows = []
    for i in range(size):
        band = ["18-34", "35-49", "50-64", "65+"][i % 4]
        age = {"18-34": 27, "35-49": 42, "50-64": 57, "65+": 71}[band] + rng.randint(-3, 3)
        approve_rate = 0.1 if (version == "v13" and band == "65+") else 0.5
        approved = rng.random() < approve_rate
        rows.append(
            {
                "applicant_id": f"applicant_{rng.randint(10_000, 99_999)}",
                "decision": "APPROVED" if approved else "DECLINED",
                "confidence": round(rng.uniform(0.55, 0.97), 2),
                "age_band": band,
                "credit_score": rng.randint(520, 820),
                "income": rng.randint(18, 160) * 1000,
                "debt_ratio": round(rng.uniform(0.05, 0.65), 2),
                "age": age,
                "override": rng.random() < 0.03,
                "latency_ms": rng.randint(12, 95),
            }
        )
    return rows


def statistics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary an InferenceBatch carries: null rates, ranges, rates by group, latency."""
    features: dict[str, Any] = {}
    for name in FEATURES:
        values = [r.get(name) for r in rows]
        present = [v for v in values if v is not None]
        features[name] = {
            "null_rate": round(1 - len(present) / len(rows), 4),
            "min": min(present),
            "max": max(present),
        }
    groups: dict[str, Any] = {}
    for band in sorted({r["age_band"] for r in rows}):
        members = [r for r in rows if r["age_band"] == band]
        approved = sum(r["decision"] == "APPROVED" for r in members)
        groups[band] = {"count": len(members), "approval_rate": round(approved / len(members), 4)}
    latencies = sorted(r["latency_ms"] for r in rows)
    return {
        "features": features,
        "predictions": dict(Counter(r["decision"] for r in rows)),
        "approval_rate_by_age_band": groups,
        "overrides": sum(bool(r["override"]) for r in rows),
        "latency_ms": {
            "p50": latencies[len(latencies) // 2],
            "p95": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        },
    }


def _registrations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(operation, label, input) of the registrations, in order, up to the evaluations."""
    yield "register_pipeline", DEMO_ACTOR, DEMO_PIPELINE
    for person in PEOPLE:
        yield "register_person", person["id"], person
    for pipeline in PIPELINES:
        yield "register_pipeline", pipeline["id"], pipeline
    for ds_id, created, count in DATASETS:
        yield (
            "register_dataset_version",
            ds_id,
            {
                "id": ds_id,
                "content_hash": content_hash(ds_id),
                "record_count": count,
                "created_at": _t(created),
                "uri": f"s3://lending-data/{ds_id.split(':')[1]}/",
            },
        )
    for snap_id, sources, created in SNAPSHOTS:
        yield (
            "register_feature_snapshot",
            snap_id,
            {
                "id": snap_id,
                "features": FEATURES,
                "sources": sources,
                "content_hash": content_hash(snap_id),
                "computed_by": "feast v3.1",
                "created_at": _t(created),
            },
        )
    yield (
        "register_model",
        MODEL,
        {
            "id": MODEL,
            "description": "Consumer lending approval (credit risk)",
            "owner": "person:head_of_lending",
            "technical_steward": "person:credit_ml_lead",
            "risk_approver": "person:model_risk_officer",
            "since": _t("2023-06-01T00:00:00"),
        },
    )
    snapshot_sources = {snap[0]: snap[1] for snap in SNAPSHOTS}
    for v in VERSIONS:
        run = f"run:lending_approval_{v.version.replace('-', '_')}"
        yield (
            "register_training_run",
            run,
            {
                "id": run,
                "model_version": f"{MODEL}@{v.version}",
                "snapshot": v.snapshot,
                "datasets": [
                    {"id": d, "content_hash": content_hash(d)} for d in snapshot_sources[v.snapshot]
                ],
                "code_commit": v.commit,
                "parameters": {
                    "algorithm": "gradient_boosting",
                    "max_depth": 6,
                    "learning_rate": 0.05,
                },
                "split": {"train": 0.8, "test": 0.2},
                "seed": 42,
                "records_available": v.available,
                "records_used": v.used,
                "triggered_by": "pipeline:credit_training",
                "reason": v.reason,
                "started_at": _t(v.started),
                "ended_at": _t(v.ended),
            },
        )
        evaluation = f"evaluation:lending_approval_{v.version.replace('-', '_')}"
        yield (
            "register_evaluation",
            evaluation,
            {
                "id": evaluation,
                "model_version": f"{MODEL}@{v.version}",
                "metrics": {"auc": v.auc, "disparate_impact": v.di},
                "evaluated_at": _t(v.ended) + timedelta(hours=2),
                "evaluator": "person:credit_ml_lead",
                "notes": v.notes,
            },
        )


# The incident the demographic-parity monitor opens on the first v13 batch (window end 11:30):
# the first incident of the model that day is named after it (lineage.services.incidents).
INCIDENT_ID = "incident:lending_approval_2024_01_25"
# The v13 batches carry more decisions than the others (a busy morning): a group of six
# applicants cannot show a fall from 50% to 10% that any honest test would call significant.
V13_BATCH_SIZE = 200
# What the model is meant to decide on (its intended use), for the policy monitor.
INPUT_BOUNDS: dict[str, Any] = {"age": {"min": 18, "max": 75}}
ROLLBACK_AT = "2024-01-25T11:47:00"
FALLBACK_LINKED_AT = "2024-01-06T09:30:00"


def _batches() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(operation, label, input) of the inference batches."""
    for start, end, version, snapshot in BATCHES:
        rows = decisions(start, version, V13_BATCH_SIZE if version == "v13" else 24)
        if start == "2024-01-25T00:00:00":
            rows[0] = JOHN_DOE
        yield (
            "register_inference_batch",
            batch_id(start),
            {
                "id": batch_id(start),
                "model_version": f"{MODEL}@{version}",
                "snapshot": snapshot,
                "window_start": _t(start),
                "window_end": _t(end),
                "record_count": len(rows),
                "counts": dict(Counter(r["decision"] for r in rows)),
                "statistics": statistics(rows),
                "records": rows,
                "deployment": DEPLOYMENT,
            },
        )


Action = Callable[[Registry], object]


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step of the scenario did: ``created`` is False when it was already there."""

    label: str
    created: bool
    result: object


def _register(operation: str, data: dict[str, Any], governed: bool) -> Action:
    if operation == "register_model" and governed:
        data = data | MODEL_SCOPING | {"input_bounds": INPUT_BOUNDS}
    return lambda registry: getattr(registry, operation)(data)


def _batch(data: dict[str, Any], monitors: BatchHook) -> Action:
    """Register a batch, then run the monitors on it as of its window's end: the detection
    instant of this historical data."""

    def register(registry: Registry) -> object:
        done: Registration = registry.register_inference_batch(data)
        after_batch([monitors], registry.store, registry.records, done, now=data["window_end"])
        return done

    return register


def _deployments(registry: Registry) -> Deployments:
    return Deployments(registry.store, registry.records, OPERATOR)


def _deploy(version: str, at: str, reason: str) -> Action:
    model_version = f"{MODEL}@{version}"
    return lambda r: _deployments(r).deploy(model_version, DEPLOYMENT, reason, at=_t(at))


def _rollback(version: str, at: str, reason: str) -> Action:
    model_version = f"{MODEL}@{version}"
    return lambda r: _deployments(r).rollback(
        DEPLOYMENT, reason, to_version=model_version, incident=INCIDENT_ID, at=_t(at)
    )


def _fallback_rules(registry: Registry) -> object:
    return _deployments(registry).register_fallback_rules(
        FALLBACK_RULES_ID,
        MODEL,
        FALLBACK_RULES,
        FALLBACK_DEFAULT,
        description="The credit policy's manual rules, for the kill switch",
        created_at=_t("2024-01-02T00:00:00"),
    )


def _link_rules(registry: Registry) -> object:
    return _deployments(registry).set_fallback_rules(
        DEPLOYMENT, FALLBACK_RULES_ID, "the credit policy's manual rules", at=_t(FALLBACK_LINKED_AT)
    )


def _governance(step: GovernanceStep) -> Action:
    return lambda r: run_step(r.store, r.records, r.actor, step)


def _steps(governed: bool, monitors: BatchHook) -> Iterator[tuple[str, Action]]:
    """(label, action) in order. Governed: the model is scoped, its versions audited, gated and
    signed off, then deployed through the gates and rolled back with the incident linked.
    Otherwise the story as bare history: an unscoped model, deployments backfilled.

    The batches up to the rollback are registered before it, each judged by the monitors as it
    lands, so the incident the rollback answers is the one the monitors opened."""
    for operation, label, data in _registrations():
        yield label, _register(operation, data, governed)
    if governed:
        yield FALLBACK_RULES_ID, _fallback_rules
        for step in governance_steps():
            yield step[2], _governance(step)
    batches = list(_batches())
    for version, at, reason in DEPLOYS:
        if at.startswith(ROLLBACK_AT):
            for _operation, label, data in batches:
                if data["window_end"] <= _t(ROLLBACK_AT):
                    yield label, _batch(data, monitors)
        if not governed:
            record = {
                "deployment": DEPLOYMENT,
                "model_version": f"{MODEL}@{version}",
                "at": _t(at),
                "reason": reason,
            }
            yield f"{version}@{at}", _register("backfill_deploy", record, governed)
        elif at.startswith(ROLLBACK_AT):
            yield f"rollback to {version}@{at}", _rollback(version, at, reason)
        else:
            yield f"{version}@{at}", _deploy(version, at, reason)
        if governed and at == DEPLOYS[0][1]:
            yield "fallback rules linked", _link_rules
    for _operation, label, data in batches:
        if data["window_end"] > _t(ROLLBACK_AT):
            yield label, _batch(data, monitors)


def _no_monitors(_store: object, _records: object, _batch: object, _now: object) -> None:
    return None


def _default_monitors() -> BatchHook:
    # Imported here: the monitors are a job over the services, and the story is told by the
    # services; only loading it with the monitors running ties the two together.
    from lineage.jobs.monitors import hook_from

    return hook_from()


def scenario_size(governed: bool = True) -> int:
    """How many steps the scenario takes (for progress bars)."""
    return sum(1 for _ in _steps(governed, _no_monitors))


def load_scenario(
    registry: Registry,
    progress: Callable[[str, StepResult], None] | None = None,
    *,
    governed: bool = True,
    monitors: BatchHook | None = None,
) -> list[StepResult]:
    """Load the whole story as ``registry``'s actor (deployments as the operator, sign-offs as
    their approvers); idempotent: a second load changes nothing.

    ``governed=False`` loads the history without governance (an unscoped model, deployments
    backfilled), for tests of what governance adds. ``monitors`` judges each batch as it is
    registered (default: the monitors of ``jobs/monitors.toml``); the governed rollback needs
    the incident they open on v13's first batch.
    """
    hook = monitors if monitors is not None else _default_monitors()
    done = []
    for label, action in _steps(governed, hook):
        result = action(registry)
        step = StepResult(label, bool(getattr(result, "created", False)), result)
        done.append(step)
        if progress is not None:
            progress(label, step)
    return done
