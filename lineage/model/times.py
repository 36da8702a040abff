"""Instants: always timezone-aware, stored as fixed-width UTC strings so they sort as text."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from lineage.errors import InvalidError


def require_aware(value: datetime, field: str) -> datetime:
    """Return ``value`` in UTC, or raise INVALID naming ``field`` if it has no timezone."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidError(
            "datetime must carry a timezone (naive datetimes are ambiguous)", field=field
        )
    return value.astimezone(UTC)


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
