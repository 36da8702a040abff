"""Input forms the service refuses instead of silently normalising: integers that are not
integers, hashes that are not exactly 64 lowercase hex characters, instants finer than a
microsecond or too far in the future, JSON nested too deep, forged cursors, and long values
echoed whole in error messages."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import IntValueNode, StringValueNode

from lineage.errors import InvalidError, shown
from lineage.graphql.scalars import JSON, BigInt, parse_instant
from lineage.model.canonical import MAX_JSON_DEPTH, check_json_depth, json_depth
from lineage.model.graph import EdgeKind, NodeKind
from lineage.model.ids import parse_id
from lineage.model.records import (
    DatasetVersionRecord,
    DeploymentRecord,
    EvaluationRecord,
    FeatureSnapshotRecord,
    IncidentRecord,
    InferenceBatchRecord,
    ModelRecord,
    PersonRecord,
    PipelineRecord,
    Record,
    TrainingRunRecord,
    parse_record,
)
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Role
from lineage.store import cursor as cursor_module
from lineage.store.cursor import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor

HASH = "ab" * 32
T0 = "2024-01-15T06:00:00Z"
T1 = "2024-01-16T06:00:00Z"

PERSON: dict[str, Any] = {"id": "person:ada", "name": "Ada"}
PIPELINE: dict[str, Any] = {"id": "pipeline:nightly", "name": "Nightly"}
DATASET: dict[str, Any] = {
    "id": "dataset:applications@v2",
    "content_hash": HASH,
    "record_count": 510_000,
    "created_at": T0,
}
SNAPSHOT: dict[str, Any] = {
    "id": "snapshot:s1",
    "features": ["age"],
    "sources": ["dataset:applications@v2"],
    "content_hash": HASH,
    "computed_by": "feast v3.1",
    "created_at": T0,
}
MODEL: dict[str, Any] = {
    "id": "model:m",
    "owner": "person:a",
    "technical_steward": "person:b",
    "risk_approver": "person:c",
}
RUN: dict[str, Any] = {
    "id": "run:r1",
    "model_version": "model:m@v1",
    "snapshot": "snapshot:s1",
    "datasets": [{"id": "dataset:applications@v2", "content_hash": HASH}],
    "code_commit": "abc123def456",
    "seed": 42,
    "records_available": 510_000,
    "records_used": 400_000,
    "triggered_by": "pipeline:nightly",
    "reason": "retrain",
    "started_at": T0,
    "ended_at": T1,
}
EVALUATION: dict[str, Any] = {
    "id": "evaluation:e1",
    "model_version": "model:m@v1",
    "metrics": {"auc": 0.87},
    "evaluated_at": T0,
}
BATCH: dict[str, Any] = {
    "id": "batch:b1",
    "model_version": "model:m@v1",
    "snapshot": "snapshot:s1",
    "window_start": T0,
    "window_end": T1,
    "record_count": 3,
    "counts": {"APPROVED": 2, "DECLINED": 1},
    "records_hash": HASH,
}
DEPLOYMENT: dict[str, Any] = {
    "deployment": "deployment:prod",
    "model_version": "model:m@v1",
    "at": T0,
    "reason": "rollout",
}
INCIDENT: dict[str, Any] = {
    "id": "incident:i1",
    "title": "approval rate fell",
    "severity": "SEV2",
    "opened_at": T0,
    "affected": ["model:m@v1"],
}


def nested(levels: int) -> dict[str, Any]:
    """A JSON object ``levels`` objects deep: ``{"a": {"a": ... {}}}``."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def invalid(cls: type[Record], data: dict[str, Any]) -> InvalidError:
    with pytest.raises(InvalidError) as info:
        parse_record(cls, data)
    return info.value


# --- integers are integers ------------------------------------------------------------------

