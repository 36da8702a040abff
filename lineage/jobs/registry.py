"""The scheduled jobs by name, and how each is found.

Every job is a module under :mod:`lineage.jobs` exposing two functions:

- ``run(store, records, now, config) -> Report``: one run (see :mod:`lineage.jobs.report`),
  never letting an exception escape;
- ``load_config(jobs_dir) -> config``: its configuration read from the ``jobs/`` folder,
  refusing a malformed file with ``path:line: reason`` (see :mod:`lineage.jobs.toml_config`).

Modules are imported lazily, by name, so a job whose module is not written yet is listed as
unavailable (and skipped by the scheduler, saying so) instead of breaking every other job. A
module that exists but fails to import is a bug and raises.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.jobs.report import Job

ConfigLoader = Callable[[Path], Any]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job as the registry names it: its module and what it does."""

    name: str
    module: str
    description: str


@dataclass(frozen=True, slots=True)
class LoadedJob:
    """A job ready to run: its ``run`` function and its configuration loader."""

    spec: JobSpec
    run: Job
    load_config: ConfigLoader

    @property
    def name(self) -> str:
        """The job's name."""
        return self.spec.name


class JobUnavailable(Exception):
    """The job's module does not exist (yet), or does not expose ``run`` and ``load_config``."""


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "monitors",
            "lineage.jobs.monitors",
            "watch inference batches and open incidents on the signals of jobs/monitors.toml",
        ),
        JobSpec(
            "retention",
            "lineage.jobs.retention",
            "prune what jobs/retention.toml's classes no longer keep",
        ),
        JobSpec(
            "drills",
            "lineage.jobs.drills",
            "rehearse each deployment's rollback to its warm standby (monthly by default)",
        ),
        JobSpec(
            "accountability",
            "lineage.jobs.accountability",
            "open an incident for each model without an active owner, steward or risk approver",
        ),
    )
}


def spec_of(name: str) -> JobSpec:
    """The job named ``name``; KeyError naming the known jobs otherwise."""
    try:
        return JOBS[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; known jobs: {', '.join(JOBS)}") from None


def load_job(name: str) -> LoadedJob:
    """Import the job's module and take its two functions.

    KeyError for an unknown name; :class:`JobUnavailable` when the module does not exist or
    lacks ``run`` / ``load_config``. Any other import error is a bug and propagates.
    """
    spec = spec_of(name)
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        if exc.name != spec.module:
            raise
        raise JobUnavailable(
            f"job {name} is not available: {spec.module} does not exist yet"
        ) from None
    run = getattr(module, "run", None)
    load_config = getattr(module, "load_config", None)
    if not callable(run) or not callable(load_config):
        raise JobUnavailable(
            f"job {name} is not available: {spec.module} must expose "
            "run(store, records, now, config) and load_config(jobs_dir)"
        )
    return LoadedJob(spec=spec, run=run, load_config=load_config)
