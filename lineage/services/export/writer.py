"""Where a bundle's files go while they are written: a staging folder, or straight into a .zip.

Every file is written through a stream that hashes what passes, so the manifest's SHA-256 of a
file costs no second read, and a .zip bundle never touches the disk as loose files (a version
with 10,000 batches has 10,000 decision files). Members get fixed times and modes, so the same
files zip to the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class _Hashing(io.RawIOBase):
    """A binary stream that hashes what is written and passes it on."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.target.write(view)
        return len(view)


class BundleWriter:
    """Writes the files of one bundle into ``folder`` or, when ``archive`` is given, into that
    open zip file; ``files`` maps each relative name written to its SHA-256."""

    def __init__(self, folder: Path, archive: zipfile.ZipFile | None = None) -> None:
        self.folder = folder
        self.archive = archive
        self.files: dict[str, str] = {}

    @contextmanager
    def binary(self, name: str) -> Iterator[IO[bytes]]:
        """A stream for the member ``name`` (a relative POSIX path)."""
        if self.archive is not None:
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with self.archive.open(info, "w", force_zip64=True) as target:
                hashing = _Hashing(target)
                yield hashing  # type: ignore[misc]  # a RawIOBase is a binary stream
        else:
            path = self.folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as target:
                hashing = _Hashing(target)
                yield hashing  # type: ignore[misc]
        self.files[name] = hashing.digest.hexdigest()

    @contextmanager
    def text(self, name: str) -> Iterator[IO[str]]:
        """A UTF-8 text stream for the member ``name``, buffered."""
        with self.binary(name) as raw:
            buffered = io.BufferedWriter(raw, 1 << 20)
            stream = io.TextIOWrapper(buffered, encoding="utf-8", newline="\n")
            try:
                yield stream
            finally:
                stream.flush()
                buffered.flush()
                stream.detach()

    def write_bytes(self, name: str, data: bytes) -> None:
        """A whole member at once."""
        with self.binary(name) as stream:
            stream.write(data)

    def write_text(self, name: str, text: str) -> None:
        """A whole text member at once."""
        self.write_bytes(name, text.encode("utf-8"))
