"""The OpenLineage benchmark end to end, tiny: a real uvicorn subprocess, realistic RunEvents
from concurrent emitters, single and batched, beside the GraphQL baseline; every figure in the
report, no errors, the audit chain intact. No timing is asserted: the machine is shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench.openlineage_bench import Events, Settings, run, table
from lineage.openlineage.events import parse
from lineage.openlineage.schema import validate

pytestmark = pytest.mark.sqlite_only("benchmarks a SQLite file it creates")

LATENCY = {"p50", "p95", "mean", "min", "max"}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work: Path = tmp_path_factory.mktemp("openlineage-bench")
    settings = Settings(emitters=2, duration=0.5, warmup=2, columns=5, batch=3, workdir=str(work))
    return run(settings, Console(quiet=True))


def test_the_generated_events_are_valid_openlineage() -> None:
    events = Events(Settings(columns=30), seed=1)
    for _ in range(4):
        value = events.next()
        parsed = parse(value, validate(value))
        assert len(parsed.inputs) == 2
    assert len(parsed.outputs[0].columns) == 30 and len(parsed.outputs[0].lineage) == 30


def test_every_path_is_measured_without_errors(result: dict[str, Any]) -> None:
    for key in ("openlineage", "openlineage_batch", "graphql"):
        row = result[key]
        assert row["errors"] == 0, row["first_errors"]
        assert row["requests"] > 0 and row["per_s"] > 0
        assert set(row["latency_ms"]) == LATENCY
    assert result["openlineage_batch"]["events_per_request"] == 3
    assert result["ratio_per_s"] > 0
    assert len(result["targets"]) == 2


def test_the_ingested_graph_verifies(result: dict[str, Any]) -> None:
    assert result["audit"]["ok"] and result["audit"]["events"] > 0


def test_the_report_renders(result: dict[str, Any]) -> None:
    console = Console(record=True, width=120)
    console.print(table(result))
    assert "/api/v1/lineage" in console.export_text()


def test_the_servers_cpu_per_request_is_reported(result: dict[str, Any]) -> None:
    for key in ("openlineage", "openlineage_batch", "graphql"):
        cpu = result[key]["server_cpu"]
        assert cpu is not None, "Linux has /proc: the server's CPU time is readable"
        assert cpu["ms_per_request"] > 0 and cpu["cores"] > 0
