"""Who may sign off a model version, and separation of duties.

A sign-off is made by the holder of a model role (``owner`` or ``risk_approver``) at the instant
of the sign-off: the model's ``WAS_ATTRIBUTED_TO`` edges in force then. The risk approver must
be independent of the version: not an owner of the model then, and not one who trained it,
that is the agent that triggered its training run, the principal that registered the run (the
actor of the audit event that wrote it), or the owner a training pipeline acts on behalf of.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from lineage.model.graph import Node, NodeKind
from lineage.services.audit import node_subject
from lineage.services.corrected import CorrectedReads
from lineage.services.governance.accountability import holders
from lineage.store.base import AuditEvent, GraphStore

# How far before a node's recorded_at the search for its audit event starts: both come from the
# writer's clock in one transaction, so this only absorbs a clock that stepped back.
_CLOCK_SLACK = timedelta(hours=1)


def role_holders(store: GraphStore, model: str, role: str, at: datetime) -> list[str]:
    """The agents holding ``role`` for ``model`` at ``at``, by ID."""
    return sorted(a.agent.id for a in holders(store, model, at) if a.role == role)


def trainers(store: GraphStore, run: Node, at: datetime) -> dict[str, str]:
    """Who trained the version ``run`` produced, each with how: the agent that triggered it (as
    corrected at ``at``), the principal that registered it, and the owners of those that are
    pipelines."""
    found: dict[str, str] = {}
    triggered = run.props.get("triggered_by")
    if isinstance(triggered, str):
        found[triggered] = f"triggered {run.id}"
    registered = registrant(store, run)
    if registered is not None:
        found.setdefault(registered, f"registered {run.id}")
    pipelines = [a for a in found if a.startswith("pipeline:")]
    if pipelines:
        agents = CorrectedReads(store, at).get_nodes(pipelines)
        for pipeline in pipelines:
            node = agents.get(pipeline)
            owner = node.props.get("owner") if node is not None else None
            if isinstance(owner, str):
                found.setdefault(owner, f"owns {pipeline}, which {found[pipeline]}")
    return found


def registrant(store: GraphStore, node: Node) -> str | None:
    """The actor of the audit event that first wrote ``node``; None if the log has none.

    The log is searched from a little before the node's ``recorded_at`` (a binary search on the
    events' times), and from the start only if that misses, so the answer is exact even when
    event times are out of order.
    """
    head = store.audit_head()
    if head is None:
        return None
    subject = node_subject(node.id)
    start = 0
    if node.recorded_at is not None:
        start = _last_before(store, node.recorded_at - _CLOCK_SLACK, head.seq)
    for event in _events(store, after=start, upto=head.seq):
        if subject in event.subjects:
            return event.actor
    for event in _events(store, after=0, upto=start):
        if subject in event.subjects:
            return event.actor
    return None


def _last_before(store: GraphStore, instant: datetime, last: int) -> int:
    """A sequence number whose event is before ``instant`` (0 if none), by binary search."""
    low, high = 0, last
    while low < high:
        mid = (low + high + 1) // 2
        found = store.audit_events(after_seq=mid - 1, limit=1)
        if found and found[0].at < instant:
            low = mid
        else:
            high = mid - 1
    return low


def _events(store: GraphStore, after: int, upto: int) -> Iterator[AuditEvent]:
    """The events with ``after < seq <= upto``, page by page."""
    while after < upto:
        page = store.audit_events(after_seq=after)
        if not page:
            return
        for event in page:
            if event.seq > upto:
                return
            yield event
        after = page[-1].seq


def is_agent(node: Node | None) -> bool:
    """Whether ``node`` is a person or a pipeline."""
    return node is not None and node.kind in (NodeKind.PERSON, NodeKind.PIPELINE)
