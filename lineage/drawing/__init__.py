"""Server-side drawing of provenance graphs as inline SVG, shared by the web view (/ui) and
the regulator export's ``report.html``: a layered layout (upstream left, downstream right)
rendered in W3C PROV's visual convention, self-contained and byte-for-byte deterministic."""

from __future__ import annotations

from lineage.drawing.elements import DrawEdge, Drawing, DrawNode
from lineage.drawing.subgraph import edge_label, from_subgraph, node_label, short_time
from lineage.drawing.svg import layered_svg

__all__ = [
    "DrawEdge",
    "DrawNode",
    "Drawing",
    "edge_label",
    "from_subgraph",
    "layered_svg",
    "node_label",
    "short_time",
]
