"""One error shape on every route and status, and one status rule (the GraphQL-over-HTTP
specification's, for application/graphql-response+json) whatever media type is negotiated."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest

from lineage.errors import UnavailableError
from lineage.graphql import execution
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api, ApiFactory

RESPONSE_JSON = "application/graphql-response+json"
BATCH = """
mutation Batch($input: InferenceBatchInput!) { registerInferenceBatch(input: $input) { created } }
"""


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    (error,) = body["errors"]
    assert set(error) >= {"message", "extensions"} and error["extensions"]["code"]
    return dict(error)


def headers(api: Api, role: Role = Role.READER, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.tokens[role]}", **more}


def test_a_body_past_the_limit_is_413_in_the_error_shape_on_both_routes(
    make_api: ApiFactory,
) -> None:
    api = make_api(max_body_bytes=2_048, max_upload_bytes=2_048)
    big = "x" * 4_096
    graphql = api.client.post(
        "/graphql", json={"query": "{ viewer { roles } }", "pad": big}, headers=headers(api)
    )
    upload = api.client.post(
        "/records",
        content=f'{{"pad": "{big}"}}\n'.encode(),
        headers=headers(api, Role.PIPELINE),
    )
    for response in (graphql, upload):
        assert response.status_code == 413
        error = only_error(response.json())
        assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "limit": 2_048}


def test_a_bug_is_500_in_the_error_shape_with_the_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_body: Any) -> Any:
        raise RuntimeError("a bug outside any resolver")

    monkeypatch.setattr(execution.GraphQLRequest, "from_json", broken)
    response = api.client.post(
        "/graphql", json={"query": "{ viewer { roles } }"}, headers=headers(api)
    )
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    error = only_error(response.json())
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "a bug" not in error["message"]


def test_a_body_nested_a_thousand_levels_is_a_400_not_a_crash(api: Api) -> None:
    body = '{"query": "{ viewer { roles } }", "variables": {"a": ' + "[" * 1_000 + "]" * 1_000
    response = api.client.post(
        "/graphql",
        content=(body + "}}").encode(),
        headers=headers(api, **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 400
    error = only_error(response.json())
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "64 levels" in error["message"]


@pytest.mark.parametrize("accept", [RESPONSE_JSON, "application/json", None])
def test_statuses_follow_one_rule_whatever_media_type_is_negotiated(
    api: Api, accept: str | None
) -> None:
    extra = {"Accept": accept} if accept else {}
    wanted = RESPONSE_JSON if accept == RESPONSE_JSON else "application/json"

    def post(query: str, variables: dict[str, Any] | None = None) -> Any:
        response = api.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers(api, **extra),
        )
        assert response.headers["content-type"].startswith(wanted)
        return response

    assert post("{ viewer { roles } }").status_code == 200
    assert post("{ viewer { ").status_code == 400  # does not parse: nothing ran
    assert post("{ nope }").status_code == 400  # does not validate: nothing ran
    coerce = post('query Q($t: DateTime!) { impact(node: "x:y", direction: UP) { truncated } }')
    assert coerce.status_code == 400
    ran = post('{ node(id: "not an id") { id } }')  # ran, and the field failed
    assert ran.status_code == 200 and ran.json()["data"] == {"node": None}


def test_a_store_that_cannot_check_the_token_is_503_not_401(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise UnavailableError("cannot reach the store")

    monkeypatch.setattr(api.store, "get_nodes", down)
    response = api.client.post(
        "/graphql", json={"query": "{ viewer { roles } }"}, headers=headers(api)
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    error = only_error(response.json())
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "cannot reach the store" in error["message"]


def test_a_window_without_decisions_is_one_rule_inline_and_uploaded(api: Api) -> None:
    upload = api.client.post("/records", content=b"", headers=headers(api, Role.PIPELINE))
    assert upload.status_code == 201
    assert upload.json() == {
        "recordsHash": hashlib.sha256(b"").hexdigest(),
        "recordCount": 0,
    }
    base = {
        "modelVersion": "model:lending_approval@v12",
        "snapshot": "snapshot:credit_model_training_2024_01_20",
        "windowStart": "2024-01-26T00:00:00Z",
        "recordCount": 0,
        "deployment": "deployment:lending_approval_production",
    }
    inline = base | {"id": "batch:quiet_inline", "windowEnd": "2024-01-26T01:00:00Z"}
    uploaded = base | {
        "id": "batch:quiet_uploaded",
        "windowStart": "2024-01-26T01:00:00Z",
        "windowEnd": "2024-01-26T02:00:00Z",
        "recordsHash": upload.json()["recordsHash"],
    }
    for batch in (inline | {"records": []}, uploaded):
        answer = api.data(BATCH, {"input": batch}, role=Role.PIPELINE)
        assert answer["registerInferenceBatch"]["created"] is True


def test_records_refused_for_a_bad_line_name_the_field_in_the_error_shape(api: Api) -> None:
    response = api.client.post(
        "/records", content=b'{"ok": 1}\nnot json\n', headers=headers(api, Role.PIPELINE)
    )
    assert response.status_code == 400
    error = only_error(response.json())
    assert error["extensions"] == {"code": "INVALID", "field": "records"}
    assert "line 2" in error["message"]
