"""Contradictory provenance is refused at the door, naming the field and the registered fact.

Registered provenance is immutable, so each of these would be permanent once accepted. Every
refusal must leave the store as it was: no node, no edge, no audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from lineage.errors import ConflictError, InvalidError, LineageError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.services.bulk import load
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import (
    DEMO_ACTOR,
    DEPLOYMENT,
    MODEL,
    SNAPSHOT_JAN20,
    SNAPSHOT_JAN24,
    content_hash,
)
from lineage.services.scenario_loader import load_scenario
from lineage.store import GraphStore

V10, V12, V13 = f"{MODEL}@v10", f"{MODEL}@v12", f"{MODEL}@v13"
SNAPSHOT_JAN03 = "snapshot:credit_model_training_2024_01_03"
NEW_BATCH = "batch:lending_approval_extra"
ROW = {"applicant_id": "applicant_20001", "decision": "APPROVED", "confidence": 0.8}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def batch(**changes: Any) -> dict[str, Any]:
    """A new batch by v12 with its trained snapshot, on the production deployment."""
    return {
        "id": NEW_BATCH,
        "model_version": V12,
        "snapshot": SNAPSHOT_JAN20,
        "deployment": DEPLOYMENT,
        "window_start": at("2024-01-26T00:00:00"),
        "window_end": at("2024-01-26T01:00:00"),
        "record_count": 1,
        "records": [ROW],
        **changes,
    }


def head_seq(store: GraphStore) -> int:
    head = store.audit_head()
    return head.seq if head else 0


def refused(
    store: GraphStore, error: type[LineageError], write: Callable[[], object], *absent: str
) -> LineageError:
    """The error ``write`` raised; asserts it wrote no audit event and none of ``absent``."""
    before = head_seq(store)
    with pytest.raises(error) as info:
        write()
    assert head_seq(store) == before
    assert store.get_nodes(list(absent)) == {}
    return info.value


def test_the_reference_scenario_passes_every_rule_and_reloads_as_a_noop(
    scenario_store: GraphStore, records: RecordStore
) -> None:
    again = load_scenario(Registry(scenario_store, records, actor=DEMO_ACTOR))
    assert not any(r.created for r in again)


# -- 1. a batch and the deployment it is attributed to ------------------------------------------


def test_batch_attributed_to_a_deployment_serving_another_version_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = batch(
        model_version=V10,
        snapshot=SNAPSHOT_JAN03,
        window_start=at("2024-01-23T00:00:00"),
        window_end=at("2024-01-24T00:00:00"),
    )
    error = refused(
        scenario_store, ConflictError, lambda: registry.register_inference_batch(rec), NEW_BATCH
    )
    assert error.field == "deployment"
    assert error.message.startswith(
        f"{DEPLOYMENT} served {V12} from 2024-01-22T09:00:00Z to 2024-01-25T10:00:00Z, not {V10}"
    )


def test_batch_window_overlapping_a_deployment_switch_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = batch(window_start=at("2024-01-25T09:00:00"), window_end=at("2024-01-25T10:30:00"))
    error = refused(
        scenario_store, ConflictError, lambda: registry.register_inference_batch(rec), NEW_BATCH
    )
    assert error.field == "deployment"
    assert f"served {V13} from 2024-01-25T10:00:00Z to 2024-01-25T11:47:00Z, not {V12}" in (
        error.message
    )
    assert "2024-01-25T09:00:00Z to 2024-01-25T10:30:00Z" in error.message  # the window


def test_batch_of_another_model_attributed_to_the_deployment_is_refused(
    registry: Registry, scenario_store: GraphStore, records: RecordStore
) -> None:
    trainer = Registry(scenario_store, records, actor="pipeline:credit_training")
    trainer.register_model(
        {
            "id": "model:fraud_screening",
            "owner": "person:head_of_lending",
            "technical_steward": "person:credit_ml_lead",
            "risk_approver": "person:model_risk_officer",
            "since": at("2024-01-01T00:00:00"),
        }
    )
    sources = ["dataset:applications@v2", "dataset:credit_bureau@v1"]
    trainer.register_training_run(
        {
            "id": "run:fraud_screening_v1",
            "model_version": "model:fraud_screening@v1",
            "snapshot": SNAPSHOT_JAN20,
            "datasets": [{"id": d, "content_hash": content_hash(d)} for d in sources],
            "code_commit": "feedbeef1234",
            "records_available": 510_000,
            "records_used": 400_000,
            "triggered_by": "pipeline:credit_training",
            "reason": "first fraud model",
            "started_at": at("2024-01-20T10:00:00"),
            "ended_at": at("2024-01-20T12:00:00"),
        }
    )
    rec = batch(model_version="model:fraud_screening@v1")
    error = refused(
        scenario_store, ConflictError, lambda: registry.register_inference_batch(rec), NEW_BATCH
    )
    assert error.field == "deployment"
    assert f"{DEPLOYMENT} served {V12} from 2024-01-25T11:47:00Z on, not " in error.message
    assert "model:fraud_screening@v1" in error.message


def test_batch_window_covered_by_adjacent_serving_windows_of_its_version_is_accepted(
    registry: Registry, scenario_store: GraphStore
) -> None:
    shadow = "deployment:lending_approval_shadow"
    switch = at("2024-01-23T00:00:00")
    load(
        scenario_store,
        [
            Node(shadow, NodeKind.DEPLOYMENT, at("2024-01-22T09:00:00"), {"model": MODEL}),
            Edge(shadow, EdgeKind.SERVED, V12, {}, at("2024-01-22T09:00:00"), switch),
            Edge(shadow, EdgeKind.SERVED, V12, {"weight": 1.0}, switch),
        ],
        actor=DEMO_ACTOR,
        reason="a routing change that kept the version",
    )
    rec = batch(
        deployment=shadow,
        window_start=at("2024-01-22T12:00:00"),
        window_end=at("2024-01-23T12:00:00"),
    )
    assert registry.register_inference_batch(rec).created


def test_batch_window_across_a_gap_in_serving_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    canary = "deployment:lending_approval_canary"
    load(
        scenario_store,
        [
            Node(canary, NodeKind.DEPLOYMENT, at("2024-01-22T09:00:00"), {"model": MODEL}),
            Edge(canary, EdgeKind.SERVED, V12, {}, at("2024-01-22T09:00:00"), at("2024-01-23")),
            Edge(canary, EdgeKind.SERVED, V12, {}, at("2024-01-23T06:00:00")),
        ],
        actor=DEMO_ACTOR,
        reason="a canary paused overnight",
    )
    rec = batch(
        deployment=canary,
        window_start=at("2024-01-22T12:00:00"),
        window_end=at("2024-01-23T12:00:00"),
    )
    error = refused(
        scenario_store, ConflictError, lambda: registry.register_inference_batch(rec), NEW_BATCH
    )
    assert error.field == "deployment"
    assert error.message.startswith(
        f"{canary} served no model version from 2024-01-23T00:00:00Z until "
        f"2024-01-23T06:00:00Z, not {V12}"
    )


# -- 2. a batch and when its model version existed ----------------------------------------------


def test_batch_window_before_its_model_version_existed_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = batch(
        deployment=None,
        window_start=at("2024-01-20T00:00:00"),
        window_end=at("2024-01-20T12:00:00"),
    )
    error = refused(
        scenario_store, ConflictError, lambda: registry.register_inference_batch(rec), NEW_BATCH
    )
    assert error.field == "window_start"
    assert error.message == (
        f"the batch window starts at 2024-01-20T00:00:00Z, before {V12} existed: its training "
        "run ended at 2024-01-21T02:00:00Z"
    )


# -- 3. a batch and the snapshot its version was trained on --------------------------------------


def test_batch_scored_with_another_snapshot_than_its_version_was_trained_on_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = batch(snapshot=SNAPSHOT_JAN24)
    error = refused(
        scenario_store, InvalidError, lambda: registry.register_inference_batch(rec), NEW_BATCH
    )
    assert error.field == "snapshot"
    assert f"{V12} was trained on {SNAPSHOT_JAN20}, not {SNAPSHOT_JAN24}" in error.message


def test_a_skew_given_with_its_reason_is_accepted_and_recorded_on_the_batch(
    registry: Registry, scenario_store: GraphStore
) -> None:
    reason = "the Jan 20 snapshot job failed; scored with the Jan 24 features"
    done = registry.register_inference_batch(batch(snapshot=SNAPSHOT_JAN24, skew_reason=reason))
    assert done.created
    assert done.node.props["snapshot_skew"] == {"trained_on": SNAPSHOT_JAN20, "reason": reason}
    assert "skew_reason" not in done.node.props
    again = registry.register_inference_batch(batch(snapshot=SNAPSHOT_JAN24, skew_reason=reason))
    assert not again.created


def test_a_skew_reason_for_the_snapshot_the_version_was_trained_on_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = batch(skew_reason="we think the snapshot differs")
    error = refused(
        scenario_store, InvalidError, lambda: registry.register_inference_batch(rec), NEW_BATCH
    )
    assert error.field == "skew_reason"
    assert SNAPSHOT_JAN20 in error.message


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2_001])
def test_a_skew_reason_has_1_to_2000_characters(
    registry: Registry, scenario_store: GraphStore, reason: str
) -> None:
    rec = batch(snapshot=SNAPSHOT_JAN24, skew_reason=reason)
    error = refused(
        scenario_store, InvalidError, lambda: registry.register_inference_batch(rec), NEW_BATCH
    )
    assert error.field == "skew_reason"


# -- 4. training, snapshots, evaluations and deployments before what they used existed ----------


def run(**changes: Any) -> dict[str, Any]:
    """A v14 training run on the Jan 24 snapshot."""
    sources = ["dataset:applications@v2", "dataset:credit_bureau@v1"]
    return {
        "id": "run:lending_approval_v14",
        "model_version": f"{MODEL}@v14",
        "snapshot": SNAPSHOT_JAN24,
        "datasets": [{"id": d, "content_hash": content_hash(d)} for d in sources],
        "code_commit": "e5f6a7b8c9d0",
        "records_available": 510_000,
        "records_used": 400_000,
        "triggered_by": "pipeline:credit_training",
        "reason": "retrain without the 65+ filter",
        "started_at": at("2024-01-26T10:00:00"),
        "ended_at": at("2024-01-26T20:00:00"),
        **changes,
    }


def test_training_run_started_before_its_snapshot_existed_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = run(started_at=at("2024-01-23T10:00:00"))
    error = refused(
        scenario_store,
        ConflictError,
        lambda: registry.register_training_run(rec),
        "run:lending_approval_v14",
        f"{MODEL}@v14",
    )
    assert error.field == "started_at"
    assert error.message == (
        f"the run started at 2024-01-23T10:00:00Z, before {SNAPSHOT_JAN24} existed: it was "
        "created at 2024-01-24T08:00:00Z"
    )


def test_training_run_started_before_a_dataset_version_it_used_existed_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = run(snapshot=SNAPSHOT_JAN03, started_at=at("2024-01-12T10:00:00"))
    error = refused(
        scenario_store,
        ConflictError,
        lambda: registry.register_training_run(rec),
        "run:lending_approval_v14",
    )
    assert error.field == "started_at"
    assert "before dataset:applications@v2 existed: it was created at 2024-01-15T06:00:00Z" in (
        error.message
    )


def test_feature_snapshot_created_before_its_source_dataset_version_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = {
        "id": "snapshot:credit_model_training_2024_01_12",
        "features": ["credit_score", "income"],
        "sources": ["dataset:credit_bureau@v1", "dataset:applications@v2"],
        "content_hash": content_hash("early snapshot"),
        "computed_by": "feast v3.1",
        "created_at": at("2024-01-12T08:00:00"),
    }
    error = refused(
        scenario_store,
        ConflictError,
        lambda: registry.register_feature_snapshot(rec),
        "snapshot:credit_model_training_2024_01_12",
    )
    assert error.field == "created_at"
    assert "before dataset:applications@v2 existed" in error.message


def test_evaluation_before_its_model_version_existed_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = {
        "id": "evaluation:lending_approval_v13_early",
        "model_version": V13,
        "metrics": {"auc": 0.88},
        "evaluated_at": at("2024-01-24T12:00:00"),
    }
    error = refused(
        scenario_store,
        ConflictError,
        lambda: registry.register_evaluation(rec),
        "evaluation:lending_approval_v13_early",
    )
    assert error.field == "evaluated_at"
    assert f"before {V13} existed: its training run ended at 2024-01-24T20:00:00Z" in (
        error.message
    )


def test_deploying_a_version_before_it_existed_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    staging = "deployment:lending_approval_staging"
    rec = {"deployment": staging, "model_version": V13, "at": at("2024-01-24T12:00:00")}
    error = refused(
        scenario_store,
        ConflictError,
        lambda: registry.backfill_deploy(rec | {"reason": "staging rollout"}),
        staging,
    )
    assert error.field == "at"
    assert f"before {V13} existed" in error.message


# -- immutability: a changed re-registration names the client's fields ---------------------------


def test_a_changed_training_run_names_the_time_field_the_client_sent(
    registry: Registry, scenario_store: GraphStore
) -> None:
    rec = run()
    registry.register_training_run(rec)
    error = refused(
        scenario_store,
        ConflictError,
        lambda: registry.register_training_run(rec | {"ended_at": at("2024-01-26T21:00:00")}),
    )
    assert error.field == "ended_at"
    assert "(differs in: ended_at)" in error.message
    assert "registration hash" in error.message and "record hash" not in error.message


def test_a_moved_batch_window_names_window_start_and_the_registration_hash(
    registry: Registry, scenario_store: GraphStore
) -> None:
    registry.register_inference_batch(batch())
    moved = batch(window_start=at("2024-01-25T23:00:00"))
    error = refused(scenario_store, ConflictError, lambda: registry.register_inference_batch(moved))
    assert error.field == "window_start"
    assert error.details["fields"] == ["window_start"]
    assert error.details["hash_kind"] == "registration_hash"
    assert f"{NEW_BATCH} is already registered with registration hash" in error.message


def test_a_deployment_change_inside_a_registered_batch_window_is_refused(
    registry: Registry, scenario_store: GraphStore
) -> None:
    # The scenario's last batch was scored by v12 from the rollback at 11:47 to midnight.
    last = "batch:lending_approval_2024_01_25_1147"
    before = head_seq(scenario_store)
    change = {"deployment": DEPLOYMENT, "model_version": V13, "reason": "weekly release"}

    with pytest.raises(ConflictError) as caught:
        registry.backfill_deploy(change | {"at": at("2024-01-25T18:00:00")})

    assert caught.value.field == "at"
    assert last in caught.value.message and "2024-01-26T00:00:00Z" in caught.value.message
    assert head_seq(scenario_store) == before
    after = registry.backfill_deploy(change | {"at": at("2024-01-26T00:00:00")})  # after the window
    assert after.created
