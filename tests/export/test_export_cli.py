"""``lineage export`` and ``lineage verify-bundle`` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli import app

runner = CliRunner()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The options of a local store holding the reference scenario."""
    monkeypatch.delenv("LINEAGE_EXPORT_REDACTION_KEY", raising=False)
    options = [
        "--store",
        f"sqlite:///{tmp_path}/demo.db",
        "--records-dir",
        str(tmp_path / "records"),
    ]
    loaded = runner.invoke(app, ["demo", *options])
    assert loaded.exit_code == 0, loaded.output
    return options


def test_export_then_verify_bundle_passes_and_a_changed_byte_fails_naming_the_file(
    demo: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "v12.zip"
    done = runner.invoke(
        app, ["export", "model:lending_approval@v12", "--out", str(out), *demo, "--json"]
    )
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["counts"]["inference_batches"] == 5 and summary["audit_seq"] is not None
    verified = runner.invoke(app, ["verify-bundle", str(out)])
    assert verified.exit_code == 0 and "bundle intact" in verified.stdout
    folder = tmp_path / "v12"
    assert runner.invoke(app, ["export", "model:lending_approval@v12", "--out", str(folder),
                               *demo]).exit_code == 0
    report = folder / "report.html"
    data = bytearray(report.read_bytes())
    data[100] ^= 0x20
    report.write_bytes(bytes(data))
    broken = runner.invoke(app, ["verify-bundle", str(folder)])
    assert broken.exit_code == 1
    assert "report.html" in broken.output


def test_redacted_export_keeps_its_key_beside_the_records_only(
    demo: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "redacted"
    done = runner.invoke(
        app, ["export", "model:lending_approval@v12", "--out", str(out), "--redact", *demo]
    )
    assert done.exit_code == 0, done.output
    key_file = tmp_path / "records" / ".export-redaction.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    for path in out.rglob("*"):
        if path.is_file():
            assert key not in path.read_text(errors="replace")


def test_an_unknown_node_or_a_bad_instant_is_a_usage_error(demo: list[str], tmp_path: Path) -> None:
    missing = runner.invoke(app, ["export", "model:nope@v1", "--out", str(tmp_path / "a"), *demo])
    assert missing.exit_code == 2 and "node" in missing.output
    naive = runner.invoke(
        app,
        ["export", "model:lending_approval@v12", "--out", str(tmp_path / "b"),
         "--from", "2024-01-22", *demo],
    )
    assert naive.exit_code == 2 and "--from" in naive.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
