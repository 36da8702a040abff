"""SQLite-specific behaviour, beyond the shared contract: a real file, and WAL concurrency.

These tests open their own SQLite stores instead of using the parametrized ``store`` fixture.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lineage.model.graph import Edge, EdgeKind, Node
from lineage.model.ids import kind_of
from lineage.store import AuditEvent, EdgeQuery, GraphStore, NodeQuery, open_store
from lineage.store.base import WouldWait
from lineage.store.sqlite import SQLiteStore
from tests.locks import another_process_holding_the_lock

pytestmark = pytest.mark.sqlite_only("the SQLite backend's own files, WAL and threads")

T0 = datetime(2024, 1, 10, tzinfo=UTC)
WAIT_SECONDS = 10.0


def _node(node_id: str) -> Node:
    return Node(id=node_id, kind=kind_of(node_id), valid_from=T0, props={"name": node_id})


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/persist.db"


@pytest.fixture
def sqlite_store(sqlite_uri: str) -> Iterator[GraphStore]:
    opened = open_store(sqlite_uri)
    try:
        yield opened
    finally:
        opened.close()


def test_sqlite_data_persists_across_close_and_reopen(sqlite_uri: str) -> None:
    event = AuditEvent(seq=1, at=T0, actor="pipeline:feast", action="register", reason="load",
                       payload_hash="p", subjects={"run:r1": "h"}, prev_hash="", hash="h1")
    first = open_store(sqlite_uri)
    try:
        first.upsert_nodes([_node("run:r1"), _node("snapshot:s1")])
        first.upsert_edges([Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:s1")])
        first.append_audit(event)
        written = first.get_nodes(["run:r1", "snapshot:s1"])
    finally:
        first.close()

    reopened = open_store(sqlite_uri)
    try:
        assert reopened.get_nodes(["run:r1", "snapshot:s1"]) == written
        edges = reopened.find_edges(EdgeQuery()).items
        assert [(e.src, e.kind, e.dst) for e in edges] == [("run:r1", EdgeKind.USED, "snapshot:s1")]
        assert reopened.audit_head() == event
    finally:
        reopened.close()


def test_sqlite_a_second_thread_reads_while_another_writes(sqlite_store: GraphStore) -> None:
    sqlite_store.upsert_nodes([_node("dataset:committed@v1")])
    writing = threading.Event()
    may_commit = threading.Event()
    writer_errors: list[BaseException] = []

    def writer() -> None:
        try:
            with sqlite_store.transaction():
                sqlite_store.upsert_nodes([_node("dataset:in_flight@v1")])
                writing.set()
                if not may_commit.wait(WAIT_SECONDS):
                    raise TimeoutError("the reader never finished")
        except BaseException as exc:
            writer_errors.append(exc)
            writing.set()

    seen_during_write: list[list[str]] = []

    def reader() -> None:
        page = sqlite_store.find_nodes(NodeQuery())
        seen_during_write.append([n.id for n in page.items])

    writer_thread = threading.Thread(target=writer)
    writer_thread.start()
    try:
        assert writing.wait(WAIT_SECONDS)
        reader_thread = threading.Thread(target=reader)
        reader_thread.start()
        reader_thread.join(WAIT_SECONDS)
        assert not reader_thread.is_alive(), "the read blocked behind the open write"
    finally:
        may_commit.set()
        writer_thread.join(WAIT_SECONDS)

    assert writer_errors == []
    # The reader saw the last committed state: not the write still in flight.
    assert seen_during_write == [["dataset:committed@v1"]]
    assert set(sqlite_store.get_nodes(["dataset:committed@v1", "dataset:in_flight@v1"])) == {
        "dataset:committed@v1", "dataset:in_flight@v1"
    }


def test_sqlite_writers_on_two_threads_both_commit(sqlite_store: GraphStore) -> None:
    def write(prefix: str) -> None:
        for i in range(20):
            with sqlite_store.transaction():
                sqlite_store.upsert_nodes([_node(f"feature:{prefix}_{i}")])

    threads = [threading.Thread(target=write, args=(p,)) for p in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)

    assert all(not t.is_alive() for t in threads)
    assert len(sqlite_store.find_nodes(NodeQuery(limit=100)).items) == 40


def test_sqlite_store_of_the_earlier_schema_opens_and_deletes_edges_with_nodes(
    tmp_path: Path,
) -> None:
    # The first schema declared edge ends as ON DELETE CASCADE foreign keys and indexed a JSON
    # property; both are gone, and a store written with it must keep working.
    path = tmp_path / "earlier.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE nodes (id TEXT PRIMARY KEY, kind TEXT NOT NULL, valid_from TEXT NOT NULL,
            valid_to TEXT, recorded_at TEXT NOT NULL, props TEXT NOT NULL);
        CREATE INDEX nodes_content_hash ON nodes (json_extract(props, '$.content_hash'))
            WHERE json_extract(props, '$.content_hash') IS NOT NULL;
        CREATE TABLE edges (eid INTEGER PRIMARY KEY,
            src TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE, kind TEXT NOT NULL,
            dst TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
            valid_from TEXT NOT NULL DEFAULT '', valid_to TEXT, props TEXT NOT NULL,
            UNIQUE (src, kind, dst, valid_from));
        """
    )
    conn.close()
    store = open_store(f"sqlite:///{path}")
    try:
        store.upsert_nodes([_node("run:r1"), _node("snapshot:s1"), _node("snapshot:s2")])
        store.upsert_edges([Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:s1"),
                            Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:s2")])
        assert store.delete_nodes(["snapshot:s1"]) == 1
        assert [e.dst for e in store.find_edges(EdgeQuery()).items] == ["snapshot:s2"]
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert "nodes_content_hash" not in indexes


def _wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_sqlite_checkpoints_a_large_write_off_the_writers_thread(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path}/ckpt.db")
    try:
        checkpointer = store._checkpointer
        assert checkpointer is not None
        store.upsert_nodes([_node("run:small")])
        assert checkpointer.runs == 0  # one row does not wake the thread
        store.upsert_nodes([_node(f"run:r{i}") for i in range(checkpointer.every_rows)])
        assert _wait_for(lambda: checkpointer.runs >= 1)
        assert len(store.get_nodes([f"run:r{i}" for i in range(10)])) == 10
    finally:
        store.close()


def test_sqlite_a_scope_that_may_not_wait_is_refused_at_once_while_another_process_writes(
    sqlite_store: GraphStore,
) -> None:
    with another_process_holding_the_lock(sqlite_store, seconds=0.6):
        started = time.monotonic()
        with pytest.raises(WouldWait, match="another process"), sqlite_store.transaction(
            wait=False
        ):
            sqlite_store.upsert_nodes([_node("run:r1")])
        assert time.monotonic() - started < 0.5
        # The same thread's next scope waits for the lock as usual, and writes.
        with sqlite_store.transaction():
            sqlite_store.upsert_nodes([_node("run:r2")])
        assert time.monotonic() - started >= 0.5

    assert set(sqlite_store.get_nodes(["run:r1", "run:r2"])) == {"run:r2"}
