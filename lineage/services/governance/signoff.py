"""Sign-off: the owner and the risk approver approve or block a model version.

The approver is the actor (over the API, the token's principal), never a field. They must hold
the role they sign in (``owner`` or ``risk_approver``; the technical steward does not sign
off) for the version's model at the instant of the sign-off, and a risk approver must be
independent of the version (:mod:`lineage.services.governance.duties`).

A sign-off is an ``Approval`` node (``approval:<model>-<version>-<role>-<n>``, PROV activity)
whose ``decision`` is ``approved`` or ``blocked``. It binds what the approver saw: the artifact
identity (the training run's ``artifact_hash``, else the model version node's content hash),
and the content hashes of the evaluations, bias audits and gate results known then (the gate
results are recorded with it when they were not yet). Edges: ``approval -USED-> version``
(role ``approved`` / ``blocked``), ``-USED->`` each evidence node (role ``evidence``),
``-WAS_ASSOCIATED_WITH-> approver`` (role: the model role).

**Staleness.** A sign-off is stale at an instant when what it bound no longer describes the
version as known then: an evaluation or bias audit registered that it did not see, one it saw
now corrected (its content hash changed), the gate results computed now differing from the ones
it bound (their IDs hash the gates' inputs, so a corrected threshold or forbidden feature
counts), or another artifact identity. Signing again is then allowed; signing twice while the
first still holds (same version, role, person and decision) is a CONFLICT naming it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import kind_of, parse_id, require_kind
from lineage.model.records import SignOffRecord, parse_record
from lineage.model.times import require_aware, to_text, utcnow
from lineage.services import consistency
from lineage.services.audit import append_event
from lineage.services.consistency import when
from lineage.services.governance import policy
from lineage.services.governance.duties import role_holders, trainers
from lineage.services.governance.evidence import Evidence, read_evidence
from lineage.services.governance.gates import GateReport, report_of, with_recorded
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore

APPROVED = "approved"
BLOCKED = "blocked"
_MAX_STEM = 150


@dataclass(frozen=True, slots=True)
class SignOffResult:
    """A recorded sign-off, the gates as the approver saw them, and the gate results recorded
    with it (empty when they were recorded already)."""

    approval: Node
    gates: GateReport
    audit_seq: int
    gate_results_written: list[Node] = field(default_factory=list)

    @property
    def created(self) -> bool:
        """Always: a sign-off is never an idempotent no-op (a repeat is a CONFLICT)."""
        return True


@dataclass(frozen=True, slots=True)
class Freshness:
    """Whether a sign-off still holds at ``at``; ``reasons`` says why not."""

    approval: Node
    at: datetime
    reasons: list[str]

    @property
    def fresh(self) -> bool:
        """True while nothing it bound has changed."""
        return not self.reasons


class SignOff:
    """Approvals and blocks of model versions by ``actor`` (the approver)."""

    def __init__(self, store: GraphStore, records: RecordStore | None, actor: str) -> None:
        parse_id(actor, "actor")
        self.store = store
        self.records = records
        self.actor = actor

    def approve(
        self, version: str, role: str, reason: str, at: datetime | None = None
    ) -> SignOffResult:
        """Approve ``version`` in ``role`` at ``at`` (default now; explicit for trusted
        backfills), on the evidence known then.

        FORBIDDEN (``role``) when the actor does not hold the role for the model then, signs
        as technical steward, or, as risk approver, owns the model or trained the version;
        CONFLICT (``version``) when the actor's last sign-off in this role is the same decision
        and still fresh (naming it); NOT_FOUND (``version``) for an unknown version (or one
        not yet trained at ``at``); INVALID for malformed input (``role``, ``reason``, ``at``)
        or an actor that is not a registered agent then. Nothing is written in these cases.
        """
        return self._sign(APPROVED, version, role, reason, at)

    def block(
        self, version: str, role: str, reason: str, at: datetime | None = None
    ) -> SignOffResult:
        """Block ``version`` in ``role``: it is not deployable until the blocker's role
        approves it again. Same rules and errors as :meth:`approve`."""
        return self._sign(BLOCKED, version, role, reason, at)

    def _sign(
        self, decision: str, version: str, role: str, reason: str, at: datetime | None
    ) -> SignOffResult:
        rec = parse_record(
            SignOffRecord, {"version": version, "role": role, "reason": reason, "at": at}
        )
        _check_role(rec.role)
        instant = rec.at or utcnow()
        with self.store.transaction():
            consistency.require_agent(self.store, self.actor, instant)
            evidence = read_evidence(self.store, rec.version, instant)
            if evidence.truncated:
                raise InvalidError(
                    f"{rec.version} has more evidence than one walk reads; it cannot be signed "
                    "off on part of it",
                    field="version",
                )
            self._check_duties(evidence, rec.role, instant)
            report = report_of(evidence)
            self._check_repeat(evidence, report, rec.role, decision)
            stored = self.store.get_nodes([r.id for r in report.results])
            gate_nodes = [r.node(instant) for r in report.results if r.id not in stored]
            gate_edges = [e for r in report.results if r.id not in stored for e in r.edges()]
            seen = evidence.bound() | {n.id: n.content_hash() for n in gate_nodes}
            seen |= {node_id: node.content_hash() for node_id, node in stored.items()}
            approval = self._node(evidence, report, rec.role, decision, rec.reason, seen)
            if self.store.get_nodes([approval.id]):  # never overwrite a registered node
                raise ConflictError(f"{approval.id} is already registered", field="version")
            edges = [
                Edge(approval.id, EdgeKind.USED, rec.version, {"role": decision}),
                *(
                    Edge(approval.id, EdgeKind.USED, node_id, {"role": "evidence"})
                    for node_id in sorted(seen)
                ),
                Edge(approval.id, EdgeKind.WAS_ASSOCIATED_WITH, self.actor, {"role": rec.role}),
            ]
            self.store.upsert_nodes([*gate_nodes, approval])
            self.store.upsert_edges([*gate_edges, *edges])
            event = append_event(
                self.store,
                actor=self.actor,
                action="approve" if decision == APPROVED else "block",
                reason=rec.reason,
                nodes=[*gate_nodes, approval],
                edges=[*gate_edges, *edges],
                payload={
                    "approval": approval.id,
                    "model_version": rec.version,
                    "role": rec.role,
                    "decision": decision,
                    "at": to_text(instant),
                    "evidence": seen,
                },
            )
        written = self.store.get_nodes([approval.id, *(n.id for n in gate_nodes)])
        return SignOffResult(
            approval=written[approval.id],
            gates=with_recorded(report, stored | written),
            audit_seq=event.seq,
            gate_results_written=[written[n.id] for n in gate_nodes],
        )

    def _check_duties(self, evidence: Evidence, role: str, at: datetime) -> None:
        """FORBIDDEN unless the actor holds ``role`` then, independently for a risk approver."""
        model = evidence.model.id
        held = role_holders(self.store, model, role, at)
        if self.actor not in held:
            holders = ", ".join(held) or "nobody"
            raise ForbiddenError(
                f"{self.actor} does not hold the {role} role for {model} at {when(at)} "
                f"(held by {holders}): only its holder signs off in it",
                field="role",
                details={"actor": self.actor, "role": role, "holders": held},
            )
        if role != policy.RISK_APPROVER:
            return
        if self.actor in role_holders(self.store, model, policy.OWNER, at):
            raise ForbiddenError(
                f"separation of duties: {self.actor} owns {model}, so cannot also sign off as "
                "its risk approver",
                field="role",
                details={"actor": self.actor, "conflict": "owner"},
            )
        if evidence.run is not None:
            how = trainers(self.store, evidence.run, at).get(self.actor)
            if how is not None:
                raise ForbiddenError(
                    f"separation of duties: {self.actor} {how}, so cannot sign off "
                    f"{evidence.version.id} as its risk approver",
                    field="role",
                    details={"actor": self.actor, "conflict": "trained", "how": how},
                )

    def _check_repeat(
        self, evidence: Evidence, report: GateReport, role: str, decision: str
    ) -> None:
        """CONFLICT when the actor's last sign-off in ``role`` is this decision and holds."""
        mine = [
            n
            for n in evidence.sign_offs
            if n.props.get("role") == role and n.props.get("approver") == self.actor
        ]
        if not mine or mine[-1].props.get("decision") != decision:
            return
        last = mine[-1]
        if not stale_reasons(last, evidence, report):
            raise ConflictError(
                f"{self.actor} already {decision} {evidence.version.id} as {role} in "
                f"{last.id} at {when(last.valid_from)}, and nothing it saw has changed since",
                field="version",
                details={"existing": last.id},
            )

    def _node(
        self,
        evidence: Evidence,
        report: GateReport,
        role: str,
        decision: str,
        reason: str,
        seen: dict[str, str],
    ) -> Node:
        version = evidence.version.id
        tier = policy.tier_from_props(evidence.model.props)
        n = 1 + sum(1 for a in evidence.all_sign_offs if a.props.get("role") == role)
        props: dict[str, Any] = {
            "decision": decision,
            "model_version": version,
            "model": evidence.model.id,
            "role": role,
            "approver": self.actor,
            "reason": reason,
            "artifact": evidence.artifact(),
            "evidence": seen,
            "gates": {r.gate: {"id": r.id, "verdict": r.verdict.value} for r in report.results},
            "tier": tier.tier.value if tier is not None else None,
        }
        return Node(approval_id(version, role, n), NodeKind.APPROVAL, evidence.at, props)