NOT_INTEGERS = ["7", 2.0, 2.9, -0.5, True, False]


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
@pytest.mark.parametrize(
    ("cls", "base", "field", "path"),
    [
        (DatasetVersionRecord, DATASET, "record_count", "record_count"),
        (FeatureSnapshotRecord, SNAPSHOT, "record_count", "record_count"),
        (TrainingRunRecord, RUN, "records_available", "records_available"),
        (TrainingRunRecord, RUN, "records_used", "records_used"),
        (TrainingRunRecord, RUN, "seed", "seed"),
        (InferenceBatchRecord, BATCH, "record_count", "record_count"),
    ],
)
def test_an_integer_field_refuses_anything_but_an_integer_naming_the_field(
    cls: type[Record], base: dict[str, Any], field: str, path: str, value: Any
) -> None:
    error = invalid(cls, base | {field: value})
    assert error.field == path
    assert "integer" in error.message


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
def test_batch_counts_refuse_anything_but_integers_naming_the_outcome(value: Any) -> None:
    error = invalid(InferenceBatchRecord, BATCH | {"counts": {"APPROVED": value}})
    assert error.field == "counts.APPROVED"


def test_integer_fields_still_accept_integers() -> None:
    run = parse_record(TrainingRunRecord, RUN)
    batch = parse_record(InferenceBatchRecord, BATCH)
    assert (run.seed, run.records_used, batch.record_count) == (42, 400_000, 3)
    assert batch.counts == {"APPROVED": 2, "DECLINED": 1}


# --- content hashes ----------------------------------------------------------------------------

NOT_DIGESTS = [
    HASH.upper(),
    "sha256:" + HASH,
    "SHA256:" + HASH.upper(),
    " " + HASH,
    HASH + "\n",
    HASH[:63],
    HASH + "a",
]


@pytest.mark.parametrize("digest", NOT_DIGESTS, ids=repr)
@pytest.mark.parametrize(
    ("cls", "base", "path"),
    [
        (DatasetVersionRecord, DATASET, "content_hash"),
        (FeatureSnapshotRecord, SNAPSHOT, "content_hash"),
        (InferenceBatchRecord, BATCH, "records_hash"),
    ],
)
def test_a_hash_in_any_form_but_64_lowercase_hex_is_invalid(
    cls: type[Record], base: dict[str, Any], path: str, digest: str
) -> None:
    error = invalid(cls, base | {path: digest})
    assert error.field == path
    assert "exactly 64 lowercase hexadecimal characters" in error.message
    assert shown(digest) in error.message


@pytest.mark.parametrize("digest", NOT_DIGESTS, ids=repr)
def test_a_training_runs_bound_hash_is_as_strict_as_a_registered_one(digest: str) -> None:
    datasets = [{"id": "dataset:applications@v2", "content_hash": digest}]
    error = invalid(TrainingRunRecord, RUN | {"datasets": datasets})
    assert error.field == "datasets.0.content_hash"


def test_a_long_hash_is_shown_shortened_with_its_length() -> None:
    error = invalid(DatasetVersionRecord, DATASET | {"content_hash": "f" * 5_000})
    assert len(error.message) < 300
    assert "5000 characters" in error.message


@pytest.mark.parametrize("digest", NOT_DIGESTS, ids=repr)
def test_the_record_store_refuses_the_same_forms_with_the_same_message(
    tmp_path: Path, digest: str
) -> None:
    with pytest.raises(InvalidError) as info:
        RecordStore(tmp_path).exists(digest)
    assert info.value.field == "records_hash"
    assert (
        info.value.message
        == invalid(InferenceBatchRecord, BATCH | {"records_hash": digest}).message
    )


def test_names_are_still_stripped_of_surrounding_whitespace() -> None:
    assert parse_record(PersonRecord, PERSON | {"name": "  Ada  "}).name == "Ada"


# --- instants --------------------------------------------------------------------------------

INSTANT_FIELDS = [
    (PersonRecord, PERSON, "since"),
    (PipelineRecord, PIPELINE, "since"),
    (DatasetVersionRecord, DATASET, "created_at"),
    (FeatureSnapshotRecord, SNAPSHOT, "created_at"),
    (ModelRecord, MODEL, "since"),
    (TrainingRunRecord, RUN, "started_at"),
    (TrainingRunRecord, RUN, "ended_at"),
    (EvaluationRecord, EVALUATION, "evaluated_at"),
    (InferenceBatchRecord, BATCH, "window_start"),
    (InferenceBatchRecord, BATCH, "window_end"),
    (DeploymentRecord, DEPLOYMENT, "at"),
    (IncidentRecord, INCIDENT, "opened_at"),
]


