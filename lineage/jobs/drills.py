"""Rollback drills: can each deployment still be rolled back to its warm standby, and how fast?

The job runs on its schedule (daily by default) and drills every deployment whose last drill
is older than its interval (30 days: monthly), as set in ``[drills]`` of ``jobs/schedule.toml``.
A drill, at the instant ``now`` the job is given:

1. reads the deployment's slots: without a warm standby there is nothing to roll back to;
2. checks the standby can still consume the current feature schema: every feature of the
   snapshot it was trained on is still valid (not retired);
3. rehearses the rollback through :meth:`Deployments.rollback` itself, with ``dry_run``: every
   check the real rollback makes and the plan of the edges it would close and open, written
   nowhere, so serving never changes (``dry_run = false``, opted into per deployment, applies
   the rollback and restores the previous current version with a gated deploy);
4. measures the time to recovery (computing, or applying, the rollback) against
   ``max_recovery_seconds``;
5. records a ``Drill`` node with the result (passed or failed, and why), the timing, the
   deployment and the standby, in one audited write by the scheduler's agent; a failed drill
   opens an incident (signal ``rollback_drill_failed``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lineage.errors import ConflictError, LineageError, NotFoundError
from lineage.jobs.report import Report
from lineage.jobs.runs import SCHEDULER_ACTOR, compact
from lineage.jobs.toml_config import load_toml
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.model.times import to_text, utcnow
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.services.governance import slots
from lineage.services.governance.changes import deployment_of, slots_json
from lineage.services.governance.deployment import Deployments
from lineage.services.governance.features import retired_features, retirement_text
from lineage.services.incident_signals import Signal
from lineage.services.incidents import Incidents
from lineage.services.playbooks import Playbook, load_playbook, playbook_path
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore, NodeQuery, iter_all_nodes

JOB = "drills"
SIGNAL = "rollback_drill_failed"
Timer = Callable[[], float]


class DeploymentDrills(BaseModel):
    """Settings of one deployment's drills; what is left out is the ``[drills]`` default."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool | None = None
    every_days: int | None = Field(default=None, ge=1, le=366)
    dry_run: bool | None = None
    max_recovery_seconds: float | None = Field(default=None, gt=0, le=3_600)


class DrillSettings(BaseModel):
    """``[drills]``: how often each deployment is drilled, dry-run or not, the recovery
    objective, and per-deployment overrides under ``[drills.deployments."deployment:..."]``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    every_days: int = Field(default=30, ge=1, le=366)
    dry_run: bool = True
    max_recovery_seconds: float = Field(default=5.0, gt=0, le=3_600)
    environments: list[str] | None = None  # only deployments of these environments; None: all
    deployments: dict[str, DeploymentDrills] = Field(default_factory=dict)
    severity: str = Field(default="SEV3", pattern=r"^SEV[1-4]$")  # of a failed drill's incident

    @field_validator("deployments")
    @classmethod
    def _deployment_ids(cls, value: dict[str, DeploymentDrills]) -> dict[str, DeploymentDrills]:
        keyed: dict[str, DeploymentDrills] = {}
        for name, settings in value.items():
            try:
                keyed[deployment_of(name)] = settings
            except LineageError as exc:
                raise ValueError(f"{name!r}: {exc.message}") from None
        return keyed

    def of(self, deployment: str) -> Drilling:
        """The settings that apply to ``deployment``."""
        own = self.deployments.get(deployment, DeploymentDrills())
        return Drilling(
            enabled=own.enabled if own.enabled is not None else True,
            every=timedelta(days=own.every_days or self.every_days),
            dry_run=own.dry_run if own.dry_run is not None else self.dry_run,
            max_recovery_seconds=own.max_recovery_seconds or self.max_recovery_seconds,
        )


@dataclass(frozen=True, slots=True)
class DrillsConfig:
    """The drills job's configuration: ``[drills]`` and the playbook of its signal (None
    while ``jobs/playbooks/rollback_drill_failed.md`` does not exist)."""

    settings: DrillSettings = field(default_factory=lambda: DrillSettings())
    playbook: Playbook | None = None


class _DrillsFile(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # the other tables are not ours

    drills: DrillSettings = Field(default_factory=DrillSettings)


@dataclass(frozen=True, slots=True)
class Drilling:
    """The settings of one deployment's drill."""

    enabled: bool = True
    every: timedelta = timedelta(days=30)
    dry_run: bool = True
    max_recovery_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class DrillResult:
    """A drill's outcome: the Drill node it recorded, and its verdict."""

    node: Node
    passed: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def standby(self) -> str | None:
        """The standby version drilled, if any."""
        value = self.node.props.get("standby")
        return value if isinstance(value, str) else None


