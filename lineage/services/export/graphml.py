"""The bundle's ``graph.graphml``: the exported subgraph for Gephi, yEd or networkx.

A directed multigraph (two nodes may be linked by several edges: a deployment serving the same
version in two periods). Every node carries its kind, PROV class, label, validity window and
properties (canonical JSON text); every edge its kind, PROV relation, key, validity window and
properties. GraphML has no null, so an open end is the empty string.

The file is written one element at a time in the GraphML that networkx writes (the same key
declarations and attribute names; the tests read every bundle back with
``networkx.read_graphml``), because building a networkx graph first held a 10,000-batch
bundle in memory several times over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from lineage.model.canonical import canonical_json
from lineage.model.graph import Edge, Node
from lineage.model.times import to_text
from lineage.services.export.prov_json import prov_class, prov_relation

_NODE_KEYS = ("kind", "prov", "label", "valid_from", "valid_to", "props")
_EDGE_KEYS = ("kind", "prov", "key", "valid_from", "valid_to", "props")


def _data(key: str, value: str) -> str:
    return f'<data key="{key}">{escape(value)}</data>'


def write(out: IO[str], nodes: Sequence[Node], edges: Sequence[Edge]) -> None:
    """Write the GraphML of the nodes and edges, in the order given."""
    out.write(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
    )
    for name in _NODE_KEYS:
        out.write(f'<key id="n_{name}" for="node" attr.name="{name}" attr.type="string" />\n')
    for name in _EDGE_KEYS:
        out.write(f'<key id="e_{name}" for="edge" attr.name="{name}" attr.type="string" />\n')
    out.write(
        '<key id="g_name" for="graph" attr.name="name" attr.type="string" />\n'
        '<graph edgedefault="directed">\n'
        '<data key="g_name">lineage evidence bundle</data>\n'
    )
    for node in nodes:
        values = (
            node.kind.value,
            prov_class(node.kind).value,
            node.id.split(":", 1)[1],
            to_text(node.valid_from),
            to_text(node.valid_to) if node.valid_to else "",
            node.props_json(),
        )
        inner = "".join(_data(f"n_{k}", v) for k, v in zip(_NODE_KEYS, values, strict=True))
        out.write(f"<node id={quoteattr(node.id)}>{inner}</node>\n")
    for edge in edges:
        values = (
            edge.kind.value,
            prov_relation(edge.kind),
            edge.key,
            to_text(edge.valid_from) if edge.valid_from else "",
            to_text(edge.valid_to) if edge.valid_to else "",
            canonical_json(edge.props),
        )
        inner = "".join(_data(f"e_{k}", v) for k, v in zip(_EDGE_KEYS, values, strict=True))
        out.write(
            f"<edge source={quoteattr(edge.src)} target={quoteattr(edge.dst)} "
            f"id={quoteattr(edge.key)}>{inner}</edge>\n"
        )
    out.write("</graph>\n</graphml>\n")
