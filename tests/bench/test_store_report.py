"""The store benchmark's report and its Neo4j baselines: both backends' results print the same
tables, the raw Cypher walk is the breadth-first walk by levels, in Cypher 5 that Neo4j's own
front end accepts, and (with a server) it returns exactly what the Neo4j store returns."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import neo4j_bench, report
from bench.generate import GraphConfig, ProvenanceGraph, chunked
from bench.raw_sqlite import differences
from bench.report import size_result, traversal_summary
from bench.store_bench import (
    ACTOR,
    MAX_DEPTH,
    machine,
    main,
    register_actor,
)
from lineage.model.graph import Direction, Edge, Node
from lineage.services.bulk import load
from lineage.services.record_store import RecordStore
from lineage.store import GraphStore, open_store
from lineage.store.base import TraversalSpec
from lineage.store.neo4j_uri import parse_uri
from tests.conftest import WIPE_NEO4J, Neo4jServer, _wipe_neo4j
from tests.cypher_lint import lint_findings

MS = 1_000_000


def measured(backend: str, *, apoc: bool = False) -> dict[str, Any]:
    """A result as the harness assembles it for ``backend``, from made-up samples."""
    graph = ProvenanceGraph(GraphConfig(nodes=300, seed=3))
    for _ in graph.items():
        pass
    starts = {"popular": ["dataset:d0@v1"], "typical": ["dataset:d1@v1", "dataset:d2@v2"]}
    others = {"apoc_bfs": [3 * MS, 4 * MS]} if apoc else {}
    traversal = {
        label: traversal_summary(ids, [2 * MS, 3 * MS], [2 * MS, 3 * MS], [1_000, 40],
                                 [True, False], others)
        for label, ids in [*starts.items(), ("all", [s for g in starts.values() for s in g])]
    }  # fmt: skip
    row = {"items": 4_000, "seconds": 0.5, "items_per_s": 8_000.0}
    ingested = {
        "generate": row,
        "raw": row,
        "batch": {**row, "items_per_s": 6_000.0},
        "services": {**row, "records": 100, "records_per_s": 200.0},
    }
    more: dict[str, Any] = {"db_bytes": 1} if backend == "sqlite" else {"server": [
        {"name": "Neo4j Kernel", "versions": ["5.26.0"], "edition": "community"}
    ]}  # fmt: skip
    return size_result(backend, graph, ingested, traversal, {}, **more)


def rows(table: str) -> list[list[str]]:
    return [line.strip("|").split("|") for line in table.splitlines()[2:]]


def test_a_neo4j_result_prints_the_same_tables_as_sqlite() -> None:
    results = [measured("sqlite"), measured("neo4j", apoc=True)]

    ingest = rows(report.ingest_table(results))
    traversal = rows(report.traversal_table(results))

    by_backend = {b: [r for r in ingest if r[0].strip() == b] for b in ("sqlite", "neo4j")}
    assert [len(r) for r in by_backend["neo4j"]] == [len(r) for r in by_backend["sqlite"]]
    assert [r[2] for r in by_backend["neo4j"]] == [r[2] for r in by_backend["sqlite"]]
    assert len(by_backend["neo4j"]) == 3  # raw, batch API and services, as on SQLite
    neo4j_traversal = [r for r in traversal if r[0].strip() == "neo4j"]
    assert [r[2].strip() for r in neo4j_traversal] == ["popular (1)", "typical (2)", "all (3)"]
    assert {len(r) for r in traversal} == {10}
    assert neo4j_traversal[2][4].strip() == "40 / 520 / 1000"


def test_both_backends_results_have_the_same_keys() -> None:
    sqlite, neo4j = measured("sqlite"), measured("neo4j")
    assert sqlite.keys() - {"db_bytes"} == neo4j.keys() - {"server"}
    assert sqlite["traversal"]["all"].keys() == neo4j["traversal"]["all"].keys()
    assert sqlite["ingest"].keys() == neo4j["ingest"].keys()


def test_a_second_baseline_gets_its_own_table_and_the_neo4j_target_is_checked() -> None:
    results = [measured("sqlite"), measured("neo4j", apoc=True)]
    others = rows(report.others_table(results))
    assert [(r[0].strip(), r[3].strip()) for r in others] == [("neo4j", "apoc_bfs")] * 3
    assert report.others_table([measured("sqlite")]) == ""
    targets = report.targets(results)
    assert "- neo4j, 300 nodes: store/raw traversal p95 1.00x (target <= 1.5x): met" in targets
    assert "server: Neo4j Kernel 5.26.0 community" in report.machine_lines(machine(), results)


def test_the_harness_runs_end_to_end_on_sqlite_and_writes_its_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.json"
    argv = ["--nodes", "400", "--backend", "sqlite", "--runs", "2", "--services-nodes", "250"]
    assert main([*argv, "--out", str(out), "--workdir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "## Ingest" in printed and "## Downstream traversal" in printed
    document = json.loads(out.read_text())
    (result,) = document["results"]
    assert result["raw_disagreements"] == {}
    assert result.keys() == measured("sqlite").keys() | {"baselines"}


def test_a_password_in_the_neo4j_uri_never_reaches_the_output_or_the_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the server does not answer
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "results.json"
    uri = f"bolt://neo4j:s3cret-pw@127.0.0.1:{port}"
    assert main(["--backend", "neo4j", "--neo4j-uri", uri, "--out", str(out)]) == 0
    printed = capsys.readouterr()
    document = out.read_text()
    assert "did not answer" in document and "neo4j: skipped" in printed.err
    assert "s3cret-pw" not in document + printed.out + printed.err


# -- the raw Cypher baseline -------------------------------------------------------------------


def test_the_raw_walk_expands_each_level_once_then_probes_one_past_the_limit() -> None:
    walk = neo4j_bench.walk_query(MAX_DEPTH)
    assert walk.count("CALL (seen, frontier) {") == MAX_DEPTH
    assert walk.count("MATCH (f)<--(n:Node)\n  WHERE NOT n IN seen") == MAX_DEPTH
    assert "LIMIT $max_nodes" in walk and "ORDER BY" not in walk  # stops pulling, no sort
    # Past a spent budget, and one level past the depth limit, EXISTS stops at the first node.
    assert walk.count("EXISTS { (f)<--(n:Node) WHERE NOT n IN seen }") == MAX_DEPTH + 1
    assert neo4j_bench.walk_query(0).count("CALL (seen, frontier)") == 1
    assert neo4j_bench.walk_query(99).count("CALL (seen, frontier)") == 12


def test_the_bench_cypher_takes_values_only_as_parameters_and_no_deprecated_call() -> None:
    allowed = {"'apoc.path.subgraphNodes'", "'<'"}  # the procedure looked for, the direction
    for name, text in bench_statements().items():
        assert "CALL {" not in text, name
        assert set(re.findall(r"'[^']*'", text)) <= allowed, name
    assert set(re.findall(r"\$(\w+)", neo4j_bench.walk_query(6))) == {"start", "max_nodes"}
    for wipe in (neo4j_bench.WIPE, WIPE_NEO4J):
        assert wipe == "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


def bench_statements() -> dict[str, str]:
    found = {
        name: value
        for name, value in vars(neo4j_bench).items()
        if name.isupper() and isinstance(value, str) and not name.startswith("_")
    }
    found.pop("MAX_WALK_DEPTH", None)
    found["walk_query(6)"] = neo4j_bench.walk_query(6)
    found |= {f"UPSERT_EDGES[{k.value}]": q for k, q in neo4j_bench.UPSERT_EDGES.items()}
    return found




def test_the_bench_cypher_passes_the_neo4j_cypher_5_front_end(tmp_path: Path) -> None:
    """Opt-in, as tests/unit/test_cypher.py: LINEAGE_CYPHER_LINT names the linter's folder."""
    assert lint_findings(bench_statements(), tmp_path) == {}


