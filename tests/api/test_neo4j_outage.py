"""A Neo4j outage under the running API: writes are UNAVAILABLE within seconds, readiness tells
the truth, and the same app recovers when the server answers again, with no acknowledged write
lost.

The server must be one the test can make unresponsive, so this runs only with a Docker engine
(a container of its own, paused and resumed); a server named by LINEAGE_TEST_NEO4J_URI is
shared and is not paused.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

from lineage.graphql.app import create_app
from lineage.services.audit import verify
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, load_scenario
from lineage.services.tokens import create_token
from lineage.settings import Settings
from lineage.store import open_store
from tests.conftest import NEO4J_IMAGE, _docker_answers

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.neo4j

REGISTER = """
mutation Register($input: DatasetVersionInput!) {
  registerDatasetVersion(input: $input) { created }
}
"""


def version(i: int) -> dict[str, object]:
    return {
        "input": {
            "id": f"dataset:outage@v{i}",
            "contentHash": f"{i:064x}",
            "recordCount": i,
            "createdAt": "2024-02-01T00:00:00Z",
        }
    }


def test_an_outage_is_unavailable_within_seconds_and_heals_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _docker_answers():
        pytest.skip("pausing a Neo4j server needs a Docker engine (a container of its own)")
    from testcontainers.community.neo4j import Neo4jContainer

    with Neo4jContainer(NEO4J_IMAGE, password="outage-test") as container:
        monkeypatch.setenv("LINEAGE_NEO4J_USER", container.username)
        monkeypatch.setenv("LINEAGE_NEO4J_PASSWORD", container.password)
        store = open_store(container.get_connection_url())
        records = RecordStore(tmp_path / "records")
        load_scenario(Registry(store, records, actor=DEMO_ACTOR))
        token = create_token(store, "pipeline:credit_training", ["pipeline"], actor=DEMO_ACTOR)
        headers = {"Authorization": f"Bearer {token.token}"}
        client = TestClient(create_app(store, records, Settings()), raise_server_exceptions=False)
        acknowledged = []
        for i in range(1, 6):
            body = client.post(
                "/graphql", json={"query": REGISTER, "variables": version(i)}, headers=headers
            ).json()
            assert body["data"]["registerDatasetVersion"]["created"]
            acknowledged.append(f"dataset:outage@v{i}")

        docker = container.get_wrapped_container()
        docker.pause()
        try:
            started = time.monotonic()
            response = client.post(
                "/graphql", json={"query": REGISTER, "variables": version(99)}, headers=headers
            )
            assert time.monotonic() - started < 6
            assert response.status_code in (200, 503)
            (error,) = response.json()["errors"]
            assert error["extensions"]["code"] == "UNAVAILABLE"
            started = time.monotonic()
            assert client.get("/readyz").status_code == 503
            assert time.monotonic() - started < 6
        finally:
            docker.unpause()

        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover after the outage"
            time.sleep(0.5)
        assert set(store.get_nodes(acknowledged)) == set(acknowledged)
        again = client.post(
            "/graphql", json={"query": REGISTER, "variables": version(99)}, headers=headers
        ).json()
        assert again["data"]["registerDatasetVersion"] is not None
        assert verify(store).ok
        client.close()
        store.close()
