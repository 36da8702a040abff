"""Instants: always timezone-aware, stored as fixed-width UTC strings so they sort as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from lineage.errors import InvalidError

# The fraction of a second in ISO 8601 text: after hh:mm:ss (or hhmmss), a '.' or ',' and digits.
_FRACTION = re.compile(r"\d\d:?\d\d:?\d\d[.,](\d+)")


def require_aware(value: datetime, field: str) -> datetime:
    """Return ``value`` in UTC, or raise INVALID naming ``field`` if it has no timezone."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidError(
            "datetime must carry a timezone (naive datetimes are ambiguous)", field=field
        )
    return value.astimezone(UTC)


def require_microseconds(text: str, field: str) -> str:
    """Return ``text``, or raise INVALID naming ``field`` if it gives more than 6 fractional
    digits of a second: datetimes hold microseconds, and the parsers would silently drop the
    rest, so two different instants would be stored as one."""
    match = _FRACTION.search(text)
    if match is not None and len(match[1]) > 6:
        raise InvalidError(
            "instants have at most microsecond precision: up to 6 fractional digits of a "
            "second (2024-01-24T00:00:00.123456Z) or none (2024-01-24T00:00:00Z); this one "
            f"has {len(match[1])}",
            field=field,
        )
    return text


# Graphs repeat instants (daily batch windows, a deployment's start on every edge), and
# formatting or parsing one costs microseconds: the two hot conversions are memoised. Equal
# datetimes are the same instant, so they share one text; a naive one raises and is not cached.
@lru_cache(maxsize=8192)
def to_text(value: datetime) -> str:
    """Fixed-width UTC text (microseconds, ``Z``): lexical order equals time order."""
    if value.tzinfo is not UTC:
        value = require_aware(value, "datetime")
    # isoformat is several times faster than strftime and, in UTC, differs only in the suffix.
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def from_text(text: str) -> datetime:
    """Parse what :func:`to_text` wrote (also accepts any ISO-8601 with an offset)."""
    return require_aware(datetime.fromisoformat(text), "datetime")


@lru_cache(maxsize=8192)
def from_stored(text: str) -> datetime:
    """Parse text a store wrote with :func:`to_text` (trusted: always UTC, no re-validation)."""
    return datetime.fromisoformat(text)


def utcnow() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)
