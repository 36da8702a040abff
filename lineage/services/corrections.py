"""Corrections: fixing a mistake that got in, without rewriting history.

Registered provenance is immutable. A wrong ``uri``, a forgotten field or a batch attributed to
the wrong deployment is fixed by a correction node, ``correction:<stem>-<n>`` (PROV activity),
linked to what it corrects (``-CORRECTS->``) and to who made it (``-WAS_ASSOCIATED_WITH->``). It
records when (its ``valid_from``: the server's clock when it was recorded), why (``reason``) and
what changed (``changes``: field -> new value, null removing it; ``previous``: the values it
replaced). The original node, its edges and its audit event stay exactly as they were, so
``lineage verify`` still passes; the questions apply the corrections as of the instant they are
asked about (:mod:`lineage.services.corrected`).

A corrected reference (a batch's deployment, a run's ``triggered_by``...) adds the edge a
registration would have written and hides the old one, recording both edges' keys; nothing is
deleted. What may be corrected is the table in :mod:`lineage.services.correctable`. A corrected
node passes the rules a registration does: its record is rebuilt and validated by the same
pydantic type, and the graph rules of :mod:`lineage.services.consistency` run inside the write
transaction. Repeating the latest correction exactly is a no-op, as every registration is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.errors import ErrorCode, InvalidError, LineageError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.model.records import EvaluationRecord, InferenceBatchRecord, Record, parse_record
from lineage.model.times import utcnow
from lineage.services import consistency
from lineage.services.audit import append_event
from lineage.services.correctable import (
    COPIES,
    CORRECTABLE,
    NOT_CORRECTABLE,
    Correctable,
    refusal,
)
from lineage.services.corrected import ADDED, HIDDEN, CorrectedNode, correction_id, history
from lineage.services.record_store import RecordStore
from lineage.store.base import EdgeQuery, GraphStore

MAX_REASON = 2_000
# Graph rules a corrected reference must pass beyond naming a registered node, by field.
Rule = Callable[[GraphStore, Any], None]


@dataclass(frozen=True, slots=True)
class Correction:
    """What a correction did: ``created`` is False when it repeated the latest one (a no-op)."""

    correction: Node
    node: Node  # the target as corrected now
    created: bool
    audit_seq: int | None = None
    copies: list[Node] = field(default_factory=list)  # corrections of copies of the fields


class Corrections:
    """Corrections on behalf of one actor (the token's principal in the API)."""

    def __init__(self, store: GraphStore, records: RecordStore | None, actor: str) -> None:
        parse_id(actor, "actor")
        self.store = store
        self.records = records
        self.actor = actor

    def correct(self, target: str, changes: Mapping[str, Any], reason: str) -> Correction:
        """Record a correction of ``target``: ``changes`` maps fields to their corrected value
        (None removes the field), ``reason`` says why.

        INVALID naming ``changes.<field>`` for a field that cannot be corrected (it defines what
        was registered, or it is unknown) or a value a registration would refuse; NOT_FOUND for
        a target or a reference that is not registered; CONFLICT (``changes.<field>``) when the
        corrected node contradicts the graph. Nothing is written in any of these cases.
        """
        kind = parse_id(target, "target").kind
        spec = _spec(kind)
        wanted = _check_changes(spec, kind, changes)
        why = _check_reason(reason)
        with self.store.transaction():
            now = utcnow()
            consistency.require_agent(self.store, self.actor, now)
            original = self.store.get_nodes([target]).get(target)
            if original is None:
                raise NotFoundError(f"{target} is not registered", field="target")
            done = history(self.store, target)
            current = _view(original, done)
            record, values = _corrected(spec, current, wanted)
            latest = done[-1] if done else None
            if latest is not None and (
                latest.props.get("changes") == values and latest.props.get("reason") == why
            ):
                return Correction(correction=latest, node=current, created=False)
            previous = {name: current.props.get(name) for name in values}
            if previous == values:
                raise InvalidError(
                    f"{target} already holds these values: a correction must change something",
                    field="changes",
                )
            self._check_references(spec, record, previous, values)
            added, hidden, written = self._reference_edges(spec, target, previous, values)
            node = self._node(
                target, done, now, values, previous, why, {ADDED: added, HIDDEN: hidden}
            )
            copies = self._copies(kind, current, values, now, why, node.id)
            edges = [
                edge
                for n in (node, *copies)
                for edge in (
                    Edge(n.id, EdgeKind.CORRECTS, n.props["target"]),
                    Edge(n.id, EdgeKind.WAS_ASSOCIATED_WITH, self.actor, {"role": "corrected_by"}),
                )
            ]
            edges += written
            self.store.upsert_nodes([node, *copies])
            self.store.upsert_edges(edges)
            event = append_event(
                self.store,
                actor=self.actor,
                action="correct",
                reason=why,
                nodes=[node, *copies],
                edges=edges,
                payload={
                    "correction": node.id,
                    "target": target,
                    "changes": values,
                    "previous": previous,
                    "copies": [c.id for c in copies],
                },
                at=node.valid_from,
            )
        stored = self.store.get_nodes([node.id, *(c.id for c in copies)])
        return Correction(
            correction=stored[node.id],
            node=_view(original, [*done, stored[node.id]]),
            created=True,
            audit_seq=event.seq,
            copies=[stored[c.id] for c in copies],
        )

    def _node(
        self,
        target: str,
        done: list[Node],
        now: datetime,
        values: dict[str, Any],
        previous: dict[str, Any],
        why: str,
        extra: Mapping[str, Any],
    ) -> Node:
        """The next correction node of ``target``, after the ``done`` ones."""
        # Corrections of one target are ordered by n; their times must agree even if the clock
        # stepped back.
        at = max(now, done[-1].valid_from) if done else now
        props = {"target": target, "changes": values, "previous": previous, "reason": why}
        props |= {"by": self.actor, **extra}
        return Node(correction_id(target, len(done) + 1), NodeKind.CORRECTION, at, props)

    def _copies(
        self,
        kind: NodeKind,
        current: Node,
        values: Mapping[str, Any],
        now: datetime,
        why: str,
        source: str,
    ) -> list[Node]:
        """Corrections of the copies the registry made of corrected fields (a model version's
        code commit is its run's), so every node that shows the value shows it corrected."""
        per_holder: dict[str, dict[str, Any]] = {}
        for name, holder_field in COPIES.get(kind, {}).items():
            holder = current.props.get(holder_field)
            if name in values and isinstance(holder, str):
                per_holder.setdefault(holder, {})[name] = values[name]
        found: list[Node] = []
        for holder, changes in sorted(per_holder.items()):
            stored = self.store.get_nodes([holder]).get(holder)
            if stored is None:
                continue
            done = history(self.store, holder)
            view = _view(stored, done)
            previous = {name: view.props.get(name) for name in changes}
            if previous != changes:
                node = self._node(holder, done, now, changes, previous, why, {"copy_of": source})
                found.append(node)
        return found

    def _check_references(
        self,
        spec: Correctable,
        record: Record,
        previous: Mapping[str, Any],
        values: Mapping[str, Any],
    ) -> None:
        """NOT_FOUND unless each newly named node is registered; then the graph's rules."""
        for name, value in values.items():
            if name not in spec.references or value is None or value == previous[name]:
                continue
            if not self.store.get_nodes([value]):
                raise NotFoundError(f"{value} is not registered", field=f"changes.{name}")
            rule = _RULES.get((type(record), name))
            if rule is not None:
                with _about(name):
                    rule(self.store, record)

    def _reference_edges(
        self,
        spec: Correctable,
        target: str,
        previous: Mapping[str, Any],
        values: Mapping[str, Any],
    ) -> tuple[list[str], list[str], list[Edge]]:
        """Keys of the edges a correction adds and hides, and the added edges not yet stored.

        An edge restored by a later correction is stored already (hidden, never deleted): it
        is not written again, so its row stays what its registration wrote.
        """
        added: list[str] = []
        hidden: list[str] = []
        written: list[Edge] = []
        for name in sorted(values):
            reference = spec.references.get(name)
            if reference is None or values[name] == previous[name]:
                continue
            if previous[name] is not None:
                hidden.append(reference.edge_to(target, str(previous[name])).key)
            if values[name] is not None:
                edge = reference.edge_to(target, str(values[name]))
                added.append(edge.key)
                stored = self.store.find_edges(
                    EdgeQuery(src=target, dst=edge.dst, kinds=frozenset({edge.kind}))
                ).items
                if not any(e.key == edge.key for e in stored):
                    written.append(edge)
        return added, hidden, written


def _spec(kind: NodeKind) -> Correctable:
    spec = CORRECTABLE.get(kind)
    if spec is None:
        why = NOT_CORRECTABLE.get(kind, "nothing about it can be corrected")
        raise InvalidError(f"a {kind.value} cannot be corrected: {why}", field="target")
    return spec


def _check_changes(spec: Correctable, kind: NodeKind, changes: object) -> dict[str, Any]:
    if not isinstance(changes, Mapping) or not changes:
        raise InvalidError(
            "must be an object of at least one field and its corrected value (null removes "
            "the field)",
            field="changes",
        )
    for name in changes:
        if not isinstance(name, str):
            raise InvalidError("field names must be strings", field="changes")
        why = refusal(spec, kind, name)
        if why is not None:
            raise InvalidError(why, field=f"changes.{name}")
    return dict(changes)


def _check_reason(reason: object) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > MAX_REASON:
        raise InvalidError(
            f"say why, in 1 to {MAX_REASON:,} characters: the audit log and every later "
            "reader of the corrected fact see it",
            field="reason",
        )
    return text


def _view(original: Node, corrections: list[Node]) -> Node:
    """The target as corrected by ``corrections`` (all of them, in order)."""
    if not corrections:
        return original
    changes = [c.props["changes"] for c in corrections]
    return CorrectedNode.of(original, changes, [c.id for c in corrections])


def _corrected(
    spec: Correctable, current: Node, wanted: Mapping[str, Any]
) -> tuple[Record, dict[str, Any]]:
    """The corrected node's registration record, validated by the registration's own type
    (INVALID naming ``changes.<field>``), and the changed fields as a registration stores them
    (normalised as it normalises them)."""
    view = CorrectedNode.of(current, [wanted], ())
    with _about(None):
        record = parse_record(spec.record, spec.record_input(view))
    stored = record.model_dump(mode="json")
    return record, {name: None if wanted[name] is None else stored.get(name) for name in wanted}


@contextmanager
def _about(field: str | None) -> Iterator[None]:
    """Report an error against ``changes.<field>`` (or the field the error names)."""
    try:
        yield
    except LineageError as exc:
        if exc.code is ErrorCode.UNAVAILABLE:
            raise
        name = field or exc.field or ""
        exc.field = f"changes.{name}" if name else "changes"
        for item in exc.details.get("errors", []):
            if isinstance(item, dict) and isinstance(item.get("field"), str):
                item["field"] = f"changes.{item['field']}"
        raise


def _batch_deployment(store: GraphStore, rec: InferenceBatchRecord) -> None:
    """The corrected deployment must have served the batch's version over its whole window."""
    nodes = store.get_nodes([rec.model_version, rec.snapshot])
    consistency.check_batch(store, rec, nodes[rec.model_version], nodes[rec.snapshot])


def _evaluation_dataset(store: GraphStore, rec: EvaluationRecord) -> None:
    """The evaluation cannot predate the dataset version it is now said to have used."""
    nodes = store.get_nodes([rec.model_version, *([rec.dataset] if rec.dataset else [])])
    dataset = nodes.get(rec.dataset) if rec.dataset else None
    consistency.check_evaluation(rec, nodes[rec.model_version], dataset)


_RULES: dict[tuple[type[Record], str], Rule] = {
    (InferenceBatchRecord, "deployment"): _batch_deployment,
    (EvaluationRecord, "dataset"): _evaluation_dataset,
}
