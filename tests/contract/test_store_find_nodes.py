"""find_nodes: filters by kind, property and time, and cursor paging in (valid_from, id) order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lineage.errors import InvalidError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import kind_of
from lineage.store import EdgeQuery, GraphStore, NodeQuery, iter_all_nodes

T0 = datetime(2024, 1, 10, tzinfo=UTC)


def _node(node_id: str, day: float = 0, **props: Any) -> Node:
    return Node(id=node_id, kind=kind_of(node_id), valid_from=T0 + timedelta(days=day),
                props=props)


def _ids(store: GraphStore, query: NodeQuery) -> list[str]:
    return [n.id for n in store.find_nodes(query).items]


def _walk_pages(store: GraphStore, **query: Any) -> tuple[list[Node], int]:
    """Every node a query pages through, and how many pages it took."""
    found: list[Node] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = store.find_nodes(NodeQuery(after=cursor, **query))
        found += page.items
        pages += 1
        if page.next_cursor is None:
            return found, pages
        assert len(page.items) == query["limit"], "only the last page may be short"
        cursor = page.next_cursor


@pytest.fixture
def mixed(store: GraphStore) -> GraphStore:
    store.upsert_nodes([
        _node("dataset:applications", 0),
        _node("dataset:applications@v1", 0, records=500_000, pii=True, owner="lending"),
        _node("dataset:applications@v2", 5, records=510_000, pii=True, owner="lending"),
        _node("dataset:credit_bureau@v1", 0, records=2_100_000, pii=False, owner="risk"),
        _node("snapshot:credit_model_training_2024_01_20", 10, owner="lending", records=400_000),
        _node("model:lending_approval@v12", 12, auc=0.87, approved=True),
        _node("model:lending_approval@v13", 15, auc=0.92, approved=False),
    ])
    return store


def test_find_by_kind_returns_only_that_kind_in_time_order(mixed: GraphStore) -> None:
    assert _ids(mixed, NodeQuery(kind=NodeKind.DATASET_VERSION)) == [
        "dataset:applications@v1", "dataset:credit_bureau@v1", "dataset:applications@v2"
    ]
    assert _ids(mixed, NodeQuery(kind=NodeKind.DATASET)) == ["dataset:applications"]
    assert _ids(mixed, NodeQuery(kind=NodeKind.INCIDENT)) == []


def test_find_without_filters_returns_every_node_ordered_by_time_then_id(
    mixed: GraphStore,
) -> None:
    assert _ids(mixed, NodeQuery()) == [
        "dataset:applications", "dataset:applications@v1", "dataset:credit_bureau@v1",
        "dataset:applications@v2", "snapshot:credit_model_training_2024_01_20",
        "model:lending_approval@v12", "model:lending_approval@v13",
    ]


def test_find_by_string_property(mixed: GraphStore) -> None:
    assert _ids(mixed, NodeQuery(props={"owner": "risk"})) == ["dataset:credit_bureau@v1"]
    assert _ids(mixed, NodeQuery(props={"owner": "nobody"})) == []


def test_find_by_int_property(mixed: GraphStore) -> None:
    assert _ids(mixed, NodeQuery(props={"records": 510_000})) == ["dataset:applications@v2"]


def test_find_by_float_property(mixed: GraphStore) -> None:
    assert _ids(mixed, NodeQuery(props={"auc": 0.87})) == ["model:lending_approval@v12"]


def test_find_by_bool_property(mixed: GraphStore) -> None:
    assert _ids(mixed, NodeQuery(props={"pii": False})) == ["dataset:credit_bureau@v1"]
    assert _ids(mixed, NodeQuery(props={"approved": True})) == ["model:lending_approval@v12"]


def test_bool_and_number_and_string_properties_do_not_match_each_other(store: GraphStore) -> None:
    store.upsert_nodes([
        _node("feature:as_bool", flag=True),
        _node("feature:as_int", flag=1),
        _node("feature:as_text", flag="1"),
        _node("feature:as_false", flag=False),
        _node("feature:as_zero", flag=0),
    ])

    assert _ids(store, NodeQuery(props={"flag": True})) == ["feature:as_bool"]
    assert _ids(store, NodeQuery(props={"flag": 1})) == ["feature:as_int"]
    assert _ids(store, NodeQuery(props={"flag": "1"})) == ["feature:as_text"]
    assert _ids(store, NodeQuery(props={"flag": False})) == ["feature:as_false"]
    assert _ids(store, NodeQuery(props={"flag": 0})) == ["feature:as_zero"]


def test_find_by_several_properties_and_kind_requires_all(mixed: GraphStore) -> None:
    query = NodeQuery(kind=NodeKind.DATASET_VERSION, props={"owner": "lending", "pii": True})
    assert _ids(mixed, query) == ["dataset:applications@v1", "dataset:applications@v2"]

    query = NodeQuery(kind=NodeKind.FEATURE_SNAPSHOT, props={"owner": "lending", "pii": True})
    assert _ids(mixed, query) == []


def test_a_property_a_node_lacks_never_matches(mixed: GraphStore) -> None:
    assert _ids(mixed, NodeQuery(props={"nonexistent": "x"})) == []


def test_property_names_must_be_identifiers() -> None:
    with pytest.raises(InvalidError) as caught:
        NodeQuery(props={"owner') OR 1=1 --": "x"})

    assert caught.value.field == "props"


def test_since_is_inclusive_and_until_exclusive(mixed: GraphStore) -> None:
    window = NodeQuery(since=T0 + timedelta(days=5), until=T0 + timedelta(days=12))
    assert _ids(mixed, window) == [
        "dataset:applications@v2", "snapshot:credit_model_training_2024_01_20"
    ]
    assert _ids(mixed, NodeQuery(since=T0 + timedelta(days=12))) == [
        "model:lending_approval@v12", "model:lending_approval@v13"
    ]
    assert _ids(mixed, NodeQuery(until=T0 + timedelta(microseconds=1))) == [
        "dataset:applications", "dataset:applications@v1", "dataset:credit_bureau@v1"
    ]
    assert _ids(mixed, NodeQuery(until=T0)) == []


def test_newest_first_reverses_the_order(mixed: GraphStore) -> None:
    ascending = _ids(mixed, NodeQuery())

    assert _ids(mixed, NodeQuery(newest_first=True)) == list(reversed(ascending))
    assert _ids(mixed, NodeQuery(kind=NodeKind.MODEL_VERSION, newest_first=True, limit=1)) == [
        "model:lending_approval@v13"
    ]


@pytest.fixture
def many(store: GraphStore) -> list[Node]:
    """61 nodes over 9 instants, so most instants are shared and the ID breaks the tie."""
    nodes = [_node(f"batch:b{(i * 37) % 61:03d}", day=i % 9) for i in range(61)]
    nodes += [_node("feature:not_a_batch", day=4)]
    store.upsert_nodes(nodes)
    return sorted(nodes, key=lambda n: (n.valid_from, n.id))


@pytest.mark.parametrize("limit", [1, 7, 31, 62, 100])
def test_paging_visits_every_node_once_in_stable_order(
    store: GraphStore, many: list[Node], limit: int
) -> None:
    found, pages = _walk_pages(store, limit=limit)

    assert [n.id for n in found] == [n.id for n in many]
    assert pages == max(1, -(-len(many) // limit))


def test_paging_newest_first_visits_every_node_once_in_reverse_order(
    store: GraphStore, many: list[Node]
) -> None:
    found, _ = _walk_pages(store, limit=5, newest_first=True)

    assert [n.id for n in found] == [n.id for n in reversed(many)]


def test_paging_within_a_filter_stays_in_the_filter(store: GraphStore, many: list[Node]) -> None:
    found, _ = _walk_pages(store, limit=4, kind=NodeKind.INFERENCE_BATCH,
                           since=T0 + timedelta(days=2), until=T0 + timedelta(days=6))

    expected = [n.id for n in many if n.kind is NodeKind.INFERENCE_BATCH
                and T0 + timedelta(days=2) <= n.valid_from < T0 + timedelta(days=6)]
    assert [n.id for n in found] == expected
    assert len(expected) > 4 * 3


def test_the_last_full_page_has_no_cursor(store: GraphStore) -> None:
    store.upsert_nodes([_node(f"feature:f{i}", day=i) for i in range(6)])

    first = store.find_nodes(NodeQuery(limit=3))
    second = store.find_nodes(NodeQuery(limit=3, after=first.next_cursor))

    assert first.next_cursor is not None
    assert [n.id for n in second.items] == ["feature:f3", "feature:f4", "feature:f5"]
    assert second.next_cursor is None


def test_a_cursor_survives_writes_between_pages(store: GraphStore) -> None:
    store.upsert_nodes([_node(f"feature:f{i}", day=i) for i in range(6)])
    first = store.find_nodes(NodeQuery(limit=3))

    # A node inserted before the cursor position must not shift the next page.
    store.upsert_nodes([_node("feature:early", day=-1)])
    second = store.find_nodes(NodeQuery(limit=3, after=first.next_cursor))

    assert [n.id for n in second.items] == ["feature:f3", "feature:f4", "feature:f5"]


def test_empty_store_gives_an_empty_last_page(store: GraphStore) -> None:
    page = store.find_nodes(NodeQuery())

    assert page.items == []
    assert page.next_cursor is None


@pytest.mark.parametrize("cursor", ["certainly-not-a-cursor", "W10", "e30", "WyJ4Il0"])
def test_a_cursor_not_made_by_the_store_is_invalid(store: GraphStore, cursor: str) -> None:
    store.upsert_nodes([_node("feature:f1")])

    with pytest.raises(InvalidError) as caught:
        store.find_nodes(NodeQuery(after=cursor))

    assert caught.value.field == "after"


def test_an_edge_cursor_is_not_a_node_cursor(store: GraphStore) -> None:
    store.upsert_nodes([_node("run:r1"), _node("snapshot:s1"), _node("snapshot:s2")])
    store.upsert_edges([Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:s1"),
                        Edge(src="run:r1", kind=EdgeKind.USED, dst="snapshot:s2")])
    edge_cursor = store.find_edges(EdgeQuery(limit=1)).next_cursor
    assert edge_cursor is not None

    with pytest.raises(InvalidError) as caught:
        store.find_nodes(NodeQuery(after=edge_cursor))

    assert caught.value.field == "after"


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_is_invalid(store: GraphStore, limit: int) -> None:
    with pytest.raises(InvalidError) as caught:
        store.find_nodes(NodeQuery(limit=limit))

    assert caught.value.field == "limit"


def test_a_limit_above_the_page_cap_is_clamped(store: GraphStore) -> None:
    store.upsert_nodes([_node(f"batch:b{i:04d}", day=i / 1000) for i in range(1005)])

    first = store.find_nodes(NodeQuery(limit=5000))
    rest = store.find_nodes(NodeQuery(limit=5000, after=first.next_cursor))

    assert len(first.items) == 1000
    assert first.next_cursor is not None
    assert [n.id for n in rest.items] == [f"batch:b{i:04d}" for i in range(1000, 1005)]
    assert rest.next_cursor is None
    assert sum(1 for _ in iter_all_nodes(store)) == 1005
