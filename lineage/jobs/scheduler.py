"""The scheduler: when each job runs, read from ``jobs/schedule.toml``, and the APScheduler 3
wiring that runs them. The only module that imports APScheduler.

``schedule.toml`` holds one table per job under ``[jobs]``::

    [jobs.monitors]
    cron = "*/5 * * * *"        # crontab, UTC; or interval_seconds = 300 (exactly one of them)
    enabled = true              # default true
    lease_ttl_seconds = 600     # default 600: how long a crashed scheduler blocks the job

and, at the top level, a table of settings per job that wants some (``[drills]``,
``[accountability]``), read by that job's own ``load_config``. Everything is checked before
anything starts (:func:`prepare`): a malformed file, an unknown job or table, a value of the
wrong type, a cron expression APScheduler refuses, or a job's own configuration refused are
all an INVALID error naming ``path:line`` and the reason, so a scheduler never starts
half-configured. A job whose module does not exist yet is skipped, saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lineage.errors import InvalidError, LineageError
from lineage.jobs.registry import JOBS, JobUnavailable, LoadedJob, load_job
from lineage.jobs.runner import Runner, RunResult
from lineage.jobs.runs import register_scheduler_agent
from lineage.jobs.toml_config import line_of, load_toml
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore

SCHEDULE_FILE = "schedule.toml"
DEFAULT_JOBS_DIR = "./jobs"
DEFAULT_LEASE_TTL = 600
log = structlog.get_logger("lineage.jobs")


class JobSchedule(BaseModel):
    """When one job runs: a crontab expression or an interval, and its lease."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool = True
    cron: str | None = None
    interval_seconds: int | None = Field(default=None, ge=1, le=366 * 86_400)
    lease_ttl_seconds: int = Field(default=DEFAULT_LEASE_TTL, ge=5, le=86_400)

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                CronTrigger.from_crontab(value, timezone=UTC)
            except ValueError as exc:
                raise ValueError(
                    f"{value!r} is not a crontab expression (minute hour day month "
                    f"day-of-week): {exc}"
                ) from None
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give exactly one of cron or interval_seconds")
        return self

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger of this schedule (UTC)."""
        if self.cron is not None:
            return CronTrigger.from_crontab(self.cron, timezone=UTC)
        assert self.interval_seconds is not None
        return IntervalTrigger(seconds=self.interval_seconds, timezone=UTC)

    def describe(self) -> str:
        """The schedule in words, as ``lineage jobs list`` shows it."""
        if self.cron is not None:
            return f"cron {self.cron} (UTC)"
        return f"every {self.interval_seconds} s"


class ScheduleFile(BaseModel):
    """``schedule.toml``: ``[jobs.<name>]`` tables, and per-job settings tables the jobs read."""

    model_config = ConfigDict(extra="allow", strict=True)

    jobs: dict[str, JobSchedule] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything a scheduler needs, checked: the schedule, the jobs that could be loaded and
    their configurations, and why the others are unavailable."""

    path: Path
    schedule: dict[str, JobSchedule]
    jobs: dict[str, LoadedJob] = field(default_factory=dict)
    configs: dict[str, Any] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def lease_ttl(self, name: str) -> int:
        """The job's lease TTL (the default when the job is not in the schedule)."""
        entry = self.schedule.get(name)
        return entry.lease_ttl_seconds if entry is not None else DEFAULT_LEASE_TTL


def load_schedule(jobs_dir: Path | str) -> tuple[Path, dict[str, JobSchedule]]:
    """``jobs_dir/schedule.toml`` checked: INVALID naming ``path:line`` and the reason."""
    path = Path(jobs_dir) / SCHEDULE_FILE
    parsed = load_toml(path, ScheduleFile)
    text = path.read_text(encoding="utf-8")
    known = ", ".join(JOBS)
    for name in parsed.jobs:
        if name not in JOBS:
            line = line_of(text, ["jobs", name])
            raise InvalidError(
                f"{path}:{line}: jobs.{name}: unknown job {name!r}; known jobs: {known}",
                field=f"jobs.{name}",
            )
    for name in parsed.model_extra or {}:
        if name not in JOBS:
            line = line_of(text, [name])
            raise InvalidError(
                f"{path}:{line}: {name}: unknown table {name!r}: jobs are scheduled under "
                f"[jobs.<name>], and a job's own settings go in a table named after it "
                f"({known})",
                field=name,
            )
    return path, dict(parsed.jobs)


