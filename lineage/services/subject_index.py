"""Decisions by data subject: an index of subject -> inference batch, kept beside the records.

A regulator's first request is "show me this applicant's decision". Decisions live in records
files, so without an index the only way is to read every file of the window. The index maps
each identifier found in a decision to the batches (and the registered records file) holding
it, so ``decisions(..., subject: "john_doe_12345")`` reads only the files that hold the subject.

Identifiers are personal data, so the index holds none in clear: its key is an HMAC-SHA256 of
the value (its first 128 bits) under a secret of the service (32 random bytes in
``<records>/subjects/key``, mode 0600, made on first use). Which fields identify a person:
``subject`` and every field whose name ends in ``_id`` (``applicant_id``, ``customer_id``); a
value is matched as text, or as its JSON form for a number (as an erasure's ``field=value`` is,
see :mod:`lineage.services.retention_erasure`).

Where: a small SQLite file, ``<records>/subjects/index.sqlite3``. It lives with the records it
indexes (either graph backend, survives restarts) and follows them: an erasure removes the
subject's entries for the batches it redacted, and retention removes the entries of the
batches it prunes. It is rebuilt from the records (:func:`lineage.services.subjects.rebuild`,
``lineage subjects rebuild``) when it is missing, was made under another key, or was started
on a store that already held batches; a lookup does that by itself before answering.

Consistency without a shared transaction: entries are written *before* the batch registration
commits and removed *after* an erasure or a pruning commits, so the index may hold extra
entries (a registration that failed, a crash between the two) but never lacks one; every
lookup re-reads the files it names and keeps only the decisions that still match. A rebuild
keeps the entries under the current key, so a registration indexing meanwhile loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from lineage.errors import InvalidError, UnavailableError
from lineage.model.canonical import canonical_json
from lineage.services.record_store import RecordStore

SUBJECTS_DIR = "subjects"  # under the records root; not two characters, so no hash directory
INDEX_FILE = "index.sqlite3"
KEY_FILE = "key"
KEY_BYTES = 32
MAX_SUBJECT = 256
_FINGERPRINT = b"lineage subject index"
# 128 bits of the HMAC: ample to tell subjects apart (a collision only costs a file read, as
# every lookup re-reads the files it names), and a quarter of the index's size in hex.
MAC_BYTES = 16
_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    ref INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    records_hash TEXT NOT NULL   -- the file the batch was registered with
);
CREATE TABLE IF NOT EXISTS entries (
    subject BLOB NOT NULL,       -- HMAC-SHA256 of the value, first MAC_BYTES bytes
    field TEXT NOT NULL,         -- the field that held it, e.g. applicant_id
    batch INTEGER NOT NULL,      -- batches.ref
    PRIMARY KEY (subject, field, batch)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_batch ON entries (batch);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_BATCH_REF = "(SELECT ref FROM batches WHERE id = ?)"
Progress = Callable[[int, int | None], None]  # batches indexed, total when known
log = structlog.get_logger("lineage.subjects")


def identifies(field: str) -> bool:
    """Whether a decision's field names a data subject."""
    return field == "subject" or field.endswith("_id")


def identifiers(record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, value as text) of each identifier of a decision."""
    for name, value in record.items():
        if not identifies(name) or value is None or isinstance(value, (dict, list, bool)):
            continue
        yield name, value if isinstance(value, str) else canonical_json(value)


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """Whom to look for: a value, and the field that must hold it (any identifier if None)."""

    value: str
    field: str | None = None

    @classmethod
    def parse(cls, text: str) -> SubjectRef:
        """``john_doe_12345`` or ``applicant_id=john_doe_12345``; INVALID (field ``subject``)
        for an empty or oversized value."""
        text = text.strip()
        name, sep, value = text.partition("=")
        if sep and name.isidentifier() and value:
            if not identifies(name):
                raise InvalidError(
                    f"{name} is not an identifying field (`subject` or a name ending in `_id`)",
                    field="subject",
                )
            ref = cls(value, name)
        else:
            ref = cls(text)
        if not ref.value or len(ref.value) > MAX_SUBJECT:
            raise InvalidError(
                f"give the subject's identifier (1 to {MAX_SUBJECT} characters), e.g. "
                "john_doe_12345 or applicant_id=john_doe_12345",
                field="subject",
            )
        return ref

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether the decision is this subject's."""
        return any(
            text == self.value and (self.field is None or name == self.field)
            for name, text in identifiers(record)
        )


