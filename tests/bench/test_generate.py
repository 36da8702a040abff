"""The benchmark's generator and baselines: deterministic, valid, the requested size, honest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.generate import GraphConfig, ProvenanceGraph, chunked
from bench.raw_sqlite import connect, differences, traverse_downstream
from bench.registrations import registration_calls
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store.base import GraphStore, TraversalSpec, iter_all_edges, iter_all_nodes
from lineage.store.sqlite import SQLiteStore

LOADED_NODES = 8_000
ACTOR = "pipeline:bench_tests"


def fingerprint(graph: ProvenanceGraph) -> list[tuple[str, str]]:
    return [
        (item.id, item.content_hash())
        if isinstance(item, Node)
        else (item.key, item.content_hash())
        for item in graph.items()
    ]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProvenanceGraph, str]]:
    """A generated graph written through the store's batched upserts; yields (graph, db path)."""
    path = str(tmp_path_factory.mktemp("bench") / "graph.db")
    store = SQLiteStore(f"sqlite:///{path}")
    graph = ProvenanceGraph(GraphConfig(nodes=LOADED_NODES, seed=11))
    for chunk, _ in chunked(graph.items(), 5_000):
        with store.transaction():
            store.upsert_nodes([i for i in chunk if isinstance(i, Node)])
            store.upsert_edges([i for i in chunk if isinstance(i, Edge)])
    store.close()
    yield graph, path


def test_the_same_config_yields_the_same_items() -> None:
    config = GraphConfig(nodes=1_500, seed=3)
    assert fingerprint(ProvenanceGraph(config)) == fingerprint(ProvenanceGraph(config))


def test_another_seed_yields_another_graph() -> None:
    first = fingerprint(ProvenanceGraph(GraphConfig(nodes=1_500, seed=3)))
    second = fingerprint(ProvenanceGraph(GraphConfig(nodes=1_500, seed=4)))
    assert first != second


def test_every_edge_comes_after_both_of_its_ends_and_ids_are_unique() -> None:
    seen: set[str] = set()
    edge_keys: set[str] = set()
    for item in ProvenanceGraph(GraphConfig(nodes=5_000, seed=5)).items():
        if isinstance(item, Node):
            assert item.id not in seen, item.id
            seen.add(item.id)
        else:
            assert item.src in seen and item.dst in seen, item.key
            assert item.key not in edge_keys, item.key
            edge_keys.add(item.key)


@pytest.mark.parametrize("nodes", [200, 1_000, 7_777])
def test_the_node_count_is_the_requested_size(nodes: int) -> None:
    graph = ProvenanceGraph(GraphConfig(nodes=nodes))
    emitted = sum(isinstance(item, Node) for item in graph.items())
    assert emitted == graph.counts.nodes
    assert nodes <= emitted <= nodes * 1.01 + 5


def test_inference_batches_are_the_bulk_of_the_graph() -> None:
    graph = ProvenanceGraph(GraphConfig(nodes=8_000))
    for _ in graph.items():
        pass
    by_kind = graph.counts.by_kind
    assert by_kind[NodeKind.INFERENCE_BATCH.value] > 0.6 * graph.counts.nodes
    for kind in (NodeKind.DATASET_VERSION, NodeKind.FEATURE_SNAPSHOT, NodeKind.EVALUATION):
        assert by_kind[kind.value] > 0


def test_too_small_a_graph_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        GraphConfig(nodes=10)


@pytest.mark.sqlite_only("the generated graph is loaded once per module into a SQLite file")
def test_popular_dataset_versions_exhaust_the_budget_and_typical_ones_do_not(
    loaded: tuple[ProvenanceGraph, str],
) -> None:
    graph, path = loaded
    store = SQLiteStore(f"sqlite:///{path}")
    try:
        starts = graph.start_nodes(popular=3, typical=6)
        popular = [store.traverse(TraversalSpec(s, Direction.IN)) for s in starts["popular"]]
        typical = [store.traverse(TraversalSpec(s, Direction.IN)) for s in starts["typical"]]
    finally:
        store.close()
    assert all(sub.truncated and len(sub.nodes) == 1_000 for sub in popular)
    assert any(not sub.truncated and 10 <= len(sub.nodes) < 1_000 for sub in typical)


@pytest.mark.sqlite_only("the raw SQL baseline (test_store_report.py checks the Cypher one)")
@pytest.mark.parametrize(("max_depth", "max_nodes"), [(6, 1_000), (2, 50), (1, 5), (3, 2_000)])
def test_the_raw_sql_baseline_returns_what_the_store_returns(
    loaded: tuple[ProvenanceGraph, str], max_depth: int, max_nodes: int
) -> None:
    graph, path = loaded
    store = SQLiteStore(f"sqlite:///{path}")
    conn = connect(path)
    try:
        starts = graph.start_nodes(popular=3, typical=6)
        for start in starts["popular"] + starts["typical"]:
            spec = TraversalSpec(start, Direction.IN, max_depth=max_depth, max_nodes=max_nodes)
            subgraph = store.traverse(spec)
            raw = traverse_downstream(conn, start, max_depth, max_nodes)
            assert differences(subgraph, raw) == [], start
            assert len(raw.nodes) == len(subgraph.nodes)
            assert len(raw.edges) == len(subgraph.edges)
    finally:
        conn.close()
        store.close()


def test_replaying_through_the_services_builds_the_generated_graph(
    tmp_path: Path, store: GraphStore
) -> None:
    graph = ProvenanceGraph(GraphConfig(nodes=600, seed=9, prefix="svc_"))
    expected_nodes = {i.id for i in graph.items() if isinstance(i, Node)}
    expected_edges = {i.key for i in graph.items() if isinstance(i, Edge)}
    records = RecordStore(tmp_path / "records")
    digest = records.put_records([{"row": i} for i in range(3)])
    registry = Registry(store, records, actor=ACTOR)
    registry.register_pipeline({"id": ACTOR, "name": "Bench tests"})  # the actor, first
    for operation, data in registration_calls(graph.items(), digest, 3):
        assert getattr(registry, operation)(data).created, data
    assert {n.id for n in iter_all_nodes(store)} == expected_nodes | {ACTOR}
    # The services also keep each deployment's earlier versions standing by (STANDS_BY
    # edges), which the generator does not draw.
    stored = {e.key for e in iter_all_edges(store) if e.kind is not EdgeKind.STANDS_BY}
    assert stored == expected_edges
