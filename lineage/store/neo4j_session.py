"""The Neo4j store's driver, sessions and transactions, and the translation of driver errors.

Outside a ``transaction()`` scope each call runs in its own managed transaction (retried by the
driver on transient failures, so every unit of work is idempotent): reads through
``execute_read``, which a cluster routes to a follower or read replica, writes through
``execute_write``, which goes to the leader. Inside a scope every call of that thread, reads
included, goes through one explicit transaction on the leader that starts by taking the store
lock, so scopes are serialised like SQLite's ``BEGIN IMMEDIATE``.

**Bookmarks: one bookmark manager per store, i.e. per process.** Every session of the store
shares it, so a read waits until the member serving it has applied every write this process
committed before it: a pipeline that registers and then queries in its next request sees its
write, whichever cluster member answers (the causal chain of the driver's ``execute_query``
default, kept across our own sessions). Per-principal bookmarks were considered: they spare a
reader the wait for other principals' writes, but that wait is the replication lag (a few
milliseconds on a healthy cluster) and a principal is not a store concept. Across several API
processes behind a load balancer the chain is per process: route one principal to one process
(hash on the ``Authorization`` header) where read-your-writes across requests matters; see the
README, "Neo4j in production: scale-out".

Driver exceptions never leave this module's users: they become ``UnavailableError`` (outage,
authentication, timeouts), ``ConflictError`` (uniqueness) or ``InvalidError`` (a query the
server refused); no message names a credential.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, LiteralString, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from lineage.errors import ConflictError, InvalidError, LineageError, UnavailableError
from lineage.store import cypher
from lineage.store.base import WouldWait
from lineage.store.neo4j_uri import DEFAULT_USER, PASSWORD_ENV, USER_ENV, parse_uri

# An outage must fail a request within 5 s, not hang it: the driver's defaults are 30 s to
# connect, 60 s to get a pooled connection and 30 s of transaction retries. The driver retries
# a managed transaction after delays of about 1 s, 2 s, 4 s (+-20% jitter) for as long as
# RETRY_TIME has not passed since the first failure. A stopped server refuses at once: failures
# at 0, ~1 and ~3 s (at most 3.6 s), then no retry is left, where 3 s would allow one more at up
# to 8.4 s. A server that does not answer at all (a dead host) costs CONNECTION_TIMEOUT per
# attempt: 1.5 + 1.2 + 1.5 s at most. Bolt connects within milliseconds on a healthy network.
CONNECTION_TIMEOUT = 1.5
ACQUISITION_TIMEOUT = 4.0
RETRY_TIME = 2.0
DEFAULT_LOCK_TIMEOUT = 5.0
# The server ends a transaction() scope that runs longer than this, so no scope can hold the
# store lock forever (a wedged client, a lost connection); the largest bulk-load batch commits
# well within it.
TX_TIMEOUT = 60.0

_T = TypeVar("_T")
Tx = neo4j.ManagedTransaction | neo4j.Transaction
DRIVER_ERRORS = (neo4j_errors.Neo4jError, neo4j_errors.DriverError)


def rows(tx: Tx, query: LiteralString, **params: Any) -> list[neo4j.Record]:
    """Run ``query`` and read every row while the transaction is open (a Result dies with it)."""
    return list(tx.run(query, params))


class _Scope(threading.local):
    """This thread's open transaction() scope, if any."""

    def __init__(self) -> None:
        self.tx: neo4j.Transaction | None = None
        self.depth = 0
        # Set when an operation failed after writing part of its work into the scope: Neo4j
        # has no savepoint to undo that part, so the whole scope can only roll back.
        self.doomed: LineageError | None = None


