"""traverse agrees with a plain breadth-first search in Python on random small DAGs."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind
from lineage.store import GraphStore, TraversalSpec

T0 = datetime(2024, 1, 10, tzinfo=UTC)
MAX_GRAPH_NODES = 8
EDGE_KINDS = (EdgeKind.WAS_DERIVED_FROM, EdgeKind.USED)

# Every example writes into the same store (hypothesis runs many examples per fixture), so each
# one names its nodes with a fresh prefix; traversals never cross into another example's nodes.
_example_numbers = itertools.count()


@st.composite
def dags(draw: st.DrawFn) -> tuple[int, list[tuple[int, EdgeKind, int]]]:
    """A node count and edges ``i -> j`` with ``i < j``, so the graph is acyclic."""
    size = draw(st.integers(min_value=1, max_value=MAX_GRAPH_NODES))
    pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=12)) if pairs else []
    edges = [(i, draw(st.sampled_from(EDGE_KINDS)), j) for i, j in chosen]
    return size, edges


def _bfs(
    edges: list[tuple[str, str]], start: str, direction: Direction, max_depth: int
) -> dict[str, int]:
    """Shortest depth of every node up to ``max_depth + 1`` hops from ``start``."""
    neighbours: dict[str, set[str]] = {}
    for src, dst in edges:
        if direction in (Direction.OUT, Direction.BOTH):
            neighbours.setdefault(src, set()).add(dst)
        if direction in (Direction.IN, Direction.BOTH):
            neighbours.setdefault(dst, set()).add(src)
    depths = {start: 0}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if depths[here] > max_depth:
            continue
        for there in neighbours.get(here, ()):
            if there not in depths:
                depths[there] = depths[here] + 1
                queue.append(there)
    return depths


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    graph=dags(),
    start_index=st.integers(min_value=0, max_value=MAX_GRAPH_NODES - 1),
    direction=st.sampled_from(list(Direction)),
    max_depth=st.integers(min_value=1, max_value=5),
    max_nodes=st.integers(min_value=1, max_value=MAX_GRAPH_NODES + 1),
)
def test_traversal_matches_a_python_breadth_first_search(
    store: GraphStore,
    graph: tuple[int, list[tuple[int, EdgeKind, int]]],
    start_index: int,
    direction: Direction,
    max_depth: int,
    max_nodes: int,
) -> None:
    size, edge_specs = graph
    prefix = f"x{next(_example_numbers)}"
    ids = [f"dataset:{prefix}_{i}@v1" for i in range(size)]
    store.upsert_nodes([Node(id=i, kind=NodeKind.DATASET_VERSION, valid_from=T0) for i in ids])
    store.upsert_edges([Edge(src=ids[i], kind=kind, dst=ids[j]) for i, kind, j in edge_specs])
    start = ids[start_index % size]

    result = store.traverse(TraversalSpec(start=start, direction=direction,
                                          max_depth=max_depth, max_nodes=max_nodes))

    reachable = _bfs([(ids[i], ids[j]) for i, _, j in edge_specs], start, direction, max_depth)
    within = {n: d for n, d in reachable.items() if d <= max_depth}
    beyond_depth = len(within) < len(reachable)
    got = {n.id: result.depths[n.id] for n in result.nodes}
    assert len(got) == len(result.nodes)

    if len(within) <= max_nodes:
        assert got == within
        assert result.truncated is beyond_depth
    else:
        assert len(got) == max_nodes
        assert result.truncated is True
        assert all(within.get(n) == d for n, d in got.items())
        # Breadth-first: a node is only left out if everything returned is at least as close.
        deepest = max(got.values())
        assert all(n in got for n, d in within.items() if d < deepest)

    returned = set(got)
    among = {f"{ids[i]}|{kind.value}|{ids[j]}|" for i, kind, j in edge_specs
             if ids[i] in returned and ids[j] in returned}
    assert sorted(e.key for e in result.edges) == sorted(among)
