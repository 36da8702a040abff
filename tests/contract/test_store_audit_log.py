"""The audit log as stored: append in sequence, read the head and pages of events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import ConflictError
from lineage.store import AuditEvent, GraphStore

T0 = datetime(2024, 1, 25, 10, 0, tzinfo=UTC)


def _event(seq: int) -> AuditEvent:
    return AuditEvent(
        seq=seq, at=T0 + timedelta(minutes=seq, microseconds=seq),
        actor="person:risk_approver", action="approve",
        reason=f"evidence bundle {seq} reviewed", payload_hash=f"{seq:064x}",
        subjects={"model:lending_approval@v13": f"{seq:064x}",
                  "approval:v13_risk": f"{seq + 1:064x}"},
        prev_hash=f"{seq - 1:064x}", hash=f"{seq + 1000:064x}",
        payload={"gate": "risk", "passed": True, "disparate_impact": 0.98, "seq": seq},
    )


def test_an_empty_log_has_no_head_and_no_events(store: GraphStore) -> None:
    assert store.audit_head() is None
    assert store.audit_events() == []


def test_appended_events_read_back_in_order_with_every_field(store: GraphStore) -> None:
    events = [_event(seq) for seq in range(1, 6)]

    for event in events:
        store.append_audit(event)

    assert store.audit_events() == events
    assert store.audit_head() == events[-1]


def test_an_erased_payload_reads_back_as_none_and_keeps_its_hash(store: GraphStore) -> None:
    erased = replace(_event(1), payload=None)

    store.append_audit(erased)

    assert store.audit_events() == [erased]
    head = store.audit_head()
    assert head is not None
    assert head.payload is None
    assert head.payload_hash == erased.payload_hash


def test_the_head_is_the_highest_sequence_number(store: GraphStore) -> None:
    for seq in (1, 2, 3):
        store.append_audit(_event(seq))

    head = store.audit_head()

    assert head is not None
    assert head.seq == 3


def test_a_taken_sequence_number_is_a_conflict_and_keeps_the_original(store: GraphStore) -> None:
    original = _event(1)
    store.append_audit(original)

    with pytest.raises(ConflictError):
        store.append_audit(replace(_event(1), actor="person:intruder", hash="f" * 64))

    assert store.audit_events() == [original]
    assert store.audit_head() == original


def test_events_page_after_a_sequence_number(store: GraphStore) -> None:
    events = [_event(seq) for seq in range(1, 11)]
    for event in events:
        store.append_audit(event)

    assert store.audit_events(after_seq=4, limit=3) == events[4:7]
    assert store.audit_events(after_seq=7) == events[7:]
    assert store.audit_events(after_seq=10) == []

    paged: list[AuditEvent] = []
    after = 0
    while batch := store.audit_events(after_seq=after, limit=4):
        paged += batch
        after = batch[-1].seq
    assert paged == events
