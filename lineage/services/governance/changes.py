"""The write path of a deployment change, and the checks every change shares.

A change reads the deployment and its slot history inside its transaction
(:func:`open_change`), decides the slots after, and :func:`write_change` closes and opens the
edges between the two states with one audit event. The operations themselves are
:class:`lineage.services.governance.deployment.Deployments`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lineage.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from lineage.model.graph import Edge, Node, NodeKind
from lineage.model.ids import require_kind
from lineage.model.times import require_aware, to_text, utcnow
from lineage.services import consistency
from lineage.services.audit import append_event
from lineage.services.governance import readiness, slots
from lineage.services.governance.features import retired_features
from lineage.services.governance.features import retirement_text as _retired_text
from lineage.services.governance.slots import FULL, Slots
from lineage.store.base import GraphStore

MAX_REASON = 2_000
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class DeploymentChange:
    """What a change did: the slots before and after, the edges it closed and opened.

    ``created`` is False for a no-op (the deployment already was as asked); then nothing was
    written and ``audit_seq`` is None.
    """

    deployment: Node
    action: str
    at: datetime
    before: Slots
    after: Slots
    created: bool
    audit_seq: int | None = None
    opened: list[Edge] = field(default_factory=list)
    closed: list[Edge] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class When:
    """A change of ``deployment`` at ``at``, as the consistency rules read one."""

    deployment: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Context:
    """A deployment as the change found it, inside the change's transaction."""

    deployment: Node
    new: bool  # the change creates the deployment node
    edges: list[Edge]  # its whole slot history
    before: Slots  # the latest state
    at: datetime
    last: datetime | None  # the latest change recorded

    @property
    def when(self) -> When:
        """The change as the consistency rules read it."""
        return When(self.deployment.id, self.at)


def open_change(
    store: GraphStore, actor: str, deployment_id: str, given: datetime | None
) -> Context:
    """The deployment and its history, read inside the change's transaction."""
    now = utcnow()
    consistency.require_agent(store, actor, now)
    node = store.get_nodes([deployment_id]).get(deployment_id)
    if node is None:
        raise NotFoundError(f"{deployment_id} is not registered", field="deployment")
    return context(node, False, slots.history(store, deployment_id), given, now)


def require_features(store: GraphStore, version: Node, at: datetime, field_name: str) -> None:
    """CONFLICT (``field_name``) when ``version`` needs a feature not valid at ``at``."""
    missing = retired_features(store, version, at)
    if missing:
        raise ConflictError(
            f"{version.id} needs features the feature schema no longer provides at "
            f"{consistency.when(at)}: {_retired_text(store, missing)}",
            field=field_name,
            details={"version": version.id, "retired_features": missing},
        )


def write_change(
    store: GraphStore,
    actor: str,
    ctx: Context,
    action: str,
    why: str,
    after: Slots,
    payload: dict[str, Any],
    *,
    meta: Mapping[str, Any] | None = None,
    extra: list[Edge] | None = None,
) -> DeploymentChange:
    """Close and open the edges that take the deployment from ``ctx.before`` to ``after``,
    with one audit event; CONFLICT (``at``) when it would cut a registered batch's window."""
    labels = {"change": action, "reason": why, "by": actor, **(meta or {})}
    open_edges = [e for e in ctx.edges if e.valid_to is None]
    planned = slots.plan(ctx.deployment.id, open_edges, after, ctx.at, labels)
    consistency.check_change_keeps_batches(store, ctx.when, planned.served_ending(after))
    nodes = [ctx.deployment] if ctx.new else []
    edges = planned.edges + (extra or [])
    store.upsert_nodes(nodes)
    store.upsert_edges(edges)
    event = append_event(
        store,
        actor=actor,
        action=action,
        reason=why,
        nodes=nodes,
        edges=edges,
        payload={"deployment": ctx.deployment.id, "at": to_text(ctx.at)}
        | payload
        | {"before": slots_json(ctx.before), "after": slots_json(after)},
    )
    return DeploymentChange(
        deployment=ctx.deployment,
        action=action,
        at=ctx.at,
        before=ctx.before,
        after=after,
        created=True,
        audit_seq=event.seq,
        opened=planned.opening + (extra or []),
        closed=planned.closing,
    )


