"""The export benchmark's machinery on a small store (no timings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.export_bench import main


def test_the_export_benchmark_exports_and_verifies_every_bundle(tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    code = main(["--batches", "8", "--rounds", "1", "--out", str(out), "--workdir", str(tmp_path)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["scenario_v12"]["verify_ok"]
    assert report["scenario_v12"]["counts"]["inference_batches"] == 5
    full = report["many_batches"]["full"]
    assert full["verify_ok"] and full["counts"]["inference_batches"] == 5 + 8
    assert full["counts"]["decisions"] == 5 * 24 + 8 * 24
    assert report["many_batches"]["quarter"]["batches"] == 2
