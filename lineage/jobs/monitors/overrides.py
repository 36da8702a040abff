"""Per-model thresholds, registered in the graph: the Monitor node ``monitor:<model>-<signal>``.

Its ``thresholds`` replace the file's for that model's batches (only the keys it gives), are
validated by the same model as ``jobs/monitors.toml`` when registered, and again when read (an
override the current file's schema refuses is reported by the run and ignored, never applied
half-way). Registering is an audited write; registering the same thresholds again is a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from lineage.errors import InvalidError, NotFoundError
from lineage.jobs.monitors.config import SIGNALS, MonitorsConfig, SignalSettings
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import make_id, parse_id, require_kind
from lineage.model.times import utcnow
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.store.base import GraphStore


def monitor_id(model: str, signal: str) -> str:
    """``monitor:<model name>-<signal>``."""
    return make_id(NodeKind.MONITOR, f"{parse_id(model).name}-{signal}")


def apply(base: SignalSettings, thresholds: Mapping[str, Any]) -> SignalSettings:
    """``base`` with ``thresholds`` applied; INVALID naming the key otherwise."""
    try:
        return type(base).model_validate(base.model_dump() | dict(thresholds))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "thresholds"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        raise InvalidError(message, field=f"thresholds.{where}") from None


def register_override(
    store: GraphStore,
    config: MonitorsConfig,
    actor: str,
    model: str,
    signal: str,
    thresholds: Mapping[str, Any],
    reason: str,
    at: datetime | None = None,
) -> Node:
    """Record ``thresholds`` for ``signal`` on ``model`` as its Monitor node (audited)."""
    require_kind(model, "model", NodeKind.MODEL)
    if signal not in SIGNALS:
        raise InvalidError(
            f"unknown signal {signal!r}; one of {', '.join(SIGNALS)}", field="signal"
        )
    apply(config.signal(signal), thresholds)
    node_id = monitor_id(model, signal)
    with store.transaction():
        require_agent(store, actor, utcnow())
        found = store.get_nodes([model, node_id])
        if model not in found:
            raise NotFoundError(f"{model} is not registered", field="model")
        props = {"model": model, "signal": signal, "thresholds": dict(thresholds), "reason": reason}
        old = found.get(node_id)
        if old is not None and old.props == props:
            return old
        node = Node(node_id, NodeKind.MONITOR, old.valid_from if old else at or utcnow(), props)
        store.upsert_nodes([node])
        append_event(
            store,
            actor=actor,
            action="set_monitor_thresholds",
            reason=reason,
            nodes=[node],
            payload=props,
        )
    return store.get_nodes([node_id])[node_id]


def overrides_of(store: GraphStore, model: str) -> dict[str, Mapping[str, Any]]:
    """signal -> the thresholds registered for ``model``."""
    ids = [monitor_id(model, signal) for signal in SIGNALS]
    found: dict[str, Mapping[str, Any]] = {}
    for node in store.get_nodes(ids).values():
        thresholds = node.props.get("thresholds")
        if isinstance(thresholds, dict) and node.props.get("signal") in SIGNALS:
            found[str(node.props["signal"])] = thresholds
    return found