def slots_json(state: Slots) -> dict[str, Any]:
    """Slots as the audit payload and the answers spell them."""
    return {
        "current": state.current,
        "standby": state.standby,
        "backup": state.backup,
        "weights": dict(sorted(state.weights.items())),
        "kill_switch": state.kill_switch,
        "rules": state.rules,
    }


def require_deployable(store: GraphStore, version: str, at: datetime) -> None:
    """FORBIDDEN, listing every unmet condition, unless the gates let the version deploy."""
    verdict = readiness.deployable(store, version, at)
    if verdict.ok:
        return
    unmet = [{"code": u.code, "message": u.message} for u in verdict.unmet]
    listed = "; ".join(f"{u['code']}: {u['message']}" for u in unmet)
    raise ForbiddenError(
        f"{version} cannot be deployed: {len(unmet)} condition(s) unmet: {listed}",
        field="version",
        details={"unmet": unmet},
    )


def context(
    node: Node, new: bool, edges: list[Edge], given: datetime | None, now: datetime
) -> Context:
    """The change's instant (``given``, else now) and the deployment's latest state."""
    last = slots.last_change(edges)
    if given is not None:
        at = given
    elif last is not None and now <= last:
        at = last + _TICK  # the clock stepped back: keep history in order
    else:
        at = now
    before = slots.state_at(edges, max(at, last) if last is not None else at)
    return Context(deployment=node, new=new, edges=edges, before=before, at=at, last=last)


def recorded(ctx: Context, action: str, given: datetime | None, target: str) -> bool:
    """Whether this very change (``action`` at the explicit instant ``given``, opening an edge
    to ``target``) is recorded already: an identical retry of a dated change, or a history
    loaded again, which is then a no-op rather than a change dated before the last."""
    return given is not None and any(
        e.valid_from == given and e.props.get("change") == action and e.dst == target
        for e in ctx.edges
    )


def not_backdated(ctx: Context, given: datetime | None) -> bool:
    """Whether a request matching the state is a no-op: not dated before the state began."""
    return given is None or ctx.last is None or given >= ctx.last


def unchanged(ctx: Context, action: str) -> DeploymentChange:
    """The answer of a no-op."""
    return DeploymentChange(
        deployment=ctx.deployment,
        action=action,
        at=ctx.at,
        before=ctx.before,
        after=ctx.before,
        created=False,
    )


def deployment_of(value: str) -> str:
    """A deployment ID, or a bare name as one; INVALID (``deployment``) otherwise."""
    if not isinstance(value, str):
        raise InvalidError("must be a deployment ID or name", field="deployment")
    text = value if ":" in value else f"deployment:{value}"
    require_kind(text, "deployment", NodeKind.DEPLOYMENT)
    return text


def reason_text(reason: object) -> str:
    """The reason, stripped; INVALID (``reason``) when empty or too long."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > MAX_REASON:
        raise InvalidError(
            f"say why, in 1 to {MAX_REASON:,} characters: the audit log keeps it", field="reason"
        )
    return text


def instant(at: datetime | None) -> datetime | None:
    """``at`` in UTC (None stays None: now); INVALID (``at``) when naive or in the future."""
    if at is None:
        return None
    if not isinstance(at, datetime):
        raise InvalidError("must be a date-time with a timezone", field="at")
    given = require_aware(at, "at")
    if given > utcnow():
        raise InvalidError(
            f"{to_text(given)} is in the future: a deployment change takes effect when it "
            "is recorded or is a backfill of the past",
            field="at",
        )
    return given


def traffic_weights(weights: object) -> dict[str, int]:
    """Integer percents per version adding up to 100; INVALID (``weights``) otherwise."""
    if not isinstance(weights, Mapping) or not weights:
        raise InvalidError("give each version its integer percent of the traffic", field="weights")
    shares: dict[str, int] = {}
    for version, weight in weights.items():
        require_kind(version, "weights", NodeKind.MODEL_VERSION)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= FULL:
            raise InvalidError(
                f"{version}: a weight is an integer percent from 0 to {FULL}, not {weight!r}",
                field="weights",
            )
        shares[version] = weight
    total = sum(shares.values())
    if total != FULL:
        raise InvalidError(
            f"the weights add up to {total}; they must add up to exactly {FULL}",
            field="weights",
            details={"total": total},
        )
    return shares
