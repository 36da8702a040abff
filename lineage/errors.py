"""The one error hierarchy: every failure the product reports carries a code.

Backends translate driver errors into these; the API maps ``code`` to
``extensions.code``; the CLI prints ``message`` and exits non-zero.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


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
