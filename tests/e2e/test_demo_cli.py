"""The reference scenario through the real command line: demo, verify, tamper, hash."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli import app
from lineage.services.scenario_loader import scenario_size

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LINEAGE_STORE", raising=False)
    monkeypatch.delenv("LINEAGE_RECORDS_DIR", raising=False)
    return tmp_path


@pytest.mark.sqlite_only("the default store is the SQLite file ./lineage.db, counted with sqlite3")
def test_demo_loads_into_the_default_store_and_twice_changes_nothing(workdir: Path) -> None:
    first = runner.invoke(app, ["demo"])
    assert first.exit_code == 0, first.output
    assert f"{scenario_size()} registrations written" in first.output
    assert (workdir / "lineage.db").exists() and (workdir / "lineage-records").is_dir()
    with sqlite3.connect(workdir / "lineage.db") as conn:
        before = conn.execute("SELECT count(*), max(seq) FROM audit").fetchone()
    second = runner.invoke(app, ["demo"])
    assert second.exit_code == 0 and "0 registrations written" in second.output
    with sqlite3.connect(workdir / "lineage.db") as conn:
        assert conn.execute("SELECT count(*), max(seq) FROM audit").fetchone() == before


@pytest.mark.sqlite_only("edits a row of the SQLite file behind the store with sqlite3")
def test_verify_passes_then_names_the_sequence_after_a_row_is_edited(workdir: Path) -> None:
    store = f"sqlite:///{workdir}/x.db"
    assert runner.invoke(app, ["demo", "--store", store]).exit_code == 0
    ok = runner.invoke(app, ["verify", "--store", store])
    assert ok.exit_code == 0 and "audit chain intact" in ok.output
    with sqlite3.connect(workdir / "x.db") as conn:
        (seq,) = conn.execute(
            "SELECT max(seq) FROM audit, json_each(audit.subjects) "
            "WHERE json_each.key = 'node:model:lending_approval@v12'"
        ).fetchone()
        conn.execute(
            "UPDATE nodes SET props = json_set(props, '$.code_commit', 'deadbeef0000') "
            "WHERE id = 'model:lending_approval@v12'"
        )
    broken = runner.invoke(app, ["verify", "--store", store])
    assert broken.exit_code == 1
    assert f"broken at sequence {seq}" in broken.output


def test_demo_holds_the_reference_facts(workdir: Path, store_uri: str) -> None:
    from lineage.store import open_store

    assert runner.invoke(app, ["demo", "--store", store_uri]).exit_code == 0
    store = open_store(store_uri)
    try:
        nodes = store.get_nodes(
            [
                "model:lending_approval@v12",
                "dataset:applications@v2",
                "dataset:credit_bureau@v1",
                "snapshot:credit_model_training_2024_01_20",
                "run:lending_approval_v12",
            ]
        )
        assert nodes["model:lending_approval@v12"].props["code_commit"] == "abc123def456"
        assert nodes["dataset:applications@v2"].props["record_count"] == 510_000
        assert nodes["dataset:credit_bureau@v1"].props["record_count"] == 2_100_000
        snapshot = nodes["snapshot:credit_model_training_2024_01_20"].props
        assert snapshot["computed_by"] == "feast v3.1"
        assert snapshot["features"] == [
            "feature:credit_score",
            "feature:income",
            "feature:debt_ratio",
            "feature:age",
        ]
        run = nodes["run:lending_approval_v12"].props
        assert (run["records_used"], run["records_available"], run["seed"]) == (
            400_000,
            510_000,
            42,
        )
        assert run["split"] == {"train": 0.8, "test": 0.2}
    finally:
        store.close()


def test_hash_prints_the_content_address(workdir: Path) -> None:
    (workdir / "data.bin").write_bytes(b"payload")
    result = runner.invoke(app, ["hash", "data.bin"])
    assert result.exit_code == 0
    assert result.stdout.strip() == hashlib.sha256(b"payload").hexdigest()
    missing = runner.invoke(app, ["hash", "nope"])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_an_unknown_store_scheme_is_a_clear_error(workdir: Path) -> None:
    result = runner.invoke(app, ["verify", "--store", "postgres://x"])
    assert result.exit_code == 2 and "unsupported store URI" in result.output
