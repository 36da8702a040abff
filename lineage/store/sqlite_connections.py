"""The SQLite store's connections and transactions: one connection per thread, write scopes
queued in arrival order and bounded in time, and every ``sqlite3`` failure turned into the
product's errors (see :mod:`lineage.store.sqlite_faults`), with broken connections replaced so
the store recovers from a fault without a restart.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from lineage.errors import InvalidError, UnavailableError
from lineage.store.base import WouldWait
from lineage.store.sqlite_faults import NOTHING_WRITTEN, poisons_connection, translate, writable
from lineage.store.wal_checkpoint import BACKSTOP_PAGES, WalCheckpointer

# How long a write waits for the write lock (another thread or process writing) before it gives
# up with UNAVAILABLE and nothing written.
DEFAULT_LOCK_TIMEOUT = 5.0


class SQLiteConnections:
    """Per-thread connections to one SQLite file, and the transaction scope over them."""

    def __init__(self, path: str, schema: str, lock_timeout: float) -> None:
        self.path = path
        if not lock_timeout > 0:
            raise InvalidError("must be a positive number of seconds", field="lock_timeout")
        self.lock_timeout = lock_timeout
        parent = Path(self.path).parent
        if not parent.exists():
            raise UnavailableError(f"directory {parent} does not exist", field="store")
        self._local = threading.local()
        # Every open connection, with how many store calls are using it right now (see close).
        self._uses: dict[sqlite3.Connection, int] = {}
        self._lock = threading.Lock()
        # Threads of this process queue here for the write lock, first come first served.
        # Left to SQLite's busy handler they sleep up to 100 ms between tries while others
        # barge in: with 8 writers that gave a 1.2 s worst case against 41 ms queued.
        self._writer = threading.Lock()
        self._closed = False
        self._checkpointer: WalCheckpointer | None = None
        try:
            self._conn().executescript(schema)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise UnavailableError(
                f"{self.path} is not a usable SQLite store: {exc}", field="store"
            ) from exc
        self._checkpointer = WalCheckpointer(self.path)

    # -- connections and transactions -------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise UnavailableError("the store is closed", field="store")
            wait_ms = int(self.lock_timeout * 1000)
            try:
                conn = sqlite3.connect(
                    self.path,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=self.lock_timeout,
                )
            except sqlite3.Error as exc:
                raise UnavailableError(f"cannot open {self.path}: {exc}", field="store") from exc
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                # Off also for stores created when edges declared ON DELETE CASCADE.
                conn.execute("PRAGMA foreign_keys=OFF")
                conn.execute(f"PRAGMA busy_timeout={wait_ms}")
                conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            except sqlite3.Error as exc:
                conn.close()
                raise translate(exc, self.path, writing=False) from exc
            self._local.conn = conn
            self._local.depth = 0
            # What SQLite will not say: whether it fell back to opening the file read-only.
            self._local.opened_readonly = not writable(self.path)
            with self._lock:
                self._uses[conn] = 0
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Join the open transaction, or run one of our own around the block."""
        self._conn()  # this thread's connection and scope depth exist from here on
        with self._guard(writing=True):
            if self._local.depth:
                yield self._conn()
                return
            with self.transaction():
                yield self._conn()  # the one the transaction began on (see _begin)

    def _discard(self) -> None:
        """Close this thread's connection; the next call opens a fresh one.

        A connection opened while the file was read-only stays read-only after the permissions
        come back, and one that failed mid-write may hold a broken transaction: replacing it is
        what lets the store recover without a restart.
        """
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        self._local.depth = 0
        self._local.opened_readonly = False
        if conn is None:
            return
        with self._lock:
            self._uses.pop(conn, None)
        with suppress(sqlite3.Error):
            conn.close()

    @contextmanager
    def _using(self) -> Iterator[None]:
        """Mark this thread's connection in use for the block, so that close() leaves it open
        until the block ends (then closes it) instead of closing it under a running statement."""
        conn = self._conn()
        with self._lock:
            if self._closed:
                raise UnavailableError("the store is closed", field="store")
            self._uses[conn] = self._uses.get(conn, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._uses.get(conn)
                if left is not None:
                    self._uses[conn] = left - 1
                    if left == 1 and self._closed:
                        del self._uses[conn]
                        with suppress(sqlite3.Error):
                            conn.close()

    @contextmanager
    def _guard(self, *, writing: bool) -> Iterator[None]:
        """Translate SQLite failures into UNAVAILABLE naming the cause (see sqlite_faults)."""
        try:
            with self._using():
                yield
        except sqlite3.Error as exc:
            if poisons_connection(exc) and not self._local.depth:
                self._discard()
            raise translate(exc, self.path, writing=writing) from exc

    @contextmanager
    def transaction(self, wait: bool = True) -> Iterator[None]:
        """All writes inside commit together; an exception rolls every one of them back.

        Waiting for the write lock (another thread of this process, then another process) is
        bounded by ``lock_timeout``: past it the scope fails with UNAVAILABLE before anything
        was written, and nothing is left waiting to commit later. With ``wait=False`` a lock
        held by anyone else is WouldWait at once (see GraphStore.transaction).
        """
        self._conn()  # this thread's connection and scope depth exist from here on
        if self._local.depth:
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        patience = self.lock_timeout if wait else 0.0
        deadline = time.monotonic() + patience
        if not self._writer.acquire(timeout=patience):
            raise self._busy("another write of this service", wait)
        try:
            if getattr(self._local, "opened_readonly", False):
                self._discard()  # it would stay read-only: see _begin
            with self._using():
                conn = self._begin(deadline, wait)
                self._local.depth = 1
                changes = conn.total_changes
                try:
                    yield
                except BaseException as exc:
                    self._abort(conn, exc)
                    raise
                self._local.depth = 0
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._abort(conn, exc)
                    raise translate(exc, self.path, writing=True) from exc
                if self._checkpointer is not None:
                    self._checkpointer.wrote(conn.total_changes - changes)
        finally:
            self._writer.release()

    def _begin(self, deadline: float, wait: bool = True) -> sqlite3.Connection:
        """BEGIN IMMEDIATE on this thread's connection, waiting for another process's lock
        only until ``deadline`` (not at all unless ``wait``).

        SQLite silently opens a file it cannot write read-only, and such a connection stays
        read-only after the fault is gone (it fails at the first write, not at BEGIN), so
        transaction() replaces one opened while the file was not writable before calling this:
        the first write after the permissions come back succeeds.
        """
        conn = self._conn()
        wait_ms = max(1, int((deadline - time.monotonic()) * 1000)) if wait else 0
        try:
            conn.execute(f"PRAGMA busy_timeout={wait_ms}")
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise self._busy("another process", wait) from exc
            if poisons_connection(exc):
                self._discard()
            raise translate(exc, self.path, writing=True) from exc
        if not wait:  # reads on this connection later may wait as usual
            conn.execute(f"PRAGMA busy_timeout={int(self.lock_timeout * 1000)}")
        return conn

    def _busy(self, holder: str, wait: bool = True) -> UnavailableError:
        if not wait:
            return WouldWait(f"{holder} holds {self.path}'s write lock", field="store")
        return UnavailableError(
            f"the store is busy: {holder} held {self.path}'s write lock for more than "
            f"{self.lock_timeout:g}s; {NOTHING_WRITTEN}. Retry: an identical registration is "
            "a no-op if it was already written",
            field="store",
        )

    def _abort(self, conn: sqlite3.Connection, exc: BaseException) -> None:
        """Roll back after a failure, without letting the rollback hide the real error.

        SQLite rolls back by itself after some faults (a full disk, an I/O error), so a second
        ROLLBACK would fail with "no transaction is active"; a connection that cannot roll back,
        or that met a fault of its own, is closed, which discards anything uncommitted.
        """
        self._local.depth = 0
        cause = exc.__cause__ if isinstance(exc, UnavailableError) else exc
        poisoned = isinstance(cause, sqlite3.Error) and poisons_connection(cause)
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                poisoned = True
        if poisoned:
            self._discard()

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Several reads that must see one state: a deferred read transaction (WAL keeps it
        from blocking the writer), or the transaction already open on this thread."""
        conn = self._conn()
        if self._local.depth or conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every thread's connection, each once no statement of it is running.

        Closing a connection that another thread is stepping through crashes the process (a
        request abandoned at its time budget still runs in its worker thread). So the store
        closes idle connections at once, and one in use when its thread's store call ends;
        every later call is UNAVAILABLE ("the store is closed").
        """
        with self._lock:
            self._closed = True
            idle = [conn for conn, uses in self._uses.items() if uses == 0]
            for conn in idle:
                del self._uses[conn]
                with suppress(sqlite3.Error):
                    conn.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self._local = threading.local()
