"""Bad input values are INVALID naming the field, written inline or passed as a variable alike:
never INTERNAL, never silently coerced, never echoed whole."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lineage.graphql import scalars
from lineage.model.canonical import MAX_JSON_DEPTH
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

QUERIES = Path(__file__).resolve().parents[2] / "graphql" / "queries"
BATCH_MUTATION = (QUERIES / "register_inference_batch.graphql").read_text()
DECISIONS = (QUERIES / "decisions.graphql").read_text()
DATASET_MUTATION = """
mutation Dataset($input: DatasetVersionInput!) {
  registerDatasetVersion(input: $input) { created datasetVersion { id } }
}
"""
HASH = "ab" * 32


def batch_input(**changes: Any) -> dict[str, Any]:
    """The saved operation's batch, as a fresh registration, with ``changes``."""
    variables = json.loads((QUERIES / "register_inference_batch.variables.json").read_text())
    batch: dict[str, Any] = variables["input"] | {"id": "batch:input_errors"}
    return batch | changes


def dataset_input(**changes: Any) -> dict[str, Any]:
    return {
        "id": "dataset:input_errors@v1",
        "contentHash": HASH,
        "recordCount": 3,
        "createdAt": "2024-01-15T06:00:00Z",
    } | changes


def literal(value: Any) -> str:
    """A JSON value written as a GraphQL literal (object keys unquoted)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return json.dumps(value)


def inline(mutation: str, value: dict[str, Any]) -> str:
    """A registration with its input written inline."""
    return f"mutation {{ {mutation}(input: {literal(value)}) {{ created }} }}"


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def refused(api: Api, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one error of a request refused before execution (HTTP 400)."""
    response = api.post(query, variables, role=Role.ADMIN)
    body = response.json()
    assert len(body.get("errors", [])) == 1, body
    assert response.status_code == 400, body
    error: dict[str, Any] = body["errors"][0]
    return error


