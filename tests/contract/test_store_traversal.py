"""traverse: bounded walks up and down the provenance graph, reported honestly when cut short.

Edges point from the dependent node to its source (``run -USED-> snapshot``), so Direction.OUT
walks upstream and Direction.IN downstream.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind, Subgraph
from lineage.model.ids import kind_of
from lineage.store import GraphStore, TraversalSpec, iter_all_edges
from lineage.store.base import MAX_DEPTH

T0 = datetime(2024, 1, 10, tzinfo=UTC)

APPLICATIONS = "dataset:applications"
APPLICATIONS_V2 = "dataset:applications@v2"
BUREAU_V1 = "dataset:credit_bureau@v1"
SNAPSHOT = "snapshot:credit_model_training_2024_01_20"
RUN = "run:train_v12"
ENGINEER = "person:ml_engineer"
MODEL = "model:lending_approval"
V12 = "model:lending_approval@v12"
BATCH = "batch:jan25_0001"
DEPLOYMENT = "deployment:lending_prod"


def _day(day: float) -> datetime:
    return T0 + timedelta(days=day)


def _node(node_id: str, day: float = 0) -> Node:
    return Node(id=node_id, kind=kind_of(node_id), valid_from=_day(day))


def _depths(subgraph: Subgraph) -> dict[str, int]:
    assert {n.id for n in subgraph.nodes} == set(subgraph.depths), "depths cover exactly the nodes"
    return subgraph.depths


def _assert_edges_within_nodes(subgraph: Subgraph) -> None:
    ids = {n.id for n in subgraph.nodes}
    assert len(ids) == len(subgraph.nodes), "no node is returned twice"
    for edge in subgraph.edges:
        assert edge.src in ids
        assert edge.dst in ids


@pytest.fixture
def chain(store: GraphStore) -> GraphStore:
    """The lending provenance: datasets -> snapshot -> run -> v12 -> batch, deployment.

    The batch used both v12 and the snapshot, a diamond whose short side is depth 1.
    """
    store.upsert_nodes([
        _node(APPLICATIONS, 0), _node(APPLICATIONS_V2, 5), _node(BUREAU_V1, 0),
        _node(SNAPSHOT, 10), _node(RUN, 11), _node(ENGINEER, 0), _node(MODEL, 0),
        _node(V12, 12), _node(BATCH, 15), _node(DEPLOYMENT, 12),
    ])
    store.upsert_edges([
        Edge(src=APPLICATIONS_V2, kind=EdgeKind.SPECIALIZATION_OF, dst=APPLICATIONS),
        Edge(src=SNAPSHOT, kind=EdgeKind.WAS_DERIVED_FROM, dst=APPLICATIONS_V2),
        Edge(src=SNAPSHOT, kind=EdgeKind.WAS_DERIVED_FROM, dst=BUREAU_V1),
        Edge(src=RUN, kind=EdgeKind.USED, dst=SNAPSHOT),
        Edge(src=RUN, kind=EdgeKind.WAS_ASSOCIATED_WITH, dst=ENGINEER),
        Edge(src=V12, kind=EdgeKind.WAS_GENERATED_BY, dst=RUN),
        Edge(src=V12, kind=EdgeKind.SPECIALIZATION_OF, dst=MODEL),
        Edge(src=BATCH, kind=EdgeKind.USED, dst=V12),
        Edge(src=BATCH, kind=EdgeKind.USED, dst=SNAPSHOT),
        Edge(src=DEPLOYMENT, kind=EdgeKind.SERVED, dst=V12, valid_from=_day(13),
             valid_to=_day(16)),
    ])
    return store


DOWNSTREAM_OF_APPLICATIONS_V2 = {APPLICATIONS_V2: 0, SNAPSHOT: 1, RUN: 2, BATCH: 2, V12: 3,
                                 DEPLOYMENT: 4}
UPSTREAM_OF_BATCH = {BATCH: 0, V12: 1, SNAPSHOT: 1, RUN: 2, MODEL: 2, APPLICATIONS_V2: 2,
                     BUREAU_V1: 2, ENGINEER: 3, APPLICATIONS: 3}


def test_downstream_finds_everything_built_on_a_dataset_version(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=APPLICATIONS_V2, direction=Direction.IN))

    assert _depths(result) == DOWNSTREAM_OF_APPLICATIONS_V2
    assert result.truncated is False
    _assert_edges_within_nodes(result)


def test_upstream_finds_everything_a_batch_came_from(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=BATCH, direction=Direction.OUT))

    assert _depths(result) == UPSTREAM_OF_BATCH
    assert result.truncated is False


def test_both_directions_reach_the_whole_connected_graph(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=RUN, direction=Direction.BOTH))

    assert _depths(result) == {
        RUN: 0, SNAPSHOT: 1, ENGINEER: 1, V12: 1,
        APPLICATIONS_V2: 2, BUREAU_V1: 2, BATCH: 2, MODEL: 2, DEPLOYMENT: 2,
        APPLICATIONS: 3,
    }
    assert result.truncated is False


def test_the_default_direction_is_downstream(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=APPLICATIONS_V2))

    assert _depths(result) == DOWNSTREAM_OF_APPLICATIONS_V2


def test_returned_edges_are_the_edges_among_the_returned_nodes(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=BATCH, direction=Direction.OUT))

    ids = {n.id for n in result.nodes}
    expected = {e.key for e in iter_all_edges(chain) if e.src in ids and e.dst in ids}
    assert {e.key for e in result.edges} == expected
    assert len(result.edges) == len(expected)
    assert DEPLOYMENT not in ids


def test_returned_nodes_are_full_records(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=RUN, direction=Direction.OUT, max_depth=1))

    by_id = {n.id: n for n in result.nodes}
    assert by_id[SNAPSHOT].kind is NodeKind.FEATURE_SNAPSHOT
    assert by_id[SNAPSHOT].valid_from == _day(10)
    assert by_id[SNAPSHOT].recorded_at is not None


def test_a_node_reached_twice_gets_its_shortest_depth(chain: GraphStore) -> None:
    # batch -> snapshot directly (1) and batch -> v12 -> run -> snapshot (3).
    up = chain.traverse(TraversalSpec(start=BATCH, direction=Direction.OUT))
    # applications@v2 <- snapshot <- batch (2) and <- run <- v12 <- batch (4).
    down = chain.traverse(TraversalSpec(start=APPLICATIONS_V2, direction=Direction.IN))

    assert up.depths[SNAPSHOT] == 1
    assert down.depths[BATCH] == 2


def test_depth_limit_that_exactly_fits_the_graph_is_not_truncated(chain: GraphStore) -> None:
    result = chain.traverse(
        TraversalSpec(start=APPLICATIONS_V2, direction=Direction.IN, max_depth=4)
    )

    assert _depths(result) == DOWNSTREAM_OF_APPLICATIONS_V2
    assert result.truncated is False


def test_depth_limit_with_nodes_beyond_it_is_truncated(chain: GraphStore) -> None:
    result = chain.traverse(
        TraversalSpec(start=APPLICATIONS_V2, direction=Direction.IN, max_depth=3)
    )

    assert _depths(result) == {k: d for k, d in DOWNSTREAM_OF_APPLICATIONS_V2.items() if d <= 3}
    assert result.truncated is True
    _assert_edges_within_nodes(result)


def test_depth_limit_of_one_returns_the_neighbours(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=BATCH, direction=Direction.OUT, max_depth=1))

    assert _depths(result) == {BATCH: 0, V12: 1, SNAPSHOT: 1}
    assert result.truncated is True
    assert {(e.src, e.dst) for e in result.edges} == {(BATCH, V12), (BATCH, SNAPSHOT)}


def test_node_budget_exceeded_returns_exactly_the_budget_and_is_truncated(
    chain: GraphStore,
) -> None:
    result = chain.traverse(TraversalSpec(start=BATCH, direction=Direction.OUT, max_nodes=4))

    depths = _depths(result)
    assert len(result.nodes) == 4
    assert result.truncated is True
    # Breadth-first: the start and every depth-1 node come before any depth-2 node.
    assert {BATCH, V12, SNAPSHOT} <= set(depths)
    assert all(UPSTREAM_OF_BATCH[i] == d for i, d in depths.items())
    _assert_edges_within_nodes(result)


def test_node_budget_equal_to_what_is_reachable_is_not_truncated(chain: GraphStore) -> None:
    result = chain.traverse(
        TraversalSpec(start=BATCH, direction=Direction.OUT, max_nodes=len(UPSTREAM_OF_BATCH))
    )

    assert _depths(result) == UPSTREAM_OF_BATCH
    assert result.truncated is False


def test_node_budget_of_one_returns_only_the_start(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=BATCH, direction=Direction.OUT, max_nodes=1))

    assert _depths(result) == {BATCH: 0}
    assert result.edges == []
    assert result.truncated is True


def test_a_node_without_edges_is_a_complete_walk_of_one(store: GraphStore) -> None:
    store.upsert_nodes([_node(ENGINEER)])

    for direction in Direction:
        result = store.traverse(TraversalSpec(start=ENGINEER, direction=direction, max_nodes=1,
                                              max_depth=1))
        assert _depths(result) == {ENGINEER: 0}
        assert result.edges == []
        assert result.truncated is False


def test_edge_kind_filter_follows_only_those_edges(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(
        start=BATCH, direction=Direction.OUT,
        edge_kinds=frozenset({EdgeKind.USED, EdgeKind.WAS_GENERATED_BY}),
    ))

    assert _depths(result) == {BATCH: 0, V12: 1, SNAPSHOT: 1, RUN: 2}
    assert {e.kind for e in result.edges} <= {EdgeKind.USED, EdgeKind.WAS_GENERATED_BY}
    assert result.truncated is False, "a filter is not a limit"


def test_node_kind_filter_keeps_the_start_and_walks_through_other_kinds(
    chain: GraphStore,
) -> None:
    result = chain.traverse(TraversalSpec(
        start=APPLICATIONS_V2, direction=Direction.IN,
        node_kinds=frozenset({NodeKind.MODEL_VERSION, NodeKind.DEPLOYMENT}),
    ))

    assert _depths(result) == {APPLICATIONS_V2: 0, V12: 3, DEPLOYMENT: 4}
    assert result.truncated is False
    _assert_edges_within_nodes(result)


def test_as_of_hides_nodes_recorded_as_created_later_and_what_lies_behind_them(
    chain: GraphStore,
) -> None:
    before_run = chain.traverse(
        TraversalSpec(start=APPLICATIONS_V2, direction=Direction.IN, as_of=_day(10.5))
    )
    before_v12 = chain.traverse(
        TraversalSpec(start=APPLICATIONS_V2, direction=Direction.IN, as_of=_day(11.5))
    )

    assert _depths(before_run) == {APPLICATIONS_V2: 0, SNAPSHOT: 1}
    assert _depths(before_v12) == {APPLICATIONS_V2: 0, SNAPSHOT: 1, RUN: 2}
    _assert_edges_within_nodes(before_v12)


def test_as_of_follows_an_edge_only_inside_its_validity_window(chain: GraphStore) -> None:
    def downstream_of_v12(day: float) -> dict[str, int]:
        return _depths(chain.traverse(
            TraversalSpec(start=V12, direction=Direction.IN, as_of=_day(day))
        ))

    assert downstream_of_v12(12.5) == {V12: 0}  # deployment exists, serving starts on day 13
    assert downstream_of_v12(13) == {V12: 0, DEPLOYMENT: 1}  # valid_from is inclusive
    assert downstream_of_v12(15.5) == {V12: 0, DEPLOYMENT: 1, BATCH: 1}
    assert downstream_of_v12(16) == {V12: 0, BATCH: 1}  # valid_to is exclusive


def test_as_of_returns_only_edges_valid_then(chain: GraphStore) -> None:
    result = chain.traverse(TraversalSpec(start=RUN, direction=Direction.BOTH, as_of=_day(16)))

    assert DEPLOYMENT not in result.depths
    assert all(e.kind is not EdgeKind.SERVED for e in result.edges)


def test_as_of_before_the_start_existed_is_not_found(chain: GraphStore) -> None:
    with pytest.raises(NotFoundError):
        chain.traverse(TraversalSpec(start=BATCH, direction=Direction.OUT, as_of=_day(14)))


def test_a_missing_start_is_not_found(chain: GraphStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        chain.traverse(TraversalSpec(start="model:lending_approval@v99"))

    assert "model:lending_approval@v99" in caught.value.message


def test_a_cycle_terminates_and_is_complete(store: GraphStore) -> None:
    ring = ["dataset:a@v1", "dataset:b@v1", "dataset:c@v1"]
    store.upsert_nodes([_node(i) for i in ring])
    store.upsert_edges([Edge(src=ring[i], kind=EdgeKind.WAS_DERIVED_FROM, dst=ring[(i + 1) % 3])
                        for i in range(3)])

    for direction, expected in [
        (Direction.OUT, {ring[0]: 0, ring[1]: 1, ring[2]: 2}),
        (Direction.IN, {ring[0]: 0, ring[2]: 1, ring[1]: 2}),
        (Direction.BOTH, {ring[0]: 0, ring[1]: 1, ring[2]: 1}),
    ]:
        result = store.traverse(TraversalSpec(start=ring[0], direction=direction))
        assert _depths(result) == expected
        assert result.truncated is False
        assert len(result.edges) == 3


def _long_chain(store: GraphStore, length: int) -> list[str]:
    ids = [f"dataset:step{i:02d}@v1" for i in range(length)]
    store.upsert_nodes([_node(i) for i in ids])
    store.upsert_edges([Edge(src=ids[i + 1], kind=EdgeKind.WAS_DERIVED_FROM, dst=ids[i])
                        for i in range(length - 1)])
    return ids


def test_max_depth_above_the_cap_is_clamped_to_the_cap(store: GraphStore) -> None:
    ids = _long_chain(store, MAX_DEPTH + 4)

    result = store.traverse(TraversalSpec(start=ids[0], direction=Direction.IN, max_depth=1000))

    assert _depths(result) == {ids[d]: d for d in range(MAX_DEPTH + 1)}
    assert result.truncated is True


def test_max_nodes_above_the_cap_is_accepted(store: GraphStore) -> None:
    ids = _long_chain(store, 5)

    result = store.traverse(
        TraversalSpec(start=ids[0], direction=Direction.IN, max_nodes=10_000_000)
    )

    assert len(result.nodes) == 5
    assert result.truncated is False


@pytest.mark.parametrize(
    ("build", "field"),
    [
        pytest.param(lambda: TraversalSpec(start=BATCH, max_depth=0), "max_depth", id="depth-0"),
        pytest.param(lambda: TraversalSpec(start=BATCH, max_depth=-1), "max_depth", id="depth-neg"),
        pytest.param(lambda: TraversalSpec(start=BATCH, max_nodes=0), "max_nodes", id="nodes-0"),
        pytest.param(lambda: TraversalSpec(start=BATCH, max_nodes=-5), "max_nodes", id="nodes-neg"),
    ],
)
def test_limits_below_one_are_invalid(build: Callable[[], TraversalSpec], field: str) -> None:
    with pytest.raises(InvalidError) as caught:
        build()

    assert caught.value.field == field
