"""Nodes: batched idempotent upserts, get, delete, and the validation of the Node record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from lineage.errors import InvalidError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import kind_of
from lineage.store import EdgeQuery, GraphStore, NodeQuery

T0 = datetime(2024, 1, 10, tzinfo=UTC)


def _node(node_id: str, day: int = 0, **props: Any) -> Node:
    return Node(id=node_id, kind=kind_of(node_id), valid_from=T0 + timedelta(days=day),
                props=props)


def _all_ids(store: GraphStore) -> list[str]:
    return [n.id for n in store.find_nodes(NodeQuery(limit=1000)).items]


def test_upserted_node_reads_back_with_every_field(store: GraphStore) -> None:
    written = Node(
        id="person:head_of_lending", kind=NodeKind.PERSON, valid_from=T0,
        valid_to=T0 + timedelta(days=30),
        props={"name": "Head of Lending", "level": 7, "active": False, "score": 0.5,
               "tags": ["risk", "owner"], "contact": {"team": "lending", "desk": None}},
    )
    store.upsert_nodes([written])

    got = store.get_nodes([written.id])[written.id]

    assert (got.id, got.kind, got.props) == (written.id, written.kind, written.props)
    assert got.valid_from == written.valid_from
    assert got.valid_to == written.valid_to
    assert got.recorded_at is not None
    assert got.recorded_at.tzinfo is not None
    assert got.content_hash() == written.content_hash()


def test_times_in_other_zones_read_back_as_the_same_instant(store: GraphStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    written = Node(id="dataset:applications@v2", kind=NodeKind.DATASET_VERSION,
                   valid_from=datetime(2024, 1, 15, 12, 30, 0, 123456, tzinfo=plus_two))
    store.upsert_nodes([written])

    got = store.get_nodes([written.id])[written.id]

    assert got.valid_from == datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)
    assert got.valid_from.utcoffset() == timedelta(0)


def test_reupserting_an_identical_node_is_a_noop(store: GraphStore) -> None:
    node = _node("dataset:applications@v1", content_hash="sha256:aa")
    store.upsert_nodes([node])
    first = store.get_nodes([node.id])[node.id]

    store.upsert_nodes([node])
    store.upsert_nodes([node, node])

    again = store.get_nodes([node.id])[node.id]
    assert again == first
    assert again.recorded_at == first.recorded_at
    assert _all_ids(store) == [node.id]


def test_reupserting_with_changed_props_updates_and_keeps_recorded_at(store: GraphStore) -> None:
    store.upsert_nodes([_node("incident:approval_rate_drop", status="open", severity=2)])
    first = store.get_nodes(["incident:approval_rate_drop"])["incident:approval_rate_drop"]

    changed = Node(id="incident:approval_rate_drop", kind=NodeKind.INCIDENT, valid_from=T0,
                   valid_to=T0 + timedelta(hours=3), props={"status": "resolved"})
    store.upsert_nodes([changed])

    got = store.get_nodes(["incident:approval_rate_drop"])["incident:approval_rate_drop"]
    assert got.props == {"status": "resolved"}
    assert got.valid_to == T0 + timedelta(hours=3)
    assert got.recorded_at == first.recorded_at
    assert _all_ids(store) == ["incident:approval_rate_drop"]


def test_a_batch_writes_every_node(store: GraphStore) -> None:
    batch = [_node(f"feature:f{i:02d}", day=i) for i in range(25)]

    store.upsert_nodes(batch)

    assert set(store.get_nodes([n.id for n in batch])) == {n.id for n in batch}


def test_upserting_an_empty_batch_writes_nothing(store: GraphStore) -> None:
    store.upsert_nodes([])

    assert _all_ids(store) == []


def test_get_nodes_omits_ids_that_do_not_exist(store: GraphStore) -> None:
    store.upsert_nodes([_node("model:lending_approval"), _node("model:lending_approval@v12")])

    got = store.get_nodes(["model:lending_approval@v12", "model:lending_approval@v99",
                           "model:lending_approval"])

    assert set(got) == {"model:lending_approval@v12", "model:lending_approval"}
    assert store.get_nodes([]) == {}
    assert store.get_nodes(["dataset:nowhere@v1"]) == {}


@pytest.mark.parametrize(
    ("build", "field"),
    [
        pytest.param(lambda: Node(id="not an id", kind=NodeKind.DATASET, valid_from=T0),
                     "id", id="malformed-id"),
        pytest.param(lambda: Node(id="nosuchkind:x", kind=NodeKind.DATASET, valid_from=T0),
                     "id", id="unknown-prefix"),
        pytest.param(lambda: Node(id="dataset:applications", kind=NodeKind.DATASET_VERSION,
                                  valid_from=T0),
                     "id", id="kind-does-not-match-id"),
        pytest.param(lambda: Node(id="run:train_v12@v1", kind=NodeKind.TRAINING_RUN,
                                  valid_from=T0),
                     "id", id="version-on-unversioned-kind"),
        pytest.param(lambda: Node(id="dataset:applications", kind=NodeKind.DATASET,
                                  valid_from=datetime(2024, 1, 10)),
                     "valid_from", id="naive-valid-from"),
        pytest.param(lambda: Node(id="dataset:applications", kind=NodeKind.DATASET,
                                  valid_from=T0, valid_to=datetime(2024, 2, 1)),
                     "valid_to", id="naive-valid-to"),
        pytest.param(lambda: Node(id="dataset:applications", kind=NodeKind.DATASET,
                                  valid_from=T0, valid_to=T0),
                     "valid_to", id="empty-window"),
        pytest.param(lambda: Node(id="dataset:applications", kind=NodeKind.DATASET,
                                  valid_from=T0, valid_to=T0 - timedelta(seconds=1)),
                     "valid_to", id="window-ends-before-it-starts"),
    ],
)
def test_invalid_node_is_rejected_naming_the_field(build: Callable[[], Node], field: str) -> None:
    with pytest.raises(InvalidError) as caught:
        build()

    assert caught.value.field == field


@pytest.mark.parametrize(
    "props",
    [
        pytest.param({"when": T0}, id="datetime"),
        pytest.param({"blob": object()}, id="object"),
        pytest.param({"auc": float("nan")}, id="nan"),
        pytest.param({"auc": float("inf")}, id="infinity"),
    ],
)
def test_non_json_props_are_rejected_and_nothing_of_the_batch_is_written(
    store: GraphStore, props: dict[str, Any]
) -> None:
    # The model may reject these at construction or the store at upsert; either way the
    # error names "props" and the valid node of the same batch is not written.
    with pytest.raises(InvalidError) as caught:
        bad = Node(id="evaluation:v12_holdout", kind=NodeKind.EVALUATION, valid_from=T0,
                   props=props)
        store.upsert_nodes([_node("evaluation:v12_fairness"), bad])

    assert caught.value.field == "props"
    assert _all_ids(store) == []


def test_delete_nodes_returns_how_many_existed(store: GraphStore) -> None:
    store.upsert_nodes([_node("dataset:a@v1"), _node("dataset:b@v1"), _node("dataset:c@v1")])

    deleted = store.delete_nodes(["dataset:a@v1", "dataset:b@v1", "dataset:missing@v1"])

    assert deleted == 2
    assert _all_ids(store) == ["dataset:c@v1"]
    assert store.delete_nodes([]) == 0
    assert store.delete_nodes(["dataset:a@v1"]) == 0


def test_deleting_a_node_removes_its_edges_and_keeps_the_others(store: GraphStore) -> None:
    store.upsert_nodes([_node("dataset:applications@v2"), _node("dataset:bureau@v1"),
                        _node("snapshot:train"), _node("run:train_v12")])
    store.upsert_edges([
        Edge(src="snapshot:train", kind=EdgeKind.WAS_DERIVED_FROM, dst="dataset:applications@v2"),
        Edge(src="snapshot:train", kind=EdgeKind.WAS_DERIVED_FROM, dst="dataset:bureau@v1"),
        Edge(src="run:train_v12", kind=EdgeKind.USED, dst="snapshot:train"),
    ])

    assert store.delete_nodes(["dataset:applications@v2"]) == 1

    remaining = store.find_edges(EdgeQuery()).items
    assert [(e.src, e.dst) for e in remaining] == [
        ("run:train_v12", "snapshot:train"),
        ("snapshot:train", "dataset:bureau@v1"),
    ]
    assert store.find_edges(EdgeQuery(dst="dataset:applications@v2")).items == []

    assert store.delete_nodes(["snapshot:train"]) == 1
    assert store.find_edges(EdgeQuery()).items == []


def test_ping_answers_on_a_working_store(store: GraphStore) -> None:
    store.ping()
