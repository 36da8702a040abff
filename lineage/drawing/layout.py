"""A layered (Sugiyama style) layout: upstream in the left columns, downstream in the right.

Steps: pick at most ``max_nodes`` nodes (nearest the focus first), break cycles by reversing the
back edges a depth-first walk finds, assign columns by longest path (sources then pulled right
next to what uses them), put a virtual point in every column a long edge crosses, order each
column by barycenter sweeps to reduce crossings, then place columns and rows on a grid.
Every choice breaks ties by input order, so the same input always gives the same layout.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from lineage.drawing.elements import DrawEdge, DrawNode

NODE_WIDTH = 200
NODE_HEIGHT = 46
COLUMN_GAP = 96
ROW_GAP = 22
VIRTUAL_HEIGHT = 14  # the room a long edge takes where it crosses a column
MARGIN = 16
SWEEPS = 4


@dataclass(frozen=True, slots=True)
class PlacedNode:
    """A node and the centre of its box."""

    node: DrawNode
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    """An edge and the points its line passes through, from ``src`` to ``dst``."""

    edge: DrawEdge
    points: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything goes; ``dropped`` counts the nodes left out by the budget."""

    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: int
    height: int
    dropped: int


def select(
    nodes: Sequence[DrawNode], edges: Sequence[DrawEdge], max_nodes: int
) -> tuple[list[DrawNode], list[DrawEdge], int]:
    """The distinct nodes to draw (the focus and its nearest neighbours first when the budget
    bites), the edges between them (merged per pair, self-loops kept), and how many nodes were
    dropped."""
    unique: dict[str, DrawNode] = {}
    for node in nodes:
        unique.setdefault(node.id, node)
    order = {node_id: i for i, node_id in enumerate(unique)}
    kept_ids = list(unique)
    if len(unique) > max_nodes:
        kept_ids = _nearest_first(unique, order, edges)[:max_nodes]
    kept = set(kept_ids)
    merged: dict[tuple[str, str], list[str]] = {}
    for edge in edges:
        if edge.src in kept and edge.dst in kept:
            labels = merged.setdefault((edge.src, edge.dst), [])
            if edge.label not in labels:
                labels.append(edge.label)
    drawn_edges = [DrawEdge(src, dst, ", ".join(labels)) for (src, dst), labels in merged.items()]
    return [unique[i] for i in kept_ids], drawn_edges, len(unique) - len(kept_ids)


def _nearest_first(
    unique: dict[str, DrawNode], order: dict[str, int], edges: Sequence[DrawEdge]
) -> list[str]:
    neighbours: dict[str, set[str]] = {node_id: set() for node_id in unique}
    for edge in edges:
        if edge.src in unique and edge.dst in unique:
            neighbours[edge.src].add(edge.dst)
            neighbours[edge.dst].add(edge.src)
    starts = [n.id for n in unique.values() if n.focus] or list(unique)
    seen: dict[str, None] = {}
    for start in starts + list(unique):
        if start in seen:
            continue
        seen[start] = None
        queue = deque([start])
        while queue:
            current = queue.popleft()
            for nxt in sorted(neighbours[current], key=order.__getitem__):
                if nxt not in seen:
                    seen[nxt] = None
                    queue.append(nxt)
    return list(seen)


def layered(nodes: Sequence[DrawNode], edges: Sequence[DrawEdge], max_nodes: int) -> Layout:
    """Lay ``nodes`` and ``edges`` out in columns, upstream (edge ``dst``) left of downstream."""
    kept, drawn, dropped = select(nodes, edges, max_nodes)
    if not kept:
        return Layout([], [], 0, 0, dropped)
    index = {node.id: i for i, node in enumerate(kept)}
    # Layout works on "flow" arcs from upstream (dst) to downstream (src).
    flows = [(index[e.dst], index[e.src]) for e in drawn if e.src != e.dst]
    acyclic = _break_cycles(len(kept), flows)
    column = _columns(len(kept), acyclic)
    rows, chains = _ordered_columns(len(kept), column, acyclic)
    x_of, y_of, width, height = _grid(rows, column, len(kept))

    placed_nodes = [PlacedNode(node, x_of[i], y_of[i]) for i, node in enumerate(kept)]
    placed_edges: list[PlacedEdge] = []
    for edge in drawn:
        src, dst = index[edge.src], index[edge.dst]
        if src == dst:
            points: tuple[tuple[int, int], ...] = ((x_of[src], y_of[src]),)
        else:
            chain = chains.get((dst, src)) or list(reversed(chains.get((src, dst), [])))
            via = [(x_of[v], y_of[v]) for v in chain]
            points = ((x_of[src], y_of[src]), *reversed(via), (x_of[dst], y_of[dst]))
        placed_edges.append(PlacedEdge(edge, points))
    return Layout(placed_nodes, placed_edges, width, height, dropped)


