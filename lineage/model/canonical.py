"""The canonical JSON form that the stores write and the audit chain hashes.

Canonical means: keys sorted by code point, no spaces, non-ASCII kept as UTF-8, floats as Python's
``repr``, NaN and infinities refused. The definition is the standard library's encoder with those
options, and it must never change: every audit hash in every store was computed over it.

orjson produces the same bytes for almost every value, three times faster than the standard
library on an inference batch's properties even with the checks below, so it goes first, and
the standard library is asked whenever orjson's answer could differ:

- between 1e-4 and 1e-9 orjson writes ``0.00001`` or ``1e-9`` where ``repr`` writes ``1e-05`` or
  ``1e-09`` (every other finite float comes out the same: a fuzz of a million random doubles
  and of every decade from 1e-30 to 1e30 found no other difference);
- orjson writes NaN and infinities as ``null`` where the canonical form refuses them;
- orjson refuses what it cannot encode (integers beyond 64 bits, non-string keys, lone
  surrogates, datetimes): the standard library then encodes or refuses it.

UUIDs and enum members are encoded as their JSON value (``str(uuid)``, ``member.value``) by both
paths, as orjson does natively. ``tests/unit/test_canonical.py`` checks the two agree.
"""

from __future__ import annotations

import hashlib
import json
from enum import Enum
from json.encoder import encode_basestring
from typing import Any
from uuid import UUID

import orjson

from lineage.errors import InvalidError

_FAST_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_DIGITS = b"0123456789"


def _starts_a_value(out: bytes, token: bytes) -> bool:
    """Whether ``token`` occurs where a JSON value (or a minus sign) starts, not mid-string."""
    at = out.find(token)
    while at != -1:
        if at == 0 or out[at - 1] in b":,[-":
            return True
        at = out.find(token, at + 1)
    return False


def _has_short_exponent(out: bytes) -> bool:
    """Whether a number like ``1e-7`` occurs (``repr`` writes ``1e-07``)."""
    at = out.find(b"e-")
    while at != -1:
        after = out[at + 2 : at + 4]
        if at > 0 and out[at - 1] in _DIGITS and after[:1].isdigit() and not after[1:].isdigit():
            return True
        at = out.find(b"e-", at + 1)
    return False


def _may_differ(out: bytes) -> bool:
    """Whether orjson's output may not be the canonical form: a ``null`` value (maybe a NaN), a
    fixed-point float under 1e-4, or a one-digit negative exponent. A match inside a string only
    costs a detour through the standard library. (Plain ``find`` loops: ``re`` took 5-15 us per
    search on a 600-byte document, more than the encoding itself.)"""
    return (
        _starts_a_value(out, b"null") or _starts_a_value(out, b"0.0000") or _has_short_exponent(out)
    )


def _json_value(value: object) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _refuse(value: object) -> Any:
    raise TypeError(type(value).__name__)


# One encoder for every call: json.dumps with non-default options builds a new one each time.
_REFERENCE = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_json_value,
)


def reference_json(value: Any) -> str:
    """The canonical form by its definition (the standard library); slower than the fast path."""
    try:
        return _REFERENCE.encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidError(f"properties must be JSON values: {exc}", field="props") from exc


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) used for storage and hashing."""
    try:
        fast = orjson.dumps(value, default=_refuse, option=_FAST_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return reference_json(value)
    if _may_differ(fast):
        return reference_json(value)
    return fast.decode()


def json_string(text: str) -> str:
    """A string as a canonical JSON string literal."""
    # What _REFERENCE.encode does for a str, without its Python-level dispatch.
    return encode_basestring(text)


# The deepest nesting of objects and lists a JSON value in a registration may have (statistics,
# parameters, a decision): real ones stay under ten, and the encoders, pydantic and the stores
# each give up somewhere between 255 and 1,000 levels, so the limit is ours, stated and checked
# at the door rather than discovered as an internal error halfway through a write.
MAX_JSON_DEPTH = 32


def json_depth(value: Any) -> int:
    """How deeply objects and lists nest in ``value`` (a scalar is 0, ``{}`` and ``[1]`` are 1).

    Iterative, so a value nested far too deep is measured, not a RecursionError. It walks one
    level at a time (a level that holds a container adds one), which touches each value once
    without a (value, depth) pair per value: a third of the cost on a 4 KB OpenLineage event.
    """
    depth = 0
    level: list[Any] = [value]
    while True:
        below: list[Any] = []
        held = False  # whether this level holds a container (maybe an empty one)
        for current in level:
            if isinstance(current, dict):
                below.extend(current.values())
                held = True
            elif isinstance(current, list | tuple):
                below.extend(current)
                held = True
        if not held:
            return depth
        depth += 1
        level = below


def shallow_json(value: Any) -> Any:
    """``value``, or ValueError (what validators and scalars raise) when it nests deeper than
    :data:`MAX_JSON_DEPTH`."""
    depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(
            f"JSON values may nest objects and lists at most {MAX_JSON_DEPTH} levels deep; "
            f"this one nests {depth}"
        )
    return value


def check_json_depth(value: Any, field: str) -> None:
    """INVALID naming ``field`` when ``value`` nests deeper than :data:`MAX_JSON_DEPTH`."""
    try:
        shallow_json(value)
    except ValueError as exc:
        raise InvalidError(str(exc), field=field) from None


def sha256_text(text: str) -> str:
    """Hex SHA-256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
