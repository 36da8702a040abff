"""Erasure of a data subject's decisions: the payload goes, the hashes stay, the batch and the
audit chain are untouched (``verify`` passes), and the questions read the redacted file."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli import app
from lineage.errors import ConflictError, InvalidError
from lineage.model.canonical import canonical_json
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services import investigation as inv
from lineage.services.audit import verify
from lineage.services.erased_records import ERASED_KEY, erasure_id, erasures_of
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.retention import prune, tombstone_of
from lineage.services.retention_classes import Policy
from lineage.services.retention_erasure import ErasureReport, Subject, erase_subject
from lineage.services.retention_holds import place_hold
from lineage.services.scenario import DEMO_ACTOR, JOHN_DOE
from lineage.services.scenario_loader import load_scenario
from lineage.store import open_store
from lineage.store.base import EdgeQuery, GraphStore
from tests.retention.world import (
    ACTOR,
    JOB_ACTOR,
    JOHN,
    NOW,
    World,
    build_world,
    decisions,
    line_hash,
    register_job_actor,
)

JOHN_SUBJECT = Subject("applicant_id", "john_doe_12345")
REASON = "GDPR article 17 request 2025-0042"


def erase(world: World, subject: Subject = JOHN_SUBJECT) -> ErasureReport:
    return erase_subject(world.store, world.records, subject, reason=REASON, actor=ACTOR, now=NOW)


def rows_of(world: World, batch: str) -> list[dict[str, object]]:
    node = world.store.get_nodes([batch])[batch]
    return inv.batch_records(world.records, node, first=500, store=world.store).records


@pytest.fixture
def with_john(world: World) -> str:
    """A batch holding John's decision between two others."""
    rows = [*decisions("a", 1), JOHN, *decisions("b", 1)]
    return world.batch("with_john", "model:m@v2", rows=rows)


def test_erasure_replaces_the_subjects_decisions_by_their_hashes(
    world: World, with_john: str
) -> None:
    report = erase(world)
    assert report.erased == {with_john: 1} and report.records_erased == 1
    rows = rows_of(world, with_john)
    assert rows[1] == {ERASED_KEY: line_hash(JOHN)}
    assert rows[0]["applicant_id"] == "a_0" and rows[2]["applicant_id"] == "b_0"
    assert len(rows) == 3


def test_anyone_holding_the_original_decision_can_prove_it_belonged(
    world: World, with_john: str
) -> None:
    erase(world)
    (erasure,) = erasures_of(world.store, [with_john])[with_john]
    original_line = canonical_json(JOHN).encode()
    assert hashlib.sha256(original_line).hexdigest() in erasure.props["erased_lines"]
    assert erasure.props["line_numbers"] == [1]


def test_the_batch_node_and_the_audit_chain_are_untouched(
    world: World, with_john: str, store: GraphStore
) -> None:
    before = store.get_nodes([with_john])[with_john]
    erase(world)
    after = store.get_nodes([with_john])[with_john]
    assert after.content_hash() == before.content_hash()
    assert after.props["records_hash"] == before.props["records_hash"]
    report = verify(store)
    assert report.ok, report.problem


def test_the_original_file_is_deleted_and_cannot_be_stored_again(
    world: World, with_john: str, records: RecordStore
) -> None:
    original = world.store.get_nodes([with_john])[with_john].props["records_hash"]
    erase(world)
    assert not records.exists(original) and records.is_erased(original)
    with pytest.raises(ConflictError):
        records.put_records([*decisions("a", 1), JOHN, *decisions("b", 1)])


def test_the_erasure_is_recorded_with_who_why_and_the_subject_hashed(
    world: World, with_john: str, store: GraphStore
) -> None:
    report = erase(world)
    (erasure,) = erasures_of(store, [with_john])[with_john]
    assert erasure.id == erasure_id(with_john, 1) and erasure.kind is NodeKind.ERASURE
    assert erasure.props["by"] == ACTOR and erasure.props["reason"] == REASON
    assert erasure.props["subject_hash"] == JOHN_SUBJECT.hashed
    assert erasure.props["subject_field"] == "applicant_id"
    (edge,) = store.find_edges(EdgeQuery(src=erasure.id)).items
    assert (edge.kind, edge.dst) == (EdgeKind.ERASED, with_john)
    (seq,) = report.audit_seqs
    (event,) = store.audit_events(after_seq=seq - 1, limit=1)
    assert (event.action, event.actor, event.reason) == ("erase_subject", ACTOR, REASON)
    assert event.payload is not None and event.payload["subject_hash"] == JOHN_SUBJECT.hashed
    # The subject is never written in clear: not on the node, not in the event.
    assert "john_doe_12345" not in erasure.props_json()
    assert "john_doe_12345" not in canonical_json(event.payload)
    assert "john_doe_12345" not in event.subjects_text()


def test_decisions_say_that_records_were_erased_and_read_the_redacted_file(
    world: World, with_john: str
) -> None:
    erase(world)
    answer = inv.decisions(
        world.store,
        "model:m@v2",
        datetime(2023, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, tzinfo=UTC),
    )
    (found,) = answer.batches
    (listed,) = found.batch.props["erasures"]
    assert listed["id"] == erasure_id(with_john, 1) and listed["decisions"] == 1
    page = inv.batch_records(world.records, found.batch)  # no store: the view says it
    assert page.records[1] == {ERASED_KEY: line_hash(JOHN)} and page.total == 3


