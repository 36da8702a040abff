"""The nodes and edges one OpenLineage event writes, over the nodes it read.

A plan reads each node at most once (``prefetch`` takes many in one round trip), holds what the
event makes of them, and in the end writes only the nodes whose content changed, so an event
that changes nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.openlineage import ids, merge
from lineage.openlineage.events import DatasetRef
from lineage.store.base import GraphStore


class WritePlan:
    """The nodes and edges one event writes, over the nodes it read."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.read: dict[str, Node | None] = {}
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, Edge] = {}

    def prefetch(self, wanted: Iterable[str]) -> None:
        """Read the nodes among ``wanted`` not read yet, in one round trip."""
        missing = sorted({i for i in wanted if i not in self.read})
        if missing:
            found = self.store.get_nodes(missing)
            self.read |= {i: found.get(i) for i in missing}

    def current(self, node_id: str) -> Node | None:
        """The node as this plan writes it, else as stored (None: nowhere)."""
        if node_id in self.nodes:
            return self.nodes[node_id]
        if node_id not in self.read:
            self.prefetch([node_id])
        return self.read[node_id]

    def put(self, node: Node) -> Node:
        """Write ``node`` (replacing what the plan held for its ID)."""
        self.nodes[node.id] = node
        return node

    def if_missing(self, node_id: str, make: Callable[[], Node]) -> Node:
        """The node, built by ``make`` only when it exists neither here nor in the store."""
        return self.current(node_id) or self.put(make())

    def edge(self, src: str, kind: EdgeKind, dst: str, **props: Any) -> None:
        """Write an edge (structural: no validity window)."""
        made = Edge(src, kind, dst, props)
        self.edges[made.key] = made

    def changed(self) -> list[Node]:
        """The nodes whose content differs from what is stored: the ones to write."""
        found = []
        for node in self.nodes.values():
            old = self.read.get(node.id)
            if old is node:  # merge.merge_facts found nothing to add
                continue
            if old is None or old.content_hash() != node.content_hash():
                found.append(node)
        return found

    def merge(self, facts: Node, lists: Sequence[str] = ()) -> str:
        """Write ``facts`` merged into the stored node (:func:`merge.merge_facts`)."""
        node = self.put(merge.merge_facts(self.current(facts.id), facts, lists))
        dataset = node.props.get("dataset")
        if node.kind is NodeKind.DATASET_VERSION and isinstance(dataset, str):
            self.edge(node.id, EdgeKind.SPECIALIZATION_OF, dataset)
        return node.id

    def column(self, namespace: str, name: str, field_name: str, at: datetime) -> str:
        """The Column node of a dataset's field (and the Dataset), created if missing."""
        column_id = ids.column_id(namespace, name, field_name)
        if column_id in self.nodes or self.current(column_id) is not None:
            return column_id
        dataset_id = ids.dataset_id(namespace, name)
        self.if_missing(dataset_id, lambda: dataset_node(dataset_id, namespace, name, at))
        self.put(Node(column_id, NodeKind.COLUMN, at, {"dataset": dataset_id, "field": field_name}))
        return column_id

    def column_lineage(self, ref: DatasetRef, at: datetime) -> None:
        """``output column -WAS_DERIVED_FROM-> input column`` for a ``columnLineage`` facet.

        A column lists the columns it was seen derived from (``derived_from``), so a job that
        runs every hour writes its column edges once, not every hour: only a new source changes
        the column and adds an edge.
        """
        for column, sources in ref.lineage.items():
            target = self.column(ref.namespace, ref.name, column, at)
            origins = {self.column(s.namespace, s.name, s.field, at) for s in sources} - {target}
            node = self.current(target)
            assert node is not None  # self.column made sure of it
            known = set(node.props.get("derived_from") or [])
            if origins <= known:
                continue
            props = dict(node.props) | {"derived_from": sorted(known | origins)}
            self.put(Node(target, NodeKind.COLUMN, node.valid_from, props))
            for origin in sorted(origins - known):
                self.edge(target, EdgeKind.WAS_DERIVED_FROM, origin)


def dataset_node(dataset_id: str, namespace: str, name: str, at: datetime) -> Node:
    """A Dataset node as first seen: its ID name and its OpenLineage namespace and name."""
    return Node(
        dataset_id,
        NodeKind.DATASET,
        at,
        {"name": parse_id(dataset_id).name, "ol_namespace": namespace, "ol_name": name},
    )