class SubjectIndex:
    """The index file of one record store."""

    def __init__(self, records: RecordStore) -> None:
        self.dir = records.root / SUBJECTS_DIR
        self.path = self.dir / INDEX_FILE
        self._key: bytes | None = None

    # -- the secret --------------------------------------------------------------------------

    def _secret(self) -> bytes:
        if self._key is None:
            self._key = self._load_or_make_key(self.dir / KEY_FILE)
        return self._key

    def _load_or_make_key(self, path: Path) -> bytes:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                key = path.read_bytes()
                if len(key) == KEY_BYTES:
                    return key
                raise UnavailableError(
                    f"the subject index key {path} is damaged; delete it and run "
                    "`lineage subjects rebuild`",
                    field="subject",
                ) from None
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(KEY_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            return path.read_bytes()
        except OSError as exc:
            raise self._unavailable(exc) from exc

    def mac(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the service's secret, hex."""
        return hmac.new(self._secret(), value.encode("utf-8"), hashlib.sha256).hexdigest()

    def _index_key(self, value: str) -> bytes:
        """The index key of an identifier (the HMAC, truncated)."""
        digest = hmac.new(self._secret(), value.encode("utf-8"), hashlib.sha256).digest()
        return digest[:MAC_BYTES]

    # -- the file ----------------------------------------------------------------------------

    def _unavailable(self, exc: Exception) -> UnavailableError:
        return UnavailableError(
            f"the subject index {self.path} cannot be used: {exc}", field="subject"
        )

    def _connect(self) -> sqlite3.Connection:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise self._unavailable(exc) from exc
        return conn

    def exists(self) -> bool:
        """Whether the index file is there."""
        return self.path.is_file()

    def complete(self) -> bool:
        """Whether the index covers every batch: built by :func:`rebuild`, or begun on a store
        without batches, and under the current key."""
        if not self.exists():
            return False
        fingerprint = self.mac(_FINGERPRINT.decode())
        with closing(self._connect()) as conn:
            found = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        return found.get("complete") == "1" and found.get("key") == fingerprint

    def mark_complete(self, done: bool = True) -> None:
        """Record that the index covers every batch (or, ``done=False``, that it may not)."""
        rows = [("complete", "1" if done else "0"), ("key", self.mac(_FINGERPRINT.decode()))]
        with closing(self._connect()) as conn:
            conn.executemany("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", rows)

    def add(self, batch: str, records_hash: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Index the identifiers of a batch's decisions; how many entries that made."""
        entries = {
            (self._index_key(value), name) for row in rows for name, value in identifiers(row)
        }
        try:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "INSERT OR IGNORE INTO batches (id, records_hash) VALUES (?, ?)",
                    (batch, records_hash),
                )
                (ref,) = conn.execute("SELECT ref FROM batches WHERE id = ?", (batch,)).fetchone()
                conn.executemany(
                    "INSERT OR IGNORE INTO entries VALUES (?, ?, ?)",
                    [(key, name, ref) for key, name in entries],
                )
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        return len(entries)

    def batches_of(self, subject: SubjectRef) -> set[str]:
        """The batches whose decisions held the subject when they were indexed."""
        sql = "SELECT b.id FROM entries e JOIN batches b ON b.ref = e.batch WHERE e.subject = ?"
        args: list[object] = [self._index_key(subject.value)]
        if subject.field is not None:
            sql += " AND e.field = ?"
            args.append(subject.field)
        try:
            with closing(self._connect()) as conn:
                return {row[0] for row in conn.execute(sql, args)}
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def forget_subject(self, field: str, value: str, batches: Iterable[str]) -> int:
        """Remove the subject's entries for ``batches`` (after an erasure); how many. Never
        raises (see :meth:`_delete`)."""
        if not self.exists():
            return 0
        try:
            key = self._index_key(value)
        except UnavailableError as exc:  # the key is unreadable: so are the entries
            log.warning("subject index entries left behind", index=str(self.path), error=str(exc))
            return 0
        rows = [(key, field, b) for b in batches]
        sql = f"DELETE FROM entries WHERE subject = ? AND field = ? AND batch = {_BATCH_REF}"
        return self._delete([(sql, rows)])

    def forget_batches(self, batches: Iterable[str]) -> int:
        """Remove every entry of ``batches`` (after retention pruned them); how many. Never
        raises (see :meth:`_delete`)."""
        rows = [(b,) for b in batches]
        return self._delete(
            [
                (f"DELETE FROM entries WHERE batch = {_BATCH_REF}", rows),
                ("DELETE FROM batches WHERE id = ?", rows),
            ]
        )

    def _delete(self, statements: Sequence[tuple[str, Sequence[tuple[object, ...]]]]) -> int:
        """Run the deletions in one transaction; how many rows of the first they removed.

        Called after an erasure or a pruning committed: failing then would stop the caller
        before it deletes the files it must (retention) or reports what it did. An entry left
        behind is harmless, as every lookup re-reads the files it names; it is logged.
        """
        if not statements[0][1] or not self.exists():
            return 0
        try:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                before = conn.total_changes
                conn.executemany(*statements[0])
                removed = conn.total_changes - before
                for sql, rows in statements[1:]:
                    conn.executemany(sql, rows)
                conn.execute("COMMIT")
        except (OSError, sqlite3.Error, UnavailableError) as exc:
            log.warning("subject index entries left behind", index=str(self.path), error=str(exc))
            return 0
        return removed

    def start_rebuild(self) -> None:
        """Before a rebuild: drop the entries made under another key (they can never match
        again). Entries under the current key stay: a registration that indexed its batch
        while the rebuild scans must not lose its entry, and a stale one is harmless."""
        fingerprint = self.mac(_FINGERPRINT.decode())
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            found = conn.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()
            if found is None or found[0] != fingerprint:
                conn.execute("DELETE FROM entries")
                conn.execute("DELETE FROM batches")
                conn.execute("DELETE FROM meta")
            conn.execute("COMMIT")
