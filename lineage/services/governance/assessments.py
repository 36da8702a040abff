"""Recording the risk gate's evidence and the gates' results.

A bias audit is registered as a ``RiskAssessment`` node (``risk:...``) holding what was counted
(per-group decisions and approvals, the override path, stress tests), never a typed-in ratio:
``risk -USED-> model version`` (role ``audited``), ``-WAS_ASSOCIATED_WITH-> auditor`` and, when
given, ``-USED-> dataset version`` (role ``audit_data``). Like every registration it is
immutable: the same ID with the same content is a no-op, with other content a CONFLICT.

Recording the gates writes a ``GateResult`` node per gate (see
:mod:`lineage.services.governance.gates`), with one audit event; their IDs derive from their
inputs, so evaluating again on the same evidence writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.model.record_fields import MAX_FUTURE_SKEW
from lineage.model.records import BiasAuditRecord, parse_record
from lineage.model.times import require_aware, to_text, utcnow
from lineage.services import consistency
from lineage.services.audit import append_event
from lineage.services.consistency import when
from lineage.services.governance.evidence import read_evidence
from lineage.services.governance.gates import GateReport, report_of, with_recorded
from lineage.services.record_store import RecordStore
from lineage.services.write_plan import Registration
from lineage.store.base import GraphStore

Input = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class GateEvaluation:
    """What recording the gates did: ``written`` are the GateResult nodes it created (none when
    both were already recorded for this evidence)."""

    report: GateReport
    written: list[Node] = field(default_factory=list)
    audit_seq: int | None = None

    @property
    def created(self) -> bool:
        """Whether anything was written."""
        return bool(self.written)


class Assessments:
    """Bias audits and gate results, recorded on behalf of one actor."""

    def __init__(self, store: GraphStore, records: RecordStore | None, actor: str) -> None:
        parse_id(actor, "actor")
        self.store = store
        self.records = records
        self.actor = actor

    def register_bias_audit(
        self, data: BiasAuditRecord | Input, reason: str = "register bias audit"
    ) -> Registration:
        """Register a bias audit of a model version as a RiskAssessment node.

        INVALID naming the field for malformed input (counts where approvals exceed decisions
        or are negative, a group without decisions, fewer than two groups); NOT_FOUND for a
        model version, auditor or dataset that is not registered; CONFLICT (``audited_at``)
        for an audit before its version (or dataset) existed, or for an ID registered with
        other content. Nothing is written in any of these cases.
        """
        rec = parse_record(BiasAuditRecord, data)
        props = rec.model_dump(mode="json", exclude={"id", "audited_at"}, exclude_none=True)
        node = Node(rec.id, NodeKind.RISK_ASSESSMENT, rec.audited_at, props)
        edges = [
            Edge(rec.id, EdgeKind.USED, rec.model_version, {"role": "audited"}),
            Edge(rec.id, EdgeKind.WAS_ASSOCIATED_WITH, rec.auditor, {"role": "auditor"}),
        ]
        if rec.dataset is not None:
            edges.append(Edge(rec.id, EdgeKind.USED, rec.dataset, {"role": "audit_data"}))
        with self.store.transaction():
            consistency.require_agent(self.store, self.actor, utcnow())
            wanted = [
                rec.id,
                rec.model_version,
                rec.auditor,
                *([rec.dataset] if rec.dataset else []),
            ]
            found = self.store.get_nodes(wanted)
            old = found.get(rec.id)
            if old is not None:
                _same(old, node)
                return Registration(node=old, created=False)
            version = _require(found, rec.model_version, "model_version", NodeKind.MODEL_VERSION)
            auditor = found.get(rec.auditor)
            if auditor is None:
                raise NotFoundError(f"{rec.auditor} is not registered", field="auditor")
            _not_before(rec.audited_at, version)
            if rec.dataset is not None:
                dataset = _require(found, rec.dataset, "dataset", NodeKind.DATASET_VERSION)
                _not_before(rec.audited_at, dataset)
            self.store.upsert_nodes([node])
            self.store.upsert_edges(edges)
            event = append_event(
                self.store,
                actor=self.actor,
                action="register_bias_audit",
                reason=reason,
                nodes=[node],
                edges=edges,
                payload=rec.model_dump(mode="json"),
            )
        stored = self.store.get_nodes([rec.id])[rec.id]
        return Registration(node=stored, created=True, audit_seq=event.seq)

    def evaluate_gates(self, version: str, at: datetime | None = None) -> GateEvaluation:
        """Compute both gates of ``version`` from the evidence known at ``at`` (default now)
        and record each result not yet recorded, with one audit event.

        The same evidence gives the same GateResult IDs, so evaluating again writes nothing;
        new or corrected evidence (or corrected thresholds) gives new results. INVALID (``at``)
        for a naive instant or one ahead of the server's clock; INVALID / NOT_FOUND
        (``version``) for a version that is not registered (by ``at``).
        """
        instant = _instant(at)
        with self.store.transaction():
            consistency.require_agent(self.store, self.actor, utcnow())
            report = report_of(read_evidence(self.store, version, instant))
            if report.truncated:
                raise InvalidError(
                    f"{version} has more evidence than one walk reads; the gates cannot be "
                    "decided on part of it",
                    field="version",
                )
            stored = self.store.get_nodes([r.id for r in report.results])
            new = [r for r in report.results if r.id not in stored]
            if not new:
                return GateEvaluation(report=report)
            nodes = [r.node(instant) for r in new]
            edges = [e for r in new for e in r.edges()]
            self.store.upsert_nodes(nodes)
            self.store.upsert_edges(edges)
            event = append_event(
                self.store,
                actor=self.actor,
                action="evaluate_gates",
                reason=f"gates of {version}",
                nodes=nodes,
                edges=edges,
                payload={
                    "model_version": version,
                    "at": to_text(instant),
                    "results": {r.gate: {"id": r.id, "verdict": r.verdict.value} for r in new},
                },
            )
        written = self.store.get_nodes([r.id for r in report.results])
        return GateEvaluation(
            report=with_recorded(report, written),
            written=[written[n.id] for n in nodes],
            audit_seq=event.seq,
        )


def _instant(at: datetime | None) -> datetime:
    """``at`` (default now): aware, and not ahead of the server's clock beyond the skew."""
    if at is None:
        return utcnow()
    instant = require_aware(at, "at")
    if instant > utcnow() + MAX_FUTURE_SKEW:
        raise InvalidError(f"{when(instant)} is in the future", field="at")
    return instant


def _require(found: Mapping[str, Node], node_id: str, field_name: str, kind: NodeKind) -> Node:
    node = found.get(node_id)
    if node is None:
        raise NotFoundError(f"{node_id} is not registered", field=field_name)
    if node.kind is not kind:
        raise InvalidError(
            f"{node_id} is a {node.kind.value}, not a {kind.value}", field=field_name
        )
    return node


def _not_before(audited_at: datetime, used: Node) -> None:
    """CONFLICT (``audited_at``) for an audit of something that did not exist yet."""
    if audited_at >= used.valid_from:
        return
    raise ConflictError(
        f"the audit happened at {when(audited_at)}, before {used.id} existed (at "
        f"{when(used.valid_from)})",
        field="audited_at",
        details={"id": used.id, "created_at": when(used.valid_from), "given": when(audited_at)},
    )


def _same(old: Node, new: Node) -> None:
    """Nothing unless ``new`` differs from the registered ``old``: then CONFLICT."""
    if old.props == new.props and old.valid_from != new.valid_from:
        raise ConflictError(
            f"{old.id} is already registered as audited at {when(old.valid_from)}; registered "
            "provenance is immutable: register a new audit instead",
            field="audited_at",
        )
    consistency.check_unchanged(old, new, compare_time=True)
