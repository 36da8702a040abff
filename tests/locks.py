"""Another writer holding the store's write lock, for the tests of what a waiting write does:
a write scope of this service on another thread (both backends), or ``BEGIN EXCLUSIVE`` on the
SQLite file from another process."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from lineage.store.base import GraphStore


@contextmanager
def another_writer_holding_the_lock(
    store: GraphStore, seconds: float | None = None
) -> Iterator[None]:
    """A write scope of this service held open on another thread (both backends); released when
    the block ends, or after ``seconds``."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.transaction():
            entered.set()
            release.wait(seconds if seconds is not None else 30)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert entered.wait(5)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextmanager
def another_process_holding_the_lock(
    store: GraphStore, seconds: float | None = None
) -> Iterator[None]:
    """``BEGIN EXCLUSIVE`` on the SQLite file from another process, as an operator's sqlite3
    shell or a second service would hold it; released when the block ends, or after
    ``seconds``."""
    path = getattr(store, "path", None)
    if path is None:
        pytest.skip("a lock held by another process is a SQLite file lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    letting_go = threading.Timer(seconds or 0.0, holder.stdin.close)
    try:
        assert holder.stdout.readline().strip() == "locked"
        if seconds is not None:
            letting_go.start()
        yield
    finally:
        if letting_go.ident is not None:  # started: stop it, or let it finish closing
            letting_go.cancel()
            letting_go.join()
        if not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(10)
