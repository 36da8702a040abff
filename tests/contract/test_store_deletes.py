"""delete_nodes at retention's scale: more IDs than one statement takes, inside a transaction
scope (atomic with the audit event that records them) and outside one (bounded transactions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.store import EdgeQuery, GraphStore, iter_all_edges
from lineage.store.neo4j_ingest import DELETE_ROWS

T0 = datetime(2024, 1, 10, tzinfo=UTC)
MODEL = "model:m@v1"
COUNT = 2 * DELETE_ROWS + 7  # three statements' worth on Neo4j


class Interrupted(Exception):
    """A failure after the deletes, inside the scope."""


@pytest.fixture
def batches(store: GraphStore) -> list[str]:
    """COUNT inference batches, each USED the one model version."""
    ids = [f"batch:b{i:05d}" for i in range(COUNT)]
    store.upsert_nodes(
        [Node(id=MODEL, kind=NodeKind.MODEL_VERSION, valid_from=T0)]
        + [Node(id=i, kind=NodeKind.INFERENCE_BATCH, valid_from=T0) for i in ids]
    )
    store.upsert_edges([Edge(src=i, kind=EdgeKind.USED, dst=MODEL) for i in ids])
    return ids


def test_a_delete_larger_than_a_statement_removes_every_node_and_edge(
    store: GraphStore, batches: list[str]
) -> None:
    deleted = store.delete_nodes(batches + batches[:10] + ["batch:missing"])

    assert deleted == COUNT, "each existing node counted once"
    assert store.get_nodes(batches) == {}
    assert list(iter_all_edges(store)) == []
    assert MODEL in store.get_nodes([MODEL])


def test_a_large_delete_inside_a_scope_commits_with_the_scope(
    store: GraphStore, batches: list[str]
) -> None:
    with store.transaction():
        assert store.delete_nodes(batches) == COUNT
        assert store.get_nodes(batches[-3:]) == {}, "the scope sees its own deletes"

    assert store.get_nodes(batches) == {}


def test_a_large_delete_in_a_scope_that_fails_deletes_nothing(
    store: GraphStore, batches: list[str]
) -> None:
    with pytest.raises(Interrupted), store.transaction():
        store.delete_nodes(batches)
        raise Interrupted

    assert set(store.get_nodes(batches)) == set(batches)
    assert len(store.find_edges(EdgeQuery(dst=MODEL, limit=1_000)).items) == 1_000
