"""The lending scenario's governance, as the governance tests use it: IDs, instants, a v14."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lineage.model.records import ModelRecord
from lineage.services.governance.scenario_steps import MODEL_SCOPING
from lineage.services.registry import Registry
from lineage.services.scenario import MODEL, SNAPSHOT_JAN24, content_hash
from lineage.services.write_plan import Registration
from lineage.store import GraphStore

OWNER = "person:head_of_lending"
STEWARD = "person:credit_ml_lead"
RISK = "person:model_risk_officer"
TRAINER = "pipeline:credit_training"
V10, V11, V12, V13 = (f"{MODEL}@v{n}" for n in (10, 11, 12, 13))
V12_RC1 = f"{MODEL}@v12-rc1"
V14 = f"{MODEL}@v14"


def at(text: str) -> datetime:
    """An instant of the scenario, in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def head_seq(store: GraphStore) -> int:
    """The audit chain's length."""
    head = store.audit_head()
    return head.seq if head else 0


class ScopedScenario(Registry):
    """The scenario's registry with the lending model's scoping facts merged into its
    registration, as the scenario loader does once it loads the governance steps."""

    def register_model(
        self, data: ModelRecord | Mapping[str, Any], reason: str = "register model"
    ) -> Registration:
        if isinstance(data, Mapping) and data.get("id") == MODEL:
            data = {**data, **MODEL_SCOPING}
        return super().register_model(data, reason)


def register_v14(
    registry: Registry,
    *,
    auc: float = 0.88,
    actor: str | None = None,
    triggered_by: str = TRAINER,
    artifact_hash: str | None = None,
) -> str:
    """Train and evaluate a v14 on the Jan 24 snapshot (ended Jan 26 02:00, evaluated 04:00)."""
    trainer = Registry(registry.store, registry.records, actor=actor) if actor else registry
    run: dict[str, Any] = {
        "id": "run:lending_approval_v14",
        "model_version": V14,
        "snapshot": SNAPSHOT_JAN24,
        "datasets": [
            {"id": d, "content_hash": content_hash(d)}
            for d in ("dataset:applications@v2", "dataset:credit_bureau@v1")
        ],
        "code_commit": "e5f6a7b8c9d0",
        "records_available": 510_000,
        "records_used": 404_000,
        "triggered_by": triggered_by,
        "reason": "retrain with the 65+ segment restored",
        "started_at": at("2024-01-25T14:00:00"),
        "ended_at": at("2024-01-26T02:00:00"),
    }
    if artifact_hash is not None:
        run["artifact_hash"] = artifact_hash
    trainer.register_training_run(run)
    registry.register_evaluation(
        {
            "id": "evaluation:lending_approval_v14",
            "model_version": V14,
            "metrics": {"auc": auc},
            "evaluated_at": at("2024-01-26T04:00:00"),
            "evaluator": STEWARD,
        }
    )
    return V14


def audit_v14(
    approved: tuple[int, int] = (6_300, 6_250),
    *,
    audit_id: str = "risk:lending_approval_v14_bias_audit",
    audited_at: str = "2024-01-26T06:00:00",
    **extra: Any,
) -> dict[str, Any]:
    """A bias audit of v14 over two age groups of 10,000 decisions each."""
    return {
        "id": audit_id,
        "model_version": V14,
        "group_attribute": "age_band",
        "counts": {
            "18-49": {"decisions": 10_000, "approved": approved[0]},
            "50+": {"decisions": 10_000, "approved": approved[1]},
        },
        "human_override_path": "manual review by a credit officer on request",
        "stress_tests": [{"name": "income_shock", "passed": True}],
        "audited_at": at(audited_at),
        "auditor": RISK,
    } | extra
