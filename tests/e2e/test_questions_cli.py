"""The investigator's questions through the real command line, on the demo store: each of the
seven questions of the lending story answered by one command, locally (``--store``, on every
backend) and against a served app (``--url``, uvicorn on loopback) with the same answer; and one
exit-code rule for all of them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from lineage.cli import app
from lineage.services.scenario import BATCHES, DEMO_ACTOR, JOHN_DOE, SNAPSHOT_JAN20, batch_id
from lineage.services.tokens import Role, create_token
from lineage.store import open_store

runner = CliRunner()
WIDE = {"COLUMNS": "220"}
V12 = "model:lending_approval@v12"
V13 = "model:lending_approval@v13"
DEPLOYMENT = "deployment:lending_approval_production"
JAN_25 = ["--from", "2024-01-25", "--to", "2024-01-26"]

# The seven questions of the lending story, one command each (README "Investigating from the
# command line").
QUESTIONS: dict[str, list[str]] = {
    "models using applications v2": [
        "impact", "dataset:applications@v2", "--down", "--kind", "ModelVersion",
    ],
    "how v12 was trained as of Jan 24": ["provenance", "lending_approval", "--as-of", "2024-01-24"],
    "what breaks without income": [
        "impact", "feature:income", "--down", "--kind", "ModelVersion", "--kind", "Deployment",
    ],
    "decisions on Jan 25 with the Jan 20 snapshot": [
        "decisions", "lending_approval", *JAN_25, "--snapshot", SNAPSHOT_JAN20,
    ],
    "john_doe_12345's decisions on Jan 25": [
        "decisions", "lending_approval", *JAN_25, "--subject", str(JOHN_DOE["applicant_id"]),
    ],
    "who owns the model now": ["show", "model:lending_approval"],
    "what changed upstream before the incident": [
        "changes", V13, "--since", "2024-01-18", "--until", "2024-01-25T11:30:00Z",
    ],
    "what served at 11:30 and at 11:50": [
        "serving", "lending_approval",
        "--as-of", "2024-01-25T11:30:00Z", "--as-of", "2024-01-25T11:50:00Z",
    ],
}  # fmt: skip


@pytest.fixture
def demo(store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The demo loaded into a store of each backend; the options that name it."""
    for name in ("LINEAGE_URL", "LINEAGE_TOKEN", "LINEAGE_STORE", "LINEAGE_RECORDS_DIR"):
        monkeypatch.delenv(name, raising=False)
    where = ["--store", store_uri, "--records-dir", str(tmp_path / "records")]
    loaded = runner.invoke(app, ["demo", *where])
    assert loaded.exit_code == 0, loaded.output
    return where


def ask(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env=WIDE | (env or {}))


def data_of(done: Result) -> dict[str, Any]:
    assert done.exit_code == 0, done.output
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def check_seven_answers(answers: dict[str, dict[str, Any]]) -> None:
    """The facts DESIGN.md section 8 tells, in the ``--json`` answers of QUESTIONS."""
    impact = answers["models using applications v2"]["impact"]
    models = {n["id"] for n in impact["nodes"] if n["kind"] == "ModelVersion"}
    assert models == {V12, f"{V12}-rc1", V13}
    assert impact["truncated"] is False

    prov = answers["how v12 was trained as of Jan 24"]["trainingProvenance"]
    assert prov["modelVersion"]["id"] == V12 and prov["serving"] is True
    assert prov["trainingRun"]["codeCommit"] == "abc123def456"
    assert prov["trainingRun"]["seed"] == 42
    assert prov["snapshot"]["id"] == SNAPSHOT_JAN20

    broken = answers["what breaks without income"]["impact"]
    reached = {n["id"] for n in broken["nodes"]}
    assert {V12, V13, DEPLOYMENT} <= reached

    window = answers["decisions on Jan 25 with the Jan 20 snapshot"]["decisions"]
    assert [b["batch"]["id"] for b in window["batches"]] == [
        batch_id("2024-01-25T00:00:00"),
        batch_id("2024-01-25T11:47:00"),
    ]
    assert {b["snapshot"]["id"] for b in window["batches"]} == {SNAPSHOT_JAN20}

    (johns,) = answers["john_doe_12345's decisions on Jan 25"]["decisions"]["batches"]
    assert johns["modelVersion"]["id"] == V12 and johns["snapshot"]["id"] == SNAPSHOT_JAN20
    assert johns["records"]["total"] == 1
    (decision,) = johns["records"]["decisions"]
    assert (decision["decision"], decision["confidence"]) == ("APPROVED", 0.87)

    owners = answers["who owns the model now"]["node"]["accountable"]
    assert {a["role"]: a["agent"]["id"] for a in owners}["owner"] == "person:head_of_lending"

    changed = answers["what changed upstream before the incident"]["upstreamChanges"]
    assert changed["changes"] and all(c["at"] <= "2024-01-25T11:30:00Z" for c in changed["changes"])
    assert any(c["node"]["id"] == "run:lending_approval_v13" for c in changed["changes"])

    served = answers["what served at 11:30 and at 11:50"]
    (at_1130,) = served["at0"]["deployments"]
    (at_1150,) = served["at1"]["deployments"]
    assert [t["version"]["id"] for t in at_1130["traffic"]] == [V13]
    assert [t["version"]["id"] for t in at_1150["traffic"]] == [V12]


