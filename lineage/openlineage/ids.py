"""Node IDs for OpenLineage datasets, jobs, runs and columns: reversible and collision-free.

OpenLineage names a dataset or a job by ``(namespace, name)``, and both hold characters node IDs
do not (``postgres://db:5432``, ``s3://bucket/path/file.csv``). The name part of an ID is built
as ``ol.`` + *escape(namespace)* + ``--`` + *escape(name)*:

- *escape* keeps ASCII letters, digits, ``_`` and ``.`` and writes every other byte of the UTF-8
  text as ``-`` followed by two lowercase hex digits (``/`` is ``-2f``, ``-`` is ``-2d``);
- so ``-`` is always followed by two hex digits inside an escaped part, ``--`` never occurs in
  one, and the first ``--`` separates namespace from name: the mapping is reversible
  (:func:`dataset_key`) and two different pairs never share an ID;
- ``ol.`` keeps the first character a letter whatever the namespace, and sets these IDs apart
  from names given through the GraphQL mutations.

``postgres://db:5432`` / ``public.applications`` is
``dataset:ol.postgres-3a-2f-2fdb-3a5432--public.applications``.

An ID name is at most 200 characters. A pair whose escaped form is longer is named
``ol.h.`` + the first 40 hex digits of the SHA-256 of the pair; it contains no ``--``, so it
cannot be mistaken for an escaped pair, and the node keeps the namespace and name as properties
(``ol_namespace``, ``ol_name``), which is how such an ID is read back. Columns append
``--`` + *escape(field)* to their dataset's name part; a column whose ID would be too long is
hashed the same way.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from lineage.model.graph import NodeKind
from lineage.model.ids import make_id

PREFIX = "ol."
HASHED = "ol.h."
SEPARATOR = "--"
MAX_NAME = 200
_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")


@lru_cache(maxsize=65_536)  # names and columns recur in every event of a job
def escape(text: str) -> str:
    """``text`` in the ID alphabet, every byte outside it written ``-hh``."""
    return "".join(
        chr(byte) if byte in _KEPT else f"-{byte:02x}" for byte in text.encode("utf-8")
    )


def unescape(part: str) -> str:
    """The text :func:`escape` made ``part`` from."""
    raw = bytearray()
    i = 0
    while i < len(part):
        if part[i] == "-":
            raw.append(int(part[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(part[i]))
            i += 1
    return raw.decode("utf-8")


def _hashed(*parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return f"{HASHED}{digest[:40]}"


@lru_cache(maxsize=16_384)
def pair_name(namespace: str, name: str) -> str:
    """The ID name of an OpenLineage ``(namespace, name)``."""
    built = f"{PREFIX}{escape(namespace)}{SEPARATOR}{escape(name)}"
    return built if len(built) <= MAX_NAME else _hashed(namespace, name)


@lru_cache(maxsize=16_384)
def dataset_id(namespace: str, name: str) -> str:
    """The Dataset node of an OpenLineage dataset."""
    return make_id(NodeKind.DATASET, pair_name(namespace, name))


def dataset_version_id(namespace: str, name: str, version: str, *, stated: bool = True) -> str:
    """A DatasetVersion of an OpenLineage dataset.

    A ``stated`` version (a ``version`` facet's, a content hash) is escaped, or hashed when that
    is too long, does not start with a letter or digit, or starts with ``ol.`` (the node keeps
    it as given); the service's own names (``ol.unversioned``, ``ol.run.<runId>``) are used as
    they are, and no stated version can take one of them.
    """
    if not stated:
        return make_id(NodeKind.DATASET_VERSION, pair_name(namespace, name), version)
    escaped = escape(version)
    if len(escaped) > MAX_NAME or not escaped[:1].isalnum() or escaped.startswith(PREFIX):
        escaped = _hashed("version", version)
    return make_id(NodeKind.DATASET_VERSION, pair_name(namespace, name), escaped)


def job_id(namespace: str, name: str) -> str:
    """The Job node (a PROV plan) of an OpenLineage job."""
    return make_id(NodeKind.JOB, pair_name(namespace, name))


@lru_cache(maxsize=65_536)
def column_id(namespace: str, name: str, field: str) -> str:
    """The Column node of a field of an OpenLineage dataset."""
    base = pair_name(namespace, name)
    built = f"{base}{SEPARATOR}{escape(field)}"
    if base.startswith(HASHED) or len(built) > MAX_NAME:
        return make_id(NodeKind.COLUMN, _hashed(namespace, name, field))
    return make_id(NodeKind.COLUMN, built)


def dataset_key(id_name: str) -> tuple[str, str] | None:
    """``(namespace, name)`` from an ID name made by :func:`pair_name`; None for a hashed one
    (read its node's ``ol_namespace`` and ``ol_name``) or a name not made here."""
    if not id_name.startswith(PREFIX) or id_name.startswith(HASHED):
        return None
    body = id_name[len(PREFIX) :]
    namespace, separator, name = body.partition(SEPARATOR)
    if not separator or SEPARATOR in name:
        return None
    return unescape(namespace), unescape(name)


def feature_name(field: str) -> str:
    """The Feature name of a column a training run read: the column's name when it is a valid
    ID name (``income``, ``debt_ratio``), so it meets the features pipelines register by name;
    else its escaped form, or a hash when that is too long or does not start with a letter or
    digit."""
    escaped = escape(field)
    if escaped[:1].isalnum() and len(escaped) <= MAX_NAME:
        return escaped
    return _hashed("feature", field)
