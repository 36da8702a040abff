"""The API benchmark end to end on a tiny graph: a real uvicorn subprocess on loopback, every
figure in the report, no registration errors. No timing is asserted: the machine is shared."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from bench.api_bench import Settings, latency_table, registration_table, run_api, targets
from bench.api_graph import BuiltGraph, build_graph, open_graph
from bench.api_registration import Load
from bench.api_server import api_server
from bench.generate import GraphConfig
from lineage.model.graph import NodeKind
from lineage.services.audit import verify
from lineage.store.base import iter_all_nodes
from lineage.store.sqlite import SQLiteStore

pytestmark = pytest.mark.sqlite_only("benchmarks a SQLite graph file it builds and reuses")

CONFIG = GraphConfig(nodes=2_000, seed=7)
SETTINGS = Settings(
    seed=CONFIG.seed,
    popular=2,
    typical=3,
    runs=4,
    warmup=1,
    models=3,
    load=Load(clients=2, duration=2.0, records_per_batch=5),
)
LATENCY = {"p50", "p95", "mean", "min", "max"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltGraph:
    path = tmp_path_factory.mktemp("api-bench") / "graph.db"
    return build_graph(path, CONFIG, Console(quiet=True))


@pytest.fixture(scope="module")
def result(built: BuiltGraph, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = str(tmp_path_factory.mktemp("api-bench-work"))
    return run_api(built, dataclasses.replace(SETTINGS, workdir=workdir), Console(quiet=True))


def test_impact_is_reported_per_class_of_start_beside_the_direct_traversal(
    result: dict[str, Any],
) -> None:
    impact = result["impact"]
    assert set(impact) == {"popular", "typical", "all"}
    for row in impact.values():
        assert set(row["http"]) == LATENCY and set(row["direct"]) == LATENCY
        assert row["ratio_p50"] > 0 and row["ratio_p95"] > 0
        assert 0 < row["nodes_returned"]["min"] <= row["nodes_returned"]["max"] <= 1_000
        assert 0 <= row["truncated_fraction"] <= 1
    assert impact["all"]["runs"] == SETTINGS.runs * 2
    assert result["impact_disagreements"] == {}


def test_training_provenance_answers_for_every_sampled_model_and_instant(
    result: dict[str, Any],
) -> None:
    provenance = result["training_provenance"]
    assert provenance["runs"] == SETTINGS.runs
    assert set(provenance["http"]) == LATENCY and set(provenance["direct"]) == LATENCY
    models = {case["model"] for case in provenance["cases"]}
    assert 0 < len(models) <= SETTINGS.models
    assert provenance["serving_fraction"] == 1.0  # every instant lies in a serving window


def test_concurrent_registration_has_no_errors_and_every_batch_is_stored(
    result: dict[str, Any],
) -> None:
    registration = result["registration"]
    assert registration["errors"] == 0, registration["error_samples"]
    assert registration["clients"] == 2
    assert registration["batches"] > 0 and registration["batches_per_s"] > 0
    assert set(registration["latency"]) == LATENCY
    assert registration["acknowledged"] == registration["batches"] + 2  # + one warm-up each
    assert registration["stored"] == registration["acknowledged"]
    assert registration["missing"] == 0
    assert registration["audit_seqs_unique"]


def test_the_registered_batches_are_removed_audited_so_a_reused_graph_stays_as_built(
    built: BuiltGraph, result: dict[str, Any]
) -> None:
    assert result["registration"]["removed_after"] == result["registration"]["acknowledged"]
    store = SQLiteStore(built.uri)
    try:
        assert built.nodes_by_kind[NodeKind.INFERENCE_BATCH.value] == sum(
            1 for _ in iter_all_nodes(store, NodeKind.INFERENCE_BATCH)
        )
        assert verify(store).ok  # the removal is audited, not done behind the chain's back
    finally:
        store.close()


def test_the_report_checks_every_target_and_renders_markdown(result: dict[str, Any]) -> None:
    checked = targets(result)
    assert set(checked) == {"impact_p95_ratio", "training_provenance_p95", "registration_errors"}
    assert checked["registration_errors"]["met"]
    assert all(isinstance(c["met"], bool) for c in checked.values())
    table = latency_table(result)
    assert "impact, popular starts (2)" in table and "trainingProvenance" in table
    rows = registration_table(result).splitlines()
    assert len(rows) == 3 and f"| {result['registration']['batches']:,} |" in rows[2]


def test_a_built_graph_is_reused_only_for_the_same_config(built: BuiltGraph) -> None:
    reused = open_graph(built.path, CONFIG)
    assert (reused.nodes, reused.edges) == (built.nodes, built.edges)
    assert reused.build_seconds is None
    assert reused.start_nodes(2, 3) == built.start_nodes(2, 3)
    with pytest.raises(SystemExit, match="holds"):
        open_graph(built.path, GraphConfig(nodes=2_000, seed=8))
    with pytest.raises(FileExistsError):
        build_graph(built.path, CONFIG, Console(quiet=True))


def test_a_graph_without_its_description_is_refused(tmp_path: Path) -> None:
    half_built = tmp_path / "graph.db"
    half_built.write_bytes(b"")
    with pytest.raises(SystemExit, match="did not finish"):
        open_graph(half_built, CONFIG)


def test_the_server_is_stopped_even_when_the_measurement_fails(
    built: BuiltGraph, tmp_path: Path
) -> None:
    with (
        pytest.raises(RuntimeError, match="measurement failed"),
        api_server(built.uri, tmp_path / "records", tmp_path / "server.log") as base_url,
    ):
        assert httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200
        raise RuntimeError("measurement failed")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/healthz", timeout=2)
