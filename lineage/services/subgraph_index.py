"""A walked subgraph indexed by edge end, the way the investigators' questions navigate it."""

from __future__ import annotations

from collections import defaultdict

from lineage.model.graph import Edge, EdgeKind, Node, NodeKind, Subgraph


class SubgraphIndex:
    """A subgraph's nodes and edges, indexed by end."""

    def __init__(self, sub: Subgraph) -> None:
        self.nodes = {n.id: n for n in sub.nodes}
        self._out: dict[str, list[Edge]] = defaultdict(list)
        self._in: dict[str, list[Edge]] = defaultdict(list)
        for edge in sub.edges:
            self._out[edge.src].append(edge)
            self._in[edge.dst].append(edge)

    def outgoing(self, node_id: str, kind: EdgeKind) -> list[Edge]:
        """Edges of ``kind`` leaving ``node_id``."""
        return [e for e in self._out.get(node_id, []) if e.kind is kind]

    def incoming(self, node_id: str, kind: EdgeKind) -> list[Edge]:
        """Edges of ``kind`` arriving at ``node_id``."""
        return [e for e in self._in.get(node_id, []) if e.kind is kind]

    def targets(self, node_id: str, kind: EdgeKind, of: NodeKind | None = None) -> list[Node]:
        """Distinct nodes ``node_id`` points at over ``kind`` edges, by ID."""
        return self._ends([e.dst for e in self.outgoing(node_id, kind)], of)

    def sources(self, node_id: str, kind: EdgeKind, of: NodeKind | None = None) -> list[Node]:
        """Distinct nodes pointing at ``node_id`` over ``kind`` edges, by ID."""
        return self._ends([e.src for e in self.incoming(node_id, kind)], of)

    def _ends(self, ids: list[str], of: NodeKind | None) -> list[Node]:
        found = [self.nodes[i] for i in sorted(set(ids)) if i in self.nodes]
        return [n for n in found if of is None or n.kind is of]