@pytest.mark.parametrize(("cls", "base", "field"), INSTANT_FIELDS)
def test_an_instant_finer_than_a_microsecond_is_invalid(
    cls: type[Record], base: dict[str, Any], field: str
) -> None:
    error = invalid(cls, base | {field: "2024-01-15T06:00:00.1234567Z"})
    assert error.field == field
    assert "at most microsecond precision" in error.message


@pytest.mark.parametrize(("cls", "base", "field"), INSTANT_FIELDS)
def test_an_instant_far_in_the_future_is_invalid_saying_the_tolerance(
    cls: type[Record], base: dict[str, Any], field: str
) -> None:
    error = invalid(cls, base | {field: "9999-01-01T00:00:00Z"})
    assert error.field == field
    assert "5 minutes" in error.message


def test_an_instant_within_the_clock_skew_tolerance_is_accepted() -> None:
    soon = datetime.now(UTC) + timedelta(minutes=1)
    record = parse_record(DatasetVersionRecord, DATASET | {"created_at": soon.isoformat()})
    assert record.created_at == soon


def test_an_instant_just_beyond_the_tolerance_is_invalid() -> None:
    later = datetime.now(UTC) + timedelta(minutes=6)
    error = invalid(DatasetVersionRecord, DATASET | {"created_at": later})
    assert error.field == "created_at"


def test_microseconds_are_kept_exactly() -> None:
    record = parse_record(
        DatasetVersionRecord, DATASET | {"created_at": "2024-01-15T06:00:00.123456Z"}
    )
    assert record.created_at.microsecond == 123456


@pytest.mark.parametrize("value", [1_700_000_000, 1.7e9, "1700000000", True], ids=repr)
def test_a_number_is_not_an_instant(value: Any) -> None:
    error = invalid(DatasetVersionRecord, DATASET | {"created_at": value})
    assert error.field == "created_at"
    assert "2024-01-24T00:00:00Z" in error.message


def test_a_naive_instant_is_still_invalid() -> None:
    error = invalid(DatasetVersionRecord, DATASET | {"created_at": "2024-01-15T06:00:00"})
    assert error.field == "created_at"


def test_the_api_parser_refuses_sub_microsecond_instants_but_not_future_ones() -> None:
    with pytest.raises(ValueError, match="at most microsecond precision"):
        parse_instant("2024-01-01T00:00:00.1234567Z")
    assert parse_instant("9999-01-01T00:00:00Z").year == 9999


# --- JSON nesting ----------------------------------------------------------------------------


def test_json_depth_counts_nested_objects_and_lists() -> None:
    assert json_depth(1) == 0
    assert json_depth({}) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4
    assert json_depth(nested(10_000)) == 10_000  # no recursion, no RecursionError


def test_check_json_depth_names_the_field_and_the_limit() -> None:
    check_json_depth(nested(MAX_JSON_DEPTH), "statistics")
    with pytest.raises(InvalidError) as info:
        check_json_depth(nested(MAX_JSON_DEPTH + 1), "statistics")
    assert info.value.field == "statistics"
    assert str(MAX_JSON_DEPTH) in info.value.message


@pytest.mark.parametrize(
    ("cls", "base", "field", "path"),
    [
        (TrainingRunRecord, RUN, "parameters", "parameters"),
        (InferenceBatchRecord, BATCH, "statistics", "statistics"),
    ],
)
def test_a_json_field_nested_beyond_the_limit_is_invalid(
    cls: type[Record], base: dict[str, Any], field: str, path: str
) -> None:
    parse_record(cls, base | {field: nested(MAX_JSON_DEPTH)})
    error = invalid(cls, base | {field: nested(300)})
    assert error.field == path
    assert f"{MAX_JSON_DEPTH} levels" in error.message


def test_an_inline_decision_nested_beyond_the_limit_is_invalid_naming_its_index() -> None:
    batch = BATCH | {"records_hash": None, "record_count": 2, "counts": {}}
    parse_record(InferenceBatchRecord, batch | {"records": [{}, nested(MAX_JSON_DEPTH)]})
    error = invalid(InferenceBatchRecord, batch | {"records": [{}, nested(MAX_JSON_DEPTH + 1)]})
    assert error.field == "records.1"


