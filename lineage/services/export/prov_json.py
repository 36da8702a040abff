"""The bundle's W3C PROV documents: ``provenance.json`` (PROV-JSON) and ``provenance.provn``.

The graph is PROV-shaped already (DESIGN.md section 3), so this is a mapping: each node is an
entity, activity or agent as its kind says (:attr:`NodeKind.prov`), each edge the relation its
kind exports as (:attr:`EdgeKind.prov`). Where an edge's ends are not of the classes PROV
requires for that relation (a gate result, an entity, ``USED`` an evaluation), it is exported as
``prov:wasInfluencedBy``, which PROV allows between any two. Every record keeps what the
service knows in ``lin:`` attributes: the kind, the validity window, each property (objects and
lists as canonical JSON text), and for a relation the edge kind and key.

PROV-JSON is written here one record at a time, in the layout the ``prov`` package writes (a
reader we did not write: the tests load every bundle with it and compare the counts), so a
version with 10,000 batches is never held as one document. PROV-N is written by the ``prov``
package from that JSON, for bundles of up to :data:`PROVN_LIMIT` records; a larger bundle
omits it and its manifest says so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from prov.model import ProvDocument

from lineage.model.canonical import canonical_json, sha256_text
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind, ProvClass
from lineage.model.times import to_text

NAMESPACE = "https://lineage.invalid/ns#"
PREFIX = "lin"

# The classes each PROV relation takes, (first argument, second argument).
_SIGNATURE: dict[str, tuple[ProvClass, ProvClass]] = {
    "prov:used": (ProvClass.ACTIVITY, ProvClass.ENTITY),
    "prov:wasGeneratedBy": (ProvClass.ENTITY, ProvClass.ACTIVITY),
    "prov:wasDerivedFrom": (ProvClass.ENTITY, ProvClass.ENTITY),
    "prov:wasAssociatedWith": (ProvClass.ACTIVITY, ProvClass.AGENT),
    "prov:wasAttributedTo": (ProvClass.ENTITY, ProvClass.AGENT),
    "prov:actedOnBehalfOf": (ProvClass.AGENT, ProvClass.AGENT),
    "prov:specializationOf": (ProvClass.ENTITY, ProvClass.ENTITY),
    "prov:hadMember": (ProvClass.ENTITY, ProvClass.ENTITY),
}


def qname(node_id: str) -> str:
    """The qualified name of a node: ``lin:`` and its ID."""
    return f"{PREFIX}:{node_id}"


def prov_class(kind: NodeKind) -> ProvClass:
    """The PROV class of a node kind; ``prov:Entity`` for a kind the model gives none yet."""
    try:
        return kind.prov
    except KeyError:
        return ProvClass.ENTITY


def prov_relation(kind: EdgeKind) -> str:
    """The PROV relation of an edge kind; ``prov:wasInfluencedBy`` (which PROV allows between
    anything) for a kind the model gives none yet, so a new kind never breaks an export."""
    try:
        return kind.prov
    except KeyError:
        return "prov:wasInfluencedBy"


def relation_of(edge: Edge, classes: dict[str, ProvClass]) -> str:
    """The PROV relation ``edge`` exports as, given the PROV class of each node."""
    relation = prov_relation(edge.kind)
    wanted = _SIGNATURE.get(relation)
    if wanted is not None and (classes.get(edge.src), classes.get(edge.dst)) != wanted:
        return "prov:wasInfluencedBy"
    return relation


_ARGUMENTS: dict[str, tuple[str, str]] = {
    "prov:used": ("prov:activity", "prov:entity"),
    "prov:wasGeneratedBy": ("prov:entity", "prov:activity"),
    "prov:wasDerivedFrom": ("prov:generatedEntity", "prov:usedEntity"),
    "prov:wasAssociatedWith": ("prov:activity", "prov:agent"),
    "prov:wasAttributedTo": ("prov:entity", "prov:agent"),
    "prov:actedOnBehalfOf": ("prov:delegate", "prov:responsible"),
    "prov:specializationOf": ("prov:specificEntity", "prov:generalEntity"),
    "prov:hadMember": ("prov:collection", "prov:entity"),
    "prov:wasInfluencedBy": ("prov:influencee", "prov:influencer"),
}
_UNNAMED = {"prov:specializationOf", "prov:hadMember"}  # PROV gives these no identifier
_SECTIONS = ("entity", "activity", "agent")
PROVN_LIMIT = 5_000  # records up to which PROV-N is written (by the prov package, in memory)


def _literal(value: Any) -> Any:
    # As the prov package writes them: objects and lists as canonical JSON text, booleans as
    # words, floats as typed literals, strings and integers as they are.
    if isinstance(value, dict | list) or value is None:
        return canonical_json(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"$": repr(value), "type": "xsd:double"}
    return value


def _attributes(node_or_edge: Node | Edge) -> dict[str, Any]:
    # Decoded here and dropped after: a node's cached ``props`` would keep every batch's
    # decoded statistics alive for the whole export.
    props = json.loads(node_or_edge.props_json())
    found = {f"{PREFIX}:{k}": _literal(v) for k, v in sorted(props.items())}
    if node_or_edge.valid_from is not None:
        found[f"{PREFIX}:valid_from"] = to_text(node_or_edge.valid_from)
    if node_or_edge.valid_to is not None:
        found[f"{PREFIX}:valid_to"] = to_text(node_or_edge.valid_to)
    return found


class TextSink(Protocol):
    """Where text is written (a file, or a tee that keeps a copy)."""

    def write(self, text: str, /) -> int:
        """Write ``text``."""


def write_json(out: TextSink, nodes: Sequence[Node], edges: Sequence[Edge]) -> dict[str, int]:
    """Write the PROV-JSON document of the nodes and edges, one record at a time (the
    document is never held whole), and return how many records of each PROV type it holds:
    what a reader should count when it loads it. Records come in the order given."""
    classes = {n.id: prov_class(n.kind) for n in nodes}
    counts: dict[str, int] = {}
    out.write('{\n"prefix": ' + json.dumps({PREFIX: NAMESPACE}))
    for section in _SECTIONS:
        members = [n for n in nodes if classes[n.id].value == f"prov:{section.capitalize()}"]
        if not members:
            continue
        counts[section] = len(members)
        out.write(f',\n"{section}": {{')
        for i, node in enumerate(members):
            record: dict[str, Any] = {"prov:type": f"{PREFIX}:{node.kind.value}"}
            if section == "activity":
                record["prov:startTime"] = node.valid_from.isoformat()
                if node.valid_to is not None:
                    record["prov:endTime"] = node.valid_to.isoformat()
            record |= _attributes(node)
            sep = "\n" if i == 0 else ",\n"
            out.write(f"{sep}{json.dumps(qname(node.id))}: {_dumps(record)}")
        out.write("}")
    grouped: dict[str, list[Edge]] = {}
    for edge in edges:
        grouped.setdefault(relation_of(edge, classes), []).append(edge)
    blank = 0
    for relation in _ARGUMENTS:
        members_e = grouped.get(relation, [])
        if not members_e:
            continue
        counts[relation] = len(members_e)
        first, second = _ARGUMENTS[relation]
        out.write(f',\n"{relation.removeprefix("prov:")}": {{')
        for i, edge in enumerate(members_e):
            record = {first: qname(edge.src), second: qname(edge.dst)}
            if relation in _UNNAMED:
                blank += 1
                identifier = f"_:id{blank}"
            else:
                identifier = f"{PREFIX}:edge-{sha256_text(edge.key)[:20]}"
                record |= {f"{PREFIX}:kind": edge.kind.value, f"{PREFIX}:key": edge.key}
                record |= _attributes(edge)
            sep = "\n" if i == 0 else ",\n"
            out.write(f"{sep}{json.dumps(identifier)}: {_dumps(record)}")
        out.write("}")
    out.write("\n}\n")
    return dict(sorted(counts.items()))


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def provn_text(prov_json: str) -> str:
    """PROV-N of a PROV-JSON document, as the ``prov`` package reads and writes it."""
    doc = ProvDocument.deserialize(content=prov_json, format="json")
    return str(doc.get_provn()) + "\n"