def load_config(jobs_dir: Path) -> DrillsConfig:
    """``[drills]`` of ``jobs_dir/schedule.toml`` (defaults when absent) and the signal's
    playbook, ``jobs_dir/playbooks/rollback_drill_failed.md``, when it exists (a malformed
    one is refused)."""
    settings = load_toml(Path(jobs_dir) / "schedule.toml", _DrillsFile).drills
    path = playbook_path(Path(jobs_dir) / "playbooks", SIGNAL)
    return DrillsConfig(settings, load_playbook(path, SIGNAL) if path.exists() else None)


def run(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
    """Drill every deployment that is due at ``now``. A store or service error fails the run
    (``report.failed``, the other deployments still drilled) instead of raising; anything else
    is a bug, which the runner logs and records as a failed run."""
    config = config if isinstance(config, DrillsConfig) else DrillsConfig()
    settings = config.settings
    report = Report(job=JOB, started=now)
    drilled: list[str] = []
    incidents: list[str] = []
    try:
        deployments = [d for d in iter_all_nodes(store, NodeKind.DEPLOYMENT) if _live(d, now)]
    except LineageError as exc:
        return report.failed(f"cannot list the deployments: {exc}")
    for deployment in deployments:
        drilling = settings.of(deployment.id)
        wanted = settings.environments
        if not drilling.enabled or (
            wanted is not None and deployment.props.get("environment") not in wanted
        ):
            report.count("deployments_not_drilled")
            continue
        try:
            if not due(store, deployment.id, now, drilling.every):
                report.count("deployments_not_due")
                continue
            result = drill(store, records, deployment.id, now, drilling)
        except LineageError as exc:
            report.failed(f"{deployment.id}: the drill could not be made: {exc}")
            continue
        drilled.append(result.node.id)
        report.count("drills_run")
        report.count("drills_passed" if result.passed else "drills_failed")
        if result.passed:
            continue
        report.messages.append(f"{deployment.id}: drill failed: {'; '.join(result.reasons)}")
        opened = _alarm(store, records, result, now, config, report)
        if opened is not None:
            incidents.append(opened)
    report.details = {"drills": drilled, "incidents": incidents}
    return report


def due(store: GraphStore, deployment: str, now: datetime, every: timedelta) -> bool:
    """Whether the deployment's last drill (if any) is ``every`` or more before ``now``."""
    query = NodeQuery(
        kind=NodeKind.DRILL, props={"deployment": deployment}, newest_first=True, limit=1
    )
    last = store.find_nodes(query).items
    return not last or last[0].valid_from <= now - every


def drill(
    store: GraphStore,
    records: RecordStore,
    deployment: str,
    now: datetime,
    drilling: Drilling | None = None,
    timer: Timer = time.perf_counter,
) -> DrillResult:
    """Drill ``deployment`` at ``now`` (see the module docstring) and record the Drill node.

    ``timer`` measures the time to recovery (seconds, monotonic). NOT_FOUND for an
    unregistered deployment; a store failure propagates (nothing recorded).
    """
    drilling = drilling or Drilling()
    deployment_id = deployment_of(deployment)
    node = store.get_nodes([deployment_id]).get(deployment_id)
    if node is None:
        raise NotFoundError(f"{deployment_id} is not registered", field="deployment")
    state = slots.state_at(slots.current_edges(store, deployment_id, now), now)
    reasons: list[str] = []
    props: dict[str, Any] = {
        "deployment": deployment_id,
        "model": node.props.get("model"),
        "environment": node.props.get("environment"),
        "at": to_text(now),
        "current": state.current,
        "standby": state.standby,
        "dry_run": drilling.dry_run,
        "max_recovery_seconds": drilling.max_recovery_seconds,
        "recovery_seconds": None,
    }
    standby = store.get_nodes([state.standby]).get(state.standby) if state.standby else None
    if state.standby is None:
        reasons.append(f"{deployment_id} has no warm standby: there is nothing to roll back to")
    elif standby is None:
        reasons.append(f"the standby {state.standby} is not registered")
    else:
        retired = retired_features(store, standby, now)
        props["features_retired"] = retired
        if retired:
            reasons.append(
                f"the standby {standby.id} cannot consume the current feature schema: it needs "
                f"{retirement_text(store, retired)}"
            )
    if not reasons:
        reasons += _rehearse(store, records, deployment_id, state, now, drilling, timer, props)
    props["result"] = "failed" if reasons else "passed"
    props["reasons"] = reasons
    recorded = _record(store, node, standby, now, props)
    return DrillResult(node=recorded, passed=not reasons, reasons=reasons)


def _rehearse(
    store: GraphStore,
    records: RecordStore,
    deployment: str,
    before: slots.Slots,
    now: datetime,
    drilling: Drilling,
    timer: Timer,
    props: dict[str, Any],
) -> list[str]:
    """Roll back (or plan it), timed; the reasons the drill fails on, if any."""
    deployments = Deployments(store, records, SCHEDULER_ACTOR)
    mode = "dry run" if drilling.dry_run else "live"
    started = timer()
    try:
        # A live drill changes serving now, by the server's clock; a dry run plans at ``now``.
        change = deployments.rollback(
            deployment,
            reason=f"rollback drill ({mode})",
            at=now if drilling.dry_run else None,
            dry_run=drilling.dry_run,
        )
    except LineageError as exc:
        return [f"the rollback {'would be' if drilling.dry_run else 'was'} refused: {exc}"]
    elapsed = timer() - started
    props["recovery_seconds"] = round(elapsed, 6)
    props["plan"] = {
        "before": slots_json(change.before),
        "after": slots_json(change.after),
        "closes": sorted(e.key for e in change.closed),
        "opens": sorted(e.key for e in change.opened),
    }
    reasons: list[str] = []
    after = change.after
    if after.current != before.standby or (
        not after.kill_switch and after.traffic() != {before.standby: slots.FULL}
    ):
        reasons.append(
            f"the rollback would not route all traffic to the standby {before.standby}: "
            f"it would leave {slots_json(after)}"
        )
    if elapsed > drilling.max_recovery_seconds:
        reasons.append(
            f"time to recovery {elapsed:.3f} s is past the objective of "
            f"{drilling.max_recovery_seconds:g} s"
        )
    if not drilling.dry_run and before.current is not None:
        reasons += _restore(deployments, deployment, before)
    return reasons


def _restore(deployments: Deployments, deployment: str, before: slots.Slots) -> list[str]:
    """After a live drill, the previous current version back (a gated deploy puts the slots
    back in their order), and its traffic shares."""
    assert before.current is not None
    try:
        deployments.deploy(before.current, deployment, reason="rollback drill: restore")
        if before.weights and dict(before.weights) != {before.current: slots.FULL}:
            deployments.set_traffic(
                deployment, dict(before.weights), reason="rollback drill: restore"
            )
    except LineageError as exc:
        return [
            f"the live drill could not restore {before.current} ({exc}): {deployment} stays "
            f"on {before.standby}"
        ]
    return []


def _record(
    store: GraphStore, deployment: Node, standby: Node | None, now: datetime, props: dict[str, Any]
) -> Node:
    """The Drill node and its edges, with one audit event."""
    name = parse_id(deployment.id).name
    node = Node(f"drill:{name}-{compact(now)}", NodeKind.DRILL, now, props)
    edges = [
        Edge(node.id, EdgeKind.USED, deployment.id, {"role": "rehearsed"}),
        Edge(node.id, EdgeKind.WAS_ASSOCIATED_WITH, SCHEDULER_ACTOR, {"role": "scheduler"}),
    ]
    if standby is not None:
        edges.append(Edge(node.id, EdgeKind.USED, standby.id, {"role": "standby"}))
    with store.transaction():
        require_agent(store, SCHEDULER_ACTOR, utcnow())
        if store.get_nodes([node.id]):
            raise ConflictError(f"{node.id} is recorded already", field="drill")
        store.upsert_nodes([node])
        store.upsert_edges(edges)
        append_event(
            store,
            actor=SCHEDULER_ACTOR,
            action="record_drill",
            reason=f"rollback drill of {deployment.id}: {props['result']}",
            nodes=[node],
            edges=edges,
            payload={"drill": node.id, "deployment": deployment.id, "result": props["result"]},
        )
    return store.get_nodes([node.id])[node.id]


def _alarm(
    store: GraphStore,
    records: RecordStore,
    result: DrillResult,
    now: datetime,
    config: DrillsConfig,
    report: Report,
) -> str | None:
    """Open (or add to) the incident of a failed drill; the report says when it could not."""
    props = result.node.props
    deployment = str(props["deployment"])
    model = props.get("model")
    standby = result.standby
    signal = Signal(
        signal=SIGNAL,
        severity=config.settings.severity,
        title=f"rollback drill failed on {deployment}",
        detected_at=now,
        model=model if isinstance(model, str) else None,
        model_version=standby if standby and store.get_nodes([standby]) else None,
        deployment=deployment,
        details={"drill": result.node.id, "reasons": result.reasons},
        playbook=config.playbook,
    )
    try:
        raised = Incidents(store, records, SCHEDULER_ACTOR).raise_signal(signal)
    except LineageError as exc:
        report.failed(f"{deployment}: no incident opened for the failed drill: {exc}")
        return None
    report.count("incidents_opened" if raised.created else "incidents_updated")
    return raised.incident.id


def _live(deployment: Node, now: datetime) -> bool:
    return deployment.valid_from <= now and (
        deployment.valid_to is None or now < deployment.valid_to
    )
