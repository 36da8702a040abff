"""The retention benchmark's machinery on a small store (no timings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.retention_bench import main

pytestmark = pytest.mark.sqlite_only("copies SQLite files and the records folder between runs")


def test_the_retention_benchmark_prunes_what_raw_deletion_deletes_and_verifies(
    tmp_path: Path,
) -> None:
    out = tmp_path / "retention.json"
    code = main(
        [
            "--batches",
            "40",
            "--decisions",
            "5",
            "--graph-nodes",
            "1000",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path),
        ]
    )
    assert code == 0
    records, graph = json.loads(out.read_text())["runs"]
    assert records["batches_pruned"] == 40 and records["records_pruned"] == 200
    assert records["files_deleted"] == 40 and records["verify_ok"]
    assert records["kept"] == {"in_use": 2, "legal_hold": 2, "open_incident": 1}
    assert graph["batches_pruned"] > 0 and graph["verify_ok"]
