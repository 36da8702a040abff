"""transaction(): writes inside commit together or not at all; nesting joins the outer scope."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import NotFoundError
from lineage.model.graph import Direction, Edge, EdgeKind, Node
from lineage.model.ids import kind_of
from lineage.store import AuditEvent, EdgeQuery, GraphStore, NodeQuery, TraversalSpec
from lineage.store.base import WouldWait
from lineage.store.sqlite import SQLiteStore
from tests.locks import another_writer_holding_the_lock

T0 = datetime(2024, 1, 10, tzinfo=UTC)
RUN = "run:train_v12"
SNAPSHOT = "snapshot:train"
V12 = "model:lending_approval@v12"


class PipelineCrashed(Exception):
    """Stands for any failure half-way through a service's write."""


def _node(node_id: str) -> Node:
    return Node(id=node_id, kind=kind_of(node_id), valid_from=T0)


def _event(seq: int) -> AuditEvent:
    return AuditEvent(
        seq=seq, at=T0 + timedelta(minutes=seq), actor="pipeline:training", action="register",
        reason="nightly training", payload_hash=f"p{seq}", subjects={RUN: f"h{seq}"},
        prev_hash=f"h{seq - 1}", hash=f"h{seq}",
    )


def _write_a_training_run(store: GraphStore) -> None:
    store.upsert_nodes([_node(SNAPSHOT), _node(RUN), _node(V12)])
    store.upsert_edges([Edge(src=RUN, kind=EdgeKind.USED, dst=SNAPSHOT),
                        Edge(src=V12, kind=EdgeKind.WAS_GENERATED_BY, dst=RUN)])
    store.append_audit(_event(1))


def _assert_store_is_empty(store: GraphStore) -> None:
    assert store.find_nodes(NodeQuery()).items == []
    assert store.find_edges(EdgeQuery()).items == []
    assert store.audit_head() is None
    assert store.audit_events() == []


def test_an_exception_rolls_back_nodes_edges_and_audit(store: GraphStore) -> None:
    with pytest.raises(PipelineCrashed), store.transaction():
        _write_a_training_run(store)
        raise PipelineCrashed

    _assert_store_is_empty(store)


def test_a_failed_write_inside_the_scope_rolls_back_the_earlier_writes(
    store: GraphStore,
) -> None:
    with pytest.raises(NotFoundError), store.transaction():
        _write_a_training_run(store)
        store.upsert_edges([Edge(src=V12, kind=EdgeKind.USED, dst="dataset:ghost@v1")])

    _assert_store_is_empty(store)


def test_a_nested_scope_joins_the_outer_one(store: GraphStore) -> None:
    with pytest.raises(PipelineCrashed), store.transaction():
        with store.transaction():
            _write_a_training_run(store)
        # The inner scope ended without error, yet nothing may be committed on its own.
        raise PipelineCrashed

    _assert_store_is_empty(store)


def test_an_exception_in_a_nested_scope_rolls_back_everything(store: GraphStore) -> None:
    with pytest.raises(PipelineCrashed), store.transaction():
        store.upsert_nodes([_node(SNAPSHOT)])
        with store.transaction():
            store.upsert_nodes([_node(RUN)])
            raise PipelineCrashed

    _assert_store_is_empty(store)


def test_writes_are_visible_after_commit(store: GraphStore) -> None:
    with store.transaction():
        _write_a_training_run(store)

    assert set(store.get_nodes([SNAPSHOT, RUN, V12])) == {SNAPSHOT, RUN, V12}
    assert len(store.find_edges(EdgeQuery()).items) == 2
    head = store.audit_head()
    assert head is not None
    assert head.seq == 1


def test_nested_scopes_commit_when_the_outer_one_ends(store: GraphStore) -> None:
    with store.transaction():
        with store.transaction():
            store.upsert_nodes([_node(SNAPSHOT)])
        store.upsert_nodes([_node(RUN)])

    assert set(store.get_nodes([SNAPSHOT, RUN])) == {SNAPSHOT, RUN}


def test_reads_inside_the_transaction_see_its_own_writes(store: GraphStore) -> None:
    with store.transaction():
        _write_a_training_run(store)

        assert set(store.get_nodes([SNAPSHOT, RUN, V12])) == {SNAPSHOT, RUN, V12}
        assert [n.id for n in store.find_nodes(NodeQuery()).items] == [V12, RUN, SNAPSHOT]
        assert len(store.find_edges(EdgeQuery(src=RUN)).items) == 1
        walk = store.traverse(TraversalSpec(start=SNAPSHOT, direction=Direction.IN))
        assert walk.depths == {SNAPSHOT: 0, RUN: 1, V12: 2}
        head = store.audit_head()
        assert head is not None
        assert head.seq == 1
        assert store.delete_nodes([V12]) == 1
        assert store.get_nodes([V12]) == {}

    assert set(store.get_nodes([SNAPSHOT, RUN, V12])) == {SNAPSHOT, RUN}


def test_the_store_is_usable_after_a_rollback(store: GraphStore) -> None:
    with pytest.raises(PipelineCrashed), store.transaction():
        store.upsert_nodes([_node(SNAPSHOT)])
        raise PipelineCrashed

    _write_a_training_run(store)
    with store.transaction():
        store.upsert_nodes([_node("run:train_v13")])

    assert set(store.get_nodes([SNAPSHOT, RUN, V12, "run:train_v13"])) == {
        SNAPSHOT, RUN, V12, "run:train_v13"
    }


def test_a_scope_that_may_not_wait_is_refused_at_once_while_another_writes(
    store: GraphStore,
) -> None:
    with another_writer_holding_the_lock(store):
        started = time.monotonic()
        with pytest.raises(WouldWait), store.transaction(wait=False):
            store.upsert_nodes([_node(RUN)])
        assert time.monotonic() - started < 1.0  # not the lock timeout

    assert store.get_nodes([RUN]) == {}


def test_a_scope_that_may_not_wait_commits_or_is_refused_before_doing_anything(
    store: GraphStore,
) -> None:
    try:
        with store.transaction(wait=False):
            _write_a_training_run(store)
    except WouldWait:
        # Only a backend that talks to a server may refuse a free lock; the embedded one never.
        assert not isinstance(store, SQLiteStore)
        _assert_store_is_empty(store)
    else:
        assert set(store.get_nodes([SNAPSHOT, RUN, V12])) == {SNAPSHOT, RUN, V12}


def test_a_scope_that_may_not_wait_joins_an_open_scope(store: GraphStore) -> None:
    with store.transaction():
        store.upsert_nodes([_node(SNAPSHOT)])
        with store.transaction(wait=False):
            store.upsert_nodes([_node(RUN)])

    assert set(store.get_nodes([SNAPSHOT, RUN])) == {SNAPSHOT, RUN}
