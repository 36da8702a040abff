"""Fixtures for the web view's tests: the reference scenario in the ``store`` fixture's backend
(SQLite always, Neo4j when the contract suite runs it), reader and compliance tokens, the app
in process (TestClient) and served for real by uvicorn on a free localhost port (browser)."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from lineage.graphql.app import create_app
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.services.tokens import Role, create_token
from lineage.settings import Settings
from lineage.store import GraphStore

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette suggests httpx2; plain httpx is the dependency
    from starlette.testclient import TestClient

READER = "person:oncall_ml_engineer"


@dataclass(frozen=True)
class Site:
    """The app over the scenario and the tokens to sign in with."""

    app: Starlette
    store: GraphStore
    records: RecordStore
    reader: str
    compliance: str
    router: str


@pytest.fixture
def site(store: GraphStore, tmp_path: Path) -> Site:
    """The reference scenario behind the API app, with a reader, a compliance and a
    router-only token."""
    records = RecordStore(tmp_path / "records")
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))

    def token(principal: str, role: Role) -> str:
        return create_token(store, principal, [role], actor=DEMO_ACTOR).token

    app = create_app(store, records, Settings(), after_batch=[])
    return Site(
        app=app,
        store=store,
        records=records,
        reader=token(READER, Role.READER),
        compliance=token("person:model_risk_officer", Role.COMPLIANCE),
        router=token("pipeline:credit_training", Role.ROUTER),
    )


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    """The app in process; redirects are not followed, so tests see them."""
    with TestClient(site.app, raise_server_exceptions=False, follow_redirects=False) as test:
        yield test


@pytest.fixture
def reader(client: TestClient, site: Site) -> TestClient:
    """The client signed in with the reader token, through the login form."""
    response = client.post("/ui/login", data={"token": site.reader, "next": "/ui/"})
    assert response.status_code == 303, response.text
    return client


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(site: Site) -> Iterator[str]:
    """The app served by uvicorn on a free localhost port; its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="ui-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
