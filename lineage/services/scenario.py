"""The reference scenario: the lending story of DESIGN.md section 8, as data.

Its people, datasets, model versions, deployments and synthetic decisions, and the registration
inputs they make, in order (:mod:`lineage.services.scenario_loader` loads them). Hashes are
SHA-256 of a description of each artifact: deterministic, hence the same on every machine.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEMO_ACTOR = "pipeline:lineage_demo"
OPERATOR = "person:credit_ml_lead"  # deploys and rolls back
MODEL = "model:lending_approval"
DEPLOYMENT = "deployment:lending_approval_production"
SNAPSHOT_JAN20 = "snapshot:credit_model_training_2024_01_20"
SNAPSHOT_JAN24 = "snapshot:credit_model_training_2024_01_24"
FEATURES = ["credit_score", "income", "debt_ratio", "age"]


def instant(text: str) -> datetime:
    """An instant of the story, written as naive ISO 8601 text in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def content_hash(label: str) -> str:
    """The demo's stand-in for a real content address."""
    return hashlib.sha256(f"lineage-demo:{label}".encode()).hexdigest()


PEOPLE: list[dict[str, Any]] = [
    {
        "id": "person:head_of_lending",
        "name": "Head of Lending",
        "title": "Model owner",
        "since": instant("2023-06-01T00:00:00"),
    },
    {
        "id": "person:credit_ml_lead",
        "name": "Credit ML Lead",
        "title": "Technical steward",
        "manager": "person:head_of_lending",
        "since": instant("2023-06-01T00:00:00"),
    },
    {
        "id": "person:model_risk_officer",
        "name": "Model Risk Officer",
        "title": "Independent risk approver",
        "since": instant("2023-06-01T00:00:00"),
    },
    {
        "id": "person:oncall_ml_engineer",
        "name": "On-call ML Engineer",
        "manager": "person:credit_ml_lead",
        "since": instant("2023-09-01T00:00:00"),
    },
]
# The loader registers itself first: every other write needs its actor to be a registered agent.
DEMO_PIPELINE: dict[str, Any] = {
    "id": DEMO_ACTOR,
    "name": "Reference scenario loader",
    "since": instant("2023-06-01T00:00:00"),
}
PIPELINES: list[dict[str, Any]] = [
    {
        "id": "pipeline:credit_training",
        "name": "Credit model training (weekly)",
        "owner": "person:credit_ml_lead",
        "since": instant("2023-06-01T00:00:00"),
    },
    {
        "id": "pipeline:lending_inference",
        "name": "Lending decision service",
        "owner": "person:credit_ml_lead",
        "since": instant("2023-06-01T00:00:00"),
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


def registrations() -> Iterator[tuple[str, str, dict[str, Any]]]:
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
                "created_at": instant(created),
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
                "created_at": instant(created),
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
            "since": instant("2023-06-01T00:00:00"),
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
                "started_at": instant(v.started),
                "ended_at": instant(v.ended),
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
                "evaluated_at": instant(v.ended) + timedelta(hours=2),
                "evaluator": "person:credit_ml_lead",
                "notes": v.notes,
            },
        )


# The incident the demographic-parity monitor opens on the first v13 batch (window end 11:30):
# the first incident of the model that day is named after it (incident_signals.incident_stem).
INCIDENT_ID = "incident:lending_approval_2024_01_25"
# The v13 batches carry more decisions than the others (a busy morning): a group of six
# applicants cannot show a fall from 50% to 10% that any honest test would call significant.
V13_BATCH_SIZE = 200
# What the model is meant to decide on (its intended use), for the policy monitor.
INPUT_BOUNDS: dict[str, Any] = {"age": {"min": 18, "max": 75}}
ROLLBACK_AT = "2024-01-25T11:47:00"
FALLBACK_LINKED_AT = "2024-01-06T09:30:00"


def inference_batches() -> Iterator[tuple[str, str, dict[str, Any]]]:
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
                "window_start": instant(start),
                "window_end": instant(end),
                "record_count": len(rows),
                "counts": dict(Counter(r["decision"] for r in rows)),
                "statistics": statistics(rows),
                "records": rows,
                "deployment": DEPLOYMENT,
            },
        )
