"""``exportSubgraph`` and the download route: compliance and admin only, the same token rules
as ``/graphql``, and the bundle downloaded verifies."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineage.graphql.app import create_app
from lineage.services.export import verify_bundle
from lineage.services.record_store import RecordStore
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.tokens import Role, create_token
from lineage.settings import Settings
from lineage.store import GraphStore

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

EXPORT = """mutation ($node: ID!, $redact: Boolean) {
  exportSubgraph(node: $node, redact: $redact) {
    exportId downloadUrl manifestSha256 auditHead created auditSeq
  }
}"""
V12 = "model:lending_approval@v12"


@pytest.fixture
def client(scenario: GraphStore, records: RecordStore) -> Iterator[TestClient]:
    """The API over the scenario."""
    with TestClient(create_app(scenario, records, Settings()), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def tokens(scenario: GraphStore) -> dict[Role, str]:
    """A token per role that matters here."""
    principals = {
        Role.COMPLIANCE: "person:model_risk_officer",
        Role.READER: "person:credit_ml_lead",
        Role.ADMIN: DEMO_ACTOR,
    }
    return {
        role: create_token(scenario, who, [role], actor=DEMO_ACTOR).token
        for role, who in principals.items()
    }


def _post(client: TestClient, token: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/graphql",
        json={"query": EXPORT, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_compliance_exports_and_downloads_a_bundle_that_verifies(
    client: TestClient, tokens: dict[Role, str], tmp_path: Path, scenario: GraphStore
) -> None:
    body = _post(client, tokens[Role.COMPLIANCE], {"node": V12})
    answer = body["data"]["exportSubgraph"]
    assert answer["created"] is True and answer["auditSeq"] is not None
    event = scenario.audit_head()
    assert event is not None and event.actor == "person:model_risk_officer"
    assert event.action == "export"
    response = client.get(
        answer["downloadUrl"], headers={"Authorization": f"Bearer {tokens[Role.COMPLIANCE]}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    saved = tmp_path / "downloaded.zip"
    saved.write_bytes(response.content)
    check = verify_bundle(saved)
    assert check.ok, check
    assert check.audit_head == answer["auditHead"]
    again = _post(client, tokens[Role.COMPLIANCE], {"node": V12})["data"]["exportSubgraph"]
    assert again["exportId"] == answer["exportId"] and again["created"] is False
    assert scenario.audit_head() == event  # an identical retry writes nothing


def test_a_reader_may_neither_export_nor_download(
    client: TestClient, tokens: dict[Role, str], scenario: GraphStore
) -> None:
    head = scenario.audit_head()
    body = _post(client, tokens[Role.READER], {"node": V12})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert scenario.audit_head() == head
    url = _post(client, tokens[Role.ADMIN], {"node": V12})["data"]["exportSubgraph"]["downloadUrl"]
    refused = client.get(url, headers={"Authorization": f"Bearer {tokens[Role.READER]}"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert client.get(url).status_code == 401
    missing = client.get(
        "/exports/" + "0" * 32 + ".zip",
        headers={"Authorization": f"Bearer {tokens[Role.ADMIN]}"},
    )
    assert missing.status_code == 404
    bad = client.get(
        "/exports/..%2f..%2fetc.zip", headers={"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    )
    assert bad.status_code in (400, 404)


def test_an_export_of_something_else_than_a_model_is_invalid_naming_the_field(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    body = _post(client, tokens[Role.COMPLIANCE], {"node": "dataset:applications@v2"})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == "node"


def test_bundles_go_to_the_apps_configured_folder_and_download_from_it(
    scenario: GraphStore, records: RecordStore, tokens: dict[Role, str], tmp_path: Path
) -> None:
    folder = tmp_path / "configured-exports"
    app = create_app(scenario, records, Settings(exports_dir=str(folder)))
    with TestClient(app, raise_server_exceptions=False) as configured:
        answer = _post(configured, tokens[Role.COMPLIANCE], {"node": V12})["data"]
        export_id = answer["exportSubgraph"]["exportId"]
        assert (folder / f"{export_id}.zip").is_file()
        response = configured.get(
            answer["exportSubgraph"]["downloadUrl"],
            headers={"Authorization": f"Bearer {tokens[Role.COMPLIANCE]}"},
        )
    assert response.status_code == 200
