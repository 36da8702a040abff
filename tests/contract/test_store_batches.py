"""Batched writes at bulk-load size: more rows than one statement takes (Neo4j splits a call into
statements of ``UNWIND_ROWS``), of several kinds, still all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineage.errors import NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.store import EdgeQuery, GraphStore
from lineage.store.neo4j_ingest import UNWIND_ROWS

T0 = datetime(2024, 1, 10, tzinfo=UTC)
MODEL = "model:m@v1"
SNAPSHOT = "snapshot:s1"
COUNT = UNWIND_ROWS + 3  # two statements' worth on Neo4j


def _batches(store: GraphStore) -> list[str]:
    ids = [f"batch:b{i:05d}" for i in range(COUNT)]
    store.upsert_nodes(
        [
            Node(id=MODEL, kind=NodeKind.MODEL_VERSION, valid_from=T0),
            Node(id=SNAPSHOT, kind=NodeKind.FEATURE_SNAPSHOT, valid_from=T0),
        ]
        + [Node(id=i, kind=NodeKind.INFERENCE_BATCH, valid_from=T0, props={"n": n})
           for n, i in enumerate(ids)]
    )
    return ids


def _count(store: GraphStore, dst: str) -> int:
    query = EdgeQuery(dst=dst)
    total = 0
    while True:
        page = store.find_edges(query)
        total += len(page.items)
        if page.next_cursor is None:
            return total
        query = EdgeQuery(dst=dst, after=page.next_cursor)


def test_a_large_batch_of_several_kinds_is_written_whole(store: GraphStore) -> None:
    ids = _batches(store)

    store.upsert_edges(
        [Edge(src=i, kind=EdgeKind.USED, dst=MODEL) for i in ids]
        + [Edge(src=i, kind=EdgeKind.WAS_DERIVED_FROM, dst=SNAPSHOT) for i in ids]
    )

    assert _count(store, MODEL) == COUNT
    assert _count(store, SNAPSHOT) == COUNT
    assert store.get_nodes([ids[-1]])[ids[-1]].props == {"n": COUNT - 1}


def test_a_large_batch_with_one_missing_end_at_its_end_writes_nothing(store: GraphStore) -> None:
    ids = _batches(store)
    edges = [Edge(src=i, kind=EdgeKind.USED, dst=MODEL) for i in ids]
    edges.append(Edge(src=ids[0], kind=EdgeKind.USED, dst="model:ghost@v1"))

    with pytest.raises(NotFoundError) as caught:
        store.upsert_edges(edges)

    assert "model:ghost@v1" in caught.value.message
    assert caught.value.field == "edges"
    assert _count(store, MODEL) == 0


def test_a_large_batch_failing_inside_a_scope_leaves_nothing_of_the_scope(
    store: GraphStore,
) -> None:
    ids = _batches(store)
    edges = [Edge(src=i, kind=EdgeKind.USED, dst=MODEL) for i in ids]
    edges.append(Edge(src=ids[0], kind=EdgeKind.USED, dst="model:ghost@v1"))

    with pytest.raises(NotFoundError), store.transaction():
        store.upsert_nodes([Node(id="snapshot:s2", kind=NodeKind.FEATURE_SNAPSHOT, valid_from=T0)])
        store.upsert_edges(edges)

    assert store.get_nodes(["snapshot:s2"]) == {}
    assert _count(store, MODEL) == 0