# -- against a server --------------------------------------------------------------------------


@pytest.fixture
def neo4j_graphs(
    neo4j_server: Neo4jServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ProvenanceGraph, neo4j_bench.RawCypher, GraphStore]]:
    """A generated graph in the (wiped) test server through the store, and the raw ingest's
    copy of it checked and dropped, as the benchmark does."""
    from neo4j import GraphDatabase

    _wipe_neo4j(neo4j_server)
    monkeypatch.setenv("LINEAGE_BENCH_NEO4J_USER", neo4j_server.user)
    monkeypatch.setenv("LINEAGE_BENCH_NEO4J_PASSWORD", neo4j_server.password)
    uri = neo4j_bench.store_uri(neo4j_server.uri)
    target = parse_uri(uri)
    driver = GraphDatabase.driver(
        target.driver_uri, auth=(target.user or "neo4j", target.password or "")
    )
    store = open_store(uri)
    try:
        raw = neo4j_bench.RawCypher(driver, target.database)
        driver.execute_query(neo4j_bench.CONSTRAINT)
        graph = ProvenanceGraph(GraphConfig(nodes=3_000, seed=11))
        for chunk, _ in chunked(graph.items(), 2_000):
            raw.write([i for i in chunk if isinstance(i, Node)],
                      [i for i in chunk if isinstance(i, Edge)])  # fmt: skip
        assert raw.scalar(neo4j_bench.COUNT_RAW_COPY) == graph.counts.nodes
        raw.wipe(neo4j_bench.DROP_RAW_COPY)
        assert raw.scalar(neo4j_bench.COUNT_RAW_COPY) == 0
        register_actor(store, RecordStore(tmp_path / "records"))
        load(store, graph.items(), actor=ACTOR, reason="bench test", batch_size=2_000)
        yield graph, raw, store
    finally:
        store.close()
        driver.close()
        _wipe_neo4j(neo4j_server)


@pytest.mark.neo4j
@pytest.mark.parametrize(("max_depth", "max_nodes"), [(6, 1_000), (2, 50), (1, 5), (3, 2_000)])
def test_the_raw_cypher_walk_returns_what_the_neo4j_store_returns(
    neo4j_graphs: tuple[ProvenanceGraph, neo4j_bench.RawCypher, GraphStore],
    max_depth: int,
    max_nodes: int,
) -> None:
    graph, raw, store = neo4j_graphs
    starts = graph.start_nodes(popular=3, typical=6)
    for start in starts["popular"] + starts["typical"]:
        spec = TraversalSpec(start, Direction.IN, max_depth=max_depth, max_nodes=max_nodes)
        subgraph = store.traverse(spec)
        walked = raw.downstream(start, max_depth, max_nodes)
        assert differences(subgraph, walked) == [], start
        assert len(walked.edges) == len(subgraph.edges)
        if raw.has_apoc() and not subgraph.truncated:
            assert raw.apoc(start, max_depth, max_nodes) == len(subgraph.nodes)

