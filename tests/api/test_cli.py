"""The command line around the API: `lineage token`, `lineage schema`, `lineage serve --demo`."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage import cli
from lineage.graphql import observability
from lineage.graphql.schema import schema_sdl
from lineage.services.tokens import authenticate
from lineage.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

runner = CliRunner()
TOKEN = re.compile(r"lin_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("LINEAGE_STORE", "LINEAGE_RECORDS_DIR", "LINEAGE_HOST", "LINEAGE_PORT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_token_create_prints_a_token_that_works_and_revoke_stops_it(
    workdir: Path, store_uri: str
) -> None:
    assert runner.invoke(cli.app, ["demo", "--store", store_uri]).exit_code == 0
    created = runner.invoke(
        cli.app,
        ["token", "create", "--principal", "person:oncall_ml_engineer", "--role", "reader",
         "--store", store_uri],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    (token,) = TOKEN.findall(created.stdout)
    store = open_store(store_uri)
    try:
        principal = authenticate(store, token)
        assert principal is not None and principal.id == "person:oncall_ml_engineer"
        listed = runner.invoke(cli.app, ["token", "list", "--store", store_uri])
        assert str(principal.credential) in listed.stdout and token not in listed.stdout
        revoked = runner.invoke(cli.app, ["token", "revoke", token, "--store", store_uri])
        assert revoked.exit_code == 0, revoked.output
        assert authenticate(store, token) is None
    finally:
        store.close()


def test_token_create_for_an_unknown_principal_fails_cleanly(
    workdir: Path, store_uri: str
) -> None:
    result = runner.invoke(
        cli.app,
        ["token", "create", "--principal", "person:nobody", "--role", "reader",
         "--store", store_uri],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "NOT_FOUND" in result.output and "Traceback" not in result.output


def test_schema_prints_the_contract(workdir: Path) -> None:
    result = runner.invoke(cli.app, ["schema"])
    assert result.exit_code == 0 and result.stdout == schema_sdl()


@pytest.mark.sqlite_only("`serve --demo` without --store loads the default SQLite ./lineage.db")
def test_serve_demo_loads_the_scenario_prints_tokens_and_serves_them(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        served["options"] = options
        with TestClient(app) as client:
            served["responses"] = {
                token: client.post(
                    "/graphql",
                    json={"query": "{ viewer { principal roles } }"},
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
                for token in served["tokens"]
            }

    monkeypatch.setattr("uvicorn.run", fake_run)
    monkeypatch.setattr(observability, "configure_logging", lambda _level: None)
    original = cli.print_demo_tokens

    def capture(issued: list[Any], base_url: str) -> None:
        served["tokens"] = [token for _role, _principal, token in issued]
        original(issued, base_url)

    monkeypatch.setattr(cli, "print_demo_tokens", capture)
    result = runner.invoke(cli.app, ["serve", "--demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert served["options"]["host"] == "127.0.0.1" and served["options"]["port"] == 8123
    assert len(TOKEN.findall(result.stdout)) == 7  # six roles, and the reader's in the curl line
    assert "curl -s http://127.0.0.1:8123/graphql" in result.stdout
    roles = sorted(r["data"]["viewer"]["roles"][0] for r in served["responses"].values())
    assert roles == ["admin", "approver", "compliance", "operator", "pipeline", "reader"]
    assert (workdir / "lineage.db").exists()
