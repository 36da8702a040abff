"""Running the monitors: over every batch (the scheduled job) or over one batch just registered
(the registration hook), raising each finding through the incidents service.

Both paths judge a batch the same way: its trailing window (:mod:`.baselines`), its model's
thresholds (the file's, with the model's Monitor overrides), each enabled signal
(:mod:`.signals`), then :meth:`Incidents.raise_signal`, which opens an incident, adds the
finding to the open one of the same (signal, model, feature), or does nothing when the batch is
already evidence there: running the job twice over the same batches opens nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import structlog

from lineage.errors import LineageError
from lineage.jobs.monitors import signals
from lineage.jobs.monitors.baselines import BatchView, Window
from lineage.jobs.monitors.config import MonitorsConfig, SignalSettings
from lineage.jobs.monitors.overrides import apply, overrides_of
from lineage.jobs.monitors.signals import Finding
from lineage.jobs.report import Report
from lineage.model.canonical import canonical_json, sha256_text
from lineage.model.graph import EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.services.incident_signals import Signal
from lineage.services.incidents import Incidents
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store.base import EdgeQuery, GraphStore, NodeQuery, iter_nodes

log = structlog.get_logger("lineage.monitors")
MAX_MESSAGES = 20


class Evaluator:
    """Judges batches for one run (or one hook call), caching what it read per model."""

    def __init__(
        self, store: GraphStore, records: RecordStore, config: MonitorsConfig, report: Report
    ) -> None:
        self.store = store
        self.records = records
        self.config = config
        self.report = report
        self.actor = config.settings.run.actor
        self.incidents = Incidents(store, records, self.actor)
        self._settings: dict[str, dict[str, SignalSettings]] = {}
        self._bounds: dict[str, dict[str, Any]] = {}
        self._inputs: dict[str, list[str]] = {}

    def ensure_actor(self) -> None:
        """Register the monitors' own agent the first time (a no-op afterwards)."""
        if not self.store.get_nodes([self.actor]):
            Registry(self.store, self.records, self.actor).register_pipeline(
                {"id": self.actor, "name": "Monitors (lineage.jobs.monitors)"},
                reason="the monitors register themselves",
            )

    def window(self) -> Window:
        """An empty trailing window of the configured size."""
        baseline = self.config.settings.baseline
        return Window(timedelta(days=baseline.window_days), baseline.max_batches)

    def view(self, node: Node) -> BatchView:
        """A batch as the signals read it (its inputs too, when volatility is enabled)."""
        view = BatchView.of(node)
        if "decision_volatility" in self._enabled(view.model):
            view.inputs = self._read_inputs(node)
        return view

    def check(self, view: BatchView, window: Window, detected_at: datetime) -> None:
        """Judge one batch against its window and raise what fires."""
        window.advance(view)
        self.report.count("batches_checked")
        for finding in self.findings(view, window):
            self.report.count("signals")
            self.raise_finding(view, finding, detected_at)

    def findings(self, view: BatchView, window: Window) -> list[Finding]:
        """Every enabled signal's findings on the batch."""
        settings = self._model_settings(view.model)
        min_decisions = self.config.settings.baseline.min_decisions
        ready = window.decisions >= min_decisions
        found: list[Finding] = []
        for name, s in settings.items():
            if not s.enabled:
                continue
            if name == "demographic_parity":
                found += signals.demographic_parity(view, window, s)  # type: ignore[arg-type]
            elif name == "decision_volatility":
                found += signals.decision_volatility(view, window, s)  # type: ignore[arg-type]
            elif name == "policy_violation":
                found += signals.policy_violation(view, self._model_bounds(view.model))
            elif name == "override_rate":
                found += signals.override_rate(view, window, s, ready, min_decisions)  # type: ignore[arg-type]
            elif name == "prediction_shift":
                found += signals.prediction_shift(view, window, s, ready, min_decisions)  # type: ignore[arg-type]
            else:
                found += getattr(signals, name)(view, window, s, ready)
        return found

    def raise_finding(self, view: BatchView, finding: Finding, detected_at: datetime) -> None:
        """Raise one finding as a Signal; a store error is counted and reported, not raised."""
        props = view.node.props
        s = self._model_settings(view.model)[finding.signal]
        signal = Signal(
            signal=finding.signal,
            severity=s.severity,
            title=finding.title,
            detected_at=detected_at,
            model_version=str(props["model_version"]),
            deployment=props.get("deployment"),
            batch=view.node.id,
            feature=finding.feature,
            value=finding.value,
            baseline=finding.baseline,
            details=finding.details | {"window": [_iso(view.start), _iso(view.end)]},
            playbook=self.config.playbooks.get(finding.signal),
        )
        try:
            result = self.incidents.raise_signal(signal)
        except LineageError as exc:
            self.report.count("errors")
            self._say(f"{view.node.id}: {finding.signal} could not be raised: {exc.message}")
            return
        if result.created:
            self.report.count("incidents_opened")
            self.report.details.setdefault("opened", []).append(result.incident.id)
        elif result.evidence_added:
            self.report.count("evidence_added")
            self.report.details.setdefault("evidence", []).append(result.incident.id)
        else:
            self.report.count("already_known")

    # -- per model ---------------------------------------------------------------------------

    def _enabled(self, model: str) -> list[str]:
        return [n for n, s in self._model_settings(model).items() if s.enabled]

    def _model_settings(self, model: str) -> dict[str, SignalSettings]:
        if model not in self._settings:
            chosen = {name: self.config.signal(name) for name in self.config.enabled()}
            for name, thresholds in overrides_of(self.store, model).items():
                if name not in chosen:
                    continue
                try:
                    chosen[name] = apply(chosen[name], thresholds)
                except LineageError as exc:
                    self._say(f"{model}: override of {name} ignored: {exc.field}: {exc.message}")
            self._settings[model] = chosen
        return self._settings[model]

    def _model_bounds(self, model: str) -> dict[str, Any]:
        if model not in self._bounds:
            node = self.store.get_nodes([model]).get(model)
            bounds = node.props.get("input_bounds") if node else None
            self._bounds[model] = bounds if isinstance(bounds, dict) else {}
        return self._bounds[model]

    def _read_inputs(self, node: Node) -> list[tuple[str, str]] | None:
        """(hash of the model's inputs, decision) per record; None when unreadable."""
        digest = node.props.get("records_hash")
        snapshot = str(node.props.get("snapshot", ""))
        if not isinstance(digest, str):
            return None
        if snapshot not in self._inputs:
            found = self.store.get_nodes([snapshot]).get(snapshot)
            names = found.props.get("features", []) if found else []
            self._inputs[snapshot] = [str(f).removeprefix("feature:") for f in names]
        fields = self._inputs[snapshot]
        decision = self._model_settings(BatchView.of(node).model)["decision_volatility"]
        key = str(getattr(decision, "decision_field", "decision"))
        try:
            rows = list(self.records.iter_records(digest))
        except LineageError as exc:
            self._say(f"{node.id}: records not read for volatility: {exc.message}")
            return None
        return [
            (sha256_text(canonical_json({f: row.get(f) for f in fields})), str(row.get(key)))
            for row in rows
            if isinstance(row, dict) and key in row
        ]

    def _say(self, message: str) -> None:
        if len(self.report.messages) < MAX_MESSAGES:
            self.report.messages.append(message)


