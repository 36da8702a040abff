"""The governance benchmark end to end on a tiny graph: a real uvicorn subprocess, rollbacks
seen by the routing endpoint, throughput by the built-in client, the deploy check. No timing is
asserted: the machine is shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench.api_graph import build_graph
from bench.generate import GraphConfig
from bench.governance_bench import Settings, run, tables, targets
from lineage.services.audit import verify
from lineage.store.sqlite import SQLiteStore

pytestmark = pytest.mark.sqlite_only("benchmarks a SQLite graph file it builds and reuses")

CONFIG = GraphConfig(nodes=2_000, seed=7)
LATENCY = {"p50", "p95", "mean", "min", "max"}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("gov-bench")
    graph = build_graph(work / "graph.db", CONFIG, Console(quiet=True))
    settings = Settings(
        seed=CONFIG.seed,
        rollbacks=4,
        deployable_runs=2,
        duration=0.5,
        connections=2,
        tool="asyncio",
        workdir=str(work),
    )
    found = run(graph, settings)
    found["path"] = graph.path
    return found


def test_every_rollback_shows_in_the_routing_document(result: dict[str, Any]) -> None:
    rollback = result["rollback"]
    assert rollback["runs"] == 4 and sum(rollback["polls_needed"].values()) == 4
    assert set(rollback["routing_until_new"]) == LATENCY
    assert set(rollback["baseline_healthz"]) == LATENCY
    assert rollback["end_to_end"] is None or set(rollback["end_to_end"]) == LATENCY


def test_throughput_is_measured_beside_healthz_without_errors(result: dict[str, Any]) -> None:
    load = result["throughput"]
    assert set(load) == {"healthz", "routing_304", "routing_200"}
    for row in load.values():
        assert row["requests_per_s"] > 0 and row["errors"] == 0
        assert row["tool"] == "asyncio keep-alive client"


def test_the_deploy_check_refuses_the_generated_version_and_passes_the_governed_one(
    result: dict[str, Any],
) -> None:
    generated, governed = (
        result["deployable"]["busiest_generated"],
        result["deployable"]["governed_scenario"],
    )
    assert generated["ok"] is False and "MODEL_UNSCOPED" in generated["unmet"]
    assert governed["ok"] is True and governed["unmet"] == []
    assert set(generated["latency"]) == LATENCY == set(governed["latency"])


def test_the_report_and_the_audit_chain_hold(result: dict[str, Any]) -> None:
    checked = targets(result)
    assert set(checked) == {"rollback_p95", "routing_rps", "deployable"}
    assert "routing_304" in tables(result)
    path: Path = result["path"]
    store = SQLiteStore(f"sqlite:///{path}")
    try:
        assert verify(store).ok  # every change the benchmark made went through the chain
    finally:
        store.close()