def _break_cycles(count: int, flows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The flow arcs with every back edge of a depth-first walk reversed: a DAG."""
    out: list[list[int]] = [[] for _ in range(count)]
    for a, b in flows:
        out[a].append(b)
    for targets in out:
        targets.sort()
    state = [0] * count  # 0 new, 1 on the stack, 2 done
    back: set[tuple[int, int]] = set()
    for root in range(count):
        if state[root]:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            current, i = stack[-1]
            if i < len(out[current]):
                stack[-1] = (current, i + 1)
                nxt = out[current][i]
                if state[nxt] == 1:
                    back.add((current, nxt))
                elif state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[current] = 2
                stack.pop()
    arcs = {(b, a) if (a, b) in back else (a, b) for a, b in flows}
    return sorted(arcs)


def _columns(count: int, arcs: list[tuple[int, int]]) -> list[int]:
    """Longest-path columns, then each source moved right next to its nearest user."""
    preds: list[list[int]] = [[] for _ in range(count)]
    succs: list[list[int]] = [[] for _ in range(count)]
    indegree = [0] * count
    for a, b in arcs:
        succs[a].append(b)
        preds[b].append(a)
        indegree[b] += 1
    ready = [i for i in range(count) if indegree[i] == 0]
    heapq.heapify(ready)
    topo: list[int] = []
    column = [0] * count
    while ready:
        current = heapq.heappop(ready)
        topo.append(current)
        for nxt in succs[current]:
            column[nxt] = max(column[nxt], column[current] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    for current in reversed(topo):
        if not preds[current] and succs[current]:
            column[current] = min(column[s] for s in succs[current]) - 1
    used = {c: i for i, c in enumerate(sorted(set(column)))}  # no empty column
    return [used[c] for c in column]


def _ordered_columns(
    count: int, column: list[int], arcs: list[tuple[int, int]]
) -> tuple[list[list[int]], dict[tuple[int, int], list[int]]]:
    """Each column's vertices top to bottom (virtual points of long edges get ids from
    ``count`` up), and the virtual points of each long arc, left to right."""
    column = list(column)
    links: list[tuple[int, int]] = []
    chains: dict[tuple[int, int], list[int]] = {}
    for a, b in arcs:
        previous = a
        chain: list[int] = []
        for col in range(column[a] + 1, column[b]):
            virtual = len(column)
            column.append(col)
            chain.append(virtual)
            links.append((previous, virtual))
            previous = virtual
        links.append((previous, b))
        if chain:
            chains[(a, b)] = chain
    left: list[list[int]] = [[] for _ in column]
    right: list[list[int]] = [[] for _ in column]
    for a, b in links:
        right[a].append(b)
        left[b].append(a)
    rows: list[list[int]] = [[] for _ in range(max(column) + 1)]
    for vertex in range(len(column)):
        rows[column[vertex]].append(vertex)
    position = {v: i for row in rows for i, v in enumerate(row)}
    best = [list(row) for row in rows]
    best_crossings = _crossings(rows, right, position)
    for sweep in range(SWEEPS):
        order = range(1, len(rows)) if sweep % 2 == 0 else range(len(rows) - 2, -1, -1)
        fixed = left if sweep % 2 == 0 else right
        for col in order:
            rows[col] = _by_barycenter(rows[col], fixed, position)
            position.update({v: i for i, v in enumerate(rows[col])})
        crossings = _crossings(rows, right, position)
        if crossings < best_crossings:
            best, best_crossings = [list(row) for row in rows], crossings
    del count
    return best, chains


def _by_barycenter(row: list[int], fixed: list[list[int]], position: dict[int, int]) -> list[int]:
    def key(vertex: int) -> tuple[float, int]:
        neighbours = fixed[vertex]
        if not neighbours:
            return (float(position[vertex]), position[vertex])
        return (sum(position[n] for n in neighbours) / len(neighbours), position[vertex])

    return sorted(row, key=key)


def _crossings(rows: list[list[int]], right: list[list[int]], position: dict[int, int]) -> int:
    total = 0
    for row in rows[:-1]:
        pairs = sorted(
            (position[a], position[b]) for a in row for b in right[a]
        )
        for i, (_, low) in enumerate(pairs):
            total += sum(1 for _, other in pairs[i + 1 :] if other < low)
    return total


def _grid(
    rows: list[list[int]], column: list[int], count: int
) -> tuple[dict[int, int], dict[int, int], int, int]:
    """Centres: columns evenly spaced, each column's vertices stacked and centred vertically."""
    del column

    def height_of(vertex: int) -> int:
        return NODE_HEIGHT if vertex < count else VIRTUAL_HEIGHT

    heights = [sum(height_of(v) for v in row) + ROW_GAP * max(len(row) - 1, 0) for row in rows]
    tallest = max(heights)
    x_of: dict[int, int] = {}
    y_of: dict[int, int] = {}
    for col, row in enumerate(rows):
        x = MARGIN + NODE_WIDTH // 2 + col * (NODE_WIDTH + COLUMN_GAP)
        top = MARGIN + (tallest - heights[col]) // 2
        for vertex in row:
            x_of[vertex] = x
            y_of[vertex] = top + height_of(vertex) // 2
            top += height_of(vertex) + ROW_GAP
    width = 2 * MARGIN + len(rows) * NODE_WIDTH + (len(rows) - 1) * COLUMN_GAP
    return x_of, y_of, width, tallest + 2 * MARGIN
