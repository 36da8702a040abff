"""The ``store`` fixture: a test that asks for it runs once per backend, on an empty store.

The contract suite and the API tests use it; the service tests override it with the embedded
store alone (tests/unit, tests/services).

SQLite always runs. Neo4j runs against ``LINEAGE_TEST_NEO4J_URI`` when it is set, otherwise in a
session-wide testcontainers Neo4j when a Docker engine answers, and is skipped (with the reason)
when neither is available, so the suite collects and passes on a laptop without either.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlsplit, urlunsplit

import pytest

from lineage.store import GraphStore, open_store

NEO4J_IMAGE = "neo4j:5.26"
NEO4J_SKIP_REASON = (
    "Neo4j contract tests skipped: set LINEAGE_TEST_NEO4J_URI (and _USER/_PASSWORD) "
    "or run with a Docker engine"
)
DOCKER_PING_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Neo4jServer:
    """Where the Neo4j contract tests connect."""

    uri: str
    user: str
    password: str


def _docker_answers() -> bool:
    """Whether a Docker engine answers a ping; bounded in time whatever the host setup is."""
    try:
        from testcontainers.core.docker_client import DockerClient, get_docker_host
    except ImportError:
        return False
    try:
        host = get_docker_host() or "unix:///var/run/docker.sock"
    except Exception:
        return False
    if host.startswith("unix://") and not Path(urlparse(host).path).exists():
        return False

    answered = threading.Event()

    def ping() -> None:
        try:
            # The testcontainers client resolves the host exactly as the container start will.
            client = DockerClient(timeout=int(DOCKER_PING_SECONDS)).client
            try:
                if client.ping():
                    answered.set()
            finally:
                client.close()
        except Exception:
            return

    # A thread with a join timeout, because an ssh:// host or a wedged daemon can block past
    # the client's own socket timeout.
    thread = threading.Thread(target=ping, name="docker-ping", daemon=True)
    thread.start()
    thread.join(DOCKER_PING_SECONDS + 1)
    return answered.is_set()


def _require_neo4j_backend() -> None:
    """Skip while the Neo4j backend module does not exist; a broken one still fails loudly."""
    try:
        importlib.import_module("lineage.store.neo4j")
    except ModuleNotFoundError as exc:
        if exc.name != "lineage.store.neo4j":
            raise
        pytest.skip("Neo4j contract tests skipped: lineage.store.neo4j does not exist yet")


def _server_from_environment(uri: str) -> Neo4jServer:
    """Credentials from the URI's userinfo, else from LINEAGE_TEST_NEO4J_USER / _PASSWORD."""
    parts = urlsplit(uri)
    user = parts.username or os.environ.get("LINEAGE_TEST_NEO4J_USER", "neo4j")
    password = parts.password or os.environ.get("LINEAGE_TEST_NEO4J_PASSWORD", "")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return Neo4jServer(uri=bare, user=user, password=password)


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jServer]:
    """A Neo4j to test against: the one named by the environment, or a container."""
    _require_neo4j_backend()
    uri = os.environ.get("LINEAGE_TEST_NEO4J_URI")
    if uri:
        yield _server_from_environment(uri)
        return
    if not _docker_answers():
        pytest.skip(NEO4J_SKIP_REASON)
    from testcontainers.community.neo4j import Neo4jContainer

    with Neo4jContainer(NEO4J_IMAGE, password="contract-tests") as container:
        yield Neo4jServer(
            uri=container.get_connection_url(),
            user=container.username,
            password=container.password,
        )


def _wipe_neo4j(server: Neo4jServer) -> None:
    from neo4j import GraphDatabase

    with GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n")


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GraphStore]:
    """An empty store of each backend, closed after the test."""
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path}/contract.db")
    else:
        server: Neo4jServer = request.getfixturevalue("neo4j_server")
        monkeypatch.setenv("LINEAGE_NEO4J_USER", server.user)
        monkeypatch.setenv("LINEAGE_NEO4J_PASSWORD", server.password)
        # Wipe before, not after: a test that died half-way must not poison the next one.
        _wipe_neo4j(server)
        opened = open_store(server.uri)
    try:
        yield opened
    finally:
        opened.close()