def run(store: GraphStore, records: RecordStore, now: datetime, config: MonitorsConfig) -> Report:
    """The scheduled job: judge every batch that ended by ``now`` (those that started in the
    last ``run.lookback_days``, or all), each against the window before it. Never raises: a
    failure is a FAILED report saying why."""
    report = Report(job="monitors", started=now)
    try:
        evaluator = Evaluator(store, records, config, report)
        evaluator.ensure_actor()
        lookback = config.settings.run.lookback_days
        since = now - timedelta(days=lookback) if lookback else None
        for views in _by_model(evaluator, since):
            window = evaluator.window()
            for view in views:
                if view.end <= now:
                    evaluator.check(view, window, now)
                window.push(view)
        if report.counts.get("errors"):
            report.failed(f"{report.counts['errors']} findings could not be raised")
    except Exception as exc:
        log.exception("the monitors run failed")
        report.failed(f"the monitors run failed: {type(exc).__name__}: {exc}")
    return report


def _by_model(evaluator: Evaluator, since: datetime | None) -> Iterator[list[BatchView]]:
    """Each model's batches in time order (a window is needed before the batches it judges,
    so the earlier batches of the lookback's first days serve as baseline only if older)."""
    models: dict[str, list[BatchView]] = {}
    query = NodeQuery(kind=NodeKind.INFERENCE_BATCH, since=since, limit=1_000)
    for node in iter_nodes(evaluator.store, query):
        view = evaluator.view(node)
        models.setdefault(view.model, []).append(view)
    for model in sorted(models):
        yield sorted(models[model], key=lambda v: (v.start, v.node.id))


def check_batch(
    store: GraphStore, records: RecordStore, batch: Node, now: datetime, config: MonitorsConfig
) -> Report:
    """The registration hook's work: judge one batch against the batches of its model that
    ended by its start; never raises."""
    report = Report(job="monitors", started=now)
    try:
        evaluator = Evaluator(store, records, config, report)
        evaluator.ensure_actor()
        view = evaluator.view(batch)
        window = evaluator.window()
        for earlier in _trailing(evaluator, view):
            window.push(earlier)
        evaluator.check(view, window, now)
    except Exception as exc:
        log.exception("the monitors failed on a batch", batch=batch.id)
        report.failed(f"the monitors failed on {batch.id}: {type(exc).__name__}: {exc}")
    return report


def _trailing(evaluator: Evaluator, view: BatchView) -> Iterator[BatchView]:
    """The batches of the model's versions that started in the window before ``view``."""
    store = evaluator.store
    low = view.start - timedelta(days=evaluator.config.settings.baseline.window_days)
    specialising = EdgeQuery(dst=view.model, kinds=frozenset({EdgeKind.SPECIALIZATION_OF}))
    versions = sorted(
        e.src
        for e in store.find_edges(specialising).items
        if parse_id(e.src).kind is NodeKind.MODEL_VERSION
    )
    for version in versions:
        query = NodeQuery(
            kind=NodeKind.INFERENCE_BATCH,
            props={"model_version": version},
            since=low,
            until=view.start,
            limit=1_000,
        )
        yield from (evaluator.view(n) for n in iter_nodes(store, query) if n.id != view.node.id)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
