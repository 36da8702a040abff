"""Decisions by data subject: the subject index finds john_doe_12345's decision of Jan 25 without
reading other batches' files, holds no identifier in clear, and forgets him on erasure and when
retention prunes his batch. On every backend (the ``store`` fixture)."""

from __future__ import annotations

import shutil
import stat
from datetime import UTC, datetime
from typing import Any

import pytest

from lineage.errors import InvalidError
from lineage.graphql.local import LocalExecutor
from lineage.jobs.retention import load_config
from lineage.services.answers import DecisionBatch
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.retention import prune
from lineage.services.retention_erasure import Subject, erase_subject
from lineage.services.scenario import DEMO_ACTOR, SNAPSHOT_JAN20, batch_id
from lineage.services.subjects import (
    INDEX_FILE,
    KEY_FILE,
    SUBJECTS_DIR,
    SubjectBatch,
    SubjectIndex,
    SubjectRef,
    rebuild,
    subject_decisions,
)
from lineage.store.base import GraphStore
from tests.retention.world import JOB_ACTOR, JOHN, NOW, REPO, build_world, register_job_actor

JAN_25 = datetime(2024, 1, 25, tzinfo=UTC)
JAN_26 = datetime(2024, 1, 26, tzinfo=UTC)
JOHN_ID = "john_doe_12345"
JOHN_BATCH = batch_id("2024-01-25T00:00:00")


def johns_decisions(
    store: GraphStore, records: RecordStore, subject: str = JOHN_ID
) -> list[DecisionBatch]:
    found = subject_decisions(store, records, "lending_approval", JAN_25, JAN_26, None, subject)
    assert found.truncated is False
    return found.batches


def test_johns_decision_of_jan_25_is_found_with_what_made_it(
    store: GraphStore, records: RecordStore
) -> None:
    (batch,) = johns_decisions(store, records)
    assert batch.batch.id == JOHN_BATCH
    assert batch.model_version.id == "model:lending_approval@v12"
    assert batch.snapshot.id == SNAPSHOT_JAN20
    assert isinstance(batch, SubjectBatch)
    (decision,) = batch.matched
    assert decision["applicant_id"] == JOHN_ID
    assert (decision["decision"], decision["confidence"]) == ("APPROVED", 0.87)
    # The field can be named; another identifying field does not hold his identifier.
    assert [b.batch.id for b in johns_decisions(store, records, f"applicant_id={JOHN_ID}")] == [
        JOHN_BATCH
    ]
    assert johns_decisions(store, records, f"customer_id={JOHN_ID}") == []
    assert johns_decisions(store, records, "applicant_00000") == []


def test_a_subject_that_is_not_an_identifier_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidError) as refused:
        SubjectRef.parse("income=86000")
    assert refused.value.field == "subject"
    with pytest.raises(InvalidError):
        SubjectRef.parse("   ")


def test_the_lookup_reads_only_the_files_the_index_names(
    store: GraphStore, records: RecordStore
) -> None:
    johns_file = store.get_nodes([JOHN_BATCH])[JOHN_BATCH].props["records_hash"]
    for path in records.root.glob("??/*"):
        if path.name != johns_file:
            path.unlink()
    (batch,) = johns_decisions(store, records)  # every other file is gone, and not needed
    assert batch.batch.id == JOHN_BATCH


def test_the_index_holds_no_identifier_in_clear(store: GraphStore, records: RecordStore) -> None:
    johns_decisions(store, records)
    folder = records.root / SUBJECTS_DIR
    files = list(folder.iterdir())
    assert folder / INDEX_FILE in files
    for path in files:
        assert JOHN_ID.encode() not in path.read_bytes()
    assert stat.S_IMODE((folder / KEY_FILE).stat().st_mode) == 0o600


def test_johns_decision_is_gone_from_the_index_after_erasure(
    store: GraphStore, records: RecordStore
) -> None:
    index = SubjectIndex(records)
    assert index.batches_of(SubjectRef(JOHN_ID)) == {JOHN_BATCH}
    report = erase_subject(
        store,
        records,
        Subject("applicant_id", JOHN_ID),
        reason="GDPR article 17 request",
        actor=DEMO_ACTOR,
        now=datetime(2024, 3, 1, tzinfo=UTC),
    )
    assert report.erased == {JOHN_BATCH: 1}
    assert index.batches_of(SubjectRef(JOHN_ID)) == set()
    assert johns_decisions(store, records) == []
    # A rebuild from the (redacted) records does not bring him back.
    shutil.rmtree(records.root / SUBJECTS_DIR)
    assert johns_decisions(store, records) == []


