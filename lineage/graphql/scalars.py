"""The API's custom scalars: timezone-aware instants, free-form JSON values, strict big integers.

A value a scalar refuses raises ValueError saying what is wrong and showing the right form;
the API reports it as INVALID naming the argument, whether it was written inline or passed as a
variable (:mod:`lineage.graphql.errors`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphene
from graphql import IntValueNode, StringValueNode, Undefined, ValueNode, value_from_ast_untyped

from lineage.errors import LineageError, shown
from lineage.model.canonical import shallow_json
from lineage.model.times import from_text, require_aware, require_microseconds

INSTANT_FORM = "DateTime must be a string in ISO 8601, e.g. 2024-01-24T00:00:00Z"
BIGINT_FORM = (
    "BigInt must be an integer written as a JSON integer, e.g. 510000 "
    "(not a fraction, not 2.0, not a boolean, not a string)"
)


def format_instant(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; microseconds only when there are some."""
    text = require_aware(value, "datetime").astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_instant(value: str) -> datetime:
    """Parse ISO 8601 with an offset or ``Z``; ValueError saying why otherwise.

    At most microsecond precision; any instant, past or future, is a valid question.
    """
    if not isinstance(value, str):
        raise ValueError(INSTANT_FORM)
    text = value.strip()
    try:
        require_microseconds(text, "datetime")
    except LineageError as exc:
        raise ValueError(exc.message) from None
    try:
        return from_text(text)
    except LineageError as exc:
        raise ValueError(
            "DateTime must carry a timezone (e.g. 2024-01-24T00:00:00Z): naive times are ambiguous"
        ) from exc
    except ValueError as exc:
        raise ValueError(
            f"{shown(value)} is not an ISO 8601 date-time, e.g. 2024-01-24T00:00:00Z"
        ) from exc


class DateTime(graphene.Scalar):  # type: ignore[misc]
    """An instant in ISO 8601 with a timezone, e.g. `2024-01-24T00:00:00Z`.

    Naive date-times are refused because they are ambiguous, and so are more than 6
    fractional digits of a second; answers are always in UTC.
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
            raise ValueError(INSTANT_FORM)
        return parse_instant(node.value)

    @staticmethod
    def parse_value(value: Any) -> datetime:
        """A variable's value."""
        return parse_instant(value)


class JSON(graphene.Scalar):  # type: ignore[misc]
    """Any JSON value: property bags, metrics, statistics, individual decisions.

    Objects and lists may nest at most 32 levels deep.
    """

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
        return shallow_json(value)

    @staticmethod
    def parse_value(value: Any) -> Any:
        """A variable's value, already decoded from the request's JSON."""
        return shallow_json(value)


class BigInt(graphene.BigInt):  # type: ignore[misc]
    """An integer of any size (`Int` stops at 32 bits), written as a JSON integer: `510000`.

    Fractions, `2.0`, booleans and strings are refused, never rounded or converted.
    """

    @staticmethod
    def parse_value(value: Any) -> int:
        """A variable's value: a JSON integer (``bool`` is an ``int`` in Python, not in JSON)."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(BIGINT_FORM)

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> int:
        """An inline integer literal (``510000``), nothing else."""
        if isinstance(node, IntValueNode):
            return int(node.value)
        raise ValueError(BIGINT_FORM)
