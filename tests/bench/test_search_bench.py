"""The search benchmark's machinery on a small graph (no timings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.search_bench import CLASSES, main


def test_the_search_benchmark_times_every_class_beside_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    db = tmp_path / "graph.db"
    args = ["--nodes", "2000", "--runs", "4", "--db", str(db), "--out", str(out)]

    assert main([*args, "--compare-ingest", "--workdir", str(tmp_path)]) == 0
    result = json.loads(out.read_text())
    rows = {row["class"]: row for row in result["classes"]}
    assert set(rows) == set(CLASSES)
    assert rows["exact ID"]["hits_median"] >= 1, "an exact ID finds its node"
    assert rows["words"]["hits_median"] >= 1
    for name, row in rows.items():
        assert row["service"]["p95"] > 0
        assert ("raw" in row) is (name != "did you mean")
    assert result["ingest"]["without_index_items_per_s"] > 0
    assert main(args) == 0, "a second run reuses the database"
    assert json.loads(out.read_text())["graph"]["nodes"] == result["graph"]["nodes"]
