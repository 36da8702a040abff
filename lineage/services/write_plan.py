"""The write plan: a registration's nodes and edges, checked and written with its audit event.

Everything is checked and written in one transaction. Registered provenance is immutable: the
same ID with the same content is a no-op that returns the existing node; with different content it
is a CONFLICT naming both hashes; a reference to a node that does not exist is NOT_FOUND. Nothing
is written in either case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Edge, Node, NodeKind
from lineage.model.records import Record
from lineage.model.times import utcnow
from lineage.services import consistency
from lineage.services.audit import append_event
from lineage.services.search import with_suggestions
from lineage.store.base import GraphStore

Check = Callable[[Mapping[str, Node]], None]  # given the nodes the transaction read


@dataclass(frozen=True, slots=True)
class Registration:
    """What a registration did: ``created`` is False when it was an idempotent no-op."""

    node: Node
    created: bool
    audit_seq: int | None = None
    related: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    """Nodes that must be new-or-identical, nodes created only if missing, and edges.

    ``checks`` run inside the write transaction, after the references are found to exist, with
    every node of the plan and its references as stored then.
    """

    primary: Node
    immutable: list[Node] = field(default_factory=list)
    if_missing: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)  # node id -> input field
    checks: list[Check] = field(default_factory=list)


def record_node(
    node_id: str,
    kind: NodeKind,
    at: datetime | None,
    rec: Record,
    exclude: set[str],
    extra: Mapping[str, Any] | None = None,
) -> Node:
    """The node a record becomes: its fields but ``exclude``, plus ``extra``; dated now if ``at``
    is None."""
    props = rec.model_dump(mode="json", exclude=exclude, exclude_none=True)
    return Node(node_id, kind, at or utcnow(), props | dict(extra or {}))


def require(store: GraphStore, node_id: str, field_name: str, kind: NodeKind) -> Node:
    """The registered node ``node_id`` of ``kind``; NOT_FOUND or INVALID on ``field_name``."""
    node = store.get_nodes([node_id]).get(node_id)
    if node is None:
        missing = NotFoundError(f"{node_id} is not registered", field=field_name)
        raise with_suggestions(store, missing, node_id)
    if node.kind is not kind:
        raise InvalidError(
            f"{node_id} is a {node.kind.value}, expected {kind.value}", field=field_name
        )
    return node


def apply_plan(
    store: GraphStore,
    actor: str,
    action: str,
    reason: str,
    plan: Plan,
    rec: Record | None = None,
    *,
    payload: dict[str, Any] | None = None,
    time_defaulted: bool = False,
    force: bool = False,
) -> Registration:
    """Check, then write the plan and its audit event atomically.

    ``time_defaulted`` means the caller gave no time and the node's was set to now, so an
    identical registration later must not conflict on it. ``force`` writes the edges even
    when every node already exists (temporal changes such as a deployment).
    """
    body = payload if payload is not None else (rec.model_dump(mode="json") if rec else {})
    with store.transaction():
        consistency.require_agent(store, actor, utcnow(), registering=plan.primary)
        ids = [n.id for n in (*plan.immutable, *plan.if_missing)] + list(plan.references)
        existing = store.get_nodes(sorted(set(ids)))
        new_immutable: list[Node] = []
        for node in plan.immutable:
            old = existing.get(node.id)
            if old is None:
                new_immutable.append(node)
            else:
                consistency.check_unchanged(old, node, compare_time=not time_defaulted)
        if plan.immutable and not new_immutable and not force:
            return Registration(node=existing[plan.primary.id], created=False)
        batch_ids = {n.id for n in (*plan.immutable, *plan.if_missing)}
        for ref, field_name in plan.references.items():
            if ref not in existing and ref not in batch_ids:
                missing = NotFoundError(f"{ref} is not registered", field=field_name)
                raise with_suggestions(store, missing, ref)
        for check in plan.checks:
            check(existing)
        new_nodes = new_immutable + [n for n in plan.if_missing if n.id not in existing]
        store.upsert_nodes(new_nodes)
        store.upsert_edges(plan.edges)
        event = append_event(
            store,
            actor=actor,
            action=action,
            reason=reason,
            nodes=new_nodes,
            edges=plan.edges,
            payload=body,
        )
    stored = store.get_nodes([plan.primary.id])[plan.primary.id]
    return Registration(node=stored, created=True, audit_seq=event.seq, related=new_nodes)
