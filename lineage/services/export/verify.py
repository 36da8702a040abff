"""``lineage verify-bundle``: check an evidence bundle (a folder or a .zip) without the store.

In order, stopping at the first mismatch and naming the file: ``SHA256SUMS`` lists
``manifest.json`` with its hash; the manifest lists every other file (none missing, none
added) with its SHA-256, and ``SHA256SUMS`` agrees with it; every file's bytes match; and
``audit.jsonl`` chains from the first event to the manifest's ``audit_head`` and certifies
every exported node and edge (:func:`lineage.services.export.audit_proof.check_proof`).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lineage.services.export.audit_proof import FILE as AUDIT_FILE
from lineage.services.export.audit_proof import check_proof
from lineage.services.export.bundle import MANIFEST, SUMS


@dataclass(frozen=True, slots=True)
class BundleCheck:
    """The verdict: ``ok``, else the first ``file`` that does not hold and ``problem``."""

    ok: bool
    files: int = 0
    file: str | None = None
    problem: str | None = None
    audit_head: dict[str, object] | None = None


class _Bundle:
    """Read access to a bundle's members, folder or zip alike."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.archive = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> set[str]:
        if self.archive is not None:
            return {i.filename for i in self.archive.infolist() if not i.is_dir()}
        return {
            p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
        }

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if self.archive is not None:
            with self.archive.open(name) as handle:
                yield handle
        else:
            with (self.path / name).open("rb") as handle:
                yield handle

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        with self.open(name) as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def read(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


def verify_bundle(path: Path) -> BundleCheck:
    """Check the bundle at ``path``; never raises for a damaged bundle, says what is wrong."""
    if not path.exists():
        return BundleCheck(False, file=str(path), problem="no such file or folder")
    try:
        bundle = _Bundle(path)
    except zipfile.BadZipFile:
        return BundleCheck(False, file=path.name, problem="not a folder nor a valid .zip")
    try:
        return _check(bundle)
    finally:
        bundle.close()


def _check(bundle: _Bundle) -> BundleCheck:
    names = bundle.names()
    for required in (SUMS, MANIFEST):
        if required not in names:
            return BundleCheck(False, file=required, problem="missing from the bundle")
    sums: dict[str, str] = {}
    for number, line in enumerate(bundle.read(SUMS).decode("utf-8", "replace").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            return BundleCheck(False, file=SUMS, problem=f"line {number} is not '<sha256>  <file>'")
        sums[name] = digest
    if sums.get(MANIFEST) != bundle.sha256(MANIFEST):
        return BundleCheck(False, file=MANIFEST, problem="its SHA-256 differs from SHA256SUMS")
    try:
        manifest = json.loads(bundle.read(MANIFEST))
        files: dict[str, str] = dict(manifest["files"])
    except (ValueError, KeyError, TypeError):
        return BundleCheck(False, file=MANIFEST, problem="not a bundle manifest")
    listed = set(files) | {MANIFEST, SUMS}
    for name in sorted(names - listed):
        return BundleCheck(False, file=name, problem="in the bundle but not in the manifest")
    for name in sorted(set(files) - names):
        return BundleCheck(False, file=name, problem="in the manifest but missing")
    if {k: v for k, v in sums.items() if k != MANIFEST} != files:
        return BundleCheck(False, file=SUMS, problem="does not list what the manifest lists")
    for name in sorted(files):
        if bundle.sha256(name) != files[name]:
            return BundleCheck(False, file=name, problem="its SHA-256 differs from the manifest")
    head = manifest.get("audit_head")
    with bundle.open(AUDIT_FILE) as handle:
        problem = check_proof(handle, head)
    if problem is not None:
        return BundleCheck(False, file=AUDIT_FILE, problem=problem)
    return BundleCheck(True, files=len(files) + 2, audit_head=head)
