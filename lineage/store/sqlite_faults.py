"""What a SQLite failure means, in words a client and an operator can act on.

Every ``sqlite3.Error`` the SQLite backend meets leaves it as an :class:`UnavailableError` (or,
for a malformed query, :class:`InvalidError`) naming the cause: the disk is full, the file is
read-only, another writer holds the lock, the file is damaged. Some faults live in the
connection itself: a connection opened while the file could not be written stays read-only
after the permissions are restored, and one that failed mid-write may hold a broken transaction.
:func:`poisons_connection` says when to throw the connection away, so the store recovers on the
next call without a restart.
"""

from __future__ import annotations

import os
import sqlite3

from lineage.errors import InvalidError, LineageError, UnavailableError

NOTHING_WRITTEN = "nothing was written"
_READ_ONLY = "the store is read-only (the file or its directory cannot be written)"

# (fragment of SQLite's message, what it means, whether the connection must be replaced)
_CAUSES: tuple[tuple[str, str, bool], ...] = (
    ("database or disk is full", "the disk holding the store is full", True),
    ("readonly", _READ_ONLY, True),
    ("disk i/o error", "the disk failed a read or write (disk I/O error)", True),
    ("unable to open", "the store file cannot be opened", True),
    ("database is locked", "another writer holds the store's write lock", False),
    ("busy", "another writer holds the store's write lock", False),
    ("malformed", "the store file is damaged (database disk image is malformed)", True),
    ("not a database", "the store file is not a SQLite database", True),
)


def cause_of(exc: sqlite3.Error) -> tuple[str, bool]:
    """The cause in words, and whether the connection that raised it must be replaced."""
    text = str(exc).lower()
    for fragment, meaning, poisoned in _CAUSES:
        if fragment in text:
            return meaning, poisoned
    return f"SQLite failed: {exc}", isinstance(exc, sqlite3.OperationalError)


def writable(path: str) -> bool:
    """Whether the database file and its write-ahead log (when there is one) can be written."""
    return all(os.access(name, os.W_OK) for name in (path, f"{path}-wal") if os.path.exists(name))


def poisons_connection(exc: sqlite3.Error) -> bool:
    """Whether the connection that raised ``exc`` should be closed and opened again."""
    return cause_of(exc)[1]


def translate(exc: sqlite3.Error, path: str, *, writing: bool) -> LineageError:
    """The product error for a SQLite failure on the store at ``path``.

    ``writing`` adds that nothing was written: the caller has rolled the transaction back (or
    SQLite did) before this error reaches anyone.
    """
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        # A value the store cannot bind: a bug or forged input that escaped validation.
        return InvalidError(f"the store refused a value: {exc}")
    meaning, _ = cause_of(exc)
    if "i/o error" in str(exc).lower() and not writable(path):
        # A write refused by the file system (permissions, the immutable attribute) reaches
        # SQLite as a failed write: say what it really is.
        meaning = _READ_ONLY
    message = f"{meaning} ({path}: {exc})"
    if writing:
        message += f"; {NOTHING_WRITTEN}"
    return UnavailableError(message, field="store", details={"sqlite": str(exc)})
