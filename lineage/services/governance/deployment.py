"""Changes to a deployment: gated deploys, traffic shares, rollback and the kill switch.

Every change is one transaction with one audit event: it reads the deployment's slot edges
(:mod:`lineage.services.governance.slots`), decides the slots after, closes the edges that no
longer hold and opens the new ones at ``at``. ``at`` defaults to now by the server's clock (a
microsecond after the last recorded change if the clock stepped back); trusted callers (the
reference scenario, backfills) may give an earlier instant, never a later one: a change dated
in the future would change what serves without a write anyone could notice. History is
append-only (CONFLICT on ``at`` for a change dated at or before the last one), and a change
may not cut the window of an inference batch already registered on the deployment.

Every change is idempotent: asking for the state the deployment is already in is a no-op
(``created: False``), so an identical retry is safe. A rollback to the standby is the one
request whose repeat would mean something else (roll back again); a rollback repeated with the
same reason and incident by the same actor right after itself is therefore the same rollback.

A version given traffic needs every feature of the snapshot it was trained on to be valid
then (CONFLICT otherwise; see :mod:`lineage.services.governance.features`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id, require_kind
from lineage.model.times import utcnow
from lineage.services import consistency
from lineage.services.governance import fallback, slots
from lineage.services.governance.changes import (
    Context,
    DeploymentChange,
    context,
    deployment_of,
    instant,
    not_backdated,
    open_change,
    reason_text,
    recorded,
    require_deployable,
    require_features,
    traffic_weights,
    unchanged,
    write_change,
)
from lineage.services.governance.features import Features, Retirement
from lineage.services.governance.slots import FULL, Slots
from lineage.services.record_store import RecordStore
from lineage.services.write_plan import Registration
from lineage.store.base import GraphStore

__all__ = ["DeploymentChange", "Deployments"]


class Deployments:
    """Deployment changes on behalf of one actor (the token's principal in the API)."""

    def __init__(self, store: GraphStore, records: RecordStore | None, actor: str) -> None:
        parse_id(actor, "actor")
        self.store = store
        self.records = records
        self.actor = actor

    # -- deploy ------------------------------------------------------------------------------

    def deploy(
        self,
        version: str,
        deployment: str,
        reason: str,
        at: datetime | None = None,
        environment: str = "production",
    ) -> DeploymentChange:
        """Make ``version`` the current version of ``deployment`` with all its traffic; the
        previous current becomes the warm standby, the previous standby the cold backup.

        Gated: FORBIDDEN unless ``readiness.deployable`` finds the version deployable at
        ``at``, listing every unmet condition in the message and in ``details["unmet"]``
        (``[{code, message}]``). NOT_FOUND (``version``) for an unregistered version; CONFLICT
        on ``deployment`` when it serves another model, on ``version`` when a feature it needs
        is retired, on ``at`` when the version did not exist yet, the change predates the
        deployment's history or would cut a registered batch's window. ``environment`` names
        a deployment created by this call.
        """
        require_kind(version, "version", NodeKind.MODEL_VERSION)
        deployment_id = deployment_of(deployment)
        why, given = reason_text(reason), instant(at)
        if not isinstance(environment, str) or not 0 < len(environment.strip()) <= 200:
            raise InvalidError("give 1 to 200 characters", field="environment")
        with self.store.transaction():
            now = utcnow()
            consistency.require_agent(self.store, self.actor, now)
            found = self.store.get_nodes([version, deployment_id])
            target = found.get(version)
            if target is None:
                raise NotFoundError(f"{version} is not registered", field="version")
            model = str(target.props.get("model"))
            existing = found.get(deployment_id)
            if existing is not None and existing.props.get("model") != model:
                raise ConflictError(
                    f"{deployment_id} serves {existing.props.get('model')}, not {model}",
                    field="deployment",
                )
            node = existing or Node(
                deployment_id,
                NodeKind.DEPLOYMENT,
                given or now,
                {"model": model, "environment": environment.strip()},
            )
            history = slots.history(self.store, deployment_id) if existing else []
            ctx = context(node, existing is None, history, given, now)
            b = ctx.before
            after = Slots.ordered([version, *b.versions()], {version: FULL}, b.kill_switch, b.rules)
            if (after == b and not_backdated(ctx, given)) or recorded(
                ctx, "deploy", given, version
            ):
                return unchanged(ctx, "deploy")
            consistency.check_appends_to_history(ctx.when, ctx.edges)
            consistency.check_deployment(ctx.when, target)
            require_features(self.store, target, ctx.at, "version")
            require_deployable(self.store, version, ctx.at)
            payload = {"version": version, "environment": node.props.get("environment")}
            return write_change(self.store, self.actor, ctx, "deploy", why, after, payload)

    # -- traffic -----------------------------------------------------------------------------

    def set_traffic(
        self,
        deployment: str,
        weights: Mapping[str, int],
        reason: str,
        at: datetime | None = None,
    ) -> DeploymentChange:
        """Share the deployment's traffic among the versions in its slots.

        ``weights`` maps versions to integer percents adding up to exactly 100; versions of
        the slots left out (or at 0) receive none and stand by. The current version keeps a
        share (to move everything off it, roll back). Not gated: every version in a slot was
        deployed there. INVALID (``weights``) for malformed weights or a version not in a
        slot; CONFLICT (``weights``) when a version given traffic needs a retired feature;
        NOT_FOUND (``deployment``).
        """
        deployment_id = deployment_of(deployment)
        shares = traffic_weights(weights)
        why, given = reason_text(reason), instant(at)
        with self.store.transaction():
            ctx = open_change(self.store, self.actor, deployment_id, given)
            b = ctx.before
            strangers = sorted(v for v in shares if b.slot_of(v) is None)
            if strangers:
                raise InvalidError(
                    f"{', '.join(strangers)} is not in a slot of {deployment_id} (its slots: "
                    f"{', '.join(b.versions()) or 'none'})",
                    field="weights",
                    details={"not_in_a_slot": strangers, "slots": b.versions()},
                )
            if b.current is not None and shares.get(b.current, 0) == 0:
                raise InvalidError(
                    f"the current version {b.current} must keep a share of the traffic; to "
                    "move all of it to another version, roll back",
                    field="weights",
                )
            after = replace(b, weights={v: w for v, w in shares.items() if w > 0})
            if after == b and not_backdated(ctx, given):
                return unchanged(ctx, "set_traffic")
            consistency.check_appends_to_history(ctx.when, ctx.edges)
            if not after.kill_switch:
                for version in sorted(set(after.traffic()) - set(b.traffic())):
                    require_features(self.store, self._node(version), ctx.at, "weights")
            payload = {"weights": dict(sorted(after.weights.items()))}
            return write_change(self.store, self.actor, ctx, "set_traffic", why, after, payload)

    # -- rollback ----------------------------------------------------------------------------

    def rollback(
        self,
        deployment: str,
        reason: str,
        to_version: str | None = None,
        incident: str | None = None,
        at: datetime | None = None,
        *,
        dry_run: bool = False,
    ) -> DeploymentChange:
        """Move all of the deployment's traffic, atomically, to its warm standby or to
        ``to_version``, recording who, when, why and the incident (an edge
        ``ROLLED_BACK_FOR``) it answers.

        Not gated by approvals: it restores a version that passed the gates when it was
        deployed, and an undo must not wait for sign-offs. Slots after: the target is
        current, the other earlier slots follow in order, the rolled-back version leaves them.
        The kill switch keeps its state.

        ``to_version`` must have been deployed on this deployment before: NOT_FOUND when it is
        not registered, INVALID when it never was in a slot there (or the deployment has no
        standby and none is named); CONFLICT naming ``to_version`` when it needs a feature the
        schema no longer provides. NOT_FOUND (``incident``) for an unregistered incident.

        ``dry_run`` (the rollback drills) makes every check and plans every edge, then writes
        nothing: the answer is the change that would be made, with ``created`` False and no
        ``audit_seq``.
        """
        deployment_id = deployment_of(deployment)
        if to_version is not None:
            require_kind(to_version, "to_version", NodeKind.MODEL_VERSION)
        if incident is not None:
            require_kind(incident, "incident", NodeKind.INCIDENT)
        why, given = reason_text(reason), instant(at)
        with self.store.transaction():
            ctx = open_change(self.store, self.actor, deployment_id, given)
            b = ctx.before
            if self._repeated_rollback(ctx, why, to_version, incident) or (
                to_version is not None and recorded(ctx, "rollback", given, to_version)
            ):
                return unchanged(ctx, "rollback")
            target = to_version or b.standby
            if target is None:
                raise InvalidError(
                    f"{deployment_id} has no standby version to roll back to; name one that "
                    "it served before",
                    field="to_version",
                )
            version = self.store.get_nodes([target]).get(target)
            if version is None:
                raise NotFoundError(f"{target} is not registered", field="to_version")
            if not any(e.dst == target and e.kind in slots.SLOT_EDGES for e in ctx.edges):
                raise InvalidError(
                    f"{target} was never deployed on {deployment_id}: a rollback restores a "
                    "version the deployment served before",
                    field="to_version",
                )
            if target == b.current:
                if b.weights == {target: FULL} and not_backdated(ctx, given):
                    return unchanged(ctx, "rollback")
                raise InvalidError(
                    f"{target} is the current version of {deployment_id}; to give it all the "
                    "traffic, set the traffic",
                    field="to_version",
                )
            if incident is not None:
                found = self.store.get_nodes([incident]).get(incident)
                if found is None:
                    raise NotFoundError(f"{incident} is not registered", field="incident")
            consistency.check_appends_to_history(ctx.when, ctx.edges)
            require_features(self.store, version, ctx.at, "to_version")
            rest = [v for v in b.versions() if v != b.current]
            after = Slots.ordered([target, *rest], {target: FULL}, b.kill_switch, b.rules)
            meta: dict[str, Any] = {"rolled_back": b.current}
            extra: list[Edge] = []
            if incident is not None:
                meta["incident"] = incident
                extra.append(
                    Edge(
                        deployment_id,
                        EdgeKind.ROLLED_BACK_FOR,
                        incident,
                        {"from_version": b.current, "to_version": target, "reason": why}
                        | {"by": self.actor},
                        valid_from=ctx.at,
                    )
                )
            if dry_run:
                return _planned(self.store, self.actor, ctx, "rollback", why, after, meta, extra)
            payload = {"from_version": b.current, "to_version": target, "incident": incident}
            return write_change(
                self.store, self.actor, ctx, "rollback", why, after, payload, meta=meta, extra=extra
            )

    def _repeated_rollback(
        self, ctx: Context, why: str, to_version: str | None, incident: str | None
    ) -> bool:
        """Whether the latest change is this very rollback (the request repeated)."""
        current = [
            e
            for e in ctx.edges
            if e.kind in slots.SLOT_EDGES
            and e.valid_to is None
            and e.props.get("slot") == "current"
        ]
        return any(
            e.valid_from == ctx.last
            and e.props.get("change") == "rollback"
            and e.props.get("reason") == why
            and e.props.get("by") == self.actor
            and e.props.get("incident") == incident
            and to_version in (None, e.dst)
            for e in current
        )

    # -- kill switch and fallback rules ------------------------------------------------------

    def set_kill_switch(
        self, deployment: str, use_ml: bool, reason: str, at: datetime | None = None
    ) -> DeploymentChange:
        """Route the deployment to its fallback rules (``use_ml=False``: the kill switch on)
        or back to its versions at the shares they had (``use_ml=True``).

        CONFLICT (``deployment``) turning it on for a deployment without fallback rules
        (link them with :meth:`set_fallback_rules`), (``use_ml``) turning it off when a
        version that would get traffic back needs a retired feature.
        """
        deployment_id = deployment_of(deployment)
        if not isinstance(use_ml, bool):
            raise InvalidError(
                "must be true (use the model) or false (use the rules)", field="use_ml"
            )
        why, given = reason_text(reason), instant(at)
        with self.store.transaction():
            ctx = open_change(self.store, self.actor, deployment_id, given)
            b = ctx.before
            after = replace(b, kill_switch=not use_ml)
            if after == b and not_backdated(ctx, given):
                return unchanged(ctx, "set_kill_switch")
            if not use_ml and b.rules is None:
                raise ConflictError(
                    f"{deployment_id} has no fallback rules to route to: register them and "
                    "link them to it first",
                    field="deployment",
                )
            consistency.check_appends_to_history(ctx.when, ctx.edges)
            for version in sorted(after.traffic()):
                require_features(self.store, self._node(version), ctx.at, "use_ml")
            payload = {"use_ml": use_ml, "rules": b.rules}
            return write_change(self.store, self.actor, ctx, "set_kill_switch", why, after, payload)

    def set_fallback_rules(
        self, deployment: str, rules: str, reason: str, at: datetime | None = None
    ) -> DeploymentChange:
        """Make ``rules`` the fallback the deployment's kill switch routes to (from ``at``).

        NOT_FOUND (``rules``) when they are not registered; INVALID (``rules``) when they are
        another model's.
        """
        deployment_id = deployment_of(deployment)
        require_kind(rules, "rules", NodeKind.DECISION_RULES)
        why, given = reason_text(reason), instant(at)
        with self.store.transaction():
            ctx = open_change(self.store, self.actor, deployment_id, given)
            found = self.store.get_nodes([rules]).get(rules)
            if found is None:
                raise NotFoundError(f"{rules} is not registered", field="rules")
            model = ctx.deployment.props.get("model")
            if found.props.get("model") != model:
                raise InvalidError(
                    f"{rules} are rules for {found.props.get('model')}, not for {model}",
                    field="rules",
                )
            after = replace(ctx.before, rules=rules)
            if (after == ctx.before and not_backdated(ctx, given)) or recorded(
                ctx, "set_fallback_rules", given, rules
            ):
                return unchanged(ctx, "set_fallback_rules")
            consistency.check_appends_to_history(ctx.when, ctx.edges)
            return write_change(
                self.store, self.actor, ctx, "set_fallback_rules", why, after, {"rules": rules}
            )

    def register_fallback_rules(
        self,
        id: str,
        model: str,
        rules: Sequence[Mapping[str, Any]],
        default_decision: str,
        reason: str = "register fallback rules",
        description: str | None = None,
        created_at: datetime | None = None,
    ) -> Registration:
        """Register immutable fallback rules for ``model`` (see :mod:`.fallback`)."""
        data = {
            "id": id,
            "model": model,
            "rules": rules,
            "default_decision": default_decision,
            "description": description,
            "created_at": created_at,
        }
        return fallback.register_fallback_rules(self.store, self.actor, data, reason_text(reason))

    def retire_feature(self, feature: str, reason: str, at: datetime | None = None) -> Retirement:
        """End a feature's validity (see :meth:`.features.Features.retire_feature`)."""
        return Features(self.store, self.actor).retire_feature(feature, reason, at)

    # -- the write path ----------------------------------------------------------------------

    def _node(self, node_id: str) -> Node:
        found = self.store.get_nodes([node_id]).get(node_id)
        if found is None:
            raise NotFoundError(f"{node_id} is not registered", field="version")
        return found


def _planned(
    store: GraphStore,
    actor: str,
    ctx: Context,
    action: str,
    why: str,
    after: Slots,
    meta: Mapping[str, Any],
    extra: list[Edge],
) -> DeploymentChange:
    """What :func:`write_change` would write, checked as it checks, and not written."""
    labels = {"change": action, "reason": why, "by": actor, **meta}
    open_edges = [e for e in ctx.edges if e.valid_to is None]
    planned = slots.plan(ctx.deployment.id, open_edges, after, ctx.at, labels)
    consistency.check_change_keeps_batches(store, ctx.when, planned.served_ending(after))
    return DeploymentChange(
        deployment=ctx.deployment,
        action=action,
        at=ctx.at,
        before=ctx.before,
        after=after,
        created=False,
        opened=planned.opening + extra,
        closed=planned.closing,
    )
