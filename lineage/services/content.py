"""Content addresses: SHA-256 of a file, or of a manifest of file hashes for a directory.

Pipelines compute the same address with ``lineage hash PATH``. The manifest is one line per
regular file, ``<sha256>  <path relative to the root, '/'-separated>``, sorted by path, so the
address does not depend on the filesystem's listing order or the directory's location.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from lineage.errors import InvalidError, NotFoundError

_CHUNK = 1 << 20


def hash_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def manifest(root: Path, on_file: Callable[[Path], None] | None = None) -> str:
    """The manifest text of a directory tree (symlinks are refused: they make addresses lie)."""
    lines = []
    for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        if path.is_symlink():
            raise InvalidError(
                f"{path} is a symbolic link; content addresses cover regular files", field="path"
            )
        if path.is_file():
            lines.append(f"{hash_file(path)}  {path.relative_to(root).as_posix()}\n")
            if on_file is not None:
                on_file(path)
    return "".join(lines)


def hash_path(path: Path, on_file: Callable[[Path], None] | None = None) -> str:
    """Content address of a file or a directory tree."""
    if not path.exists():
        raise NotFoundError(f"{path} does not exist", field="path")
    if path.is_file():
        return hash_file(path)
    return hashlib.sha256(manifest(path, on_file).encode("utf-8")).hexdigest()
