"""The one error hierarchy: every failure the product reports carries a code.

Backends translate driver errors into these; the API maps ``code`` to
``extensions.code``; the CLI prints ``message`` and exits non-zero.
"""

from __future__ import annotations

import reprlib
from enum import StrEnum
from typing import Any

_SHOWN = reprlib.Repr()  # Python 3.11's Repr takes no arguments: the limits are attributes
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict, _SHOWN.maxstring = 2, 4, 4, 60


def shown(value: object, limit: int = 80) -> str:
    """``value`` as an error message may echo it: its ``repr``, shortened to about ``limit``
    characters with an ellipsis and the full length when longer, so a 5,000-character input
    does not come back whole."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value)} characters)"
    text = _SHOWN.repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…"


class ErrorCode(StrEnum):
    """What kind of failure happened, stable across every interface."""

    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    INVALID = "INVALID"
    FORBIDDEN = "FORBIDDEN"
    UNAVAILABLE = "UNAVAILABLE"


class LineageError(Exception):
    """Base of every error the product raises on purpose.

    ``field`` names the offending input (a dotted path) when there is one;
    ``details`` carries machine-readable context such as both hashes of a conflict.
    """

    code: ErrorCode = ErrorCode.INVALID

    def __init__(
        self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        prefix = f"{self.field}: " if self.field else ""
        return f"{self.code.value}: {prefix}{self.message}"


class NotFoundError(LineageError):
    """A referenced node, edge or record does not exist."""

    code = ErrorCode.NOT_FOUND


class ConflictError(LineageError):
    """The write would change provenance that is immutable."""

    code = ErrorCode.CONFLICT


class InvalidError(LineageError):
    """The input is malformed; ``field`` says which part."""

    code = ErrorCode.INVALID


class ForbiddenError(LineageError):
    """The caller may not do this."""

    code = ErrorCode.FORBIDDEN


class UnavailableError(LineageError):
    """A backing service (database, record store) cannot be reached."""

    code = ErrorCode.UNAVAILABLE
