"""What the questions read, with the corrections known at an instant applied.

A correction (see :mod:`lineage.services.corrections`) never rewrites the node it corrects: it is
a node of its own, ``correction:<stem>-<n>``, whose ID is derived from its target's, so the
corrections of a thousand nodes are found in one ``get_nodes`` round trip (one more per target
that has a second correction, and so on).

Every question has a "known as of" instant K: its ``asOf`` when it has one, else now. The
corrections recorded at or before K apply, in order: their ``changes`` patch the node's
properties, the edges they hide are dropped, and the edges added by corrections recorded after K
are dropped too. So a question asked ``asOf`` an instant before a correction answers as the graph
stood then, and without ``asOf`` it answers with the corrected facts.

When the store holds no correction at all (one indexed ``find_nodes``), reads go straight to the
store and cost nothing more.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from lineage.model.canonical import canonical_json
from lineage.model.graph import Direction, Edge, Node, NodeKind, Subgraph
from lineage.model.times import utcnow
from lineage.services.correctable import CARRY_CORRECTIONS
from lineage.store.base import GraphStore, NodeQuery, TraversalSpec

ADDED = "added_edges"  # correction property: keys of the edges it adds
HIDDEN = "hidden_edges"  # correction property: keys of the edges it hides
_STEM_HEX = 24


def correction_id(target: str, n: int) -> str:
    """The ID of the ``n``-th correction (from 1) of ``target``."""
    return f"correction:{_stem(target)}-{n}"


# Walks keep meeting the same nodes; hashing a thousand IDs per walk was a third of the lookup.
@lru_cache(maxsize=1 << 16)
def _stem(target: str) -> str:
    return hashlib.sha256(target.encode()).hexdigest()[:_STEM_HEX]


def corrections_of(store: GraphStore, targets: Iterable[str]) -> dict[str, list[Node]]:
    """Every correction of each target that has one, oldest first.

    One ``get_nodes`` for the first corrections, then one per further round, asking only for the
    targets whose previous correction was found.
    """
    stems = {target: _stem(target) for target in dict.fromkeys(targets)}
    found: dict[str, list[Node]] = {}
    pending = list(stems)
    n = 1
    while pending:
        wanted = {f"correction:{stems[t]}-{n}": t for t in pending}
        got = store.get_nodes(list(wanted))
        pending = []
        for correction_id_, node in got.items():
            target = wanted[correction_id_]
            found.setdefault(target, []).append(node)
            pending.append(target)
        n += 1
    return found


def history(store: GraphStore, target: str) -> list[Node]:
    """Every correction of ``target``, oldest first."""
    return corrections_of(store, [target]).get(target, [])


def patch(props: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``props`` with ``changes`` applied: a value replaces, None removes."""
    patched = dict(props)
    for name, value in changes.items():
        if value is None:
            patched.pop(name, None)
        else:
            patched[name] = value
    return patched


class CorrectedNode(Node):
    """A node as the questions show it: its properties patched by the corrections known at the
    question's instant, listed oldest first in ``corrected_by``.

    The patched properties are computed on first read: most of a walk's readers look at IDs,
    kinds and times only, and a batch's properties are large."""

    __slots__ = ("_changes", "_stored", "corrected_by")
    corrected_by: tuple[str, ...]
    _stored: Node
    _changes: tuple[Mapping[str, Any], ...]

    @classmethod
    def of(
        cls, node: Node, changes: Sequence[Mapping[str, Any]], corrected_by: Sequence[str]
    ) -> CorrectedNode:
        """``node`` with ``changes`` applied in order."""
        view = object.__new__(cls)
        for name in ("id", "kind", "valid_from", "valid_to", "recorded_at"):
            object.__setattr__(view, name, getattr(node, name))
        object.__setattr__(view, "_props", None)
        object.__setattr__(view, "_props_json", None)
        object.__setattr__(view, "_hash", None)
        object.__setattr__(view, "_stored", node)
        object.__setattr__(view, "_changes", tuple(changes))
        object.__setattr__(view, "corrected_by", tuple(corrected_by))
        return view

    @property
    def props(self) -> dict[str, Any]:
        """The stored properties with the corrections applied."""
        if self._props is None:
            props = self._stored.props
            for changes in self._changes:
                props = patch(props, changes)
            object.__setattr__(self, "_props", props)
        assert self._props is not None
        return self._props

    def props_json(self) -> str:
        """The canonical JSON of the corrected ``props``."""
        if self._props_json is None:
            object.__setattr__(self, "_props_json", canonical_json(self.props))
        assert self._props_json is not None
        return self._props_json


