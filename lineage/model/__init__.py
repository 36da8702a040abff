"""The provenance graph model: IDs, node and edge kinds, times, input records."""

from __future__ import annotations

from lineage.model.graph import (
    Direction,
    Edge,
    EdgeKind,
    Node,
    NodeKind,
    Page,
    Subgraph,
)
from lineage.model.ids import NodeId, kind_of, parse_id

__all__ = [
    "Direction",
    "Edge",
    "EdgeKind",
    "Node",
    "NodeId",
    "NodeKind",
    "Page",
    "Subgraph",
    "kind_of",
    "parse_id",
]
