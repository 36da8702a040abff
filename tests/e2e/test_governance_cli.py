"""The governance commands as a person and a CI pipeline use them: `lineage gate check` with its
exit codes on the reference scenario, and `approve`, `block`, `rollback` against a real server
(uvicorn on loopback), as the token's principal."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from lineage.cli import app
from lineage.graphql.app import create_app
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, DEPLOYMENT, MODEL
from lineage.services.scenario_loader import load_scenario
from lineage.services.tokens import Role, create_token
from lineage.settings import Settings
from lineage.store import open_store

runner = CliRunner()
AT_JAN_22 = "2024-01-22T09:00:00+00:00"


@pytest.fixture
def demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_uri: str) -> str:
    monkeypatch.delenv("LINEAGE_URL", raising=False)
    monkeypatch.delenv("LINEAGE_TOKEN", raising=False)
    store = store_uri
    records = str(tmp_path / "records")
    assert runner.invoke(app, ["demo", "--store", store, "--records-dir", records]).exit_code == 0
    return store


def gate(store: str, version: str, *more: str) -> tuple[int, str]:
    done = runner.invoke(app, ["gate", "check", f"{MODEL}@{version}", "--store", store, *more])
    return done.exit_code, done.output


def test_gate_check_refuses_the_blocked_candidate_listing_every_reason(demo_store: str) -> None:
    code, output = gate(demo_store, "v12-rc1", "--at", AT_JAN_22)
    assert code == 1
    assert "RISK_GATE_FAILED" in output and "disparate impact 0.70 < 0.80" in output
    assert "BLOCKED" in output and "APPROVAL_MISSING" in output


def test_gate_check_passes_the_approved_retrain_and_says_its_tier(demo_store: str) -> None:
    code, output = gate(demo_store, "v12", "--at", AT_JAN_22)
    assert code == 0 and "may be deployed (tier HIGH)" in output
    code, output = gate(demo_store, "v12", "--at", AT_JAN_22, "--json")
    assert code == 0 and json.loads(output)["unmet"] == []


def test_gate_check_exits_2_for_an_unknown_version_or_a_naive_instant(demo_store: str) -> None:
    assert gate(demo_store, "v99")[0] == 2
    assert gate(demo_store, "v12", "--at", "2024-01-22T09:00:00")[0] == 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_uri: str
) -> Iterator[dict[str, str]]:
    """The API on loopback over the scenario, and a token per person who acts."""
    store = open_store(store_uri)
    records = RecordStore(tmp_path / "records")
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    tokens = {
        name: create_token(store, principal, roles, actor=DEMO_ACTOR).token
        for name, principal, roles in [
            ("owner", "person:head_of_lending", [Role.APPROVER]),
            ("risk", "person:model_risk_officer", [Role.APPROVER]),
            ("operator", "person:credit_ml_lead", [Role.OPERATOR]),
        ]
    }
    port = free_port()
    config = uvicorn.Config(
        create_app(store, records, Settings()), host="127.0.0.1", port=port, log_config=None
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    monkeypatch.setenv("LINEAGE_URL", f"http://127.0.0.1:{port}")
    try:
        yield tokens
    finally:
        running.should_exit = True
        thread.join(10)
        store.close()


def as_person(token: str, *args: str) -> tuple[int, str]:
    done = runner.invoke(app, list(args), env={"LINEAGE_TOKEN": token})
    return done.exit_code, done.output


def test_approve_and_block_sign_as_the_token_principal(server: dict[str, str]) -> None:
    version = f"{MODEL}@v11"
    code, output = as_person(
        server["risk"], "block", version, "--role", "risk_approver", "--reason", "retired model"
    )
    assert code == 0 and "approval:lending_approval-v11-risk_approver" in output
    # The owner cannot sign as the risk approver: separation of duties.
    code, output = as_person(
        server["owner"], "approve", version, "--role", "risk_approver", "--reason", "x"
    )
    assert code == 1 and "FORBIDDEN" in output


def test_rollback_moves_traffic_and_a_missing_token_exits_2(server: dict[str, str]) -> None:
    code, output = as_person(
        server["operator"], "rollback", DEPLOYMENT, "--reason", "drill", "--to", f"{MODEL}@v11"
    )
    assert code == 0 and f"current {MODEL}@v11" in output
    done = runner.invoke(app, ["rollback", DEPLOYMENT, "--reason", "x"], env={"LINEAGE_TOKEN": ""})
    assert done.exit_code == 2


def test_gate_check_asks_a_server_with_the_same_answer(server: dict[str, str]) -> None:
    blocked = as_person(server["owner"], "gate", "check", f"{MODEL}@v12-rc1", "--at", AT_JAN_22)
    passed = as_person(server["owner"], "gate", "check", f"{MODEL}@v12", "--at", AT_JAN_22)
    assert blocked[0] == 1 and "RISK_GATE_FAILED" in blocked[1]
    assert passed[0] == 0 and "tier HIGH" in passed[1]
