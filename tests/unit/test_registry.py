"""Registration services: immutability, conflicts, missing references, temporal changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store import EdgeQuery, GraphStore, NodeQuery

H1 = "1" * 64
H2 = "2" * 64
T0 = datetime(2024, 1, 10, tzinfo=UTC)


def dataset(version: str = "v1", digest: str = H1, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"dataset:applications@{version}",
        "content_hash": digest,
        "record_count": 500_000,
        "created_at": T0,
        **extra,
    }


def head_seq(store: GraphStore) -> int:
    head = store.audit_head()
    return head.seq if head else 0


@pytest.fixture
def trained(registry: Registry) -> Registry:
    """People, a model, a dataset version, a snapshot: enough to register runs."""
    for name in ("owner", "steward", "risk"):
        registry.register_person({"id": f"person:{name}", "name": name.title()})
    registry.register_pipeline({"id": "pipeline:train", "name": "Training"})
    registry.register_model(
        {
            "id": "model:m",
            "owner": "person:owner",
            "technical_steward": "person:steward",
            "risk_approver": "person:risk",
            "since": T0,
        }
    )
    registry.register_dataset_version(dataset())
    registry.register_feature_snapshot(
        {
            "id": "snapshot:s1",
            "features": ["age", "income"],
            "sources": ["dataset:applications@v1"],
            "content_hash": H2,
            "computed_by": "feast v3.1",
            "created_at": T0,
        }
    )
    return registry


def run(**extra: Any) -> dict[str, Any]:
    return {
        "id": "run:r1",
        "model_version": "model:m@v1",
        "snapshot": "snapshot:s1",
        "datasets": [{"id": "dataset:applications@v1", "content_hash": H1}],
        "code_commit": "abc123def456",
        "split": {"train": 0.8, "test": 0.2},
        "seed": 42,
        "records_available": 500_000,
        "records_used": 400_000,
        "triggered_by": "pipeline:train",
        "reason": "weekly retrain",
        "started_at": T0,
        "ended_at": T0,
        **extra,
    }


def test_reregistering_same_hash_is_a_noop(registry: Registry, store: GraphStore) -> None:
    first = registry.register_dataset_version(dataset())
    seq = head_seq(store)
    again = registry.register_dataset_version(dataset())
    assert first.created and not again.created
    assert again.node == first.node
    assert head_seq(store) == seq  # no audit event for a no-op


def test_registering_a_different_hash_is_a_conflict_naming_both(
    registry: Registry, store: GraphStore
) -> None:
    registry.register_dataset_version(dataset())
    seq = head_seq(store)
    with pytest.raises(ConflictError) as info:
        registry.register_dataset_version(dataset(digest=H2))
    assert H1 in info.value.message and H2 in info.value.message
    assert info.value.field == "content_hash"
    assert (
        store.get_nodes(["dataset:applications@v1"])["dataset:applications@v1"].props[
            "content_hash"
        ]
        == H1
    )
    assert head_seq(store) == seq


def test_changed_metadata_under_the_same_hash_is_also_a_conflict(registry: Registry) -> None:
    registry.register_dataset_version(dataset())
    with pytest.raises(ConflictError, match="record_count"):
        registry.register_dataset_version(dataset(record_count=1))


def test_dataset_version_creates_its_dataset_once(registry: Registry, store: GraphStore) -> None:
    registry.register_dataset_version(dataset("v1"))
    registry.register_dataset_version(dataset("v2", H2))
    datasets = store.find_nodes(NodeQuery(kind=NodeKind.DATASET)).items
    assert [d.id for d in datasets] == ["dataset:applications"]
    versions = store.find_edges(EdgeQuery(dst="dataset:applications")).items
    assert sorted(e.src for e in versions) == ["dataset:applications@v1", "dataset:applications@v2"]


def test_snapshot_over_a_missing_dataset_version_is_not_found_and_writes_nothing(
    registry: Registry, store: GraphStore
) -> None:
    seq = head_seq(store)
    with pytest.raises(NotFoundError) as info:
        registry.register_feature_snapshot(
            {
                "id": "snapshot:s",
                "features": ["age"],
                "sources": ["dataset:nowhere@v1"],
                "content_hash": H1,
                "computed_by": "feast",
                "created_at": T0,
            }
        )
    assert info.value.field == "sources.0"
    assert store.get_nodes(["snapshot:s", "feature:age"]) == {}
    assert head_seq(store) == seq


def test_training_run_produces_the_model_version_with_exact_bindings(
    trained: Registry, store: GraphStore
) -> None:
    result = trained.register_training_run(run())
    assert result.node.id == "model:m@v1"
    assert result.node.props["code_commit"] == "abc123def456"
    used = store.find_edges(EdgeQuery(src="run:r1", kinds=frozenset({EdgeKind.USED}))).items
    assert {e.dst: e.props["content_hash"] for e in used} == {
        "dataset:applications@v1": H1,
        "snapshot:s1": H2,
    }
    assert trained.register_training_run(run()).created is False


def test_training_run_binding_a_different_hash_is_a_conflict(
    trained: Registry, store: GraphStore
) -> None:
    seq = head_seq(store)
    with pytest.raises(ConflictError) as info:
        trained.register_training_run(
            run(datasets=[{"id": "dataset:applications@v1", "content_hash": H2}])
        )
    assert info.value.field == "datasets.0.content_hash"
    assert H1 in info.value.message and H2 in info.value.message
    assert store.get_nodes(["run:r1", "model:m@v1"]) == {}
    assert head_seq(store) == seq


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model_version": "model:unknown@v1"}, "model_version"),
        ({"snapshot": "snapshot:unknown"}, "snapshot"),
        ({"triggered_by": "person:nobody"}, "triggered_by"),
    ],
)
def test_training_run_with_a_missing_reference_is_not_found(
    trained: Registry, store: GraphStore, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(NotFoundError) as info:
        trained.register_training_run(run(**change))
    assert info.value.field == field
    assert store.get_nodes(["run:r1"]) == {}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"records_used": 600_000}, "records_used"),
        ({"split": {"train": 0.8, "test": 0.3}}, "split"),
        ({"started_at": datetime(2024, 1, 10)}, "started_at"),
        ({"code_commit": "not-a-commit"}, "code_commit"),
        ({"model_version": "dataset:applications@v1"}, "model_version"),
        ({"records_available": -1}, "records_available"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_training_run_input_is_invalid_naming_the_field(
    trained: Registry, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidError) as info:
        trained.register_training_run(run(**change))
    assert info.value.field == field


def test_inference_batch_keeps_its_records_in_the_record_store(
    trained: Registry, store: GraphStore, records: RecordStore
) -> None:
    trained.register_training_run(run())
    rows = [{"applicant_id": "a1", "decision": "APPROVED", "confidence": 0.87}]
    batch = trained.register_inference_batch(
        {
            "id": "batch:b1",
            "model_version": "model:m@v1",
            "snapshot": "snapshot:s1",
            "window_start": T0,
            "window_end": datetime(2024, 1, 11, tzinfo=UTC),
            "record_count": 1,
            "records": rows,
        }
    )
    digest = batch.node.props["records_hash"]
    assert list(records.iter_records(digest)) == rows
    by_reference = trained.register_inference_batch(
        {
            "id": "batch:b2",
            "model_version": "model:m@v1",
            "snapshot": "snapshot:s1",
            "window_start": T0,
            "window_end": datetime(2024, 1, 11, tzinfo=UTC),
            "record_count": 1,
            "records_hash": digest,
        }
    )
    assert by_reference.node.props["records_hash"] == digest


def test_inference_batch_by_reference_needs_the_file_and_the_right_count(
    trained: Registry, records: RecordStore
) -> None:
    trained.register_training_run(run())
    base = {
        "id": "batch:b1",
        "model_version": "model:m@v1",
        "snapshot": "snapshot:s1",
        "window_start": T0,
        "window_end": datetime(2024, 1, 11, tzinfo=UTC),
    }
    with pytest.raises(NotFoundError) as missing:
        trained.register_inference_batch({**base, "record_count": 1, "records_hash": H1})
    assert missing.value.field == "records_hash"
    digest = records.put_records([{"a": 1}, {"a": 2}])
    with pytest.raises(InvalidError) as wrong:
        trained.register_inference_batch({**base, "record_count": 3, "records_hash": digest})
    assert wrong.value.field == "record_count"


def test_deploying_closes_the_previous_version_and_redeploying_is_a_noop(
    trained: Registry, store: GraphStore
) -> None:
    trained.register_training_run(run())
    trained.register_training_run(run(id="run:r2", model_version="model:m@v2"))
    at1, at2 = datetime(2024, 1, 20, tzinfo=UTC), datetime(2024, 1, 25, tzinfo=UTC)
    deploy = {"deployment": "deployment:m_prod", "reason": "release"}
    trained.backfill_deploy({**deploy, "model_version": "model:m@v1", "at": at1})
    trained.backfill_deploy({**deploy, "model_version": "model:m@v2", "at": at2})
    seq = head_seq(store)
    repeat = trained.backfill_deploy({**deploy, "model_version": "model:m@v1", "at": at1})
    assert repeat.created is False
    assert head_seq(store) == seq
    served = store.find_edges(
        EdgeQuery(src="deployment:m_prod", kinds=frozenset({EdgeKind.SERVED}))
    ).items
    windows = {e.dst: (e.valid_from, e.valid_to) for e in served}
    assert windows == {"model:m@v1": (at1, at2), "model:m@v2": (at2, None)}
    with pytest.raises(ConflictError) as info:
        trained.backfill_deploy(
            {**deploy, "model_version": "model:m@v1", "at": datetime(2024, 1, 22, tzinfo=UTC)}
        )
    assert info.value.field == "at"


def test_assigning_a_role_closes_the_previous_holder(trained: Registry, store: GraphStore) -> None:
    trained.register_person({"id": "person:new_owner", "name": "New Owner"})
    at = datetime(2024, 3, 1, tzinfo=UTC)
    trained.assign_role("model:m", "owner", "person:new_owner", at, reason="reorganisation")
    before = store.find_edges(EdgeQuery(src="model:m", as_of=datetime(2024, 2, 1, tzinfo=UTC)))
    after = store.find_edges(EdgeQuery(src="model:m", as_of=at))
    assert {e.props["role"]: e.dst for e in before.items}["owner"] == "person:owner"
    assert {e.props["role"]: e.dst for e in after.items}["owner"] == "person:new_owner"
    with pytest.raises(InvalidError):
        trained.assign_role("model:m", "risk_approver", "person:new_owner", at, reason="x")


def test_risk_approver_cannot_be_the_owner(registry: Registry) -> None:
    registry.register_person({"id": "person:p", "name": "P"})
    with pytest.raises(InvalidError) as info:
        registry.register_model(
            {
                "id": "model:m",
                "owner": "person:p",
                "technical_steward": "person:p",
                "risk_approver": "person:p",
            }
        )
    assert info.value.field == "risk_approver"


def test_person_without_a_time_can_be_registered_again(registry: Registry) -> None:
    assert registry.register_person({"id": "person:p", "name": "P"}).created
    assert not registry.register_person({"id": "person:p", "name": "P"}).created
    with pytest.raises(ConflictError, match="name"):
        registry.register_person({"id": "person:p", "name": "Q"})


def test_actor_must_be_a_node_id(store: GraphStore, records: RecordStore) -> None:
    with pytest.raises(InvalidError) as info:
        Registry(store, records, actor="root")
    assert info.value.field == "actor"