def test_a_lost_index_is_rebuilt_from_the_records_at_the_next_lookup(
    store: GraphStore, records: RecordStore
) -> None:
    shutil.rmtree(records.root / SUBJECTS_DIR)
    (batch,) = johns_decisions(store, records)
    assert batch.batch.id == JOHN_BATCH
    assert SubjectIndex(records).complete()


def test_a_rebuild_keeps_the_entry_of_a_registration_not_yet_committed(
    store: GraphStore, records: RecordStore
) -> None:
    # A registration indexes its batch before it commits; a rebuild scanning meanwhile does
    # not see the batch yet, and must not drop its entry.
    index = SubjectIndex(records)
    index.add("batch:in_flight", "0" * 64, [{"applicant_id": "jane_roe_67890"}])
    rebuild(store, records)
    assert index.batches_of(SubjectRef("jane_roe_67890")) == {"batch:in_flight"}
    assert index.batches_of(SubjectRef(JOHN_ID)) == {JOHN_BATCH}


def test_an_index_under_a_lost_key_is_rebuilt(store: GraphStore, records: RecordStore) -> None:
    (records.root / SUBJECTS_DIR / KEY_FILE).unlink()
    assert not SubjectIndex(records).complete()  # its entries were keyed by the old secret
    (batch,) = johns_decisions(store, records)
    assert batch.batch.id == JOHN_BATCH


def test_retention_pruning_a_batch_removes_its_entries(
    empty_store: GraphStore, records: RecordStore
) -> None:
    # The retention tests' world: a standard-class batch of early 2023 has expired by NOW.
    world = build_world(empty_store, records)
    expired = world.batch("old", "model:m@v1", rows=[JOHN])
    index = SubjectIndex(records)
    assert index.batches_of(SubjectRef(JOHN_ID)) == {expired}
    register_job_actor(world)
    policy = load_config(REPO / "jobs").policy()
    result = prune(empty_store, records, policy, now=NOW, actor=JOB_ACTOR)
    assert result.batches_pruned == 1
    assert index.batches_of(SubjectRef(JOHN_ID)) == set()


SUBJECT_QUERY = """
query($subject: String!, $first: Int, $after: String) {
  decisions(model: "lending_approval", from: "2024-01-26T00:00:00Z", to: "2024-01-27T00:00:00Z",
            subject: $subject) {
    batches {
      batch { id }
      records(first: $first, after: $after) { total hasNextPage endCursor decisions }
    }
  }
}
"""


def test_the_api_pages_through_only_the_subjects_decisions(
    store: GraphStore, registry: Registry, records: RecordStore
) -> None:
    jane = [{"applicant_id": "jane_roe_67890", "decision": d} for d in ("APPROVED", "DECLINED")]
    rows = [jane[0], {"applicant_id": "applicant_10001", "decision": "APPROVED"}, jane[1]]
    registry.register_inference_batch(
        {
            "id": "batch:lending_approval_2024_01_26_0000",
            "model_version": "model:lending_approval@v12",
            "snapshot": SNAPSHOT_JAN20,
            "window_start": "2024-01-26T00:00:00Z",
            "window_end": "2024-01-26T01:00:00Z",
            "record_count": 3,
            "records": rows,
        }
    )
    executor = LocalExecutor(store, records)

    def page(after: str | None = None) -> dict[str, Any]:
        variables = {"subject": "jane_roe_67890", "first": 1, "after": after}
        answer = executor.execute(SUBJECT_QUERY, variables)
        assert "errors" not in answer, answer
        (batch,) = answer["data"]["decisions"]["batches"]
        found: dict[str, Any] = batch["records"]
        return found

    first = page()
    assert first["total"] == 2 and first["hasNextPage"] is True
    assert first["decisions"] == [jane[0]]
    second = page(first["endCursor"])
    assert second["decisions"] == [jane[1]] and second["hasNextPage"] is False
    refused = executor.execute(SUBJECT_QUERY, {"subject": "income=1"})
    extensions = refused["errors"][0]["extensions"]
    assert (extensions["code"], extensions["field"]) == ("INVALID", "subject")