def failed(api: Api, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one error of a request, whatever its status."""
    body = api.post(query, variables, role=Role.ADMIN).json()
    assert len(body.get("errors", [])) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


def nothing_written(api: Api) -> bool:
    return not api.store.get_nodes(["dataset:input_errors@v1", "batch:input_errors"])


# --- top-level arguments: inline and as a variable ---------------------------------------------

PROVENANCE_INLINE = (
    '{ trainingProvenance(model: "lending_approval", asOf: %s) { modelVersion { id } } }'
)
PROVENANCE_VARIABLE = """
query P($asOf: DateTime!) { trainingProvenance(model: "lending_approval", asOf: $asOf) {
  modelVersion { id } } }
"""
IMPACT_INLINE = (
    '{ impact(node: "dataset:applications@v2", direction: %s, maxDepth: %s) { truncated } }'
)
IMPACT_VARIABLE = """
query I($direction: Direction!, $maxDepth: Int) {
  impact(node: "dataset:applications@v2", direction: $direction, maxDepth: $maxDepth) {
    truncated } }
"""

BAD_INSTANTS = [
    ("2024-01-01", "timezone"),
    ("2024-01-01T00:00:00", "timezone"),
    ("2024-13-01T00:00:00Z", "not an ISO 8601 date-time"),
    ("2024-01-01T00:00:00.1234567Z", "at most microsecond precision"),
    (20240101, "must be a string"),
]


@pytest.mark.parametrize(("value", "reason"), BAD_INSTANTS, ids=repr)
def test_an_inline_bad_datetime_is_invalid_naming_the_argument(
    api: Api, value: Any, reason: str
) -> None:
    error = refused(api, PROVENANCE_INLINE % json.dumps(value))
    assert error["extensions"] == {"code": "INVALID", "field": "asOf"}
    assert reason in error["message"]
    assert "2024-01-24T00:00:00Z" in error["message"]  # an example of the right form


@pytest.mark.parametrize(("value", "reason"), BAD_INSTANTS, ids=repr)
def test_a_bad_datetime_variable_gets_the_same_answer_as_inline(
    api: Api, value: Any, reason: str
) -> None:
    error = refused(api, PROVENANCE_VARIABLE, {"asOf": value})
    assert error["extensions"] == {"code": "INVALID", "field": "asOf"}
    assert reason in error["message"]
    assert "2024-01-24T00:00:00Z" in error["message"]


def test_a_query_may_ask_about_the_future(api: Api) -> None:
    api.data(PROVENANCE_INLINE % '"9999-01-01T00:00:00Z"')
    api.data(PROVENANCE_VARIABLE, {"asOf": "9999-01-01T00:00:00Z"})


def test_an_inline_non_integer_int_is_invalid_naming_the_argument(api: Api) -> None:
    error = refused(api, IMPACT_INLINE % ("DOWNSTREAM", "2.5"))
    assert error["extensions"] == {"code": "INVALID", "field": "maxDepth"}
    error = refused(api, IMPACT_VARIABLE, {"direction": "DOWNSTREAM", "maxDepth": 2.5})
    assert error["extensions"] == {"code": "INVALID", "field": "maxDepth"}


def test_an_unknown_enum_value_is_invalid_naming_the_argument(api: Api) -> None:
    error = refused(api, IMPACT_INLINE % ("SIDEWAYS", "2"))
    assert error["extensions"] == {"code": "INVALID", "field": "direction"}
    assert "SIDEWAYS" in error["message"]
    error = refused(api, IMPACT_VARIABLE, {"direction": "SIDEWAYS"})
    assert error["extensions"] == {"code": "INVALID", "field": "direction"}


def test_a_document_that_asks_for_an_unknown_field_is_still_a_validation_failure(
    api: Api,
) -> None:
    error = refused(api, "{ viewer { password } }")
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- values nested in an input object --------------------------------------------------------


def test_an_inline_naive_datetime_in_an_input_is_invalid_naming_its_path(api: Api) -> None:
    value = dataset_input(createdAt="2024-01-15T06:00:00")
    query = inline("registerDatasetVersion", value)
    error = refused(api, query)
    assert error["extensions"] == {"code": "INVALID", "field": "input.createdAt"}
    assert "timezone" in error["message"]
    assert nothing_written(api)


def test_a_naive_datetime_in_an_input_variable_names_the_variable_and_its_path(
    api: Api,
) -> None:
    variables = {"input": dataset_input(createdAt="2024-01-15T06:00:00")}
    error = refused(api, DATASET_MUTATION, variables)
    assert error["extensions"] == {"code": "INVALID", "field": "input.createdAt"}
    assert nothing_written(api)


def test_a_bad_value_in_a_list_item_names_its_index(api: Api) -> None:
    records = [{"ok": True}, nested(MAX_JSON_DEPTH + 1)]
    error = refused(api, BATCH_MUTATION, {"input": batch_input(records=records)})
    assert error["extensions"] == {"code": "INVALID", "field": "input.records.1"}
    query = inline("registerInferenceBatch", batch_input(records=records))
    error = refused(api, query)
    assert error["extensions"] == {"code": "INVALID", "field": "input.records.1"}
    assert nothing_written(api)


# --- BigInt: JSON integers only --------------------------------------------------------------


@pytest.mark.parametrize("value", [2.9, 1.9, -0.5, 2.0, True, "7", None], ids=repr)
def test_a_record_count_that_is_not_a_json_integer_is_invalid(api: Api, value: Any) -> None:
    error = refused(api, BATCH_MUTATION, {"input": batch_input(recordCount=value)})
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == "input.recordCount"
    assert nothing_written(api)


@pytest.mark.parametrize("value", ["2.0", '"7"', "true"])
def test_an_inline_record_count_that_is_not_an_integer_is_invalid(api: Api, value: str) -> None:
    query = inline("registerDatasetVersion", dataset_input()).replace(
        "recordCount: 3", f"recordCount: {value}"
    )
    error = refused(api, query)
    assert error["extensions"] == {"code": "INVALID", "field": "input.recordCount"}
    assert "e.g. 510000" in error["message"]


def test_a_json_integer_record_count_is_stored_as_given(api: Api) -> None:
    api.data(DATASET_MUTATION, {"input": dataset_input(recordCount=2**40)}, role=Role.ADMIN)
    node = api.store.get_nodes(["dataset:input_errors@v1"])["dataset:input_errors@v1"]
    assert node.props["record_count"] == 2**40


def test_counts_that_are_not_integers_are_invalid_naming_the_outcome(api: Api) -> None:
    counts = {"APPROVED": 1.5, "DECLINED": 0.5}
    error = failed(api, BATCH_MUTATION, {"input": batch_input(counts=counts)})
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == "input.counts.APPROVED"
    assert nothing_written(api)


# --- JSON nesting ----------------------------------------------------------------------------


def test_statistics_nested_too_deep_are_invalid_stating_the_limit(api: Api) -> None:
    # Deeper than this and the whole body is refused before it is read as GraphQL.
    error = refused(api, BATCH_MUTATION, {"input": batch_input(statistics=nested(40))})
    assert error["extensions"] == {"code": "INVALID", "field": "input.statistics"}
    assert f"{MAX_JSON_DEPTH} levels" in error["message"]
    assert nothing_written(api)


def test_inline_statistics_nested_too_deep_are_invalid_stating_the_limit(api: Api) -> None:
    query = inline("registerInferenceBatch", batch_input(statistics=nested(MAX_JSON_DEPTH + 1)))
    error = refused(api, query)
    assert error["extensions"] == {"code": "INVALID", "field": "input.statistics"}
    assert f"{MAX_JSON_DEPTH} levels" in error["message"]


def test_statistics_at_the_limit_are_accepted(api: Api) -> None:
    variables = {"input": batch_input(statistics=nested(MAX_JSON_DEPTH))}
    assert api.data(BATCH_MUTATION, variables, role=Role.ADMIN)["registerInferenceBatch"]["created"]


# --- hashes, instants in registrations -------------------------------------------------------


@pytest.mark.parametrize("digest", [HASH.upper(), "sha256:" + HASH, f" {HASH} "], ids=repr)
def test_a_content_hash_in_another_form_is_invalid(api: Api, digest: str) -> None:
    error = failed(api, DATASET_MUTATION, {"input": dataset_input(contentHash=digest)})
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == "input.contentHash"
    assert "64 lowercase hexadecimal" in error["message"]
    assert nothing_written(api)


def test_a_registration_dated_in_the_far_future_is_invalid(api: Api) -> None:
    variables = {"input": dataset_input(createdAt="9999-01-01T00:00:00Z")}
    error = failed(api, DATASET_MUTATION, variables)
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == "input.createdAt"
    assert "5 minutes" in error["message"]
    assert nothing_written(api)


def test_a_registration_finer_than_a_microsecond_is_invalid(api: Api) -> None:
    variables = {"input": dataset_input(createdAt="2024-01-15T06:00:00.1234567Z")}
    error = refused(api, DATASET_MUTATION, variables)
    assert error["extensions"] == {"code": "INVALID", "field": "input.createdAt"}
    assert "at most microsecond precision" in error["message"]
    assert nothing_written(api)


# --- cursors ---------------------------------------------------------------------------------


def forged(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


FORGED_CURSORS = {
    "types": forged([{"a": 1}, [2]]),
    "ints": forged([1, 2]),
    "deep": base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).decode(),
    "long": "A" * 600,
}


@pytest.mark.parametrize("cursor", FORGED_CURSORS.values(), ids=FORGED_CURSORS.keys())
def test_a_forged_node_cursor_is_invalid_naming_after(api: Api, cursor: str) -> None:
    query = (
        'query N($after: String) { nodes(kind: "DatasetVersion", after: $after) { nodes { id } } }'
    )
    error = failed(api, query, {"after": cursor})
    assert error["extensions"] == {"code": "INVALID", "field": "after"}


RECORDS_CURSORS = FORGED_CURSORS | {
    "string offset": forged(["abc", "1"]),
    "boolean offset": forged(["abc", True]),
}


@pytest.mark.parametrize("cursor", RECORDS_CURSORS.values(), ids=RECORDS_CURSORS.keys())
def test_a_forged_records_cursor_is_invalid_naming_after(api: Api, cursor: str) -> None:
    variables = {
        "model": "lending_approval",
        "from": "2024-01-25T00:00:00Z",
        "to": "2024-01-26T00:00:00Z",
        "first": 1,
        "after": cursor,
    }
    body = api.post(DECISIONS, variables).json()
    codes = {(e["extensions"]["code"], e["extensions"].get("field")) for e in body["errors"]}
    assert codes == {("INVALID", "after")}


# --- what is echoed, and what stays INTERNAL -------------------------------------------------


def test_a_long_id_is_not_echoed_whole(api: Api) -> None:
    (error,) = api.errors('{ node(id: "%s") { id } }' % ("dataset:" + "a" * 5_000))
    assert error["extensions"] == {"code": "INVALID", "field": "id"}
    assert len(error["message"]) < 300
    assert "5008 characters" in error["message"]


def test_a_bug_in_a_scalar_is_still_internal(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_value: Any) -> Any:
        raise RuntimeError("a bug, not bad input")

    monkeypatch.setattr(scalars, "parse_instant", broken)
    error = refused(api, PROVENANCE_INLINE % '"2024-01-24T00:00:00Z"')
    assert error["extensions"]["code"] == "INTERNAL"
    assert "a bug" not in error["message"]


def test_a_bug_in_a_scalar_given_a_variable_is_still_internal(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_value: Any) -> Any:
        raise RuntimeError("a bug, not bad input")

    monkeypatch.setattr(scalars, "parse_instant", broken)
    error = failed(api, PROVENANCE_VARIABLE, {"asOf": "2024-01-24T00:00:00Z"})
    assert error["extensions"]["code"] == "INTERNAL"


def test_a_long_inline_value_is_not_echoed_whole(api: Api) -> None:
    error = refused(api, PROVENANCE_INLINE % json.dumps("2024-01-24T00:00:00Z" + "x" * 5_000))
    assert error["extensions"] == {"code": "INVALID", "field": "asOf"}
    assert len(error["message"]) < 400
    assert "5022 characters" in error["message"]


def test_a_variable_inside_an_inline_json_value_is_checked_too(api: Api) -> None:
    # Such a literal is only complete, hence only checked, once the variables are known.
    query = inline("registerInferenceBatch", batch_input(statistics={"a": "$deep"}))
    query = query.replace('"$deep"', "$deep").replace("mutation {", "mutation M($deep: JSON) {")
    error = failed(api, query, {"deep": nested(MAX_JSON_DEPTH)})
    assert error["extensions"] == {"code": "INVALID", "field": "input"}
    assert nothing_written(api)