class Overlay:
    """The corrections of some nodes, applied as known at ``at``."""

    def __init__(self, at: datetime, corrections: Mapping[str, list[Node]]) -> None:
        self.at = at
        self.corrections = corrections  # target -> all its corrections, oldest first

    def known(self, target: str) -> list[Node]:
        """The corrections of ``target`` recorded at or before ``at``."""
        return [c for c in self.corrections.get(target, ()) if c.valid_from <= self.at]

    def node(self, node: Node) -> Node:
        """``node`` as corrected at ``at`` (itself when nothing applies)."""
        if node.id not in self.corrections:
            return node
        applied = self.known(node.id)
        if not applied:
            return node
        return CorrectedNode.of(
            node, [c.props["changes"] for c in applied], [c.id for c in applied]
        )

    def edge_visible(self, edge: Edge) -> bool:
        """Whether ``edge`` holds at ``at``: corrections only touch edges from their target."""
        corrections = self.corrections.get(edge.src)
        if not corrections:
            return True
        key = edge.key
        state: bool | None = None
        for c in corrections:
            if key in c.props.get(ADDED, ()):
                adds = True
            elif key in c.props.get(HIDDEN, ()):
                adds = False
            else:
                continue
            if state is None:
                # Before its first correction the edge held if that correction hid it, and did
                # not exist if that correction added it.
                state = not adds
            if c.valid_from > self.at:
                break
            state = adds
        return True if state is None else state

    def subgraph(self, sub: Subgraph, spec: TraversalSpec) -> Subgraph:
        """``sub`` (what ``spec`` walked) as corrected: properties patched, hidden edges and
        corrections recorded after ``at`` dropped, and, when the walk returned every kind,
        what is no longer reachable from the start over the edges that hold."""
        corrected = self.corrections
        changed = dropped = False
        nodes: list[Node] = []
        for n in sub.nodes:
            if n.id in corrected:
                view = self.node(n)
                changed = changed or view is not n
                nodes.append(view)
            elif n.kind is NodeKind.CORRECTION and n.valid_from > self.at:
                dropped = True
            else:
                nodes.append(n)
        edges = [e for e in sub.edges if e.src not in corrected or self.edge_visible(e)]
        if dropped:
            kept = {n.id for n in nodes}
            edges = [e for e in edges if e.src in kept and e.dst in kept]
        if not changed and not dropped and len(edges) == len(sub.edges):
            return sub
        if len(edges) == len(sub.edges) or spec.node_kinds is not None:
            # Questions that filter kinds navigate by edges, so dropping the hidden ones is
            # enough; reachability over a kind-filtered subgraph would miss paths through the
            # kinds left out (``impact`` walks every kind when it must: CorrectedReads).
            depths = sub.depths
            if dropped:
                depths = {n.id: sub.depths[n.id] for n in nodes if n.id in sub.depths}
            return Subgraph(nodes=nodes, edges=edges, truncated=sub.truncated, depths=depths)
        depths, beyond = _reach(spec.start, edges, spec.direction, spec.max_depth)
        nodes = sorted((n for n in nodes if n.id in depths), key=lambda n: (depths[n.id], n.id))
        edges = [e for e in edges if e.src in depths and e.dst in depths]
        return Subgraph(nodes=nodes, edges=edges, truncated=sub.truncated or beyond, depths=depths)


def _reach(
    start: str, edges: Sequence[Edge], direction: Direction, max_depth: int
) -> tuple[dict[str, int], bool]:
    """Depth of every node reachable from ``start`` within ``max_depth`` over ``edges``, and
    whether one lies further."""
    step: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        if direction in (Direction.OUT, Direction.BOTH):
            step[e.src].append(e.dst)
        if direction in (Direction.IN, Direction.BOTH):
            step[e.dst].append(e.src)
    depths = {start: 0}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for there in step.get(here, ()):
            if there in depths:
                continue
            if depths[here] == max_depth:
                return depths, True
            depths[there] = depths[here] + 1
            queue.append(there)
    return depths, False


class CorrectedReads:
    """A question's reads, with the corrections known at ``at`` (default: now) applied.

    Corrections found are kept for the question's later reads; whether the store holds any
    correction at all is asked once.
    """

    def __init__(self, store: GraphStore, at: datetime | None = None) -> None:
        self.store = store
        self.at = at if at is not None else utcnow()
        self._active: bool | None = None
        self._found: dict[str, list[Node]] = {}
        self._asked: set[str] = set()

    @property
    def active(self) -> bool:
        """Whether the store holds any correction (asked once)."""
        if self._active is None:
            page = self.store.find_nodes(NodeQuery(kind=NodeKind.CORRECTION, limit=1))
            self._active = bool(page.items)
        return self._active

    def overlay(self, nodes: Iterable[Node]) -> Overlay:
        """The overlay for ``nodes``: their corrections, read once per question."""
        targets = {n.id for n in nodes if n.kind in CARRY_CORRECTIONS}
        missing = targets - self._asked
        if missing:
            self._found |= corrections_of(self.store, missing)
            self._asked |= missing
        return Overlay(self.at, self._found)

    def applied(self, target: str) -> list[Node]:
        """The corrections of ``target`` known at ``at``, among those already read."""
        return [c for c in self._found.get(target, ()) if c.valid_from <= self.at]

    def traverse(self, spec: TraversalSpec, *, exact: bool = False) -> Subgraph:
        """The store's walk, corrected. ``exact``: a kind-filtered walk returns exactly what a
        walk of the corrected graph would (it walks every kind, then filters)."""
        if not self.active:
            return self.store.traverse(spec)
        kinds = spec.node_kinds
        walk = replace(spec, node_kinds=None) if exact and kinds is not None else spec
        sub = self.store.traverse(walk)
        fixed = self.overlay(sub.nodes).subgraph(sub, walk)
        if kinds is None or walk is spec:
            return fixed
        nodes = [n for n in fixed.nodes if n.kind in kinds or n.id == spec.start]
        kept = {n.id for n in nodes}
        return Subgraph(
            nodes=nodes,
            edges=[e for e in fixed.edges if e.src in kept and e.dst in kept],
            truncated=fixed.truncated,
            depths={i: d for i, d in fixed.depths.items() if i in kept},
        )

    def get_nodes(self, ids: Sequence[str]) -> dict[str, Node]:
        """The store's nodes among ``ids``, corrected."""
        found = self.store.get_nodes(ids)
        if not found or not self.active:
            return found
        overlay = self.overlay(found.values())
        return {i: overlay.node(n) for i, n in found.items()}

    def nodes(self, nodes: Sequence[Node]) -> list[Node]:
        """Nodes already read, corrected."""
        if not nodes or not self.active:
            return list(nodes)
        overlay = self.overlay(nodes)
        return [overlay.node(n) for n in nodes]
