"""Failures come back as GraphQL errors with extensions.code, and a failed write changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from lineage.errors import UnavailableError
from lineage.services import investigation
from lineage.services.scenario import content_hash
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

DATASET = """
mutation Dataset($input: DatasetVersionInput!) {
  registerDatasetVersion(input: $input) { created datasetVersion { contentHash } }
}
"""
SNAPSHOT = """
mutation Snapshot($input: FeatureSnapshotInput!) {
  registerFeatureSnapshot(input: $input) { created }
}
"""
RUN = """
mutation Run($input: TrainingRunInput!) { registerTrainingRun(input: $input) { created } }
"""
PROVENANCE = """
query Provenance($model: String!, $asOf: DateTime!) {
  trainingProvenance(model: $model, asOf: $asOf) { modelVersion { id } }
}
"""


def snapshot_of(api: Api) -> tuple[Any, ...]:
    """Everything a failed write must leave as it was."""
    head = api.store.audit_head()
    return (head.seq if head else 0, head.hash if head else None)


def only_error(api: Api, query: str, variables: dict[str, Any], role: Role) -> dict[str, Any]:
    response = api.post(query, variables, role=role)
    body = response.json()
    assert len(body.get("errors", [])) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


def test_registering_a_dataset_version_with_another_hash_is_a_conflict(api: Api) -> None:
    before = snapshot_of(api)
    variables = {
        "input": {
            "id": "dataset:applications@v2",
            "contentHash": "f" * 64,
            "recordCount": 510000,
            "createdAt": "2024-01-15T06:00:00Z",
            "uri": "s3://lending-data/applications@v2/",
        }
    }
    error = only_error(api, DATASET, variables, Role.PIPELINE)
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["field"] == "input.contentHash"
    assert error["extensions"]["details"]["registered_hash"] == content_hash(
        "dataset:applications@v2"
    )
    assert error["path"] == ["registerDatasetVersion"]
    assert snapshot_of(api) == before
    stored = api.store.get_nodes(["dataset:applications@v2"])["dataset:applications@v2"]
    assert stored.props["content_hash"] == content_hash("dataset:applications@v2")


def test_the_same_registration_again_is_a_no_op(api: Api) -> None:
    before = snapshot_of(api)
    variables = {
        "input": {
            "id": "dataset:applications@v2",
            "contentHash": content_hash("dataset:applications@v2"),
            "recordCount": 510000,
            "createdAt": "2024-01-15T06:00:00Z",
            "uri": "s3://lending-data/applications@v2/",
        }
    }
    answer = api.data(DATASET, variables, role=Role.PIPELINE)["registerDatasetVersion"]
    assert answer["created"] is False
    assert snapshot_of(api) == before


def test_a_missing_reference_is_not_found_naming_the_input_path(api: Api) -> None:
    before = snapshot_of(api)
    variables = {
        "input": {
            "id": "snapshot:orphan",
            "features": ["credit_score"],
            "sources": ["dataset:applications@v2", "dataset:nowhere@v1"],
            "contentHash": "a" * 64,
            "computedBy": "feast v3.1",
            "createdAt": "2024-01-26T08:00:00Z",
        }
    }
    error = only_error(api, SNAPSHOT, variables, Role.PIPELINE)
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["field"] == "input.sources.1"
    assert snapshot_of(api) == before
    assert not api.store.get_nodes(["snapshot:orphan", "feature:credit_score"]).get(
        "snapshot:orphan"
    )


def test_invalid_input_names_the_field_path_and_writes_nothing(api: Api) -> None:
    before = snapshot_of(api)
    variables = {
        "input": {
            "id": "run:bad",
            "modelVersion": "model:lending_approval@v99",
            "snapshot": "snapshot:credit_model_training_2024_01_20",
            "datasets": [{"id": "dataset:applications@v2", "contentHash": "not-a-hash"}],
            "codeCommit": "abc123def456",
            "recordsAvailable": 10,
            "recordsUsed": 5,
            "reason": "test",
            "startedAt": "2024-01-26T10:00:00Z",
            "endedAt": "2024-01-26T11:00:00Z",
        }
    }
    error = only_error(api, RUN, variables, Role.PIPELINE)
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == "input.datasets.0.contentHash"
    assert error["extensions"]["details"]["errors"][0]["field"] == "input.datasets.0.contentHash"
    assert snapshot_of(api) == before
    assert not api.store.get_nodes(["run:bad", "model:lending_approval@v99"])


def test_a_rule_across_fields_names_the_field_it_is_about(api: Api) -> None:
    variables = {
        "input": {
            "id": "model:credit_limit",
            "owner": "person:head_of_lending",
            "technicalSteward": "person:credit_ml_lead",
            "riskApprover": "person:head_of_lending",
        }
    }
    mutation = "mutation M($input: ModelInput!) { registerModel(input: $input) { created } }"
    error = only_error(api, mutation, variables, Role.ADMIN)
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == "input.riskApprover"


def test_a_naive_datetime_variable_is_invalid_naming_the_variable(api: Api) -> None:
    response = api.post(PROVENANCE, {"model": "lending_approval", "asOf": "2024-01-24T00:00:00"})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "INVALID", "field": "asOf"}
    assert "timezone" in error["message"]


def test_an_unknown_model_is_not_found(api: Api) -> None:
    error = only_error(
        api, PROVENANCE, {"model": "no_such_model", "asOf": "2024-01-24T00:00:00Z"}, Role.READER
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["path"] == ["trainingProvenance"]


def test_a_malformed_id_is_invalid_naming_the_argument(api: Api) -> None:
    (error,) = api.errors('{ node(id: "not an id") { id } }')
    assert error["extensions"]["code"] == "INVALID" and error["extensions"]["field"] == "id"
    assert api.data('{ node(id: "model:nothing_here") { id } }') == {"node": None}


def test_a_window_that_ends_before_it_starts_is_invalid(api: Api) -> None:
    query = """
    { decisions(model: "lending_approval", from: "2024-01-26T00:00:00Z",
                to: "2024-01-25T00:00:00Z") { truncated } }
    """
    (error,) = api.errors(query)
    assert error["extensions"] == {"code": "INVALID", "field": "to"}


def test_documents_that_do_not_parse_or_validate_are_400(api: Api) -> None:
    response = api.post("{ viewer { principal ")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    response = api.post("{ viewer { password } }")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        (b"[]", "application/json"),
        (b'{"query": 5}', "application/json"),
        (b'{"query": "{ viewer { roles } }", "variables": [1]}', "application/json"),
    ],
)
def test_bodies_that_are_not_graphql_requests_are_400(
    api: Api, body: bytes, content_type: str
) -> None:
    headers = {"Authorization": f"Bearer {api.tokens[Role.READER]}", "Content-Type": content_type}
    response = api.client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_a_body_that_is_not_json_content_is_415(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.tokens[Role.READER]}", "Content-Type": "text/plain"}
    response = api.client.post("/graphql", content=b"{ viewer { roles } }", headers=headers)
    assert response.status_code == 415


def test_an_unexpected_exception_is_internal_without_details_but_with_the_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret connection string")

    monkeypatch.setattr(investigation, "training_provenance", explode)
    response = api.post(PROVENANCE, {"model": "lending_approval", "asOf": "2024-01-24T00:00:00Z"})
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL"
    assert "secret" not in response.text and "Traceback" not in response.text
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


def test_an_unreachable_store_is_unavailable_and_counted(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise UnavailableError("cannot reach the database")

    monkeypatch.setattr(investigation, "training_provenance", down)
    error = only_error(
        api, PROVENANCE, {"model": "lending_approval", "asOf": "2024-01-24T00:00:00Z"}, Role.READER
    )
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert 'lineage_store_errors_total{where="graphql"} 1.0' in api.client.get("/metrics").text
