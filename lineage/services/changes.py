"""What changed upstream of a node in a window: the first question of every incident.

A change is a node registered (its ``valid_from``) or ended (its ``valid_to``: a person
leaving), a correction recorded, or a temporal edge that started or ended (a new owner, a
deployment switching version, a rollback linked to its incident). Structural edges come with
the node that registered them and are not listed apart.

Asked of a model or a model version, the question covers what the model *is* in production,
not only what it was built from: its versions, the deployments serving them, the evaluations,
bias audits, gate results and sign-offs recorded against them, and the incidents that name
them. The upstream of each version that existed or served in the window is walked too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lineage.errors import InvalidError
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind, Subgraph
from lineage.model.ids import parse_id
from lineage.model.times import require_aware
from lineage.services.answers import Change, ChangeKind, UpstreamChanges
from lineage.services.corrected import CorrectedReads
from lineage.services.governance.evidence import EVIDENCE_KINDS
from lineage.services.names import resolve_any, walk
from lineage.store.base import MAX_DEPTH, MAX_NODES, GraphStore, TraversalSpec

# What stands around a model version in production: the model's versions, the deployments
# serving them, the evidence recorded against them (``evaluation -USED-> version``) and the
# incidents that name them.
_AROUND_EDGES = frozenset(
    {EdgeKind.SPECIALIZATION_OF, EdgeKind.SERVED, EdgeKind.USED, EdgeKind.AFFECTED}
)
_AROUND_KINDS = EVIDENCE_KINDS | {NodeKind.MODEL_VERSION, NodeKind.DEPLOYMENT, NodeKind.INCIDENT}
# A deployment's own facts: the incident a rollback answered, its fallback rules. Its SERVED
# edges come with the versions; following them would list every version it ever served.
_DEPLOYMENT_EDGES = frozenset(EdgeKind) - {EdgeKind.SERVED, EdgeKind.STANDS_BY}


def upstream_changes(
    store: GraphStore, node: str, since: datetime, until: datetime | None = None
) -> UpstreamChanges:
    """What changed upstream of ``node`` in [``since``, ``until``] (both included; no
    ``until``: up to now), newest first.

    ``node`` is a full ID or an unambiguous short name. The start node's own edges and
    corrections count (its owners are upstream of it); its own registration does not. For a
    model or a model version, the versions, deployments, evidence and incidents around it count
    too (see the module docstring). ``depth`` is hops from ``node`` (through the version or
    deployment for what stands around it). Every correction recorded by now applies, so a
    re-attributed batch lists its new deployment's changes, not the old.
    """
    start = resolve_any(store, node, "node")
    lo = require_aware(since, "since")
    hi = require_aware(until, "until") if until is not None else None
    if hi is not None and hi < lo:
        raise InvalidError("must not be before since", field="until")
    reads = CorrectedReads(store)
    kind = parse_id(start, "node").kind
    found = _Found()
    anchors: dict[str, int] = {start: 0}
    deployments: list[str] = []
    if kind in (NodeKind.MODEL, NodeKind.MODEL_VERSION):
        around = walk(
            reads,
            TraversalSpec(
                start=start,
                direction=Direction.IN,
                edge_kinds=_AROUND_EDGES,
                node_kinds=_AROUND_KINDS,
                # model <- version <- deployment, evidence, incident <- incident (AFFECTED
                # the deployment)
                max_depth=3 if kind is NodeKind.MODEL else 2,
                max_nodes=MAX_NODES,
            ),
            "node",
        )
        found.add(around, 0)
        deployments = [n.id for n in around.nodes if n.kind is NodeKind.DEPLOYMENT]
        for version in _versions_in_window(around, start, lo, hi):
            anchors.setdefault(version.id, around.depths.get(version.id, 1))
    for anchor, depth in anchors.items():
        spec = TraversalSpec(
            start=anchor, direction=Direction.OUT, max_depth=MAX_DEPTH, max_nodes=MAX_NODES
        )
        found.add(walk(reads, spec, "node"), depth)
    for deployment in deployments:
        spec = TraversalSpec(
            start=deployment,
            direction=Direction.OUT,
            edge_kinds=_DEPLOYMENT_EDGES,
            max_depth=1,
            max_nodes=MAX_NODES,
        )
        own = walk(reads, spec, "node")
        # One hop is the whole of a deployment's own facts: only a full budget cut one short.
        found.add(own, found.depths[deployment], cut=len(own.nodes) >= spec.max_nodes)
    changes = [c for c in _changes(reads, found, start, lo) if hi is None or c.at <= hi]
    changes.sort(key=Change.order)
    changes.sort(key=lambda c: c.at, reverse=True)
    return UpstreamChanges(changes=changes, truncated=found.truncated)


class _Found:
    """The union of several walks: nodes, edges by key, the least depth of each node."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, Edge] = {}
        self.depths: dict[str, int] = {}
        self.truncated = False

    def add(self, sub: Subgraph, offset: int, cut: bool | None = None) -> None:
        """Merge ``sub``, whose depths count from a node ``offset`` hops from the start;
        ``cut`` overrides ``sub.truncated`` for a walk bounded on purpose."""
        for n in sub.nodes:
            self.nodes.setdefault(n.id, n)
            depth = sub.depths.get(n.id, 0) + offset
            self.depths[n.id] = min(self.depths.get(n.id, depth), depth)
        for e in sub.edges:
            self.edges.setdefault(e.key, e)
        self.truncated = self.truncated or (sub.truncated if cut is None else cut)