class Neo4jConnections:
    """One driver to a Neo4j server, its sessions, and the transaction scope over them."""

    def __init__(self, uri: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        target = parse_uri(uri)
        self.uri = target.uri
        self.database = target.database
        if not lock_timeout > 0:
            raise InvalidError("must be a positive number of seconds", field="lock_timeout")
        self.lock_timeout = lock_timeout
        # Threads of this process queue here before taking the server-side store lock, so a
        # write blocked by another of this process's writes gives up after lock_timeout.
        self._writer = threading.Lock()
        self._scope = _Scope()
        self._closed = False
        auth = (
            (target.user or DEFAULT_USER, target.password) if target.password is not None else None
        )
        try:
            self._driver = neo4j.GraphDatabase.driver(
                target.driver_uri,
                auth=auth,
                connection_timeout=CONNECTION_TIMEOUT,
                connection_acquisition_timeout=ACQUISITION_TIMEOUT,
                max_transaction_retry_time=RETRY_TIME,
                user_agent="lineage",
            )
        except (neo4j_errors.ConfigurationError, ValueError) as exc:
            raise InvalidError(f"cannot use Neo4j URI {self.uri}: {exc}", field="store") from None
        # One chain of bookmarks for every session of this store (see the module docstring).
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        try:
            self._driver.verify_connectivity()
            self._create_schema()
        except DRIVER_ERRORS as exc:
            self._driver.close()
            raise self._translate(exc) from exc
        except BaseException:
            self._driver.close()
            raise

    # -- sessions ---------------------------------------------------------------------------

    def _session(self, *, write: bool = True) -> neo4j.Session:
        if self._closed:
            raise UnavailableError("the store is closed", field="store")
        return self._driver.session(
            database=self.database,
            bookmark_manager=self._bookmarks,
            default_access_mode=neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS,
        )

    def _create_schema(self) -> None:
        with self._session() as session:
            for statement in cypher.SCHEMA:
                try:
                    session.run(statement).consume()
                except neo4j_errors.ClientError as exc:
                    # Two processes starting together (API and scheduler) can both try to
                    # create the same rule; IF NOT EXISTS does not cover that race.
                    if not (exc.code or "").endswith("AlreadyExists"):
                        raise

    def _in_scope(self) -> bool:
        return self._scope.tx is not None

    def _run(self, work: Callable[[Tx], _T], *, write: bool) -> _T:
        """Run ``work`` in this thread's open scope, else in a managed transaction (routed to
        a reader or the leader by ``write``)."""
        scope = self._scope
        try:
            tx = scope.tx
            if tx is not None:
                if scope.doomed is not None:
                    raise scope.doomed
                return work(tx)
            with self._session(write=write) as session:
                if write:
                    return session.execute_write(work)
                return session.execute_read(work)
        except DRIVER_ERRORS as exc:
            raise self._translate(exc, writing=write) from exc

    def _doom_scope(self, error: LineageError) -> None:
        """Inside a scope, ``error`` ended an operation after part of it was written: the scope
        can only roll back now (its exit raises ``error`` again if the caller went on)."""
        if self._scope.tx is not None:
            self._scope.doomed = error

    # -- errors -----------------------------------------------------------------------------

    def _translate(self, exc: Exception, *, writing: bool = False) -> LineageError:
        """The LineageError a driver exception means; the message names no credentials.

        ``writing``: the failure ended a write transaction before it committed, so nothing was
        written; the message says so.
        """
        if isinstance(exc, neo4j_errors.IncompleteCommit):
            return UnavailableError(
                f"the connection to Neo4j at {self.uri} was lost while committing: the write "
                "may or may not have been committed. Retry the identical request: a "
                "registration already written is a no-op",
                field="store",
                details={"neo4j": type(exc).__name__, "outcome": "unknown"},
            )
        error = self._meaning(exc)
        if writing and isinstance(error, UnavailableError):
            error.message += "; nothing was written"
        return error

    def _meaning(self, exc: Exception) -> LineageError:
        where = f"Neo4j at {self.uri}"
        message = exc.message if isinstance(exc, neo4j_errors.Neo4jError) else str(exc)
        code = exc.code if isinstance(exc, neo4j_errors.Neo4jError) else type(exc).__name__
        details = {"neo4j": code}
        if isinstance(exc, neo4j_errors.AuthError):
            return UnavailableError(
                f"{where}: authentication failed; check the user and password in the store URI "
                f"or {USER_ENV} / {PASSWORD_ENV}",
                field="store",
                details=details,
            )
        if isinstance(exc, neo4j_errors.ConstraintError):
            return ConflictError(f"{where} refused a duplicate: {message}", details=details)
        if isinstance(exc, neo4j_errors.Forbidden):
            return UnavailableError(
                f"{where}: the configured user may not do this: {message}",
                field="store",
                details=details,
            )
        if isinstance(exc, neo4j_errors.ClientError):
            if code == "Neo.ClientError.Database.DatabaseNotFound":
                return UnavailableError(
                    f"{where}: database {self.database!r} does not exist",
                    field="store",
                    details=details,
                )
            return InvalidError(f"{where} rejected a query: {message}", details=details)
        if isinstance(exc, neo4j_errors.TransientError):
            return UnavailableError(
                f"{where} could not complete the request now ({message}); try again",
                details=details,
            )
        if isinstance(exc, neo4j_errors.ConfigurationError):
            return InvalidError(f"cannot use {where}: {message}", field="store", details=details)
        if isinstance(
            exc,
            neo4j_errors.ServiceUnavailable
            | neo4j_errors.SessionExpired
            | neo4j_errors.ConnectionAcquisitionTimeoutError,
        ):
            return UnavailableError(
                f"cannot reach {where}: {message}", field="store", details=details
            )
        return UnavailableError(f"{where} failed: {message}", field="store", details=details)

    # -- the transaction scope --------------------------------------------------------------

    @contextmanager
    def transaction(self, wait: bool = True) -> Iterator[None]:
        """All operations inside share one transaction; an exception rolls it all back.

        Nested scopes join the outer one. Scopes are serialised: first among this process's
        threads (waiting at most ``lock_timeout``, then UNAVAILABLE with nothing written), then
        by the store lock on the server. A commit whose answer is lost with the connection is
        reported as such: its outcome is unknown, and an identical retry is the safe next step.
        A new scope always talks to the server, so ``wait=False`` is WouldWait at once.
        """
        scope = self._scope
        if scope.tx is not None:
            scope.depth += 1
            try:
                yield
            finally:
                scope.depth -= 1
            return
        if not wait:
            raise WouldWait(f"Neo4j at {self.uri} is reached over the network", field="store")
        if not self._writer.acquire(timeout=self.lock_timeout):
            raise UnavailableError(
                f"Neo4j at {self.uri} is busy: another write of this service held the store "
                f"lock for more than {self.lock_timeout:g}s; nothing was written. Retry: an "
                "identical registration is a no-op if it was already written",
                field="store",
            )
        try:
            with self._scoped_transaction(scope):
                yield
        finally:
            self._writer.release()

    @contextmanager
    def _scoped_transaction(self, scope: _Scope) -> Iterator[None]:
        session = self._session()
        try:
            tx = session.begin_transaction(timeout=TX_TIMEOUT)
            tx.run(cypher.TAKE_LOCK).consume()
        except DRIVER_ERRORS as exc:
            self._quietly(session.close)
            raise self._translate(exc, writing=True) from exc
        scope.tx, scope.depth, scope.doomed = tx, 1, None
        try:
            yield
        except BaseException:
            scope.tx, scope.depth, scope.doomed = None, 0, None
            self._quietly(tx.rollback)
            self._quietly(session.close)
            raise
        doomed = scope.doomed
        scope.tx, scope.depth, scope.doomed = None, 0, None
        if doomed is not None:
            self._quietly(tx.rollback)
            self._quietly(session.close)
            raise doomed
        try:
            tx.commit()
        except DRIVER_ERRORS as exc:
            raise self._translate(exc, writing=True) from exc
        finally:
            self._quietly(session.close)

    @staticmethod
    def _quietly(action: Callable[[], object]) -> None:
        # Cleaning up after a failure that is already being reported.
        with suppress(*DRIVER_ERRORS):
            action()

    # -- health and shutdown ----------------------------------------------------------------

    def ping(self, write: bool = False) -> None:
        """Raise UNAVAILABLE unless the server answers ``RETURN 1`` (a reader, through read
        routing); with ``write``, unless a write to the ``:LineageReadiness`` node commits now
        on the leader (a read-only database, a full disk or a lost leader fail it)."""
        statement = cypher.WRITE_PROBE if write else cypher.PING
        try:
            tx = self._scope.tx
            if tx is not None:
                tx.run(statement).consume()
                return
            # Auto-commit, not execute_read: a health probe should report an outage at once
            # instead of retrying it for RETRY_TIME.
            with self._session(write=write) as session:
                session.run(neo4j.Query(statement, timeout=self.lock_timeout)).consume()
        except DRIVER_ERRORS as exc:
            error = self._translate(exc)
            if isinstance(error, UnavailableError):
                raise error from exc
            raise UnavailableError(error.message, field="store", details=error.details) from exc

    def close(self) -> None:
        """Close the driver and its connection pool."""
        if self._closed:
            return
        self._closed = True
        self._quietly(self._driver.close)