def test_the_seven_questions_are_answered_by_one_command_each(demo: list[str]) -> None:
    check_seven_answers({q: data_of(ask(*args, *demo, "--json")) for q, args in QUESTIONS.items()})


def test_the_human_output_shows_the_answers_as_tables_and_trees(demo: list[str]) -> None:
    prov = ask(*QUESTIONS["how v12 was trained as of Jan 24"], *demo)
    assert prov.exit_code == 0, prov.output
    assert f"{V12} as of 2024-01-24T00:00:00Z: serving" in prov.stdout
    assert "abc123def456" in prov.stdout and "400,000 of 510,000" in prov.stdout
    tree = ask(*QUESTIONS["models using applications v2"], *demo)
    assert "dataset:applications@v2 (DatasetVersion)" in tree.stdout
    assert f"{V13} (ModelVersion)" in tree.stdout
    johns = ask(*QUESTIONS["john_doe_12345's decisions on Jan 25"], *demo)
    assert "1 of 1 decisions" in johns.stdout and "john_doe_12345" in johns.stdout
    owner = ask(*QUESTIONS["who owns the model now"], *demo)
    assert "person:head_of_lending" in owner.stdout and "Head of Lending" in owner.stdout
    served = ask(*QUESTIONS["what served at 11:30 and at 11:50"], *demo)
    at_1130, at_1150 = (line for line in served.stdout.splitlines() if "2024-01-25T11:" in line)
    assert at_1130.startswith("2024-01-25T11:30:00Z") and "lending_approval@v13 100%" in at_1130
    assert at_1150.startswith("2024-01-25T11:50:00Z") and "lending_approval@v12 100%" in at_1150


def test_a_diff_lists_what_differs_between_two_versions(demo: list[str]) -> None:
    answer = data_of(ask("diff", V12, V13, *demo, "--json"))["versionDiff"]
    code = {r["field"]: (r["a"], r["b"]) for r in answer["rows"] if r["aspect"] == "code"}
    assert code["code_commit"] == ("abc123def456", "d4e5f6a7b8c9")
    assert all(not r["same"] for r in answer["rows"])
    shown = ask("diff", V12, V13, *demo)
    assert "abc123def456" in shown.stdout and "differs" in shown.stdout


def test_search_finds_the_model_by_its_description(demo: list[str]) -> None:
    found = data_of(ask("search", "consumer lending", "--kind", "Model", *demo, "--json"))
    assert [h["id"] for h in found["search"]["hits"]] == ["model:lending_approval"]
    shown = ask("search", "consumer lending", *demo)
    assert shown.exit_code == 0 and "model:lending_approval" in shown.stdout


QUERIES = Path(__file__).resolve().parents[2] / "graphql" / "queries"


def test_query_runs_a_saved_operation_with_typed_variables(demo: list[str]) -> None:
    done = ask(
        "query", str(QUERIES / "decisions.graphql"),
        "--variables", str(QUERIES / "decisions.variables.json"),
        "--var", "first=2", "--var", "snapshot=credit_model_training_2024_01_20",
        *demo, "--json",
    )  # fmt: skip
    batches = data_of(done)["decisions"]["batches"]
    assert len(batches) == 2 and all(len(b["records"]["decisions"]) == 2 for b in batches)
    shown = ask("query", str(QUERIES / "serving.graphql"), "--var", "target=lending_approval",
                "--var", "asOf=2024-01-25T11:50:00Z", *demo)  # fmt: skip
    assert shown.exit_code == 0 and V12 in shown.stdout