def prepare(jobs_dir: Path | str, only: str | None = None) -> Prepared:
    """Load the schedule, every job it enables (or just ``only``) and their configurations.

    INVALID for anything malformed (see the module docstring) or an unknown ``only``; a job
    whose module does not exist yet is left out and listed in ``unavailable``.
    """
    path, schedule = load_schedule(jobs_dir)
    if only is not None and only not in JOBS:
        raise InvalidError(f"unknown job {only!r}; known jobs: {', '.join(JOBS)}", field="job")
    wanted = [only] if only is not None else [n for n, s in schedule.items() if s.enabled]
    prepared = Prepared(path=path, schedule=schedule)
    for name in wanted:
        try:
            loaded = load_job(name)
        except JobUnavailable as exc:
            prepared.unavailable[name] = str(exc)
            continue
        prepared.jobs[name] = loaded
        prepared.configs[name] = _config_of(loaded, Path(jobs_dir))
    return prepared


def _config_of(job: LoadedJob, jobs_dir: Path) -> Any:
    try:
        return job.load_config(jobs_dir)
    except LineageError:
        raise
    except Exception as exc:  # a loader that failed otherwise still refuses the start
        raise InvalidError(
            f"{jobs_dir}: the configuration of job {job.name} could not be loaded: "
            f"{type(exc).__name__}: {exc}",
            field="config",
        ) from exc


class JobScheduler:
    """The enabled jobs on their schedules, in background threads (APScheduler's
    BackgroundScheduler): in its own process (``lineage jobs run``) or beside the API
    (``lineage serve --with-jobs``). Each firing goes through :class:`Runner`, so it takes the
    job's lease, never lets an exception reach APScheduler, and is recorded."""

    def __init__(
        self,
        store: GraphStore,
        records: RecordStore,
        prepared: Prepared,
        listener: Callable[[RunResult], None] | None = None,
    ) -> None:
        self.store = store
        self.records = records
        self.prepared = prepared
        self.listener = listener  # told of every run, skipped ones included
        self.runner = Runner(store, records)
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            # One run of a job at a time in this process, runs missed while busy merged into
            # one; the lease keeps other processes out.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        for name in prepared.jobs:
            entry = prepared.schedule.get(name)
            if entry is None or not entry.enabled:
                continue
            self._scheduler.add_job(
                self.fire, trigger=entry.trigger(), args=[name], id=name, name=name
            )

    @property
    def scheduled(self) -> list[str]:
        """The jobs on a schedule here."""
        return [job.id for job in self._scheduler.get_jobs()]

    @property
    def running(self) -> bool:
        """Whether the scheduler is running."""
        return bool(self._scheduler.running)

    def next_runs(self) -> dict[str, datetime | None]:
        """When each scheduled job fires next (None while paused or not started)."""
        return {job.id: getattr(job, "next_run_time", None) for job in self._scheduler.get_jobs()}

    def start(self) -> None:
        """Register the scheduler's agent, then start firing jobs; say which are unavailable."""
        register_scheduler_agent(self.store, self.records)
        for name, why in self.prepared.unavailable.items():
            log.warning("job skipped", job=name, reason=why)
        self._scheduler.start()
        log.info("scheduler started", jobs=self.scheduled, holder=self.runner.holder)

    def shutdown(self, wait: bool = True) -> None:
        """Stop firing jobs; with ``wait``, let the running ones finish (and release their
        leases) first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        self.runner.close()
        log.info("scheduler stopped", holder=self.runner.holder)

    def run_now(self, name: str) -> None:
        """Fire a scheduled job now, in the scheduler's threads (its schedule continues)."""
        self._scheduler.modify_job(name, next_run_time=datetime.now(UTC))

    def fire(self, name: str) -> RunResult | None:
        """One scheduled run of ``name``; never raises (APScheduler would only log it)."""
        try:
            job = self.prepared.jobs[name]
            result = self.runner.run(
                name,
                job.run,
                self.prepared.configs.get(name),
                self.prepared.lease_ttl(name),
                trigger="schedule",
            )
            if self.listener is not None:
                self.listener(result)
            return result
        except Exception as exc:
            log.error("job run broke", job=name, exc_info=exc)
            return None


def run_once(prepared: Prepared, name: str, runner: Runner) -> RunResult:
    """Run ``name`` now, once, whatever its schedule says (``lineage jobs run --once``)."""
    job = prepared.jobs[name]
    return runner.run(
        name, job.run, prepared.configs.get(name), prepared.lease_ttl(name), trigger="once"
    )


def jobs_dir_of(given: str | None, environ: Mapping[str, str]) -> Path:
    """The jobs folder: ``given``, else ``$LINEAGE_JOBS_DIR``, else ``./jobs``."""
    return Path(given or environ.get("LINEAGE_JOBS_DIR") or DEFAULT_JOBS_DIR)
