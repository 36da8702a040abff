"""A Neo4j outage under the running API, mid-load: writes are UNAVAILABLE within seconds,
readiness tells the truth, and the same app recovers when the server is reachable again, with
no acknowledged write lost and the audit chain intact.

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
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lineage.graphql.app import create_app
from lineage.services.audit import verify
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, load_scenario
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
    acknowledged: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def load() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            body = client.post(
                "/graphql", json={"query": REGISTER, "variables": version(i)}, headers=headers
            ).json()
            answer = (body.get("data") or {}).get("registerDatasetVersion")
            if answer is not None:
                acknowledged.append(f"dataset:outage@v{i}")
            else:
                refused.append(body["errors"][0]["extensions"]["code"])

    loader = threading.Thread(target=load)
    loader.start()
    try:
        time.sleep(1.0)
        relayed.down()
        started = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 503 and time.monotonic() - started < 5.5
        started = time.monotonic()
        body = client.post(
            "/graphql", json={"query": REGISTER, "variables": version(10_000)}, headers=headers
        ).json()
        assert time.monotonic() - started < 5.5
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE", body
        time.sleep(1.0)
        relayed.up()
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover after the outage"
            time.sleep(0.2)
        time.sleep(1.0)  # writes go through again
    finally:
        stop.set()
        loader.join(30)
        relayed.up()
    try:
        assert acknowledged and set(refused) <= {"UNAVAILABLE"}, refused
        assert set(store.get_nodes(acknowledged)) == set(acknowledged)
        assert verify(store).ok
    finally:
        client.close()
        store.close()
