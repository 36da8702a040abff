"""The audit chain: every write is certified, and tampering behind the service's back is caught."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lineage.model.canonical import canonical_json, sha256_text
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import to_text
from lineage.services.audit import GENESIS, append_event, event_hash, verify
from lineage.services.registry import Registry
from lineage.store import GraphStore

T0 = datetime(2024, 1, 10, tzinfo=UTC)
# Tampering goes through sqlite3 on the store's file, behind the service's back.
TAMPERS_WITH_SQLITE = pytest.mark.sqlite_only("edits the SQLite file behind the store with sqlite3")


@pytest.fixture
def populated(registry: Registry) -> Registry:
    for i in range(3):
        registry.register_person({"id": f"person:p{i}", "name": f"P{i}", "since": T0})
    registry.register_dataset_version(
        {"id": "dataset:d@v1", "content_hash": "a" * 64, "record_count": 10, "created_at": T0}
    )
    return registry


def db_path(store: GraphStore) -> str:
    return store.uri.removeprefix("sqlite:///")


def tamper(store: GraphStore, sql: str) -> None:
    with sqlite3.connect(db_path(store)) as conn:
        conn.execute(sql)


def test_every_registration_appends_a_linked_event(populated: Registry, store: GraphStore) -> None:
    events = store.audit_events()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]  # 1: the actor registering itself
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert {e.actor for e in events} == {"pipeline:unit_tests"}
    assert "node:dataset:d@v1" in events[4].subjects


def test_intact_chain_verifies_with_its_head(populated: Registry, store: GraphStore) -> None:
    report = verify(store)
    assert report.ok and report.events == 5 and report.nodes == 6
    head = store.audit_head()
    assert head is not None and report.head_hash == head.hash


@TAMPERS_WITH_SQLITE
def test_editing_a_node_row_directly_is_caught_and_named(
    populated: Registry, store: GraphStore
) -> None:
    tamper(
        store,
        "UPDATE nodes SET props = json_set(props, '$.record_count', 11) WHERE id = 'dataset:d@v1'",
    )
    report = verify(store)
    assert not report.ok and report.broken_seq == 5
    assert report.problem is not None and "dataset:d@v1" in report.problem


@TAMPERS_WITH_SQLITE
def test_editing_an_event_breaks_the_chain_at_that_event(
    populated: Registry, store: GraphStore
) -> None:
    tamper(store, "UPDATE audit SET actor = 'person:mallory' WHERE seq = 3")
    report = verify(store)
    assert not report.ok and report.broken_seq == 3


@TAMPERS_WITH_SQLITE
def test_rewriting_an_event_and_its_hash_breaks_the_next_link(
    populated: Registry, store: GraphStore
) -> None:
    tamper(store, "UPDATE audit SET hash = '" + "f" * 64 + "' WHERE seq = 3")
    report = verify(store)
    assert not report.ok and report.broken_seq == 3


@TAMPERS_WITH_SQLITE
def test_deleting_an_event_is_caught(populated: Registry, store: GraphStore) -> None:
    tamper(store, "DELETE FROM audit WHERE seq = 4")
    report = verify(store)
    assert not report.ok and report.broken_seq == 4


def test_a_row_inserted_behind_the_service_is_caught(
    populated: Registry, store: GraphStore
) -> None:
    store.upsert_nodes([Node("person:ghost", NodeKind.PERSON, T0, {"name": "Ghost"})])
    report = verify(store)
    assert not report.ok and report.broken_seq == 6
    assert report.problem is not None and "person:ghost" in report.problem


@TAMPERS_WITH_SQLITE
def test_a_deleted_edge_is_caught(populated: Registry, store: GraphStore) -> None:
    tamper(store, "DELETE FROM edges WHERE src = 'dataset:d@v1'")
    report = verify(store)
    assert not report.ok and report.broken_seq == 5


def test_audited_delete_keeps_the_chain_valid(populated: Registry, store: GraphStore) -> None:
    with store.transaction():
        store.delete_nodes(["person:p0"])
        append_event(
            store,
            actor="pipeline:retention",
            action="delete",
            reason="retention",
            deleted=["node:person:p0"],
        )
    assert verify(store).ok


def test_event_is_rolled_back_with_its_write(store: GraphStore) -> None:
    node = Node("person:p", NodeKind.PERSON, T0)
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_nodes([node])
        append_event(store, actor="person:p", action="x", reason="y", nodes=[node])
        raise RuntimeError("boom")
    assert store.audit_head() is None
    assert verify(store).ok


@TAMPERS_WITH_SQLITE
def test_edges_are_certified_too(store: GraphStore, tmp_path: Path) -> None:
    a, b = Node("person:a", NodeKind.PERSON, T0), Node("person:b", NodeKind.PERSON, T0)
    edge = Edge("person:a", EdgeKind.ACTED_ON_BEHALF_OF, "person:b")
    with store.transaction():
        store.upsert_nodes([a, b])
        store.upsert_edges([edge])
        append_event(store, actor="person:a", action="x", reason="y", nodes=[a, b], edges=[edge])
    tamper(store, 'UPDATE edges SET props = \'{"role":"boss"}\'')
    report = verify(store)
    assert not report.ok and report.broken_seq == 1


def test_event_hash_is_the_hash_of_the_whole_event_in_canonical_form() -> None:
    # The hash splices the pre-encoded subjects into the event's JSON; it must stay the hash
    # of the plain canonical encoding, or every chain written before would stop verifying.
    at = datetime(2024, 1, 25, 11, 47, tzinfo=UTC)
    subjects = {"node:model:lending_approval@v12": "a" * 64, "edge:x|USED|y|": "b" * 64}
    whole = {
        "seq": 7,
        "at": to_text(at),
        "actor": "person:head_of_lending",
        "action": "rollback",
        "reason": "approval rate for 65+ fell",
        "payload_hash": "c" * 64,
        "subjects": subjects,
        "prev_hash": "d" * 64,
    }
    assert event_hash(
        7,
        at,
        "person:head_of_lending",
        "rollback",
        "approval rate for 65+ fell",
        "c" * 64,
        canonical_json(subjects),
        "d" * 64,
    ) == sha256_text(canonical_json(whole))