def approval_id(version: str, role: str, n: int) -> str:
    """The ID of the ``n``-th sign-off (from 1) of ``version`` in ``role``."""
    parsed = parse_id(version)
    stem = f"{parsed.name}-{parsed.version}"
    if len(stem) > _MAX_STEM:
        stem = hashlib.sha256(version.encode()).hexdigest()[:24]
    return f"approval:{stem}-{role}-{n}"


def freshness(store: GraphStore, approval: str, at: datetime | None = None) -> Freshness:
    """Whether the sign-off ``approval`` still holds at ``at`` (default now), and if not, why.

    NOT_FOUND (``approval``) when it is not registered; INVALID when it is not a sign-off, or
    (``at``) for an instant before it was made.
    """
    require_kind(approval, "approval", NodeKind.APPROVAL)
    node = store.get_nodes([approval]).get(approval)
    if node is None:
        raise NotFoundError(f"{approval} is not registered", field="approval")
    instant = require_aware(at, "at") if at is not None else utcnow()
    if instant < node.valid_from:
        raise InvalidError(
            f"{approval} was made at {when(node.valid_from)}, after {when(instant)}", field="at"
        )
    evidence = read_evidence(store, str(node.props.get("model_version")), instant)
    return Freshness(node, instant, stale_reasons(node, evidence, report_of(evidence)))