def test_one_exit_code_rule_for_every_question(demo: list[str], tmp_path: Path) -> None:
    missing = ask("show", "model:no_such_model", *demo)
    assert missing.exit_code == 1 and "NOT_FOUND id: model:no_such_model" in missing.output
    invalid = ask("decisions", "lending_approval", "--from", "2024-01-26", "--to", "2024-01-25",
                  *demo)  # fmt: skip
    assert invalid.exit_code == 1 and "INVALID to:" in invalid.output
    subject = ask("decisions", "lending_approval", *JAN_25, "--subject", "income=1", *demo)
    assert subject.exit_code == 1 and "INVALID subject:" in subject.output
    assert ask("impact", "feature:income", *demo).exit_code == 2  # which way?
    naive = ask("provenance", "lending_approval", "--as-of", "2024-01-24T00:00", *demo)
    assert naive.exit_code == 2 and "give a timezone" in naive.output
    bad_var = ask("query", str(QUERIES / "serving.graphql"), "--var", "nope=1", *demo)
    assert bad_var.exit_code == 2 and "declares no $nope" in bad_var.output
    nowhere = ask("show", V12, "--store", f"sqlite:///{tmp_path}/absent.db")
    assert nowhere.exit_code == 3 and not (tmp_path / "absent.db").exists()
    no_token = ask("show", V12, "--url", "http://127.0.0.1:9")
    assert no_token.exit_code == 2 and "LINEAGE_TOKEN" in no_token.output
    unreachable = ask("show", V12, "--url", f"http://127.0.0.1:{free_port()}",
                      env={"LINEAGE_TOKEN": "lin_x"})  # fmt: skip
    assert unreachable.exit_code == 3 and "cannot reach" in unreachable.output


def test_the_subject_index_can_be_rebuilt_and_follows_an_erasure(demo: list[str]) -> None:
    rebuilt = ask("subjects", "rebuild", *demo)
    assert rebuilt.exit_code == 0 and f"rebuilt from {len(BATCHES)} inference" in rebuilt.output
    erased = ask(
        "retention", "erase", "--subject", "applicant_id=john_doe_12345", "--reason", "GDPR",
        *demo,
    )  # fmt: skip
    assert erased.exit_code == 0, erased.output
    johns = data_of(ask(*QUESTIONS["john_doe_12345's decisions on Jan 25"], *demo, "--json"))
    assert johns["decisions"]["batches"] == []


# -- against a server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(demo: list[str]) -> Iterator[dict[str, str]]:
    """``lineage serve`` over the demo store, in its own process (its log on its own stdout);
    the environment of a reader who asks it."""
    store = open_store(demo[1])
    try:
        token = create_token(store, "person:oncall_ml_engineer", [Role.READER], actor=DEMO_ACTOR)
    finally:
        store.close()
    port = free_port()
    command = [sys.executable, "-m", "lineage.cli", "serve", *demo, "--port", str(port)]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy()
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "lineage serve exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield {"LINEAGE_URL": url, "LINEAGE_TOKEN": token.token}
    finally:
        server.terminate()
        server.wait(10)


def test_a_server_answers_the_same_questions_with_the_same_answers(
    demo: list[str], served: dict[str, str]
) -> None:
    remote = {q: data_of(ask(*args, "--json", env=served)) for q, args in QUESTIONS.items()}
    check_seven_answers(remote)
    local = {q: data_of(ask(*args, *demo, "--json")) for q, args in QUESTIONS.items()}
    assert remote == local


def test_a_server_refusal_exits_1_with_its_code(served: dict[str, str]) -> None:
    missing = ask("decisions", "no_such_model", *JAN_25, env=served)
    assert missing.exit_code == 1 and "NOT_FOUND model:" in missing.output
    wrong = ask("show", V12, env=served | {"LINEAGE_TOKEN": "lin_0000000000000000_" + "x" * 43})
    assert wrong.exit_code == 1 and "UNAUTHENTICATED" in wrong.output
