"""Fixtures for the OpenLineage tests: the lending scenario's store and a way to send events.

The store is the ``store`` fixture of ``tests/conftest.py``: every test here runs on SQLite, and
on Neo4j whenever the contract suite does.
"""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import uvicorn

from lineage.graphql.app import create_app
from lineage.openlineage.endpoint import OpenLineageConfig
from lineage.openlineage.events import parse
from lineage.openlineage.mapping import Ingested, OpenLineageIngest
from lineage.openlineage.schema import validate
from lineage.openlineage.training import TrainingJobs
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.services.tokens import Role, create_token
from lineage.settings import Settings
from lineage.store import GraphStore
from tests.openlineage.support import PIPELINE, TRAINING, Event, Send, Served

with warnings.catch_warnings():
    # Starlette suggests httpx2; plain httpx is what the project depends on.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient



@pytest.fixture
def world(store: GraphStore, tmp_path: Path) -> GraphStore:
    """The store with the lending scenario (its people and pipelines) loaded."""
    load_scenario(Registry(store, RecordStore(tmp_path / "records"), actor=DEMO_ACTOR))
    return store


@pytest.fixture
def send(world: GraphStore) -> Send:
    """Validate, parse and ingest events as the scenario's training pipeline, in one call."""

    def sending(*events: Event, actor: str = PIPELINE) -> list[Ingested]:
        parsed = [parse(e, validate(e)) for e in events]
        ingest = OpenLineageIngest(world, actor, TrainingJobs.from_settings(TRAINING))
        return ingest.ingest(parsed)

    return sending


@pytest.fixture
def served_app(world: GraphStore, tmp_path: Path) -> Served:
    """The API (default settings, the tests' training rule) over the scenario."""
    app = create_app(world, RecordStore(tmp_path / "records"), Settings(), after_batch=())
    app.state.openlineage = OpenLineageConfig(TRAINING)
    return Served(
        app=app,
        pipeline=create_token(world, PIPELINE, [Role.PIPELINE], actor=DEMO_ACTOR).token,
        reader=create_token(
            world, "person:oncall_ml_engineer", [Role.READER], actor=DEMO_ACTOR
        ).token,
    )


@pytest.fixture
def client(served_app: Served) -> Iterator[TestClient]:
    """Starlette's in-process client over the app."""
    with TestClient(served_app.app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def served(served_app: Served) -> Iterator[Served]:
    """The app served by uvicorn on a loopback port (in a thread of this process), until the
    test ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        served_app.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-openlineage", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield replace(served_app, url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=20)
