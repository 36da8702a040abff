"""Signals and statuses: the finding a monitor raises an incident from, where an incident stands
at any instant, and how precise a signal's alerts have been. Plain values, read without a store;
:mod:`lineage.services.incidents` writes the incidents and asks the questions over them.

A :class:`Signal` is one finding: which signal fired, how badly, about which model, version,
deployment, batch and feature, the value it measured and the baseline it broke; its ``key``
(signal, model, feature) says which findings are the same incident. An incident's ``status``
moves open -> acknowledged -> resolved, and its ``status_history`` keeps every change with its
time, so :func:`status_at` answers what was open at any instant.

IDs: ``incident:<model name>_<YYYY_MM_DD>`` of the detection day (the signal's name when there is
no model), then ``-2``, ``-3``... for further incidents of that model that day, so the first
incident of a day has a name a person can say and a runbook can reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lineage.errors import InvalidError
from lineage.model.canonical import check_json_depth
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import make_id, parse_id, require_kind
from lineage.model.times import from_text, require_aware, to_text, utcnow
from lineage.services.playbooks import SIGNAL_NAME, Playbook

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")


class Status(StrEnum):
    """Where an incident stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Signal:
    """One finding of a monitor or a scheduled check.

    ``model`` may be left out when ``model_version`` is given (its model is taken). ``feature``
    is a feature name or ``feature:`` ID; the incident links to it when it is registered.
    ``playbook`` is the signal's playbook (or the ID of one already in the graph).
    """

    signal: str
    severity: str
    title: str
    detected_at: datetime
    model: str | None = None
    model_version: str | None = None
    deployment: str | None = None
    batch: str | None = None
    feature: str | None = None
    value: float | None = None
    baseline: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    playbook: Playbook | str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.signal, str) or not SIGNAL_NAME.match(self.signal):
            raise InvalidError(
                "a signal name is 1 to 64 lowercase letters, digits or '_'", field="signal"
            )
        if self.severity not in SEVERITIES:
            raise InvalidError(f"one of {', '.join(SEVERITIES)}", field="severity")
        if not isinstance(self.title, str) or not 0 < len(self.title.strip()) <= 2_000:
            raise InvalidError("give 1 to 2,000 characters", field="title")
        require_aware(self.detected_at, "detected_at")
        if self.model is not None:
            require_kind(self.model, "model", NodeKind.MODEL)
        if self.model_version is not None:
            version = require_kind(self.model_version, "model_version", NodeKind.MODEL_VERSION)
            if self.model is not None and version.unversioned != self.model:
                raise InvalidError(f"is a version of {version.unversioned}", field="model_version")
        if self.deployment is not None:
            require_kind(self.deployment, "deployment", NodeKind.DEPLOYMENT)
        if self.batch is not None:
            require_kind(self.batch, "batch", NodeKind.INFERENCE_BATCH)
        if isinstance(self.playbook, str):
            require_kind(self.playbook, "playbook", NodeKind.PLAYBOOK)
        check_json_depth(dict(self.details), "details")

    @property
    def model_id(self) -> str | None:
        """The model the signal is about, if any."""
        if self.model is not None:
            return self.model
        return parse_id(self.model_version).unversioned if self.model_version else None

    @property
    def feature_id(self) -> str | None:
        """The feature as a node ID."""
        if not self.feature:
            return None
        return self.feature if ":" in self.feature else make_id(NodeKind.FEATURE, self.feature)

    @property
    def playbook_id(self) -> str | None:
        """The playbook's node ID."""
        return self.playbook.id if isinstance(self.playbook, Playbook) else self.playbook

    @property
    def key(self) -> str:
        """What makes two findings the same incident: signal, model, feature."""
        return f"{self.signal}|{self.model_id or ''}|{self.feature_id or ''}"

    def evidence(self) -> dict[str, Any]:
        """The finding as one evidence entry."""
        entry: dict[str, Any] = {"detected_at": to_text(self.detected_at), "title": self.title}
        for name in ("model_version", "deployment", "batch", "value", "baseline"):
            value = getattr(self, name)
            if value is not None:
                entry[name] = value
        return entry | ({"details": dict(self.details)} if self.details else {})


def history_of(incident: Node) -> list[dict[str, Any]]:
    """The incident's status changes, oldest first (a hand-registered incident: its opening)."""
    history = incident.props.get("status_history")
    if isinstance(history, list) and history:
        return [dict(h) for h in history]
    return [
        {"status": incident.props.get("status", Status.OPEN), "at": to_text(incident.valid_from)}
    ]


def status_at(incident: Node, at: datetime | None = None) -> str | None:
    """The incident's status at ``at`` (default: now); None before it was opened."""
    instant = require_aware(at, "as_of") if at is not None else utcnow()
    found: str | None = None
    for change in history_of(incident):
        if from_text(str(change["at"])) <= instant:
            found = str(change["status"])
    return found


def incident_stem(signal: Signal) -> str:
    """The ID an incident of ``signal`` gets when it is the first of its day."""
    name = parse_id(signal.model_id).name if signal.model_id else signal.signal
    return make_id(NodeKind.INCIDENT, f"{name}_{signal.detected_at:%Y_%m_%d}")


@dataclass(frozen=True, slots=True)
class Precision:
    """How often a signal's incidents were worth raising: ``precision`` is actionable over
    resolved (None until one is resolved)."""

    signal: str
    raised: int
    open: int
    resolved: int
    actionable: int
    false_positive: int

    @property
    def precision(self) -> float | None:
        """Actionable / resolved."""
        return self.actionable / self.resolved if self.resolved else None
