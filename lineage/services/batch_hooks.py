"""What runs after an inference batch is registered: a small list of callbacks the app wires.

The registry knows nothing of monitors: the API's ``registerInferenceBatch`` (and any Python
caller of :meth:`Registry.register_inference_batch`) hands the new batch to
:func:`after_batch` once the registration has committed. A hook never fails the registration:
an exception is logged and swallowed, because the batch is already recorded and the scheduled
run of the monitors looks at it again.

Wiring: ``create_app(store, records, settings, after_batch=[monitors.registration_hook(cfg)])``
(``lineage serve`` does this with ``jobs/monitors.toml``); in Python::

    hook = registration_hook(load_config("jobs"))        # lineage.jobs.monitors
    done = registry.register_inference_batch(batch)
    after_batch([hook], store, records, done)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from lineage.model.graph import Node, NodeKind
from lineage.model.times import utcnow
from lineage.services.record_store import RecordStore
from lineage.services.write_plan import Registration
from lineage.store.base import GraphStore

# (store, records, the batch node, the instant to judge it at) -> anything (ignored)
BatchHook = Callable[[GraphStore, RecordStore, Node, datetime], object]
log = structlog.get_logger("lineage.hooks")


def after_batch(
    hooks: Sequence[BatchHook],
    store: GraphStore,
    records: RecordStore,
    done: Registration,
    now: datetime | None = None,
) -> None:
    """Run every hook for a batch that was just registered (not for an idempotent repeat);
    never raises."""
    if not done.created or done.node.kind is not NodeKind.INFERENCE_BATCH:
        return
    at = now or utcnow()
    for hook in hooks:
        try:
            hook(store, records, done.node, at)
        except Exception:
            log.exception("a batch hook failed; the batch stays registered", batch=done.node.id)
