"""Who is accountable for a model, now or at any instant, and where nobody is.

Every model has an owner, a technical steward and a risk approver at all times: registration
requires the three, and a handover (``Registry.assign_role``) closes one term as it opens the
next. The truth is the model's temporal ``WAS_ATTRIBUTED_TO`` edges, never a copy on the model
node. A gap opens when a holder leaves (:meth:`People.mark_left`): :func:`accountability_gaps`
lists every model and role left without a current holder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import require_kind
from lineage.model.times import require_aware, to_text, utcnow
from lineage.services.answers import Attribution
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent, when
from lineage.store.base import EdgeQuery, GraphStore, iter_all_nodes, iter_edges

ROLES = ("owner", "technical_steward", "risk_approver")
_ATTRIBUTED = frozenset({EdgeKind.WAS_ATTRIBUTED_TO})


@dataclass(frozen=True, slots=True)
class Gap:
    """A model role without a current holder: nobody holds it, or its holder has left."""

    model: Node
    role: str
    problem: str  # "missing" | "left"
    agent: Node | None = None  # the holder who left
    since: datetime | None = None  # when the holder left, or when the last term ended


def holders(store: GraphStore, model: str, at: datetime | None = None) -> list[Attribution]:
    """The model's attributions in force at ``at`` (default now), in role order.

    A holder who has left by then is still listed (the term is still open): see
    :func:`accountability_gaps` for what that means.
    """
    require_kind(model, "model", NodeKind.MODEL)
    instant = require_aware(at, "at") if at is not None else utcnow()
    edges = [e for e in _attributions(store, model) if e.valid_at(instant)]
    agents = store.get_nodes(sorted({e.dst for e in edges}))
    found = [
        Attribution(str(e.props.get("role", "")), agents[e.dst], e.valid_from, e.valid_to)
        for e in edges
        if e.dst in agents
    ]
    rank = {role: i for i, role in enumerate(ROLES)}
    return sorted(found, key=lambda a: (rank.get(a.role, len(rank)), a.agent.id))


def accountability_gaps(store: GraphStore, at: datetime | None = None) -> list[Gap]:
    """Every model whose owner, technical steward or risk approver is missing or has left at
    ``at`` (default now), by model then role."""
    instant = require_aware(at, "at") if at is not None else utcnow()
    gaps: list[Gap] = []
    for model in iter_all_nodes(store, NodeKind.MODEL):
        if model.valid_from > instant:
            continue
        terms = list(_attributions(store, model.id))
        current = holders(store, model.id, instant)
        for role in ROLES:
            held = [a for a in current if a.role == role]
            if not held:
                ended = [e.valid_to for e in terms if e.props.get("role") == role and e.valid_to]
                gaps.append(Gap(model, role, "missing", since=max(ended, default=None)))
                continue
            for term in held:
                left = term.agent.valid_to
                if left is not None and left <= instant:
                    gaps.append(Gap(model, role, "left", agent=term.agent, since=left))
    return gaps


class People:
    """Changes to people's standing, on behalf of one actor (audited as every write)."""

    def __init__(self, store: GraphStore, actor: str) -> None:
        self.store = store
        self.actor = actor

    def mark_left(self, person: str, reason: str, at: datetime | None = None) -> Node:
        """Record that a person left at ``at`` (default now): their node's validity ends, so
        their tokens stop working and the models they held a role for show a gap until the
        role is handed over. Marking someone who already left is a no-op."""
        require_kind(person, "person", NodeKind.PERSON)
        if not reason.strip():
            raise InvalidError("say why, for the audit log", field="reason")
        instant = require_aware(at, "at") if at is not None else utcnow()
        with self.store.transaction():
            require_agent(self.store, self.actor, instant)
            node = self.store.get_nodes([person]).get(person)
            if node is None:
                raise NotFoundError(f"{person} is not registered", field="person")
            if node.valid_to is not None:
                return node
            if instant <= node.valid_from:
                raise InvalidError(
                    f"{person} joined at {when(node.valid_from)}; they cannot leave before",
                    field="at",
                )
            left = Node(node.id, node.kind, node.valid_from, node.props, valid_to=instant)
            self.store.upsert_nodes([left])
            append_event(
                self.store,
                actor=self.actor,
                action="mark_left",
                reason=reason,
                nodes=[left],
                payload={"person": person, "at": to_text(instant)},
            )
        return self.store.get_nodes([person])[person]


def _attributions(store: GraphStore, model: str) -> Iterator[Edge]:
    return iter_edges(store, EdgeQuery(src=model, kinds=_ATTRIBUTED))

