"""The accountability job: an incident for every model left without an active owner, technical
steward or risk approver (:func:`accountability_gaps`), signal ``accountability_gap``.

One incident per model: while it is open, the incidents service adds the gaps found later
(another role, another holder leaving) to it as evidence, and a gap already held as evidence by
the open incident is not raised again, so an hourly job pages once per gap, not once an hour.

Settings, in ``[accountability]`` of ``jobs/schedule.toml``: the incidents' ``severity``
(default SEV2: an unowned model in production is a governance failure a regulator asks about).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lineage.errors import LineageError
from lineage.jobs.report import Report
from lineage.jobs.runs import SCHEDULER_ACTOR
from lineage.jobs.toml_config import load_toml
from lineage.model.graph import NodeKind
from lineage.model.times import to_text
from lineage.services.governance.accountability import Gap, accountability_gaps
from lineage.services.incident_signals import Signal
from lineage.services.incidents import Incidents
from lineage.services.playbooks import Playbook, load_playbook, playbook_path
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore, NodeQuery

JOB = "accountability"
SIGNAL = "accountability_gap"


class AccountabilitySettings(BaseModel):
    """``[accountability]``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    severity: str = Field(default="SEV2", pattern=r"^SEV[1-4]$")


@dataclass(frozen=True, slots=True)
class AccountabilityConfig:
    """The job's configuration: ``[accountability]`` and the playbook of its signal (None
    while ``jobs/playbooks/accountability_gap.md`` does not exist)."""

    settings: AccountabilitySettings = field(default_factory=lambda: AccountabilitySettings())
    playbook: Playbook | None = None


class _AccountabilityFile(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # the other tables are not ours

    accountability: AccountabilitySettings = Field(default_factory=AccountabilitySettings)


def load_config(jobs_dir: Path) -> AccountabilityConfig:
    """``[accountability]`` of ``jobs_dir/schedule.toml`` (defaults when absent) and the
    signal's playbook, ``jobs_dir/playbooks/accountability_gap.md``, when it exists (a
    malformed one is refused)."""
    settings = load_toml(Path(jobs_dir) / "schedule.toml", _AccountabilityFile).accountability
    path = playbook_path(Path(jobs_dir) / "playbooks", SIGNAL)
    return AccountabilityConfig(settings, load_playbook(path, SIGNAL) if path.exists() else None)


def run(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
    """Raise a signal for each accountability gap at ``now`` not yet reported to an open
    incident. A store or service error fails the run instead of raising (the runner records
    anything else, a bug, as a failed run)."""
    config = config if isinstance(config, AccountabilityConfig) else AccountabilityConfig()
    report = Report(job=JOB, started=now)
    try:
        gaps = accountability_gaps(store, now)
    except LineageError as exc:
        return report.failed(f"cannot list the accountability gaps: {exc}")
    report.counts["gaps"] = len(gaps)
    incidents = Incidents(store, records, SCHEDULER_ACTOR)
    opened: list[str] = []
    for gap in gaps:
        signal = _signal(gap, now, config)
        try:
            if _reported(store, signal):
                report.count("gaps_already_reported")
                continue
            raised = incidents.raise_signal(signal)
        except LineageError as exc:
            report.failed(f"{gap.model.id} {gap.role}: no incident opened: {exc}")
            continue
        report.count("incidents_opened" if raised.created else "incidents_updated")
        opened.append(raised.incident.id)
    report.details = {"incidents": sorted(set(opened))}
    return report


def _signal(gap: Gap, now: datetime, config: AccountabilityConfig) -> Signal:
    role = gap.role.replace("_", " ")
    if gap.problem == "left" and gap.agent is not None:
        what = f"its {role} {gap.agent.id} left"
    else:
        what = f"it has no {role}"
    since = f" on {to_text(gap.since)}" if gap.since is not None else ""
    return Signal(
        signal=SIGNAL,
        severity=config.settings.severity,
        title=f"{gap.model.id} has no active {role}: {what}{since}",
        detected_at=now,
        model=gap.model.id,
        details=_gap_details(gap),
        playbook=config.playbook,
    )


def _gap_details(gap: Gap) -> dict[str, Any]:
    return {
        "role": gap.role,
        "problem": gap.problem,
        "agent": gap.agent.id if gap.agent is not None else None,
        "since": to_text(gap.since) if gap.since is not None else None,
    }


def _reported(store: GraphStore, signal: Signal) -> bool:
    """Whether an open incident of the same model already holds this very gap as evidence:
    the job runs hourly, and a gap is news once, not every hour."""
    query = NodeQuery(kind=NodeKind.INCIDENT, props={"dedupe_key": signal.key, "active": True})
    for incident in store.find_nodes(query).items:
        for entry in incident.props.get("evidence", []):
            if isinstance(entry, dict) and entry.get("details") == dict(signal.details):
                return True
    return False
