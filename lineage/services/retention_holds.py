"""Legal holds, and everything retention must never prune.

A legal hold is a node ``hold:<name>`` (kind LegalHold) with a temporal edge
``-HOLDS->`` to the held node, open from when it was placed until it is lifted; placing and
lifting are audited writes. A hold protects the held node and every batch of decisions whose
lineage contains it (see :class:`lineage.services.retention_classes.Lineage`): hold a model and
every batch its versions scored is kept; hold a dataset version and every batch scored by a
model trained on it, or with a snapshot computed from it, is kept. Retention prunes batches
alone, so what is upstream of a held node (its training chain, its data) is never pruned
either.

:class:`Protection` gathers, at an instant, the three other reasons a batch is kept whatever
its class: a model version still in use (in any slot of a deployment: serving, standby or
backup, since a rollback brings it back), and an open incident's ``AFFECTED`` targets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import make_id, parse_id, require_kind
from lineage.model.times import to_text
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.services.governance import slots
from lineage.services.retention_classes import Lineage
from lineage.store.base import AuditEvent, EdgeQuery, GraphStore, iter_all_nodes

# An incident in one of these states no longer holds what it affected.
CLOSED_STATUSES = frozenset({"closed", "resolved"})
MAX_REASON = 2_000


@dataclass(frozen=True, slots=True)
class HoldChange:
    """What placing or lifting a hold did: ``created`` is False for a repeat (a no-op)."""

    hold: Node
    created: bool
    audit_seq: int | None = None


def place_hold(
    store: GraphStore,
    target: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    name: str | None = None,
) -> HoldChange:
    """Place a legal hold on ``target`` from ``now``, on behalf of ``actor``.

    ``name`` is the hold's name (a case reference: ``hold:<name>``); without one the hold is
    named after its target, so repeating the request is a no-op while the hold stands. A named
    hold that exists on another target, or was lifted, is a CONFLICT.
    """
    parse_id(target, "target")
    _require_reason(reason)
    with store.transaction():
        require_agent(store, actor, now)
        if not store.get_nodes([target]):
            raise NotFoundError(f"{target} is not registered", field="target")
        hold_id, existing = _hold_slot(store, target, name)
        if existing is not None:
            return HoldChange(existing, created=False)
        node = Node(
            hold_id,
            NodeKind.LEGAL_HOLD,
            now,
            {"target": target, "reason": reason, "placed_by": actor, "placed_at": to_text(now)},
        )
        edge = Edge(hold_id, EdgeKind.HOLDS, target, valid_from=now)
        store.upsert_nodes([node])
        store.upsert_edges([edge])
        event = append_event(
            store,
            actor=actor,
            action="place_legal_hold",
            reason=reason,
            nodes=[node],
            edges=[edge],
            payload={"hold": hold_id, "target": target},
            at=now,
        )
    return HoldChange(store.get_nodes([hold_id])[hold_id], created=True, audit_seq=event.seq)


def lift_hold(
    store: GraphStore, hold: str, *, reason: str, actor: str, now: datetime
) -> HoldChange:
    """Lift a legal hold at ``now``: its node and its edge end there (a no-op once lifted)."""
    require_kind(hold, "hold", NodeKind.LEGAL_HOLD)
    _require_reason(reason)
    with store.transaction():
        require_agent(store, actor, now)
        node = store.get_nodes([hold]).get(hold)
        if node is None:
            raise NotFoundError(f"{hold} does not exist", field="hold")
        if node.valid_to is not None:
            return HoldChange(node, created=False)
        # The end must follow the start even if the clock stepped back since it was placed.
        ended = max(now, node.valid_from + timedelta(microseconds=1))
        lifted = Node(
            node.id,
            node.kind,
            node.valid_from,
            node.props | {"lifted_by": actor, "lift_reason": reason, "lifted_at": to_text(ended)},
            valid_to=ended,
        )
        closing = [
            Edge(e.src, e.kind, e.dst, e.props, e.valid_from, ended)
            for e in _hold_edges(store, hold)
            if e.valid_to is None
        ]
        store.upsert_nodes([lifted])
        store.upsert_edges(closing)
        event = append_event(
            store,
            actor=actor,
            action="lift_legal_hold",
            reason=reason,
            nodes=[lifted],
            edges=closing,
            payload={"hold": hold, "target": node.props.get("target")},
            at=now,
        )
    return HoldChange(store.get_nodes([hold])[hold], created=True, audit_seq=event.seq)


def list_holds(store: GraphStore, at: datetime | None = None) -> list[Node]:
    """Every legal hold, oldest first; only those standing at ``at`` when it is given."""
    return [n for n in iter_all_nodes(store, NodeKind.LEGAL_HOLD) if at is None or _stands(n, at)]


def held_targets(store: GraphStore, at: datetime) -> dict[str, list[str]]:
    """Held node -> the holds standing on it at ``at``."""
    held: dict[str, list[str]] = {}
    for hold in list_holds(store, at):
        for edge in _hold_edges(store, hold.id):
            if edge.valid_at(at):
                held.setdefault(edge.dst, []).append(hold.id)
    return held


def _stands(hold: Node, at: datetime) -> bool:
    return hold.valid_to is None or at < hold.valid_to


def _hold_edges(store: GraphStore, hold: str) -> list[Edge]:
    return store.find_edges(EdgeQuery(src=hold, kinds=frozenset({EdgeKind.HOLDS}))).items


def _hold_slot(store: GraphStore, target: str, name: str | None) -> tuple[str, Node | None]:
    """The hold ID to write, or the standing hold that makes the request a no-op."""
    if name is not None:
        hold_id = make_id(NodeKind.LEGAL_HOLD, name)
        node = store.get_nodes([hold_id]).get(hold_id)
        if node is None:
            return hold_id, None
        if node.props.get("target") != target:
            raise ConflictError(
                f"{hold_id} holds {node.props.get('target')}, not {target}", field="name"
            )
        if node.valid_to is not None:
            raise ConflictError(
                f"{hold_id} was lifted at {to_text(node.valid_to)}; a new hold needs a new name",
                field="name",
            )
        return hold_id, node
    stem = hashlib.sha256(target.encode()).hexdigest()[:24]
    n = 1
    while True:
        hold_id = make_id(NodeKind.LEGAL_HOLD, f"{stem}-{n}")
        node = store.get_nodes([hold_id]).get(hold_id)
        if node is None:
            return hold_id, None
        if node.valid_to is None:
            return hold_id, node
        n += 1


def _require_reason(reason: str) -> None:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise InvalidError(f"give a reason of 1 to {MAX_REASON} characters", field="reason")


# -- what is never pruned ---------------------------------------------------------------------


@dataclass(slots=True)
class Protection:
    """Node -> why it is protected at an instant: legal holds, open incidents, versions in use.

    Read once at the start of a run, then :meth:`refresh` re-reads a part only when an audit
    event written since (by someone else) touched it: every write appends one, so a hold placed
    or an incident opened while a long run is pruning is seen before the next batch is deleted.
    """

    now: datetime
    holds: dict[str, list[str]] = field(default_factory=dict)
    incidents: dict[str, list[str]] = field(default_factory=dict)
    in_use: dict[str, list[str]] = field(default_factory=dict)
    seen_seq: int = 0
    _memo: dict[frozenset[str], tuple[str, str] | None] = field(default_factory=dict)

    @classmethod
    def read(cls, store: GraphStore, now: datetime) -> Protection:
        """Everything protected at ``now``."""
        head = store.audit_head()
        found = cls(now=now, seen_seq=head.seq if head else 0)
        found._read(store, holds=True, incidents=True, in_use=True)
        return found

    def refresh(self, store: GraphStore, own: Iterable[int] = ()) -> bool:
        """Re-read what events after the last one seen changed (events in ``own``, the
        caller's, are skipped); True when something was re-read. Call inside the write's
        transaction, so nothing can change between this and the delete."""
        mine = set(own)
        holds = incidents = in_use = False
        for event in _events_after(store, self.seen_seq):
            self.seen_seq = event.seq
            if event.seq in mine:
                continue
            for subject in event.subjects:
                holds = holds or "hold:" in subject
                incidents = incidents or "incident" in subject
                in_use = in_use or subject.startswith(("edge:deployment:", "node:deployment:"))
        if holds or incidents or in_use:
            self._read(store, holds=holds, incidents=incidents, in_use=in_use)
        return holds or incidents or in_use

    def why(self, ids: Iterable[str]) -> tuple[str, str] | None:
        """(reason, words) for the first protection among ``ids``; None when there is none."""
        ids = list(ids)
        for reason, table, says in (
            ("legal_hold", self.holds, "under legal hold {by}"),
            ("open_incident", self.incidents, "affected by open incident {by}"),
            ("in_use", self.in_use, "in use by {by}"),
        ):
            for node_id in ids:
                if node_id in table:
                    return reason, f"{node_id} " + says.format(by=", ".join(table[node_id]))
        return None

    def why_lineage(self, lineage: Lineage) -> tuple[str, str] | None:
        """:meth:`why` for a batch and its upstream; the upstream's answer is kept (until the
        next re-read), since thousands of batches share one upstream."""
        if lineage.upstream not in self._memo:
            self._memo[lineage.upstream] = self.why(sorted(lineage.upstream))
        found = [f for f in (self.why([lineage.batch]), self._memo[lineage.upstream]) if f]
        return min(found, key=lambda f: _RANK[f[0]]) if found else None

    def _read(self, store: GraphStore, *, holds: bool, incidents: bool, in_use: bool) -> None:
        self._memo.clear()
        if holds:
            self.holds = held_targets(store, self.now)
        if incidents:
            self.incidents = affected_by_open_incidents(store, self.now)
        if in_use:
            self.in_use = versions_in_use(store, self.now)


_RANK = {"legal_hold": 0, "open_incident": 1, "in_use": 2}


def affected_by_open_incidents(store: GraphStore, at: datetime) -> dict[str, list[str]]:
    """Node -> the open incidents that name it ``AFFECTED`` (an incident is open until its
    status is closed or resolved, or it has ended)."""
    affected: dict[str, list[str]] = {}
    for incident in iter_all_nodes(store, NodeKind.INCIDENT):
        status = str(incident.props.get("status", "open")).lower()
        if status in CLOSED_STATUSES or (incident.valid_to is not None and incident.valid_to <= at):
            continue
        query = EdgeQuery(src=incident.id, kinds=frozenset({EdgeKind.AFFECTED}))
        for edge in store.find_edges(query).items:
            affected.setdefault(edge.dst, []).append(incident.id)
    return affected


def versions_in_use(store: GraphStore, at: datetime) -> dict[str, list[str]]:
    """Model version -> the deployments holding it in a slot at ``at`` (serving, standby or
    backup)."""
    used: dict[str, list[str]] = {}
    for deployment in iter_all_nodes(store, NodeKind.DEPLOYMENT):
        for edge in slots.current_edges(store, deployment.id, at):
            if edge.kind in slots.SLOT_EDGES:
                used.setdefault(edge.dst, []).append(deployment.id)
    return used


def _events_after(store: GraphStore, seq: int) -> Iterator[AuditEvent]:
    while batch := store.audit_events(after_seq=seq):
        yield from batch
        seq = batch[-1].seq
