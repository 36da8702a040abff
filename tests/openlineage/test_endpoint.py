"""``POST /api/v1/lineage`` and its batch form over HTTP: statuses, error shape, nothing written
on refusal."""

from __future__ import annotations

import gzip
import json
import threading
import time
from typing import Any

from starlette.testclient import TestClient

from lineage.openlineage import ids
from lineage.store import GraphStore
from tests.locks import another_writer_holding_the_lock
from tests.openlineage.support import Served, event, with_run

LINEAGE = "/api/v1/lineage"
BATCH = "/api/v1/lineage/batch"


def head(store: GraphStore) -> int:
    found = store.audit_head()
    return found.seq if found else 0


def post(
    client: TestClient, token: str | None, body: Any, path: str = LINEAGE, **headers: str
) -> Any:
    sent = {"Content-Type": "application/json", **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return client.post(path, content=data, headers=sent)


def refusal(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["errors"][0]
    return error


def test_an_event_is_answered_201_with_what_it_registered(
    client: TestClient, served_app: Served, world: GraphStore
) -> None:
    response = post(client, served_app.pipeline, event("dbt_complete"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["run"] == "pipelinerun:01940f52-0000-7000-8000-00000000d001"
    assert body["duplicate"] is False and body["auditSeq"] == head(world)
    again = post(client, served_app.pipeline, event("dbt_complete"))
    assert again.status_code == 201 and again.json()["duplicate"] is True


def test_a_gzip_body_is_accepted(client: TestClient, served_app: Served) -> None:
    raw = gzip.compress(json.dumps(event("spark_start")).encode("utf-8"))
    response = post(client, served_app.pipeline, raw, **{"Content-Encoding": "gzip"})
    assert response.status_code == 201, response.text


def test_bad_events_are_400_naming_the_path_and_write_nothing(
    client: TestClient, served_app: Served, world: GraphStore
) -> None:
    no_run_id = event("spark_start")
    del no_run_id["run"]["runId"]
    not_uuid = with_run(event("spark_start"), "42")
    no_zone = event("spark_start", eventTime="2024-01-20T05:10:00.000")
    bad_facet = event("spark_complete")
    bad_facet["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] = "lots"
    huge = event("spark_start")
    huge["run"]["facets"]["spark.logicalPlan"]["plan"] = ["x" * 1_000] * 10_500  # ~10 MB
    cases = {
        "run.runId": no_run_id,
        "run.runId ": not_uuid,
        "eventTime": no_zone,
        "outputs.0.outputFacets.outputStatistics.rowCount": bad_facet,
        "run.facets.spark.logicalPlan": huge,
    }
    before = head(world)
    for path, body in cases.items():
        response = post(client, served_app.pipeline, body)
        assert response.status_code == 400, (path, response.text[:300])
        error = refusal(response)
        assert error["extensions"]["code"] == "INVALID"
        assert error["extensions"]["field"].startswith(path.strip()), error
    assert head(world) == before


def test_a_batch_is_written_in_order_or_not_at_all(
    client: TestClient, served_app: Served, world: GraphStore
) -> None:
    before = head(world)
    bad = event("spark_complete")
    del bad["job"]["name"]
    response = post(client, served_app.pipeline, [event("spark_start"), bad], BATCH)
    assert response.status_code == 400 and refusal(response)["extensions"]["field"] == "1.job.name"
    assert head(world) == before
    clash = with_run(event("airflow_training_complete"), "01940f3a-7c2e-7b51-9a8e-3f1c5d2a6c02")
    clash["outputs"][0]["facets"]["contentHash"]["sha256"] = "0" * 64
    response = post(
        client,
        served_app.pipeline,
        [event("airflow_training_complete"), event("spark_start"), clash],
        BATCH,
    )
    assert response.status_code == 409 and refusal(response)["extensions"]["code"] == "CONFLICT"
    assert head(world) == before
    pair = [event("spark_start"), event("spark_complete")]
    response = post(client, served_app.pipeline, pair, BATCH)
    assert response.status_code == 201
    assert [i["run"] for i in response.json()["ingested"]] == [
        "pipelinerun:01940f41-12ab-7cde-8f01-23456789abc1"
    ] * 2


def test_a_caller_without_a_token_or_the_role_is_refused(
    client: TestClient, served_app: Served, world: GraphStore
) -> None:
    before = head(world)
    missing = post(client, None, event("spark_start"))
    assert missing.status_code == 401
    assert refusal(missing)["extensions"]["code"] == "UNAUTHENTICATED"
    wrong = post(client, "lin_0000000000000000_" + "x" * 43, event("spark_start"))
    assert wrong.status_code == 401
    reader = post(client, served_app.reader, event("spark_start"))
    assert reader.status_code == 403 and refusal(reader)["extensions"]["code"] == "FORBIDDEN"
    assert head(world) == before


def test_a_body_past_the_server_limit_is_413_and_not_json_is_400(
    client: TestClient, served_app: Served
) -> None:
    limit = served_app.app.state.settings.max_body_bytes
    response = post(client, served_app.pipeline, b"[" + b" " * limit + b"]")
    assert response.status_code == 413
    assert refusal(response)["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    response = post(client, served_app.pipeline, b"{not json")
    assert response.status_code == 400 and refusal(response)["extensions"]["field"] == "$"


def test_the_answer_names_the_dataset_ids_it_registered(
    client: TestClient, served_app: Served
) -> None:
    response = post(client, served_app.pipeline, event("spark_complete"))
    assert ids.dataset_id("s3://clean-bucket", "bureau_clean") in response.json()["datasets"]


def test_an_event_waiting_for_the_write_lock_waits_without_holding_up_other_requests(
    client: TestClient, served_app: Served, world: GraphStore
) -> None:
    # A small event is ingested on the event loop only when the store can write at once;
    # one that must wait for the lock waits in a worker thread, and the server keeps answering.
    answers: dict[str, Any] = {}

    def send_event() -> None:
        answers["event"] = post(client, served_app.pipeline, event("dbt_complete"))

    sender = threading.Thread(target=send_event)
    with another_writer_holding_the_lock(world, seconds=2.0):
        started = time.monotonic()
        sender.start()
        time.sleep(0.3)  # the event reaches the store and waits for the lock
        assert client.get("/healthz").status_code == 200
        assert time.monotonic() - started < 1.5  # not after the lock was let go
        assert sender.is_alive()
    sender.join(10)

    assert answers["event"].status_code == 201, answers["event"].text
    assert answers["event"].json()["auditSeq"] == head(world)
