"""A Neo4j outage under the running API, mid-load: every request (registrations and reads) is
UNAVAILABLE within 5 s, never a hang or INTERNAL; readiness tells the truth; and the same app
recovers when the server is reachable again, with no acknowledged write lost and the audit chain
intact. And a pipeline's next request reads what it just wrote (bookmarks).

The outage is the server becoming unreachable: the store connects through a TCP relay on
loopback that the test cuts (closing the listener and every relayed connection) and restores,
so it runs against any server the contract suite uses (LINEAGE_TEST_NEO4J_URI or Docker),
which is itself never stopped.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lineage.graphql.app import create_app
from lineage.services.audit import verify
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.services.tokens import create_token
from lineage.settings import Settings
from lineage.store import open_store
from tests.conftest import Neo4jServer, _wipe_neo4j

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.neo4j

REGISTER = """
mutation Register($input: DatasetVersionInput!) {
  registerDatasetVersion(input: $input) { created }
}
"""


class Relay:
    """A TCP relay on loopback to the server, which the test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        """Listen (again, on the same port)."""
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Stop listening and cut every relayed connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown first: it wakes the accepting thread, which otherwise keeps the
            # listening socket alive (and accepting) inside its blocked accept().
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65_536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def relayed(neo4j_server: Neo4jServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Relay]:
    parts = urlsplit(neo4j_server.uri)
    relay = Relay((parts.hostname or "localhost", parts.port or 7687))
    relay.up()
    monkeypatch.setenv("LINEAGE_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("LINEAGE_NEO4J_PASSWORD", neo4j_server.password)
    _wipe_neo4j(neo4j_server)
    try:
        yield relay
    finally:
        relay.down()


def version(i: int) -> dict[str, object]:
    return {
        "input": {
            "id": f"dataset:outage@v{i}",
            "contentHash": f"{i:064x}",
            "recordCount": i,
            "createdAt": "2024-02-01T00:00:00Z",
        }
    }


READ = """
query Read($id: ID!) {
  node(id: $id) { id }
  impact(node: $id, direction: DOWNSTREAM, maxDepth: 3) { truncated }
}
"""
UNAVAILABLE_WITHIN = 5.0  # seconds: the bound on any request during an outage
OUTAGE = 6.0  # seconds the server stays unreachable: longer than the bound, so it shows


@dataclass(frozen=True, slots=True)
class Answer:
    """One request of the load: when it started and ended, and its outcome."""

    started: float
    ended: float
    outcome: str  # "ok" or the error code


class Load:
    """Pipelines registering and investigators reading, in threads, until stopped."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers
        self.acknowledged: list[str] = []
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, daemon=True),
            threading.Thread(target=self._read, daemon=True),
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _ask(self, query: str, variables: dict[str, object]) -> tuple[dict[str, Any], Answer]:
        started = time.monotonic()
        body = self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        ).json()
        errors = body.get("errors") or []
        outcome = errors[0]["extensions"]["code"] if errors else "ok"
        answer = Answer(started, time.monotonic(), outcome)
        self.answers.append(answer)
        return body, answer

    def _write(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            body, _ = self._ask(REGISTER, version(i))
            if (body.get("data") or {}).get("registerDatasetVersion") is not None:
                self.acknowledged.append(f"dataset:outage@v{i}")

    def _read(self) -> None:
        while not self._stop.is_set():
            self._ask(READ, {"id": "dataset:applications@v2"})
            time.sleep(0.05)


def test_an_outage_mid_load_is_unavailable_within_seconds_and_heals_without_a_restart(
    relayed: Relay, tmp_path: Path
) -> None:
    # bolt:// to the relay: a routing URI would send the driver to the server's own address.
    store = open_store(f"bolt://127.0.0.1:{relayed.port}")
    records = RecordStore(tmp_path / "records")
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    token = create_token(store, "pipeline:credit_training", ["pipeline"], actor=DEMO_ACTOR)
    headers = {"Authorization": f"Bearer {token.token}"}
    client = TestClient(create_app(store, records, Settings()), raise_server_exceptions=False)
    try:
        with Load(client, headers) as load:
            time.sleep(1.0)
            relayed.down()
            down_at = time.monotonic()
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert time.monotonic() - down_at < UNAVAILABLE_WITHIN + 0.5
            time.sleep(max(0.0, down_at + OUTAGE - time.monotonic()))
            relayed.up()
            up_at = time.monotonic()
            deadline = up_at + 30
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "the API did not recover after the outage"
                time.sleep(0.2)
            healed_at = time.monotonic()
            time.sleep(1.0)  # reads and writes go through again
        during = [a for a in load.answers if down_at <= a.started < up_at]
        inside = [a for a in during if a.ended < up_at]
        assert inside, "the load made no request during the outage"
        assert {a.outcome for a in inside} == {"UNAVAILABLE"}, inside
        assert all(a.ended - a.started < UNAVAILABLE_WITHIN + 0.5 for a in during), during
        assert {a.outcome for a in load.answers} <= {"ok", "UNAVAILABLE"}, "never INTERNAL"
        after = [a for a in load.answers if a.started > healed_at]
        assert after and {a.outcome for a in after} == {"ok"}, after
        assert set(store.get_nodes(load.acknowledged)) == set(load.acknowledged)
        assert verify(store).ok
    finally:
        relayed.up()
        client.close()
        store.close()


def test_a_pipeline_reads_its_own_write_in_its_next_request(relayed: Relay, tmp_path: Path) -> None:
    store = open_store(f"bolt://127.0.0.1:{relayed.port}")
    records = RecordStore(tmp_path / "records")
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    token = create_token(store, "pipeline:credit_training", ["pipeline"], actor=DEMO_ACTOR)
    headers = {"Authorization": f"Bearer {token.token}"}
    client = TestClient(create_app(store, records, Settings()), raise_server_exceptions=False)
    try:
        for i in range(1, 21):
            written = client.post(
                "/graphql", json={"query": REGISTER, "variables": version(i)}, headers=headers
            ).json()
            assert written["data"]["registerDatasetVersion"]["created"] is True, written
            read = client.post(
                "/graphql",
                json={"query": READ, "variables": {"id": f"dataset:outage@v{i}"}},
                headers=headers,
            ).json()
            assert read["data"]["node"] == {"id": f"dataset:outage@v{i}"}, read
    finally:
        client.close()
        store.close()
