"""The review queue: versions waiting for a sign-off, and those waiting past their target.

A version is **pending** at ``now`` when its evidence is complete and a required approval is
not in: its model is scoped (so its tier, approval path and target are known), both gates pass
on the evidence known at ``now``, no role has blocked it, and at least one role its tier
requires has no approval, or only a stale one.

It has been pending **since** its evidence was complete: the latest of the version's own
creation, the domain time of each piece of evidence the passing gates read (every evaluation,
the bias audit) and the recording time of each correction applied to that evidence or to the
model. New or corrected evidence therefore restarts the clock, as it also makes earlier
approvals stale. It is **overdue** when pending for longer than its tier's target
(:data:`lineage.services.governance.policy.REVIEW_TARGET`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lineage.model.graph import Node, NodeKind
from lineage.model.times import require_aware
from lineage.services.governance import policy
from lineage.services.governance.evidence import Evidence, read_evidence
from lineage.services.governance.gates import report_of
from lineage.services.governance.policy import Tier
from lineage.services.governance.readiness import sign_offs
from lineage.store.base import GraphStore, iter_all_nodes


@dataclass(frozen=True, slots=True)
class Review:
    """A version waiting for sign-off: the roles it waits for (``stale``: those whose
    approval no longer holds), since when, and by when its tier wants it done."""

    model_version: Node
    model: str
    tier: Tier
    awaiting: list[str]
    stale: list[str]
    since: datetime
    due: datetime
    overdue: bool

    @property
    def target(self) -> timedelta:
        """The tier's approval time target."""
        return policy.REVIEW_TARGET[self.tier]

    def waiting(self, now: datetime) -> timedelta:
        """How long it has been pending at ``now``."""
        return now - self.since


def reviews(store: GraphStore, now: datetime) -> list[Review]:
    """Every version pending review at ``now``, overdue first, then by due time.

    Reads every model version (one evidence read each); INVALID (``now``) for a naive instant.
    """
    instant = require_aware(now, "now")
    found = []
    for version in iter_all_nodes(store, NodeKind.MODEL_VERSION):
        if version.valid_from > instant:
            continue
        review = _pending(read_evidence(store, version.id, instant))
        if review is not None:
            found.append(review)
    return sorted(found, key=lambda r: (not r.overdue, r.due, r.model_version.id))


def _pending(evidence: Evidence) -> Review | None:
    decision = policy.tier_from_props(evidence.model.props)
    if decision is None or policy.missing_scoping(evidence.model.props):
        return None
    report = report_of(evidence)
    if not report.passed:
        return None
    standing = sign_offs(evidence, report, decision.tier)
    if any(s.blocked for s in standing):
        return None
    awaiting = [s.role for s in standing if s.required and not s.approved]
    if not awaiting:
        return None
    since = complete_since(evidence)
    due = since + policy.REVIEW_TARGET[decision.tier]
    return Review(
        model_version=evidence.version,
        model=evidence.model.id,
        tier=decision.tier,
        awaiting=awaiting,
        stale=[s.role for s in standing if s.required and s.latest is not None and s.stale],
        since=since,
        due=due,
        overdue=evidence.at > due,
    )


def complete_since(evidence: Evidence) -> datetime:
    """When the evidence the gates read was complete as known now (see the module's rule)."""
    read = [*evidence.evaluations]
    if evidence.latest_audit is not None:
        read.append(evidence.latest_audit)
    times = [evidence.version.valid_from, *(n.valid_from for n in read)]
    for node in (*read, evidence.model):
        times += [c.valid_from for c in evidence.corrections.get(node.id, [])]
    return max(times)