def test_repeating_an_erasure_erases_nothing_more(world: World, with_john: str) -> None:
    erase(world)
    again = erase(world)
    assert again.erased == {} and again.audit_seqs == []
    assert len(erasures_of(world.store, [with_john])[with_john]) == 1


def test_a_second_subject_erased_from_the_same_batch_chains_the_redactions(
    world: World, with_john: str
) -> None:
    erase(world)
    erase(world, Subject("applicant_id", "a_0"))
    first, second = erasures_of(world.store, [with_john])[with_john]
    assert second.id == erasure_id(with_john, 2)
    assert second.props["previous_hash"] == first.props["redacted_hash"]
    assert not world.records.exists(first.props["redacted_hash"])
    rows = rows_of(world, with_john)
    assert [ERASED_KEY in r for r in rows] == [True, True, False]
    assert verify(world.store).ok


def test_a_batch_under_legal_hold_is_not_erased_and_is_reported(
    world: World, with_john: str
) -> None:
    place_hold(world.store, "model:m@v2", reason="litigation", actor=ACTOR, now=NOW)
    report = erase(world)
    assert report.erased == {}
    assert with_john in report.held
    assert rows_of(world, with_john)[1] == JOHN


def test_batches_with_the_same_records_file_are_erased_together(world: World) -> None:
    rows = [JOHN, *decisions("x", 2)]
    one = world.batch("one", "model:m@v2", rows=rows)
    two = world.batch("two", "model:m@v1", rows=rows)
    report = erase(world)
    assert report.erased == {one: 1, two: 1}
    assert rows_of(world, two)[0] == {ERASED_KEY: line_hash(JOHN)}


def test_a_numeric_subject_value_matches_numbers(world: World) -> None:
    rows = [{"customer_no": 42, "decision": "APPROVED"}, {"customer_no": 43, "decision": "X"}]
    batch = world.batch("numbers", "model:m@v1", rows=rows)
    report = erase(world, Subject.parse("customer_no=42"))
    assert report.erased == {batch: 1}


@pytest.mark.parametrize("text", ["applicant_id", "=x", "applicant id=x", "a="])
def test_a_subject_must_be_given_as_field_equals_value(text: str) -> None:
    with pytest.raises(InvalidError) as caught:
        Subject.parse(text)
    assert caught.value.field == "subject"


def test_pruning_an_erased_batch_deletes_its_redacted_file_and_lists_the_erasure(
    world: World, policy: Policy
) -> None:
    rows = [JOHN, *decisions("x", 2)]
    batch = world.batch("old", "model:m@v1", rows=rows)
    erase(world)
    (erasure,) = erasures_of(world.store, [batch])[batch]
    register_job_actor(world)
    prune(world.store, world.records, policy, now=NOW, actor=JOB_ACTOR)
    assert not world.records.exists(erasure.props["redacted_hash"])
    tomb = tombstone_of(world.store, batch)
    assert tomb is not None and tomb.props["erasures"] == [erasure.id]
    assert world.store.get_nodes([erasure.id])  # the proof of the erasure stays
    assert verify(world.store).ok


def test_john_does_decision_is_erased_from_the_lending_scenario(
    store: GraphStore, records: RecordStore
) -> None:
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    report = erase_subject(store, records, JOHN_SUBJECT, reason=REASON, actor=DEMO_ACTOR, now=NOW)
    assert report.records_erased == 1 and report.batches_scanned == 7
    answer = inv.decisions(
        store,
        "lending_approval",
        datetime(2024, 1, 25, tzinfo=UTC),
        datetime(2024, 1, 26, tzinfo=UTC),
    )
    rows = [r for b in answer.batches for r in inv.batch_records(records, b.batch).records]
    assert not [r for r in rows if r.get("applicant_id") == "john_doe_12345"]
    assert {ERASED_KEY: line_hash(JOHN_DOE)} in rows
    assert [b.batch.id for b in answer.batches if "erasures" in b.batch.props] == list(
        report.erased
    )
    assert verify(store).ok


def test_the_command_line_erases_a_subject_and_verify_passes(
    tmp_path: Path, store_uri: str
) -> None:
    uri, records = store_uri, tmp_path / "records"
    graph = open_store(uri)
    try:
        build_world(graph, RecordStore(records)).batch("b", "model:m@v2", rows=[JOHN])
    finally:
        graph.close()
    runner = CliRunner()
    done = runner.invoke(
        app,
        [
            "retention",
            "erase",
            "--subject",
            "applicant_id=john_doe_12345",
            "--reason",
            REASON,
            "--store",
            uri,
            "--records-dir",
            str(records),
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    answer = json.loads(done.output)
    assert answer["erased"] == {"batch:b": 1} and answer["subject_hash"] == JOHN_SUBJECT.hashed
    assert "john_doe_12345" not in done.output
    assert runner.invoke(app, ["verify", "--store", uri]).exit_code == 0
