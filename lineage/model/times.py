"""Instants: always timezone-aware, stored as fixed-width UTC strings so they sort as text."""

from __future__ import annotations

from datetime import UTC, datetime

from lineage.errors import InvalidError

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def require_aware(value: datetime, field: str) -> datetime:
    """Return ``value`` in UTC, or raise INVALID naming ``field`` if it has no timezone."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidError(
            "datetime must carry a timezone (naive datetimes are ambiguous)", field=field
        )
    return value.astimezone(UTC)


def to_text(value: datetime) -> str:
    """Fixed-width UTC text (microseconds, ``Z``): lexical order equals time order."""
    return require_aware(value, "datetime").strftime(_FORMAT)


def from_text(text: str) -> datetime:
    """Parse what :func:`to_text` wrote (also accepts any ISO-8601 with an offset)."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return require_aware(datetime.fromisoformat(text), "datetime")


def utcnow() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)
