"""The store fixtures: a test that asks for one runs once per backend, on an empty store.

- ``store_uri``: the URI of an empty store of each backend (a fresh SQLite file, or the Neo4j
  test server wiped), for tests that drive the command line or start processes. For Neo4j the
  credentials are put in ``LINEAGE_NEO4J_USER`` / ``LINEAGE_NEO4J_PASSWORD`` (monkeypatched into
  ``os.environ``, so ``CliRunner`` and subprocesses started with ``os.environ`` inherit them).
- ``empty_store``: that store opened, closed after the test.
- ``store``: the same open store. Directories may override it (tests/services: the lending
  scenario loaded) and still reach the empty one as ``empty_store``.

All three share one parametrization, ``[sqlite]`` / ``[neo4j]``, so a test that asks for
several gets the same database. A test that truly cannot run on Neo4j (it edits the SQLite
file behind the store, or is about the default ``./lineage.db``) carries
``@pytest.mark.sqlite_only("why")``; its Neo4j case is skipped with that reason.

SQLite always runs. Neo4j runs against ``LINEAGE_TEST_NEO4J_URI`` when it is set, otherwise in a
session-wide testcontainers Neo4j when a Docker engine answers, and is skipped (with the reason)
when neither is available, so the suite collects and passes on a laptop without either. The
Neo4j database is wiped before each test (not after: a test that died half-way must not poison
the next one), in batches, so a server still holding a large graph is emptied in bounded
transactions.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse, urlsplit, urlunsplit

import pytest

from lineage.store import GraphStore, open_store

if TYPE_CHECKING:
    from neo4j import Driver

NEO4J_IMAGE = "neo4j:5.26"
NEO4J_SKIP_REASON = (
    "Neo4j case skipped: no Neo4j server here (set LINEAGE_TEST_NEO4J_URI, and _USER/_PASSWORD, "
    "or run with a Docker engine)"
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
        pytest.skip("Neo4j case skipped: lineage.store.neo4j does not exist yet")


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


# Batched, so a server left holding a large graph (the 100k-node benchmark) is emptied in
# transactions its memory allows. ``CALL ... IN TRANSACTIONS`` runs only in an auto-commit
# transaction: ``session.run``, not ``execute_query`` or a managed transaction (which would also
# retry the whole statement on a transient error). One statement covers every label the store
# writes (:Node, :AuditEvent, :LineageLock, :LineageLease, :LineageReadiness); constraints and
# indexes stay, the store creates them with IF NOT EXISTS.
WIPE_NEO4J = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


def _wipe(driver: Driver) -> None:
    with driver.session() as session:
        session.run(WIPE_NEO4J).consume()


def _wipe_neo4j(server: Neo4jServer) -> None:
    """Delete every node and relationship of the test server's database."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
        _wipe(driver)


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_server: Neo4jServer) -> Iterator[Driver]:
    """One driver for the whole session's wipes (a driver per test would reconnect each time)."""
    from neo4j import GraphDatabase

    with GraphDatabase.driver(
        neo4j_server.uri, auth=(neo4j_server.user, neo4j_server.password)
    ) as driver:
        yield driver


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker of tests that run on SQLite alone."""
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): runs on SQLite alone; its Neo4j case is skipped with the reason",
    )


def _sqlite_only_reason(request: pytest.FixtureRequest) -> str | None:
    marker = request.node.get_closest_marker("sqlite_only")
    if marker is None:
        return None
    reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
    return f"SQLite only: {reason}" if reason else "SQLite only"


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The URI of an empty store of each backend (see the module docstring)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/contract.db"
    reason = _sqlite_only_reason(request)
    if reason is not None:
        pytest.skip(reason)
    server: Neo4jServer = request.getfixturevalue("neo4j_server")
    monkeypatch.setenv("LINEAGE_NEO4J_USER", server.user)
    monkeypatch.setenv("LINEAGE_NEO4J_PASSWORD", server.password)
    _wipe(request.getfixturevalue("neo4j_driver"))
    return server.uri


@pytest.fixture
def empty_store(store_uri: str) -> Iterator[GraphStore]:
    """An empty store of each backend, closed after the test."""
    opened = open_store(store_uri)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def store(empty_store: GraphStore) -> GraphStore:
    """An empty store of each backend (the contract suite's fixture)."""
    return empty_store
