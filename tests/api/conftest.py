"""Fixtures for the API tests: the app over a fresh store holding the reference scenario, with a
token per role, driven in process through Starlette's TestClient.

The ``store`` fixture is the one of ``tests/conftest.py`` that the contract suite uses, so these
tests run on SQLite always and on Neo4j whenever the contract suite does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from lineage.graphql.app import create_app
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.services.tokens import Role, create_token
from lineage.settings import Settings
from lineage.store import GraphStore

with warnings.catch_warnings():
    # Starlette suggests httpx2; plain httpx is what the project depends on.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


# The principal of each role's token in these tests (the scenario's people and pipelines).
PRINCIPALS: dict[Role, str] = {
    Role.READER: "person:oncall_ml_engineer",
    Role.PIPELINE: "pipeline:credit_training",
    Role.APPROVER: "person:model_risk_officer",
    Role.OPERATOR: "person:credit_ml_lead",
    Role.COMPLIANCE: "person:model_risk_officer",
    Role.ADMIN: DEMO_ACTOR,
}


@dataclass
class Api:
    """The app under test and what it runs on."""

    client: TestClient
    store: GraphStore
    records: RecordStore
    tokens: dict[Role, str] = field(default_factory=dict)

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: Role | None = Role.READER,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> httpx.Response:
        """POST one operation as the role's token (or ``token``; no header if both are None)."""
        bearer = token if token is not None else (self.tokens[role] if role else None)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return self.client.post("/graphql", json=body, headers=headers)

    def data(
        self, query: str, variables: dict[str, Any] | None = None, role: Role = Role.READER
    ) -> dict[str, Any]:
        """The ``data`` of a request that must succeed without errors."""
        response = self.post(query, variables, role=role)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def errors(
        self, query: str, variables: dict[str, Any] | None = None, role: Role = Role.READER
    ) -> list[dict[str, Any]]:
        """The ``errors`` of a request that must fail."""
        body = self.post(query, variables, role=role).json()
        assert body.get("errors"), body
        errors: list[dict[str, Any]] = body["errors"]
        return errors


ApiFactory = Callable[..., Api]


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """An empty record store in the test's directory."""
    return RecordStore(tmp_path / "records")


@pytest.fixture
def scenario_store(store: GraphStore, records: RecordStore) -> GraphStore:
    """The store with the reference scenario loaded."""
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    return store


@pytest.fixture
def make_api(scenario_store: GraphStore, records: RecordStore) -> Iterator[ApiFactory]:
    """Build the app over the scenario with given settings; one token per role."""
    tokens = {
        role: create_token(scenario_store, principal, [role], actor=DEMO_ACTOR).token
        for role, principal in PRINCIPALS.items()
    }
    clients: list[TestClient] = []

    def build(**settings: Any) -> Api:
        app = create_app(scenario_store, records, Settings(**settings))
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        return Api(client=client, store=scenario_store, records=records, tokens=dict(tokens))

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def api(make_api: ApiFactory) -> Api:
    """The app with default settings."""
    return make_api()
