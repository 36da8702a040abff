"""The field types of registration records: pydantic types that refuse, saying why, what they
do not hold (a hash in another spelling, "7" for a count, an instant without its zone or ahead
of the server's clock, an ID of another kind), and the shared validator of content hashes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from lineage.errors import InvalidError, LineageError, shown
from lineage.model.canonical import shallow_json
from lineage.model.graph import NodeKind
from lineage.model.ids import parse_id, require_kind
from lineage.model.times import require_microseconds, to_text, utcnow

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")
_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]")

# How far ahead of the server's clock a registered instant may be: registrations record what
# already happened, and clocks drift.
MAX_FUTURE_SKEW = timedelta(minutes=5)


def require_sha256(value: object, field: str) -> str:
    """Return ``value`` if it is a content hash in the one form the service accepts (64
    lowercase hexadecimal characters); INVALID naming ``field`` otherwise. Other spellings of
    the same digest are refused, not normalised, so a hash is compared as it was sent."""
    if isinstance(value, str) and _SHA256.fullmatch(value):
        return value
    raise InvalidError(
        "must be a SHA-256 digest written as exactly 64 lowercase hexadecimal characters "
        f"(no prefix, no whitespace, no upper case); got {shown(value)}",
        field=field,
    )


def _sha256(value: object) -> str:
    try:
        return require_sha256(value, "content_hash")
    except LineageError as exc:
        raise ValueError(exc.message) from None


def _integer(value: object) -> object:
    # Pydantic's lax mode would store "7" as 7, 2.0 as 2 and True as 1.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"must be an integer (a JSON integer such as 510000), not {shown(value)}")


def _instant_form(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value.strip()):
        # Pydantic would also read numbers, and strings of digits, as Unix timestamps.
        raise ValueError(
            "must be an ISO 8601 date-time with a timezone, e.g. 2024-01-24T00:00:00Z, "
            f"not {shown(value)}"
        )
    try:
        return require_microseconds(value, "instant")
    except LineageError as exc:
        raise ValueError(exc.message) from None


def _not_ahead(value: datetime) -> datetime:
    now = utcnow()
    if value > now + MAX_FUTURE_SKEW:
        minutes = int(MAX_FUTURE_SKEW.total_seconds() // 60)
        raise ValueError(
            f"{to_text(value)} is in the future: more than {minutes} minutes (the tolerance "
            f"for clock skew) ahead of the server's clock, {to_text(now)}"
        )
    return value


def id_of(*kinds: NodeKind) -> AfterValidator:
    """A validator of an ID of one of ``kinds`` (``Annotated[str, id_of(NodeKind.RUN)]``)."""

    def check(value: str) -> str:
        try:
            require_kind(value, "id", *kinds)
        except LineageError as exc:
            raise ValueError(exc.message) from exc
        return value

    return AfterValidator(check)


def _any_id(value: str) -> str:
    try:
        parse_id(value)
    except LineageError as exc:
        raise ValueError(exc.message) from exc
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {shown(value)}")
    return value


def _commit(value: str) -> str:
    if not _COMMIT.match(value):
        raise ValueError("must be a git commit: 7 to 64 lowercase hexadecimal characters")
    return value


# A fraction in (0, 1], given as a number.
Ratio = Annotated[float, BeforeValidator(_number), Field(gt=0, le=1)]
GitCommit = Annotated[str, AfterValidator(_commit)]
# Before validators: the model-wide whitespace stripping must not normalise a hash first.
Sha256 = Annotated[str, BeforeValidator(_sha256)]
# A whole number given as one (never "7", 2.0 or true), zero or more.
Count = Annotated[int, BeforeValidator(_integer), Field(ge=0)]
Integer = Annotated[int, BeforeValidator(_integer)]
# A number given as one (an integer or a float, never "0.9" or true).
Number = Annotated[float, BeforeValidator(_number)]
# Every instant of every record: a timezone, at most microseconds, at most MAX_FUTURE_SKEW ahead.
Instant = Annotated[AwareDatetime, BeforeValidator(_instant_form), AfterValidator(_not_ahead)]
# A JSON object given by a pipeline (parameters, statistics, a decision): MAX_JSON_DEPTH deep.
JsonObject = Annotated[dict[str, Any], AfterValidator(shallow_json)]
AnyId = Annotated[str, AfterValidator(_any_id)]
PersonId = Annotated[str, id_of(NodeKind.PERSON)]
AgentId = Annotated[str, id_of(NodeKind.PERSON, NodeKind.PIPELINE)]
DatasetVersionId = Annotated[str, id_of(NodeKind.DATASET_VERSION)]
SnapshotId = Annotated[str, id_of(NodeKind.FEATURE_SNAPSHOT)]
ModelId = Annotated[str, id_of(NodeKind.MODEL)]
ModelVersionId = Annotated[str, id_of(NodeKind.MODEL_VERSION)]
Text = Annotated[str, Field(min_length=1, max_length=2_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
# A retention class: a lowercase identifier naming a class of jobs/retention.toml.
RetentionClassName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# The lawful basis of processing personal data (GDPR article 6(1)).
ConsentBasis = Literal[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
]
# How sensitive the data is; special_category is GDPR article 9 data (health, ethnicity...).
Sensitivity = Literal["public", "internal", "confidential", "personal", "special_category"]