def test_the_json_scalar_refuses_values_nested_beyond_the_limit() -> None:
    assert JSON.parse_value(nested(MAX_JSON_DEPTH)) == nested(MAX_JSON_DEPTH)
    with pytest.raises(ValueError, match=f"{MAX_JSON_DEPTH} levels"):
        JSON.parse_value(nested(MAX_JSON_DEPTH + 1))


# --- BigInt -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*NOT_INTEGERS, None, [1]], ids=repr)
def test_the_bigint_scalar_accepts_only_json_integers(value: Any) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 510000"):
        BigInt.parse_value(value)


def test_the_bigint_scalar_keeps_integers_of_any_size() -> None:
    assert BigInt.parse_value(2**70) == 2**70
    assert BigInt.parse_literal(IntValueNode(value="510000")) == 510000
    with pytest.raises(ValueError, match=r"e\.g\. 510000"):
        BigInt.parse_literal(StringValueNode(value="7"))


# --- cursors ----------------------------------------------------------------------------------


def forged(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_cursor_round_trips_with_its_types() -> None:
    assert decode_cursor(encode_cursor(["a", 7]), (str, int)) == ["a", 7]


@pytest.mark.parametrize(
    "position",
    [[{"a": 1}, [2]], ["a", "7"], ["a", True], ["a", 7.0], [1, 7], ["a"], ["a", 7, 8], {"a": 7}],
    ids=repr,
)
def test_a_cursor_with_the_wrong_shape_or_element_types_is_invalid(position: Any) -> None:
    with pytest.raises(InvalidError) as info:
        decode_cursor(forged(position), (str, int))
    assert info.value.field == "after"


@pytest.mark.parametrize(
    "text", ["not base64!", "", "e30", "x" * (MAX_CURSOR_LENGTH + 1), forged("[" * 5000)], ids=repr
)
def test_text_that_is_not_a_cursor_is_invalid(text: str) -> None:
    with pytest.raises(InvalidError) as info:
        decode_cursor(text, (str, str), field="after")
    assert info.value.field == "after"


def test_a_cursor_nested_too_deep_to_decode_is_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    def too_deep(_text: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    monkeypatch.setattr(cursor_module.json, "loads", too_deep)
    with pytest.raises(InvalidError):
        decode_cursor(forged([[[[]]]]), (str, str))


def test_a_cursor_that_is_not_a_string_is_invalid() -> None:
    with pytest.raises(InvalidError):
        decode_cursor(7, (str, str))  # type: ignore[arg-type]


# --- what error messages echo -----------------------------------------------------------------


def test_shown_keeps_short_values_whole_and_shortens_long_ones_with_their_length() -> None:
    assert shown("dataset:x") == "'dataset:x'"
    long = shown("a" * 5_000)
    assert len(long) < 120
    assert long.startswith("'aaa") and "…" in long and "5000 characters" in long
    assert len(shown(list(range(5_000)))) < 120


def test_a_long_id_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidError) as info:
        parse_id("dataset:" + "a" * 5_000)
    assert len(info.value.message) < 300
    assert "5008 characters" in info.value.message


@pytest.mark.parametrize(
    "parse",
    [
        lambda v: NodeKind.parse(v),
        lambda v: EdgeKind.parse(v),
        lambda v: Role.parse(v),
    ],
    ids=["node kind", "edge kind", "role"],
)
def test_unknown_kinds_and_roles_are_not_echoed_whole(parse: Any) -> None:
    with pytest.raises(InvalidError) as info:
        parse("x" * 5_000)
    assert "x" * 200 not in info.value.message
    assert "5000 characters" in info.value.message


@pytest.mark.parametrize("value", ["0.9", True, None, [0.9]])
def test_metrics_and_split_take_numbers_only(value: object) -> None:
    with pytest.raises(InvalidError) as caught:
        parse_record(
            EvaluationRecord,
            {
                "id": "evaluation:e",
                "model_version": "model:m@v1",
                "metrics": {"auc": value},
                "evaluated_at": "2024-01-01T00:00:00Z",
            },
        )
    assert caught.value.field == "metrics.auc"
