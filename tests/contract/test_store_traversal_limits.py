"""traverse at the edges of its limits: which nodes a cut keeps, and when ``truncated`` is true.

The rule (SQLite's level-by-level walk is the reference): the walk is breadth-first; each node
gets its shortest depth; the budget counts every node walked (the start included, and nodes the
``node_kinds`` filter hides); ``truncated`` is true exactly when a node the walk may follow
(edge kind, validity at ``as_of``, node existing then) was left out, because the budget was
spent or because it lies one hop past ``max_depth``. Nodes already returned, reached again by
another edge, never count as left out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind, Subgraph
from lineage.store import GraphStore, TraversalSpec

T0 = datetime(2024, 1, 10, tzinfo=UTC)
ROOT = "dataset:root@v1"


def _day(day: float) -> datetime:
    return T0 + timedelta(days=day)


def _dataset(name: str, day: float = 0) -> Node:
    return Node(id=f"dataset:{name}@v1", kind=NodeKind.DATASET_VERSION, valid_from=_day(day))


def _derived(
    src: str, dst: str, valid_from: datetime | None = None, valid_to: datetime | None = None
) -> Edge:
    """``src`` was derived from ``dst``: walking IN from ``dst`` reaches ``src``."""
    return Edge(
        src=f"dataset:{src}@v1",
        kind=EdgeKind.WAS_DERIVED_FROM,
        dst=f"dataset:{dst}@v1",
        valid_from=valid_from,
        valid_to=valid_to,
    )


def _ids(*names: str) -> set[str]:
    return {f"dataset:{name}@v1" for name in names}


def _walk(store: GraphStore, direction: Direction = Direction.IN, **limits: object) -> Subgraph:
    spec = TraversalSpec(start=ROOT, direction=direction, **limits)  # type: ignore[arg-type]
    result = store.traverse(spec)
    returned = {n.id for n in result.nodes}
    assert len(returned) == len(result.nodes), "no node twice"
    assert set(result.depths) == returned
    assert all(e.src in returned and e.dst in returned for e in result.edges)
    return result


@pytest.fixture
def fan(store: GraphStore) -> GraphStore:
    """root <- c0..c4 (depth 1), every child <- g (depth 2): five paths to one grandchild."""
    store.upsert_nodes(
        [_dataset("root"), _dataset("g"), *(_dataset(f"c{i}") for i in range(5))]
    )
    store.upsert_edges(
        [_derived(f"c{i}", "root") for i in range(5)] + [_derived("g", f"c{i}") for i in range(5)]
    )
    return store


def test_a_budget_spent_inside_a_level_keeps_that_many_of_it_and_is_truncated(
    fan: GraphStore,
) -> None:
    result = _walk(fan, max_nodes=3)

    assert len(result.nodes) == 3
    assert result.truncated is True
    assert result.depths[ROOT] == 0
    assert {d for i, d in result.depths.items() if i != ROOT} == {1}
    assert {(e.src, e.dst) for e in result.edges} == {
        (i, ROOT) for i in result.depths if i != ROOT
    }


def test_a_budget_filled_exactly_by_a_level_is_truncated_when_a_node_lies_beyond(
    fan: GraphStore,
) -> None:
    result = _walk(fan, max_nodes=6)  # root and the five children; g is left out

    assert set(result.depths) == {ROOT} | _ids("c0", "c1", "c2", "c3", "c4")
    assert result.truncated is True


def test_a_node_reached_by_many_edges_counts_once_against_the_budget(fan: GraphStore) -> None:
    result = _walk(fan, max_nodes=7)

    assert result.depths == {ROOT: 0, **dict.fromkeys(_ids(*(f"c{i}" for i in range(5))), 1),
                             "dataset:g@v1": 2}
    assert result.truncated is False
    assert len(result.edges) == 10


def test_a_budget_filled_exactly_with_only_known_nodes_beyond_is_not_truncated(
    store: GraphStore,
) -> None:
    # root <- a <- b, and b -> root as well: from b the walk only meets nodes it has.
    store.upsert_nodes([_dataset("root"), _dataset("a"), _dataset("b")])
    store.upsert_edges([_derived("a", "root"), _derived("b", "a"), _derived("b", "root")])

    result = _walk(store, max_nodes=3, direction=Direction.BOTH)

    assert result.depths == {ROOT: 0, **dict.fromkeys(_ids("a", "b"), 1)}
    assert result.truncated is False


def test_the_depth_limit_ignores_known_nodes_one_hop_past_it(store: GraphStore) -> None:
    # root <- a, root <- b, a <- b: at depth 1 both are in; b's edge to a adds nothing.
    store.upsert_nodes([_dataset("root"), _dataset("a"), _dataset("b")])
    store.upsert_edges([_derived("a", "root"), _derived("b", "root"), _derived("b", "a")])

    result = _walk(store, max_depth=1)

    assert result.depths == {ROOT: 0, **dict.fromkeys(_ids("a", "b"), 1)}
    assert result.truncated is False


def test_budget_and_depth_both_reached_at_once_is_truncated(store: GraphStore) -> None:
    store.upsert_nodes([_dataset("root"), _dataset("a"), _dataset("b")])
    store.upsert_edges([_derived("a", "root"), _derived("b", "a")])

    exact = _walk(store, max_nodes=2, max_depth=1)
    roomy = _walk(store, max_nodes=10, max_depth=1)
    whole = _walk(store, max_nodes=3, max_depth=2)

    assert (exact.depths, exact.truncated) == ({ROOT: 0, "dataset:a@v1": 1}, True)
    assert (roomy.depths, roomy.truncated) == ({ROOT: 0, "dataset:a@v1": 1}, True)
    assert (len(whole.nodes), whole.truncated) == (3, False)


def test_nodes_the_kind_filter_hides_still_count_against_the_budget(fan: GraphStore) -> None:
    fan.upsert_nodes([Node(id="model:m@v1", kind=NodeKind.MODEL_VERSION, valid_from=T0)])
    fan.upsert_edges([Edge(src="model:m@v1", kind=EdgeKind.WAS_DERIVED_FROM, dst="dataset:g@v1")])

    cut = _walk(fan, max_nodes=7, node_kinds=frozenset({NodeKind.MODEL_VERSION}))
    whole = _walk(fan, max_nodes=8, node_kinds=frozenset({NodeKind.MODEL_VERSION}))

    assert (cut.depths, cut.truncated) == ({ROOT: 0}, True)
    assert (whole.depths, whole.truncated) == ({ROOT: 0, "model:m@v1": 3}, False)
    assert whole.edges == []


def test_what_did_not_exist_then_neither_counts_nor_truncates(store: GraphStore) -> None:
    store.upsert_nodes([_dataset("root"), _dataset("a"), _dataset("late", day=5),
                        _dataset("b")])
    store.upsert_edges([
        _derived("a", "root"),
        _derived("late", "root"),  # the node exists from day 5
        _derived("b", "a", valid_from=_day(3), valid_to=_day(4)),  # the edge holds days 3-4
    ])

    day_1 = _walk(store, max_nodes=2, as_of=_day(1))
    day_3 = _walk(store, max_nodes=2, as_of=_day(3))
    day_6 = _walk(store, max_nodes=2, as_of=_day(6))

    assert (set(day_1.depths), day_1.truncated) == ({ROOT} | _ids("a"), False)
    assert (set(day_3.depths), day_3.truncated) == ({ROOT} | _ids("a"), True)  # b is left out
    assert (len(day_6.nodes), day_6.truncated) == (2, True)  # a or late is left out


def test_a_popular_start_returns_exactly_the_budget_of_its_nearest_nodes(
    store: GraphStore,
) -> None:
    # The shape of a popular dataset version: hundreds of dependants, each with its own below.
    store.upsert_nodes(
        [_dataset("root")]
        + [_dataset(f"d{i:03d}") for i in range(300)]
        + [_dataset(f"e{i:03d}") for i in range(300)]
    )
    store.upsert_edges(
        [_derived(f"d{i:03d}", "root") for i in range(300)]
        + [_derived(f"e{i:03d}", f"d{i:03d}") for i in range(300)]
    )

    result = _walk(store, max_nodes=50, max_depth=6)

    assert len(result.nodes) == 50
    assert result.truncated is True
    assert set(result.depths.values()) == {0, 1}, "breadth-first: no depth 2 before depth 1 ends"
    assert len(result.edges) == 49


def test_a_budget_of_one_is_truncated_only_when_something_could_follow(store: GraphStore) -> None:
    store.upsert_nodes([_dataset("root"), _dataset("a", day=5)])
    store.upsert_edges([_derived("a", "root")])

    before = _walk(store, max_nodes=1, as_of=_day(1))
    after = _walk(store, max_nodes=1, as_of=_day(6))

    assert (before.depths, before.truncated) == ({ROOT: 0}, False)
    assert (after.depths, after.truncated) == ({ROOT: 0}, True)
