"""The monitors job: signals computed from inference batches' statistics, raised as incidents.

The scheduler imports :func:`load_config` and :func:`run`; the API and ``lineage demo`` wire
:func:`registration_hook` so a batch is judged as soon as it is registered. The signals, their
baselines and thresholds are described in :mod:`.signals`, :mod:`.baselines` and
:mod:`.config`; ``jobs/monitors.toml`` holds the thresholds and ``jobs/playbooks/`` a playbook
per signal.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from lineage.jobs.monitors.config import (
    MONITORS_FILE,
    SIGNALS,
    MonitorsConfig,
    default_jobs_dir,
    load_config,
)
from lineage.jobs.monitors.runner import check_batch, run
from lineage.model.graph import Node
from lineage.services.batch_hooks import BatchHook
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore

__all__ = [
    "MONITORS_FILE",
    "SIGNALS",
    "MonitorsConfig",
    "check_batch",
    "default_jobs_dir",
    "hook_from",
    "load_config",
    "registration_hook",
    "run",
]


def registration_hook(config: MonitorsConfig) -> BatchHook:
    """The hook that judges a batch right after its registration (see
    :mod:`lineage.services.batch_hooks`), detecting at the instant it is given."""

    def hook(store: GraphStore, records: RecordStore, batch: Node, now: datetime) -> object:
        return check_batch(store, records, batch, now, config)

    return hook


def hook_from(jobs_dir: Path | str | None = None) -> BatchHook:
    """:func:`registration_hook` over the configuration in ``jobs_dir`` (default:
    :func:`default_jobs_dir`)."""
    return registration_hook(load_config(jobs_dir or default_jobs_dir()))
