"""Incidents: what a monitor (or a scheduled check) raises, how people close them, and the
questions asked of them (which incidents stood where, how precise each signal's alerts were).

:meth:`Incidents.raise_signal` turns a :class:`~lineage.services.incident_signals.Signal` into
an Incident node, or, when an incident for the same ``(signal, model, feature)`` is still open
(open or acknowledged), adds the finding to it as evidence instead of opening another. A batch
already recorded as evidence for that key is a no-op, so re-running a monitor over the same
batches opens nothing new.

An Incident holds the signal, severity, detection instant (its ``valid_from``), the value and the
baseline, its ``status`` and the ``status_history`` of every change with its time, actor and
reason (so :func:`~lineage.services.incident_signals.status_at` answers what was open at any
instant), the evidence, the people accountable for the model then, and its investigation context
(:mod:`lineage.services.incident_context`). Its edges: ``AFFECTED`` the model version, the
deployment, each evidence batch and the feature (``role`` says which), ``FOLLOWS`` its playbook
(with the hash of the text it pointed to), ``WAS_ATTRIBUTED_TO`` each accountable person
(``role``). Every write is one transaction with one audit event; a status change is its own
audited write (corrections remain for fixing a title or a root cause).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id, require_kind
from lineage.model.record_fields import MAX_FUTURE_SKEW
from lineage.model.times import from_text, require_aware, to_text, utcnow
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent, when
from lineage.services.governance.accountability import holders
from lineage.services.incident_context import incident_context
from lineage.services.incident_signals import (
    SEVERITIES,
    Precision,
    Signal,
    Status,
    history_of,
    incident_stem,
    status_at,
)
from lineage.services.playbooks import Playbook
from lineage.services.record_store import RecordStore
from lineage.store.base import EdgeQuery, GraphStore, NodeQuery, iter_all_nodes, iter_nodes

DISPOSITIONS = ("actionable", "false_positive")
MAX_EVIDENCE = 50  # evidence entries kept on the node; ``evidence_count`` counts them all
MAX_TEXT = 10_000
_AFFECTED = frozenset({EdgeKind.AFFECTED})


@dataclass(frozen=True, slots=True)
class IncidentResult:
    """What a write did: ``created`` when it opened the incident (or changed its status),
    ``evidence_added`` when it added a finding to one already open; both False for a no-op."""

    incident: Node
    created: bool
    evidence_added: bool = False
    audit_seq: int | None = None


class Incidents:
    """Raising, acknowledging and resolving incidents on behalf of one actor."""

    def __init__(self, store: GraphStore, records: RecordStore | None, actor: str) -> None:
        parse_id(actor, "actor")
        self.store = store
        self.records = records
        self.actor = actor

    # -- raising -----------------------------------------------------------------------------

    def raise_signal(self, signal: Signal) -> IncidentResult:
        """Open an incident for ``signal``, or add it as evidence to the open incident of the
        same (signal, model, feature); a no-op when its batch is already evidence there.
        NOT_FOUND naming the field for a model version, deployment, batch or playbook ID that
        is not registered."""
        context: dict[str, Any] | None = None
        if self._open(signal.key) is None and self._seen(signal) is None:
            about = signal.model_version or signal.deployment or signal.model_id
            if about is not None:
                context = incident_context(self.store, about, signal.detected_at)
        with self.store.transaction():
            require_agent(self.store, self.actor, utcnow())
            seen = self._seen(signal)
            if seen is not None:
                return IncidentResult(seen, created=False)
            found = self._references(signal)
            playbook = self._playbook(signal, found)
            current = self._open(signal.key)
            if current is not None:
                return self._add_evidence(current, signal, found, playbook)
            return self._open_incident(signal, found, playbook, context)

    def _open_incident(
        self,
        signal: Signal,
        found: dict[str, Node],
        playbook: list[Node],
        context: dict[str, Any] | None,
    ) -> IncidentResult:
        incident_id = self._free_id(incident_stem(signal))
        model = signal.model_id
        people = holders(self.store, model, signal.detected_at) if model in found else []
        affected = _affected(signal, found)
        props: dict[str, Any] = {
            "title": signal.title,
            "severity": signal.severity,
            "signal": signal.signal,
            "dedupe_key": signal.key,
            "active": True,
            "status": Status.OPEN.value,
            "status_history": [self._change(Status.OPEN, signal.detected_at, "raised")],
            "detected_at": to_text(signal.detected_at),
            "last_detected_at": to_text(signal.detected_at),
            "affected": [target for target, _ in affected],
            "evidence": [signal.evidence()],
            "evidence_count": 1,
            "details": dict(signal.details),
            "accountable": [{"role": a.role, "agent": a.agent.id} for a in people],
        }
        for name in ("model_version", "deployment", "batch", "value", "baseline"):
            if getattr(signal, name) is not None:
                props[name] = getattr(signal, name)
        if model is not None:
            props["model"] = model
        if signal.feature_id is not None:
            props["feature"] = signal.feature_id
        if signal.playbook_id is not None:
            props["playbook"] = signal.playbook_id
        if context is not None:
            props["context"] = context
        node = Node(incident_id, NodeKind.INCIDENT, signal.detected_at, props)
        edges = [
            Edge(incident_id, EdgeKind.AFFECTED, target, {"role": role})
            for target, role in affected
        ]
        edges += [
            Edge(incident_id, EdgeKind.WAS_ATTRIBUTED_TO, a.agent.id, {"role": a.role})
            for a in people
        ]
        edges += self._playbook_edge(incident_id, signal, found)
        self.store.upsert_nodes([*playbook, node])
        self.store.upsert_edges(edges)
        event = append_event(
            self.store,
            actor=self.actor,
            action="open_incident",
            reason=f"signal {signal.signal}: {signal.title}",
            nodes=[*playbook, node],
            edges=edges,
            payload={"incident": incident_id, "signal": signal.evidence() | {"key": signal.key}},
        )
        return IncidentResult(self._get(incident_id), created=True, audit_seq=event.seq)

    def _add_evidence(
        self, current: Node, signal: Signal, found: dict[str, Node], playbook: list[Node]
    ) -> IncidentResult:
        props = dict(current.props)
        evidence = [*props.get("evidence", []), signal.evidence()][-MAX_EVIDENCE:]
        count = int(props.get("evidence_count", 1)) + 1
        known = set(props.get("affected", []))
        new = [(t, role) for t, role in _affected(signal, found) if t not in known]
        props |= {
            "evidence": evidence,
            "evidence_count": count,
            "last_detected_at": max(
                str(props.get("last_detected_at", "")), to_text(signal.detected_at)
            ),
            "affected": [*props.get("affected", []), *(t for t, _ in new)],
        }
        if SEVERITIES.index(signal.severity) < SEVERITIES.index(str(props.get("severity"))):
            props["severity"] = signal.severity  # a worse finding escalates the incident
        node = _with_props(current, props)
        edges = [Edge(current.id, EdgeKind.AFFECTED, t, {"role": role}) for t, role in new]
        edges += [
            e
            for e in self._playbook_edge(current.id, signal, found)
            if current.props.get("playbook") is None
        ]
        self.store.upsert_nodes([*playbook, node])
        self.store.upsert_edges(edges)
        event = append_event(
            self.store,
            actor=self.actor,
            action="add_incident_evidence",
            reason=f"signal {signal.signal} again: {signal.title}",
            nodes=[*playbook, node],
            edges=edges,
            payload={"incident": current.id, "signal": signal.evidence() | {"key": signal.key}},
        )
        return IncidentResult(
            self._get(current.id), created=False, evidence_added=True, audit_seq=event.seq
        )

    # -- people closing it -------------------------------------------------------------------

    def acknowledge(self, incident: str, reason: str, at: datetime | None = None) -> IncidentResult:
        """Someone is on it: open -> acknowledged. A no-op when already acknowledged; CONFLICT
        (``incident``) once resolved, or (``at``) dated before its last status change."""
        why = _text(reason, "reason")
        with self.store.transaction():
            instant, node = self._status_change(incident, at)
            status = status_at(node, instant)
            if status == Status.ACKNOWLEDGED:
                return IncidentResult(node, created=False)
            if status == Status.RESOLVED:
                raise ConflictError(f"{incident} is resolved", field="incident")
            return self._write_status(node, Status.ACKNOWLEDGED, instant, why, {})

    def resolve(
        self,
        incident: str,
        disposition: str,
        root_cause: str,
        reason: str,
        at: datetime | None = None,
    ) -> IncidentResult:
        """Close the incident: ``disposition`` says whether the alert was ``actionable`` or a
        ``false_positive`` (what :func:`alert_precision` counts). Repeating the same resolution
        is a no-op; a different one for a resolved incident is a CONFLICT (correct it instead)."""
        if disposition not in DISPOSITIONS:
            raise InvalidError(f"one of {', '.join(DISPOSITIONS)}", field="disposition")
        cause, why = _text(root_cause, "root_cause"), _text(reason, "reason")
        with self.store.transaction():
            instant, node = self._status_change(incident, at)
            if status_at(node, instant) == Status.RESOLVED:
                same = (node.props.get("disposition"), node.props.get("root_cause")) == (
                    disposition,
                    cause,
                )
                if same:
                    return IncidentResult(node, created=False)
                raise ConflictError(
                    f"{incident} was resolved as {node.props.get('disposition')}; correct the "
                    "incident to change its root cause",
                    field="incident",
                )
            extra = {
                "disposition": disposition,
                "root_cause": cause,
                "resolved_at": to_text(instant),
            }
            return self._write_status(node, Status.RESOLVED, instant, why, extra)

    def _status_change(self, incident: str, at: datetime | None) -> tuple[datetime, Node]:
        require_kind(incident, "incident", NodeKind.INCIDENT)
        now = utcnow()
        instant = require_aware(at, "at") if at is not None else now
        if instant > now + MAX_FUTURE_SKEW:
            raise InvalidError(f"{when(instant)} is in the future", field="at")
        require_agent(self.store, self.actor, now)
        node = self.store.get_nodes([incident]).get(incident)
        if node is None:
            raise NotFoundError(f"{incident} is not registered", field="incident")
        last = from_text(str(history_of(node)[-1]["at"]))
        if instant < last:
            raise ConflictError(
                f"{incident} last changed status at {when(last)}: history is append-only",
                field="at",
            )
        return instant, node

    def _write_status(
        self, node: Node, status: Status, at: datetime, reason: str, extra: dict[str, Any]
    ) -> IncidentResult:
        props = dict(node.props) | extra
        props["status_history"] = [*history_of(node), self._change(status, at, reason)]
        props["status"] = status.value
        props["active"] = status is not Status.RESOLVED
        updated = _with_props(node, props)
        self.store.upsert_nodes([updated])
        event = append_event(
            self.store,
            actor=self.actor,
            action=f"{'resolve' if status is Status.RESOLVED else 'acknowledge'}_incident",
            reason=reason,
            nodes=[updated],
            payload={"incident": node.id, "status": status.value, "at": to_text(at)} | extra,
        )
        return IncidentResult(self._get(node.id), created=True, audit_seq=event.seq)

    # -- reading -----------------------------------------------------------------------------

    def _change(self, status: Status, at: datetime, reason: str) -> dict[str, Any]:
        return {"status": status.value, "at": to_text(at), "by": self.actor, "reason": reason}

    def _get(self, incident: str) -> Node:
        return self.store.get_nodes([incident])[incident]

    def _open(self, key: str) -> Node | None:
        query = NodeQuery(kind=NodeKind.INCIDENT, props={"dedupe_key": key, "active": True})
        items = self.store.find_nodes(query).items
        return items[0] if items else None

    def _seen(self, signal: Signal) -> Node | None:
        """The incident of the same key that already holds this batch as evidence."""
        if signal.batch is None:
            return None
        query = EdgeQuery(dst=signal.batch, kinds=_AFFECTED)
        sources = sorted({e.src for e in self.store.find_edges(query).items})
        for node in self.store.get_nodes(sources).values():
            if node.props.get("dedupe_key") == signal.key:
                return node
        return None

    def _references(self, signal: Signal) -> dict[str, Node]:
        wanted = {
            "model_version": signal.model_version,
            "deployment": signal.deployment,
            "batch": signal.batch,
            "playbook": signal.playbook if isinstance(signal.playbook, str) else None,
        }
        optional = [i for i in (signal.model_id, signal.feature_id) if i is not None]
        ids = sorted({i for i in (*wanted.values(), *optional) if i is not None})
        found = self.store.get_nodes(ids)
        for field_name, node_id in wanted.items():
            if node_id is not None and node_id not in found:
                raise NotFoundError(f"{node_id} is not registered", field=field_name)
        return found

    def _playbook(self, signal: Signal, found: dict[str, Node]) -> list[Node]:
        """The playbook node to write: new, or its file changed since it was written."""
        if not isinstance(signal.playbook, Playbook):
            return []
        stored = self.store.get_nodes([signal.playbook.id]).get(signal.playbook.id)
        if stored is not None:
            found[stored.id] = stored
            if stored.props.get("content_hash") == signal.playbook.content_hash:
                return []
        start = min(signal.detected_at, stored.valid_from if stored else utcnow())
        node = signal.playbook.node(start)
        found[node.id] = node
        return [node]

    def _playbook_edge(self, incident: str, signal: Signal, found: dict[str, Node]) -> list[Edge]:
        playbook = found.get(signal.playbook_id or "")
        if playbook is None:
            return []
        digest = playbook.props.get("content_hash")
        return [Edge(incident, EdgeKind.FOLLOWS, playbook.id, {"content_hash": digest})]

    def _free_id(self, stem: str) -> str:
        """``stem``, else the first of ``stem-2``, ``stem-3``... not taken."""
        start = 1
        while True:
            candidates = [stem if n == 1 else f"{stem}-{n}" for n in range(start, start + 16)]
            taken = self.store.get_nodes(candidates)
            for candidate in candidates:
                if candidate not in taken:
                    return candidate
            start += 16


def _affected(signal: Signal, found: dict[str, Node]) -> list[tuple[str, str]]:
    """(target, role) of what the incident is about, in a fixed order."""
    pairs = [
        (signal.model_version, "model_version"),
        (signal.deployment, "deployment"),
        (signal.batch, "evidence"),
        (signal.feature_id if signal.feature_id in found else None, "feature"),
    ]
    if signal.model_version is None and signal.model_id in found:
        pairs.insert(0, (signal.model_id, "model"))
    return [(target, role) for target, role in pairs if target is not None]


def _with_props(node: Node, props: dict[str, Any]) -> Node:
    return Node(node.id, node.kind, node.valid_from, props, node.valid_to)


def _text(value: str, field_name: str) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_TEXT:
        raise InvalidError(f"give 1 to {MAX_TEXT:,} characters", field=field_name)
    return value.strip()


# -- questions ---------------------------------------------------------------------------------


def alert_precision(store: GraphStore, signal: str | None = None) -> list[Precision]:
    """Per signal (or for ``signal`` alone): incidents raised, still open, resolved, and how
    many of those were actionable, by signal name. Hand-registered incidents have no signal and
    are not counted."""
    counts: dict[str, list[int]] = {}
    props = {"signal": signal} if signal is not None else None
    for node in iter_all_nodes(store, NodeKind.INCIDENT, props):
        name = node.props.get("signal")
        if not isinstance(name, str):
            continue
        row = counts.setdefault(name, [0, 0, 0, 0, 0])
        row[0] += 1
        if node.props.get("status") == Status.RESOLVED:
            row[2] += 1
            row[3] += node.props.get("disposition") == "actionable"
            row[4] += node.props.get("disposition") == "false_positive"
        else:
            row[1] += 1
    return [Precision(name, *row) for name, row in sorted(counts.items())]


def find_incidents(
    store: GraphStore,
    status: str | None = None,
    model: str | None = None,
    since: datetime | None = None,
    as_of: datetime | None = None,
) -> list[Node]:
    """Incidents opened by ``as_of`` (default now) and at or after ``since``, with ``status``
    at ``as_of`` and about ``model`` (a Model ID: the incident's model, or a version of it among
    what it affected), newest first."""
    if status is not None and status not in {s.value for s in Status}:
        raise InvalidError(f"one of {', '.join(s.value for s in Status)}", field="status")
    if model is not None:
        require_kind(model, "model", NodeKind.MODEL)
    instant = require_aware(as_of, "as_of") if as_of is not None else utcnow()
    lo = require_aware(since, "since") if since is not None else None
    found: list[Node] = []
    for node in iter_nodes(store, NodeQuery(kind=NodeKind.INCIDENT, since=lo, limit=1_000)):
        if node.valid_from > instant or (status and status_at(node, instant) != status):
            continue
        if model is not None and not _about(node, model):
            continue
        found.append(node)
    return sorted(found, key=lambda n: (n.valid_from, n.id), reverse=True)


def _about(incident: Node, model: str) -> bool:
    if incident.props.get("model") == model:
        return True
    affected: Sequence[Any] = incident.props.get("affected", [])
    return any(isinstance(a, str) and (a == model or a.startswith(f"{model}@")) for a in affected)
