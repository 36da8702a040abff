"""The retention tests' graph, registered through the services on every backend.

The graph (all registered through the services, in 2023, so "now" can be any later instant):

- ``dataset:applications@v1`` (class standard), ``dataset:bureau@v1`` (regulated),
  ``dataset:clicks@v1`` (no class: the default, regulated);
- ``snapshot:std`` from applications; ``snapshot:mixed`` from applications and bureau;
  ``snapshot:clicks`` from clicks;
- ``model:m@v1`` trained on std (standard), ``model:m@v2`` trained on mixed (regulated),
  ``model:m@v3`` trained on std but binding bureau in its run (regulated through the run),
  ``model:c@v1`` trained on clicks (default class);
- batches made with :meth:`World.batch`, three decisions each unless given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lineage.jobs.runs import SCHEDULER_ACTOR, register_scheduler_agent
from lineage.model.canonical import canonical_json
from lineage.model.times import to_text
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store.base import GraphStore

REPO = Path(__file__).resolve().parents[2]
ACTOR = "pipeline:retention_tests"
JOB_ACTOR = SCHEDULER_ACTOR  # the actor of every job's writes
DAY = timedelta(days=1)
T0 = datetime(2023, 1, 1, tzinfo=UTC)
# 2 years and a half after the batches of early 2023: standard expired, regulated not.
NOW = datetime(2025, 9, 1, tzinfo=UTC)
JOHN = {"applicant_id": "john_doe_12345", "decision": "APPROVED", "confidence": 0.87}


def sha(text: str) -> str:
    """A stand-in content hash."""
    return hashlib.sha256(text.encode()).hexdigest()


def decisions(tag: str, n: int = 3) -> list[dict[str, Any]]:
    """``n`` distinct decisions."""
    return [
        {"applicant_id": f"{tag}_{i}", "decision": "DECLINED", "confidence": 0.5} for i in range(n)
    ]


def line_hash(record: dict[str, Any]) -> str:
    """The SHA-256 of a decision's line in a records file."""
    return hashlib.sha256(canonical_json(record).encode()).hexdigest()


@dataclass
class World:
    """The registered graph and a way to add batches."""

    store: GraphStore
    records: RecordStore
    registry: Registry
    batches: list[str] = field(default_factory=list)

    def batch(
        self,
        name: str,
        version: str = "model:m@v1",
        start: datetime = T0 + 30 * DAY,
        rows: Sequence[dict[str, Any]] | None = None,
        deployment: str | None = None,
    ) -> str:
        """Register a one-day batch of ``version`` (with its trained snapshot)."""
        snapshot = {
            "model:m@v1": "snapshot:std",
            "model:m@v2": "snapshot:mixed",
            "model:m@v3": "snapshot:std",
            "model:c@v1": "snapshot:clicks",
        }[version]
        rows = list(rows) if rows is not None else decisions(name)
        data: dict[str, Any] = {
            "id": f"batch:{name}",
            "model_version": version,
            "snapshot": snapshot,
            "window_start": to_text(start),
            "window_end": to_text(start + DAY),
            "record_count": len(rows),
            "records": rows,
        }
        if deployment:
            data["deployment"] = deployment
        self.registry.register_inference_batch(data)
        self.batches.append(f"batch:{name}")
        return f"batch:{name}"


def build_world(store: GraphStore, records: RecordStore) -> World:
    """Register the graph described in the module docstring."""
    registry = Registry(store, records, actor=ACTOR)
    registry.register_pipeline({"id": ACTOR, "name": "Retention tests"})
    for person in ("owner", "steward", "approver"):
        registry.register_person({"id": f"person:{person}", "name": person.title()})
    datasets = {
        "dataset:applications@v1": {"retention_class": "standard", "sensitivity": "personal"},
        "dataset:bureau@v1": {"retention_class": "regulated", "consent_basis": "contract"},
        "dataset:clicks@v1": {},
    }
    for dv, metadata in datasets.items():
        registry.register_dataset_version(
            {"id": dv, "content_hash": sha(dv), "record_count": 10, "created_at": to_text(T0)}
            | metadata
        )
    snapshots = {
        "snapshot:std": ["dataset:applications@v1"],
        "snapshot:mixed": ["dataset:applications@v1", "dataset:bureau@v1"],
        "snapshot:clicks": ["dataset:clicks@v1"],
    }
    for snapshot, sources in snapshots.items():
        registry.register_feature_snapshot(
            {
                "id": snapshot,
                "features": ["income"],
                "sources": sources,
                "content_hash": sha(snapshot),
                "computed_by": "feast v3.1",
                "created_at": to_text(T0 + DAY),
            }
        )
    for model in ("model:m", "model:c"):
        registry.register_model(
            {
                "id": model,
                "owner": "person:owner",
                "technical_steward": "person:steward",
                "risk_approver": "person:approver",
                "since": to_text(T0),
            }
        )
    runs = [
        ("model:m@v1", "snapshot:std", ["dataset:applications@v1"]),
        ("model:m@v2", "snapshot:mixed", ["dataset:applications@v1", "dataset:bureau@v1"]),
        ("model:m@v3", "snapshot:std", ["dataset:applications@v1", "dataset:bureau@v1"]),
        ("model:c@v1", "snapshot:clicks", ["dataset:clicks@v1"]),
    ]
    for version, snapshot, bound in runs:
        registry.register_training_run(
            {
                "id": "run:" + version.split(":", 1)[1].replace("@", "_"),
                "model_version": version,
                "snapshot": snapshot,
                "datasets": [{"id": d, "content_hash": sha(d)} for d in bound],
                "code_commit": "abc123def456",
                "records_available": 10,
                "records_used": 8,
                "triggered_by": ACTOR,
                "reason": "test",
                "started_at": to_text(T0 + 2 * DAY),
                "ended_at": to_text(T0 + 3 * DAY),
            }
        )
    return World(store, records, registry)


def register_job_actor(world: World) -> None:
    """The retention job's agent, as the job registers it on its first run."""
    register_scheduler_agent(world.store, world.records)