def _versions_in_window(
    around: Subgraph, start: str, lo: datetime, hi: datetime | None
) -> list[Node]:
    """A model's versions that were registered in the window or served during it: the ones
    whose upstream can explain what production did then."""
    served: dict[str, list[Edge]] = {}
    for e in around.edges:
        if e.kind is EdgeKind.SERVED:
            served.setdefault(e.dst, []).append(e)
    chosen = []
    for n in around.nodes:
        if n.kind is not NodeKind.MODEL_VERSION or n.id == start:
            continue
        registered = n.valid_from >= lo and (hi is None or n.valid_from <= hi)
        serving = any(_overlaps(e, lo, hi) for e in served.get(n.id, []))
        if registered or serving:
            chosen.append(n)
    return sorted(chosen, key=lambda n: n.id)


def _overlaps(edge: Edge, lo: datetime, hi: datetime | None) -> bool:
    began = edge.valid_from is None or hi is None or edge.valid_from <= hi
    return began and (edge.valid_to is None or edge.valid_to >= lo)


def _changes(
    reads: CorrectedReads, found: _Found, start: str, cutoff: datetime
) -> Iterable[Change]:
    """Every change among what the walks found, at or after ``cutoff``, in no order."""
    for n in found.nodes.values():
        depth = found.depths.get(n.id)
        for c in reads.applied(n.id):
            if c.valid_from >= cutoff:
                yield Change(c.valid_from, ChangeKind.CORRECTED, n, depth=depth, correction=c)
        if n.id == start:
            continue
        if n.valid_from >= cutoff:
            yield Change(n.valid_from, ChangeKind.REGISTERED, n, depth=depth)
        if n.valid_to is not None and n.valid_to >= cutoff:
            yield Change(n.valid_to, ChangeKind.ENDED, n, depth=depth)
    for e in found.edges.values():
        if e.valid_from is None:  # structural: it came with the node that registered it
            continue
        if e.kind is EdgeKind.STANDS_BY:
            continue  # a version without traffic decides nothing; SERVED lists what moved
        if e.src not in found.nodes:
            continue
        depth = found.depths.get(e.src)
        if e.valid_from >= cutoff:
            yield Change(e.valid_from, ChangeKind.STARTED, found.nodes[e.src], e, depth)
        if e.valid_to is not None and e.valid_to >= cutoff:
            yield Change(e.valid_to, ChangeKind.ENDED, found.nodes[e.src], e, depth)
