"""The web view benchmark end to end on a tiny graph: every figure reported for each class of
start node, the pages really rendered. No timing is asserted: the machine is shared."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.console import Console

from bench.api_graph import build_graph
from bench.generate import GraphConfig
from bench.ui_bench import PAGE_P95_MS_TARGET, measure, table

pytestmark = pytest.mark.sqlite_only("benchmarks a SQLite graph file it builds")

LATENCY = {"p50", "p95", "mean", "min", "max"}


def test_the_node_page_is_timed_beside_its_walks_and_the_graphql_impact(tmp_path: Path) -> None:
    quiet = Console(quiet=True)
    built = build_graph(tmp_path / "graph.db", GraphConfig(nodes=2_000, seed=7), quiet)
    result = asyncio.run(measure(built, runs=2, warmup=1, popular=1, typical=2, console=quiet))
    assert set(result["latency_ms"]) == {"popular", "typical", "all"}
    for row in result["latency_ms"].values():
        assert set(row) == {"page", "walks", "graphql"}
        assert all(set(figures) == LATENCY for figures in row.values())
    assert result["page_bytes"]["min"] > 1_000  # a page with its drawing, not an error
    assert result["page_p95_over_graphql_p95"] > 0
    assert result["target"]["page_p95_ms"] == PAGE_P95_MS_TARGET
    assert "| all |" in table(result)
