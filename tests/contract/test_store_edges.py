"""Edges: identity ``(src, kind, dst, valid_from)``, all-or-nothing batches, find and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node
from lineage.model.ids import kind_of
from lineage.store import EdgeQuery, GraphStore

T0 = datetime(2024, 1, 10, tzinfo=UTC)
JAN_22 = datetime(2024, 1, 22, tzinfo=UTC)
JAN_25 = datetime(2024, 1, 25, 11, 47, tzinfo=UTC)

DEPLOYMENT = "deployment:lending_prod"
V12 = "model:lending_approval@v12"
V13 = "model:lending_approval@v13"


def _nodes(store: GraphStore, *ids: str) -> None:
    store.upsert_nodes([Node(id=i, kind=kind_of(i), valid_from=T0) for i in ids])


def _all_edges(store: GraphStore) -> list[Edge]:
    return store.find_edges(EdgeQuery()).items


def _keys(edges: list[Edge]) -> set[str]:
    return {e.key for e in edges}


@pytest.fixture
def lending(store: GraphStore) -> GraphStore:
    """A snapshot, the run that used it, v12 and a deployment that served v12 and then v13."""
    _nodes(store, "dataset:applications@v2", "snapshot:train", "run:train_v12", V12, V13,
           DEPLOYMENT)
    store.upsert_edges([
        Edge(src="snapshot:train", kind=EdgeKind.WAS_DERIVED_FROM, dst="dataset:applications@v2",
             props={"rows": 510_000}),
        Edge(src="run:train_v12", kind=EdgeKind.USED, dst="snapshot:train"),
        Edge(src=V12, kind=EdgeKind.WAS_GENERATED_BY, dst="run:train_v12"),
        Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=JAN_22,
             props={"weight": 1.0}),
        Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V13, valid_from=JAN_25,
             props={"weight": 1.0}),
    ])
    return store


def test_upserted_edge_reads_back_with_every_field(store: GraphStore) -> None:
    _nodes(store, DEPLOYMENT, V12)
    written = Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=JAN_22,
                   valid_to=JAN_25, props={"weight": 0.9, "route": "primary"})

    store.upsert_edges([written])

    assert _all_edges(store) == [written]


def test_find_edges_by_source(lending: GraphStore) -> None:
    found = lending.find_edges(EdgeQuery(src=DEPLOYMENT)).items

    assert {(e.kind, e.dst) for e in found} == {(EdgeKind.SERVED, V12), (EdgeKind.SERVED, V13)}


def test_find_edges_by_destination(lending: GraphStore) -> None:
    lending.upsert_edges([Edge(src="run:train_v12", kind=EdgeKind.USED, dst=V12)])

    found = lending.find_edges(EdgeQuery(dst=V12)).items

    assert {(e.src, e.kind) for e in found} == {
        (DEPLOYMENT, EdgeKind.SERVED), ("run:train_v12", EdgeKind.USED)
    }


def test_find_edges_by_both_ends(lending: GraphStore) -> None:
    found = lending.find_edges(EdgeQuery(src="run:train_v12", dst="snapshot:train")).items

    assert [(e.src, e.kind, e.dst) for e in found] == [
        ("run:train_v12", EdgeKind.USED, "snapshot:train")
    ]
    assert lending.find_edges(EdgeQuery(src="run:train_v12", dst=V12)).items == []


def test_find_edges_by_kinds(lending: GraphStore) -> None:
    found = lending.find_edges(
        EdgeQuery(kinds=frozenset({EdgeKind.USED, EdgeKind.WAS_GENERATED_BY}))
    ).items

    assert {(e.src, e.kind) for e in found} == {
        ("run:train_v12", EdgeKind.USED), (V12, EdgeKind.WAS_GENERATED_BY)
    }
    assert lending.find_edges(EdgeQuery(kinds=frozenset({EdgeKind.AFFECTED}))).items == []


def test_find_edges_with_no_filter_returns_every_edge(lending: GraphStore) -> None:
    assert len(_all_edges(lending)) == 5


def test_find_edges_as_of_keeps_only_edges_valid_then(lending: GraphStore) -> None:
    lending.upsert_edges([
        Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=JAN_22, valid_to=JAN_25,
             props={"weight": 1.0}),
    ])

    def served_at(instant: datetime) -> set[str]:
        edges = lending.find_edges(EdgeQuery(src=DEPLOYMENT, as_of=instant)).items
        return {e.dst for e in edges}

    assert served_at(JAN_22 - timedelta(microseconds=1)) == set()
    assert served_at(JAN_22) == {V12}  # valid_from is inclusive
    assert served_at(JAN_25 - timedelta(microseconds=1)) == {V12}
    assert served_at(JAN_25) == {V13}  # valid_to is exclusive
    # Structural edges (no window) hold at every instant.
    structural = lending.find_edges(EdgeQuery(src="run:train_v12", as_of=T0 - timedelta(days=999)))
    assert len(structural.items) == 1


def test_edge_to_a_missing_node_is_not_found_and_nothing_is_written(store: GraphStore) -> None:
    _nodes(store, "snapshot:train", "dataset:applications@v2", "run:train_v12")
    batch = [
        Edge(src="snapshot:train", kind=EdgeKind.WAS_DERIVED_FROM, dst="dataset:applications@v2"),
        Edge(src="snapshot:train", kind=EdgeKind.WAS_DERIVED_FROM, dst="dataset:bureau@v1"),
        Edge(src="run:train_v12", kind=EdgeKind.USED, dst="snapshot:train"),
    ]

    with pytest.raises(NotFoundError) as caught:
        store.upsert_edges(batch)

    assert "dataset:bureau@v1" in caught.value.message
    assert _all_edges(store) == []


def test_edge_from_a_missing_node_is_not_found_and_nothing_is_written(store: GraphStore) -> None:
    _nodes(store, "snapshot:train")

    with pytest.raises(NotFoundError) as caught:
        store.upsert_edges([Edge(src="run:ghost", kind=EdgeKind.USED, dst="snapshot:train")])

    assert "run:ghost" in caught.value.message
    assert _all_edges(store) == []


def test_edge_with_a_malformed_end_is_invalid_naming_the_end() -> None:
    with pytest.raises(InvalidError) as caught:
        Edge(src="run:train_v12", kind=EdgeKind.USED, dst="not an id")

    assert caught.value.field == "dst"

    with pytest.raises(InvalidError) as caught:
        Edge(src="run:x", kind=EdgeKind.USED, dst="snapshot:s", valid_from=JAN_25, valid_to=JAN_22)

    assert caught.value.field == "valid_to"


def test_reregistering_same_edge_is_a_noop(lending: GraphStore) -> None:
    before = _all_edges(lending)

    lending.upsert_edges([
        Edge(src="run:train_v12", kind=EdgeKind.USED, dst="snapshot:train"),
        Edge(src="run:train_v12", kind=EdgeKind.USED, dst="snapshot:train"),
        Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=JAN_22,
             props={"weight": 1.0}),
    ])

    assert _all_edges(lending) == before


def test_reupserting_an_edge_with_new_props_updates_it_in_place(lending: GraphStore) -> None:
    lending.upsert_edges([
        Edge(src="snapshot:train", kind=EdgeKind.WAS_DERIVED_FROM, dst="dataset:applications@v2",
             props={"rows": 400_000, "split": "80/20"}),
    ])

    found = lending.find_edges(EdgeQuery(src="snapshot:train")).items
    assert [e.props for e in found] == [{"rows": 400_000, "split": "80/20"}]
    assert len(_all_edges(lending)) == 5


def test_temporal_edges_with_different_valid_from_are_distinct(store: GraphStore) -> None:
    _nodes(store, DEPLOYMENT, V12)
    first = Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=JAN_22,
                 valid_to=JAN_25)
    second = Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=JAN_25)
    structural = Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12)

    store.upsert_edges([first, second, structural])

    assert _keys(_all_edges(store)) == {first.key, second.key, structural.key}


def test_closing_an_interval_by_reupsert_sets_valid_to(lending: GraphStore) -> None:
    closed = Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=JAN_22,
                  valid_to=JAN_25, props={"weight": 1.0})

    lending.upsert_edges([closed])

    served_v12 = lending.find_edges(EdgeQuery(src=DEPLOYMENT, dst=V12)).items
    assert served_v12 == [closed]


def test_find_edges_paging_returns_every_edge_exactly_once(store: GraphStore) -> None:
    hubs = [f"dataset:d{i}@v1" for i in range(4)]
    runs = [f"run:r{i}" for i in range(6)]
    _nodes(store, *hubs, *runs, DEPLOYMENT, V12)
    edges = [Edge(src=r, kind=k, dst=h) for r in runs for h in hubs
             for k in (EdgeKind.USED, EdgeKind.WAS_ASSOCIATED_WITH)]
    edges += [Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=T0 + timedelta(i))
              for i in range(5)]
    edges.append(Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12))
    store.upsert_edges(edges)

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = store.find_edges(EdgeQuery(limit=7, after=cursor))
        assert len(page.items) <= 7
        seen += [e.key for e in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        assert len(page.items) == 7
        cursor = page.next_cursor

    assert len(seen) == len(edges) == 54
    assert set(seen) == {e.key for e in edges}
    assert pages == 8
    # Each page continues where the previous one stopped: the concatenation is one stable order.
    assert seen == [e.key for e in store.find_edges(EdgeQuery(limit=1000)).items]


def test_find_edges_paging_with_a_filter_stays_within_the_filter(store: GraphStore) -> None:
    runs = [f"run:r{i}" for i in range(9)]
    _nodes(store, "snapshot:s", "snapshot:other", *runs)
    store.upsert_edges([Edge(src=r, kind=EdgeKind.USED, dst=s)
                        for r in runs for s in ("snapshot:s", "snapshot:other")])

    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = store.find_edges(EdgeQuery(dst="snapshot:s", limit=2, after=cursor))
        seen += [e.src for e in page.items if e.dst == "snapshot:s"]
        assert all(e.dst == "snapshot:s" for e in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert sorted(seen) == runs


def test_find_edges_with_a_bad_cursor_is_invalid(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        store.find_edges(EdgeQuery(after="certainly-not-a-cursor"))

    assert caught.value.field == "after"
