"""The HTTP surface around GraphQL: GraphiQL, health, readiness, metrics, request IDs."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineage.errors import UnavailableError
from lineage.graphql.app import create_app
from lineage.model.graph import Node, NodeKind

T0 = datetime(2024, 1, 10, tzinfo=UTC)

if TYPE_CHECKING:
    from conftest import Api

    from lineage.services.record_store import RecordStore


def test_get_graphql_serves_graphiql(api: Api) -> None:
    response = api.client.get("/graphql")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower() and "Authorization" in response.text


def test_healthz_answers_while_the_process_is_up(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}


def test_readyz_answers_ready_when_the_store_does(api: Api) -> None:
    response = api.client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ready"


class DownStore:
    """A store whose database does not answer."""

    uri = "sqlite:///unreachable.db"

    def ping(self, write: bool = False) -> None:
        raise UnavailableError("database is locked by another process")

    def __getattr__(self, name: str) -> Any:
        raise UnavailableError("database is locked by another process")


def test_readyz_is_503_with_the_reason_when_the_store_is_down(records: RecordStore) -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(DownStore(), records)) as client:  # type: ignore[arg-type]
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "reason": "database is locked by another process",
        }
        assert 'lineage_store_errors_total{where="readyz"} 1.0' in client.get("/metrics").text
        assert client.get("/healthz").status_code == 200


def test_metrics_count_operations_by_name_with_latency(api: Api) -> None:
    api.data("{ viewer { roles } }")
    api.post("{ viewer { nope } }")
    text = api.client.get("/metrics").text
    assert 'lineage_graphql_operations_total{operation="query:viewer",outcome="ok"} 1.0' in text
    assert 'lineage_graphql_operations_total{operation="query:viewer",outcome="error"} 1.0' in text
    assert 'lineage_graphql_operation_seconds_count{operation="query:viewer"} 2.0' in text
    assert 'lineage_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"} 1.0' in text
    assert 'lineage_http_requests_total{method="POST",path="/graphql",status="200"}' in text


def test_every_response_carries_a_request_id_and_a_sane_given_one_is_kept(api: Api) -> None:
    generated = api.client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    kept = api.client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert kept.headers["x-request-id"] == "trace-42"
    replaced = api.client.get("/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert replaced.headers["x-request-id"] != "bad id\twith junk"


def test_serving_freezes_what_startup_built_until_shutdown(records: RecordStore) -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(DownStore(), records)) as client:  # type: ignore[arg-type]
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0


def test_an_answer_orjson_cannot_encode_is_still_answered_exactly(api: Api) -> None:
    # orjson stops at 64-bit integers; a property may hold a larger one.
    big = 2**70
    api.store.upsert_nodes(
        [Node("dataset:huge@v1", NodeKind.DATASET_VERSION, T0, {"record_count": big})]
    )
    data = api.data('{ node(id: "dataset:huge@v1") { props } }')
    assert data["node"]["props"] == {"record_count": big}
