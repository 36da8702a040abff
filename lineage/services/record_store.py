"""The content-addressed record store: where individual decisions live.

An InferenceBatch node carries only the SHA-256 of its records file; the file (JSON Lines, one
decision per line) sits at ``<root>/<hash[:2]>/<hash>``. Writes are atomic (temp file + rename)
and reads re-hash, so a file altered on disk is reported, never served.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lineage.errors import ConflictError, InvalidError, NotFoundError, UnavailableError
from lineage.model.canonical import canonical_json
from lineage.model.record_fields import require_sha256

DEFAULT_RECORDS_DIR = "./lineage-records"
ERASED_DIR = "erased"  # markers of erased files: <root>/erased/<hash>, no 2-character clash


def encode_records(records: Sequence[dict[str, Any]]) -> bytes:
    """Canonical JSON Lines: the same records always give the same bytes, hence the same hash."""
    return "".join(canonical_json(r) + "\n" for r in records).encode("utf-8")


class RecordStore:
    """Content-addressed files under a root directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        require_sha256(digest, "records_hash")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store bytes; returns their SHA-256. Storing the same bytes twice is a no-op.

        A directory that cannot be written (read-only, full disk) is UNAVAILABLE naming the
        cause, and leaves no partial file behind.
        """
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        self._refuse_erased(digest)
        try:
            if path.exists():
                return digest
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        except OSError as exc:
            raise self._unavailable(exc, "written") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise self._unavailable(exc, "written") from exc
            raise
        return digest

    def probe(self) -> None:
        """UNAVAILABLE unless a file can be written in the record store now (readiness)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".readiness-")
            try:
                os.write(fd, b"probe")
            finally:
                os.close(fd)
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            raise self._unavailable(exc, "written") from exc

    def _unavailable(self, exc: OSError, done: str) -> UnavailableError:
        cause = exc.strerror or type(exc).__name__
        message = f"the record store {self.root} cannot be {done}: {cause}"
        if done == "written":
            message += "; nothing was written"
        return UnavailableError(message, field="records", details={"errno": exc.errno})

    def put_records(self, records: Sequence[dict[str, Any]]) -> str:
        """Store decisions as canonical JSON Lines; returns the file's hash."""
        return self.put(encode_records(records))

    def exists(self, digest: str) -> bool:
        """Whether a file with this hash is stored."""
        path = self._path(digest)
        try:
            return path.is_file()
        except OSError as exc:
            raise self._unavailable(exc, "read") from exc

    def read(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; CONFLICT if the file no longer matches it."""
        path = self._path(digest)
        try:
            if not path.is_file():
                raise NotFoundError(
                    f"no records file {digest} in {self.root}", field="records_hash"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise self._unavailable(exc, "read") from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise ConflictError(f"records file {digest} was altered on disk", field="records_hash")
        return data

    def delete(self, digest: str) -> bool:
        """Remove the file stored under ``digest`` (retention, erasure); False if there was none.

        Only the services that record the removal in the audit chain call this.
        """
        path = self._path(digest)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._unavailable(exc, "written") from exc
        return True

    def mark_erased(self, digest: str, note: dict[str, Any]) -> None:
        """Remember that the file ``digest`` held erased personal data, so that :meth:`put`
        never stores those bytes again (an old registration replayed would bring them back).
        ``note`` (no personal data: the erasure's ID and the redacted file's hash) is kept
        for an operator reading the directory."""
        require_sha256(digest, "records_hash")
        path = self.root / ERASED_DIR / digest
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(canonical_json(note) + "\n", encoding="utf-8")
        except OSError as exc:
            raise self._unavailable(exc, "written") from exc

    def is_erased(self, digest: str) -> bool:
        """Whether the file ``digest`` was erased (see :meth:`mark_erased`)."""
        require_sha256(digest, "records_hash")
        try:
            return (self.root / ERASED_DIR / digest).is_file()
        except OSError as exc:
            raise self._unavailable(exc, "read") from exc

    def _refuse_erased(self, digest: str) -> None:
        if self.is_erased(digest):
            raise ConflictError(
                f"records file {digest} held personal data that was erased; the same bytes "
                "cannot be stored again (register the batch's redacted records instead)",
                field="records",
            )

    def iter_records(self, digest: str) -> Iterator[dict[str, Any]]:
        """The decisions of a records file, in order."""
        for line in self.read(digest).decode("utf-8").splitlines():
            if line:
                value = json.loads(line)
                if not isinstance(value, dict):
                    raise InvalidError(
                        "each line of a records file must be a JSON object", field="records"
                    )
                yield value
