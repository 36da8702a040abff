"""Real store faults on the embedded store: a full disk (a small tmpfs), a read-only database
file and a read-only record store (the immutable attribute, which binds root too). Each is
UNAVAILABLE with the cause in words and nothing half-written, readiness turns 503 while it
lasts, and the same running app writes again once the fault is gone.

These need root (to mount a tmpfs, to set the immutable attribute); elsewhere they skip and say
so. The Neo4j outage is tested in tests/contract/test_neo4j_outage.py.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from lineage.store.base import GraphStore

pytestmark = pytest.mark.sqlite_only("injects faults into the SQLite file and its disk")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

REGISTER = """
mutation Register($input: DatasetVersionInput!) {
  registerDatasetVersion(input: $input) { created }
}
"""
BATCH = """
mutation Batch($input: InferenceBatchInput!) { registerInferenceBatch(input: $input) { created } }
"""
QUESTION = """
{ trainingProvenance(model: "lending_approval", asOf: "2024-01-24T00:00:00Z") {
    modelVersion { id } } }
"""
NEW_VERSION = {
    "input": {
        "id": "dataset:applications@v9",
        "contentHash": "9" * 64,
        "recordCount": 1,
        "createdAt": "2024-02-01T00:00:00Z",
        "description": "x" * 1_500,
    }
}
NEW_BATCH = {
    "input": {
        "id": "batch:fault_probe",
        "modelVersion": "model:lending_approval@v12",
        "snapshot": "snapshot:credit_model_training_2024_01_20",
        "windowStart": "2024-01-26T00:00:00Z",
        "windowEnd": "2024-01-26T01:00:00Z",
        "recordCount": 1,
        "records": [{"applicant_id": "fault_probe", "decision": "APPROVED"}],
    }
}


def run_or_skip(command: list[str], why: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"{why}: `{' '.join(command)}` failed ({done.stderr.strip()})")


@dataclass
class Service:
    """The app over a store at a chosen place, with a pipeline and a reader token."""

    client: TestClient
    store: GraphStore
    db: Path
    records: Path
    pipeline: str
    reader: str

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        token = self.pipeline if query.lstrip().startswith("mutation") else self.reader
        response = self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def error(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = self.post(query, variables)
        (error,) = body["errors"]
        return dict(error)

    def ready(self) -> tuple[int, str]:
        response = self.client.get("/readyz")
        return response.status_code, str(response.json().get("reason", ""))


def service_at(db_dir: Path, records_dir: Path) -> Iterator[Service]:
    db = db_dir / "lineage.db"
    store = open_store(f"sqlite:///{db}", lock_timeout=1.0)
    records = RecordStore(records_dir)
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    pipeline = create_token(store, "pipeline:credit_training", ["pipeline"], actor=DEMO_ACTOR)
    reader = create_token(store, "person:oncall_ml_engineer", ["reader"], actor=DEMO_ACTOR)
    client = TestClient(create_app(store, records, Settings()), raise_server_exceptions=False)
    try:
        yield Service(client, store, db, records_dir, pipeline.token, reader.token)
    finally:
        client.close()
        store.close()


@pytest.fixture
def on_small_disk(tmp_path: Path) -> Iterator[Service]:
    """The store on a 16 MB tmpfs of its own."""
    disk = tmp_path / "disk"
    disk.mkdir()
    run_or_skip(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
        "a full disk is a small tmpfs, and mounting one needs root",
    )
    try:
        yield from service_at(disk, tmp_path / "records")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """The store and the record store on the test's own disk."""
    probe = tmp_path / "attr-probe"
    probe.touch()
    run_or_skip(["chattr", "+i", str(probe)], "the immutable attribute needs root")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    yield from service_at(tmp_path, tmp_path / "records")
    subprocess.run(["chattr", "-R", "-i", str(tmp_path)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the disk refuses more: what is left is a full disk."""
    filler = directory / "filler"
    # Unbuffered: a buffered file would flush what the disk refused again at close, and raise
    # there whenever the free space is not a multiple of the chunk.
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65_536)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def truncate_wal(db: Path) -> None:
    """Checkpoint the log back into the database, so the next write must grow the log."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()


def test_a_full_disk_is_unavailable_with_its_cause_and_recovers_without_a_restart(
    on_small_disk: Service,
) -> None:
    service = on_small_disk
    truncate_wal(service.db)
    filler = fill(service.db.parent)

    error = service.error(REGISTER, NEW_VERSION)
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "full" in error["message"] and "nothing was written" in error["message"]
    status, reason = service.ready()
    assert status == 503 and "full" in reason
    assert service.post(QUESTION)["data"]["trainingProvenance"]["modelVersion"]["id"]

    filler.unlink()
    assert service.ready()[0] == 200
    assert service.post(REGISTER, NEW_VERSION)["data"]["registerDatasetVersion"]["created"]
    assert verify(service.store).ok


def test_a_read_only_store_file_is_unavailable_and_recovers_once_writable(
    service: Service,
) -> None:
    files = [str(service.db), f"{service.db}-wal"]
    subprocess.run(["chattr", "+i", *files], check=True)
    try:
        error = service.error(REGISTER, NEW_VERSION)
        status, reason = service.ready()
        # Reads still answer while the file cannot be written.
        assert service.post(QUESTION)["data"]["trainingProvenance"]["modelVersion"]["id"]
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "read-only" in error["message"] and "nothing was written" in error["message"]
    assert status == 503 and "read-only" in reason

    assert service.ready()[0] == 200
    assert service.post(REGISTER, NEW_VERSION)["data"]["registerDatasetVersion"]["created"]
    assert verify(service.store).ok


def test_a_read_only_record_store_is_unavailable_and_recovers_once_writable(
    service: Service,
) -> None:
    subprocess.run(["chattr", "-R", "+i", str(service.records)], check=True)
    try:
        upload = service.client.post(
            "/records",
            content=b'{"decision": "APPROVED"}\n',
            headers={"Authorization": f"Bearer {service.pipeline}"},
        )
        error = service.error(BATCH, NEW_BATCH)
        status, reason = service.ready()
    finally:
        subprocess.run(["chattr", "-R", "-i", str(service.records)], check=True)
    assert upload.status_code == 503
    (upload_error,) = upload.json()["errors"]
    assert upload_error["extensions"]["code"] == "UNAVAILABLE"
    assert "cannot be written" in upload_error["message"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("UNAVAILABLE", "records")
    assert "nothing was written" in error["message"]
    assert not service.store.get_nodes(["batch:fault_probe"])
    assert status == 503 and "record store" in reason

    assert service.ready()[0] == 200
    assert service.post(BATCH, NEW_BATCH)["data"]["registerInferenceBatch"]["created"]