def stale_reasons(approval: Node, evidence: Evidence, report: GateReport) -> list[str]:
    """Why ``approval`` no longer holds given the evidence (and gates) known now; empty while
    it holds."""
    reasons: list[str] = []
    bound: dict[str, str] = approval.props.get("evidence") or {}
    artifact = (approval.props.get("artifact") or {}).get("hash")
    if artifact != evidence.artifact()["hash"]:
        reasons.append(f"the artifact of {evidence.version.id} is not the one it approved")
    seen = {i: h for i, h in bound.items() if kind_of(i) is not NodeKind.GATE_RESULT}
    now = evidence.bound()
    for node_id in sorted(now.keys() - seen.keys()):
        reasons.append(f"{node_id} was registered after it")
    for node_id in sorted(seen.keys() & now.keys()):
        if seen[node_id] != now[node_id]:
            reasons.append(f"{node_id} was corrected after it")
    for node_id in sorted(seen.keys() - now.keys()):
        reasons.append(f"{node_id}, which it saw, is no longer known")
    gates_then = {i for i in bound if kind_of(i) is NodeKind.GATE_RESULT}
    gates_now = {r.id for r in report.results}
    if gates_then != gates_now and not reasons:
        reasons.append("the gates' inputs changed (thresholds or forbidden features corrected)")
    return reasons


def _check_role(role: str) -> None:
    """INVALID for an unknown role; FORBIDDEN for a model role that does not sign off."""
    if role in policy.SIGN_OFF_ROLES:
        return
    signers = " or ".join(policy.SIGN_OFF_ROLES)
    if role in policy.MODEL_ROLES:
        raise ForbiddenError(
            f"the {role} does not sign off model versions: {signers} does", field="role"
        )
    raise InvalidError(f"unknown role {role!r}; a sign-off is made as {signers}", field="role")
