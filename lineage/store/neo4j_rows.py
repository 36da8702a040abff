"""The Neo4j store's values on the wire: nodes, edges and audit events to and from the rows and
parameters of the statements in :mod:`lineage.store.cypher` (whose docstring describes the
storage layout)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from lineage.model.canonical import canonical_json
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import from_stored, from_text, to_text
from lineage.store.base import AuditEvent, Scalar
from lineage.store.search_plan import indexed_words

INT64 = (-(2**63), 2**63 - 1)


def opt_text(value: datetime | None) -> str | None:
    """Fixed-width UTC text of ``value``, or None."""
    return to_text(value) if value is not None else None


def _flatten(props: Mapping[str, Any]) -> dict[str, Scalar]:
    """The ``p_<name>`` copies of top-level scalar props (see lineage.store.cypher)."""
    flat: dict[str, Scalar] = {}
    for key, value in props.items():
        if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            continue  # Neo4j has no bigger integers; such a value is only kept in the JSON
        if isinstance(value, str | int | float | bool):
            flat[f"p_{key}"] = value
    return flat


def node_row(node: Node, now: str) -> dict[str, Any]:
    """The parameter row UPSERT_NODES_TEMPLATE takes for ``node``."""
    fields: dict[str, Any] = {
        "id": node.id,
        "kind": node.kind.value,
        "valid_from": to_text(node.valid_from),
        "props": node.props_json(),
        **_flatten(node.props),
    }
    if node.valid_to is not None:
        fields["valid_to"] = to_text(node.valid_to)
    words = indexed_words(node)  # what the search index holds (lineage.store.neo4j_search)
    if words is not None:  # and the kind beside them: other nodes stay out of the index
        fields["search_words"] = words
        fields["search_kind"] = node.kind.value
    return {"id": node.id, "recorded_at": opt_text(node.recorded_at) or now, "fields": fields}


def edge_row(edge: Edge) -> dict[str, Any]:
    """The parameter row UPSERT_EDGES_TEMPLATE takes for ``edge``."""
    return {
        "src": edge.src,
        "dst": edge.dst,
        "valid_from": opt_text(edge.valid_from) or "",
        "valid_to": opt_text(edge.valid_to),
        "props": edge.props_json(),
    }


_NODE_KINDS = {k.value: k for k in NodeKind}
_EDGE_KINDS = {k.value: k for k in EdgeKind}


def node(row: Mapping[str, Any]) -> Node:
    """A node from a row of ``_NODE_FIELDS`` (or a map with those keys).

    Rows were validated on the way in and ``props`` is the JSON this backend wrote, so the node
    is rebuilt without validating again (``Node.stored``): that is most of a 1,000-node walk's
    time in this process (measured 24 ms with the validating constructor).
    """
    return Node.stored(
        row["id"],
        _NODE_KINDS[row["kind"]],
        from_stored(row["valid_from"]),
        row["props"],
        from_stored(row["valid_to"]) if row["valid_to"] else None,
        from_stored(row["recorded_at"]),
    )


def edge(row: Mapping[str, Any]) -> Edge:
    """An edge from a row of ``_EDGE_FIELDS`` (or a map with those keys), not validated again."""
    return Edge.stored(
        row["src"],
        _EDGE_KINDS[row["kind"]],
        row["dst"],
        row["props"],
        from_stored(row["valid_from"]) if row["valid_from"] else None,
        from_stored(row["valid_to"]) if row["valid_to"] else None,
    )


def edge_key(row: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """The identity of an edge row, in the contract's order."""
    return (row["src"], row["kind"], row["dst"], row["valid_from"])


def audit_row(event: AuditEvent) -> dict[str, Any]:
    """The properties of the ``:AuditEvent`` node that stores ``event``."""
    return {
        "seq": event.seq,
        "at": to_text(event.at),
        "actor": event.actor,
        "action": event.action,
        "reason": event.reason,
        "payload_hash": event.payload_hash,
        "subjects": event.subjects_text(),
        "payload": _canonical(event.payload),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _canonical(payload: dict[str, Any] | None) -> str | None:
    return canonical_json(payload) if payload is not None else None


def audit(row: Mapping[str, Any]) -> AuditEvent:
    """An audit event from a row of ``_AUDIT_FIELDS``."""
    return AuditEvent(
        seq=row["seq"],
        at=from_text(row["at"]),
        actor=row["actor"],
        action=row["action"],
        reason=row["reason"],
        payload_hash=row["payload_hash"],
        subjects=orjson.loads(row["subjects"]),  # megabytes after a batch load: the fast parser
        payload=json.loads(row["payload"]) if row["payload"] is not None else None,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
