"""The API's custom scalars: timezone-aware instants and free-form JSON values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphene
from graphql import StringValueNode, Undefined, ValueNode, value_from_ast_untyped

from lineage.errors import LineageError
from lineage.model.times import from_text, require_aware


def format_instant(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; microseconds only when there are some."""
    text = require_aware(value, "datetime").astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_instant(value: str) -> datetime:
    """Parse ISO 8601 with an offset or ``Z``; ValueError saying why otherwise."""
    if not isinstance(value, str):
        raise ValueError("DateTime must be a string in ISO 8601, e.g. 2024-01-24T00:00:00Z")
    try:
        return from_text(value.strip())
    except LineageError as exc:
        raise ValueError(
            "DateTime must carry a timezone (e.g. 2024-01-24T00:00:00Z): naive times are ambiguous"
        ) from exc
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not an ISO 8601 date-time, e.g. 2024-01-24T00:00:00Z"
        ) from exc


class DateTime(graphene.Scalar):  # type: ignore[misc]
    """An instant in ISO 8601 with a timezone, e.g. `2024-01-24T00:00:00Z`.

    Naive date-times are refused because they are ambiguous; answers are always in UTC.
    """

    @staticmethod
    def serialize(value: datetime | str) -> str:
        """Datetimes and the stored text form both serialise to UTC ``Z`` text."""
        if isinstance(value, str):
            value = from_text(value)
        return format_instant(value)

    @classmethod
    def parse_literal(cls, node: ValueNode, _variables: Any = None) -> datetime:
        """An inline string literal."""
        if not isinstance(node, StringValueNode):
            raise ValueError("DateTime must be a string in ISO 8601, e.g. 2024-01-24T00:00:00Z")
        return parse_instant(node.value)

    @staticmethod
    def parse_value(value: Any) -> datetime:
        """A variable's value."""
        return parse_instant(value)


class JSON(graphene.Scalar):  # type: ignore[misc]
    """Any JSON value: property bags, metrics, statistics, individual decisions."""

    @staticmethod
    def serialize(value: Any) -> Any:
        """Returned as is: the stored values are JSON already."""
        return value

    @classmethod
    def parse_literal(cls, node: ValueNode, _variables: Any = None) -> Any:
        """An inline literal, objects and lists included (variables inside are resolved)."""
        value = value_from_ast_untyped(node, _variables)
        if value is Undefined:
            raise ValueError("not a JSON value")
        return value

    @staticmethod
    def parse_value(value: Any) -> Any:
        """A variable's value, already decoded from the request's JSON."""
        return value
