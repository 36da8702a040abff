"""Running one job: under its lease, renewed while it works, never letting an exception out,
and recorded in the graph.

Two schedulers (two processes, or the API's and a standalone one) may share a store; the lease
``job:<name>`` (:meth:`GraphStore.try_lease`) makes sure only one runs a job at a time. A run:

1. takes the lease for ``lease_ttl`` seconds as this process's holder ID; when another holder's
   lease is still running, the run is SKIPPED and **not recorded** (with two schedulers every
   tick of every job would otherwise leave a node saying nothing happened), only logged;
2. renews the lease every third of its TTL from a background thread (one per runner) while
   the job works, so a long job keeps it and a crashed process loses it once the TTL runs out;
3. calls the job; an exception is logged with its traceback and becomes a FAILED report naming
   it: nothing reaches the scheduler;
4. records the run as a JobRun node (:mod:`lineage.jobs.runs`), then gives the lease back.

The clock is passed in (``clock``), so tests take leases over without sleeping.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from lineage.jobs.report import Job, Outcome, Report
from lineage.jobs.runs import record_run
from lineage.model.graph import Node
from lineage.model.times import utcnow
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore

log = structlog.get_logger("lineage.jobs")
Clock = Callable[[], datetime]


def process_holder() -> str:
    """A lease holder ID unique to this process: host, process ID and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def lease_name(job: str) -> str:
    """The store lease a run of ``job`` holds."""
    return f"job:{job}"


@dataclass(frozen=True, slots=True)
class RunResult:
    """A run's report, and the JobRun node it was recorded as (None when skipped, or when the
    store could not take the record)."""

    report: Report
    run: Node | None


class Runner:
    """Runs jobs for one scheduler process (one lease holder ID)."""

    def __init__(
        self,
        store: GraphStore,
        records: RecordStore,
        *,
        holder: str | None = None,
        clock: Clock = utcnow,
        renew_every: float | None = None,
    ) -> None:
        self.store = store
        self.records = records
        self.holder = holder or process_holder()
        self.clock = clock
        self.renew_every = renew_every  # default: a third of the lease's TTL
        self._keeper = _LeaseKeeper(self)
        self._threads = threading.local()

    def close(self) -> None:
        """Stop renewing leases (the runs in progress lose theirs after their TTL)."""
        self._keeper.close()

    def touch(self) -> None:
        """Read the store once from this thread before its first lease call.

        The SQLite store sets up a thread's connection state on its first read or transaction,
        but ``try_lease`` on a thread that has done neither fails (``_write`` reads the scope
        depth first); APScheduler's pool threads and the renewal thread start that way.
        """
        if not getattr(self._threads, "touched", False):
            self.store.audit_head()
            self._threads.touched = True

    def run(
        self, name: str, job: Job, config: Any, lease_ttl: float, trigger: str = "schedule"
    ) -> RunResult:
        """Run ``job`` once as ``name`` under its lease; see the module's docstring."""
        lease = lease_name(name)
        now = self.clock()
        try:
            self.touch()
            taken = self.store.try_lease(lease, self.holder, now, lease_ttl)
        except Exception as exc:
            log.error("job lease unavailable", job=name, lease=lease, error=str(exc))
            report = Report(job=name, started=now, ended=now)
            report.failed(f"could not take the lease {lease}: {exc}")
            return RunResult(report, self._record(report, trigger))
        if not taken:
            log.info("job skipped", job=name, lease=lease, reason="another scheduler holds it")
            report = Report(job=name, started=now, ended=now, outcome=Outcome.SKIPPED)
            report.messages.append(f"skipped: another scheduler holds the lease {lease}")
            return RunResult(report, None)
        held = self._keeper.hold(lease, lease_ttl)
        try:
            report = self._call(name, job, config, now)
        finally:
            self._keeper.drop(lease)
        if held.lost:
            report.messages.append(
                f"the lease {lease} was lost during the run (not renewed in time): another "
                "scheduler may have run the job meanwhile"
            )
        if report.ended is None:
            report.ended = self.clock()
        run = self._record(report, trigger)
        try:
            self.store.release_lease(lease, self.holder)
        except Exception as exc:  # it expires by itself after its TTL
            log.warning("job lease not released", job=name, lease=lease, error=str(exc))
        return RunResult(report, run)

    def _call(self, name: str, job: Job, config: Any, now: datetime) -> Report:
        log.info("job started", job=name, holder=self.holder)
        try:
            report = job(self.store, self.records, now, config)
        except Exception as exc:
            # A job should never raise; one that does must not take the scheduler with it.
            log.error("job raised", job=name, exc_info=exc)
            return Report(job=name, started=now).failed(
                f"the job raised {type(exc).__name__}: {exc}"
            )
        if not isinstance(report, Report):
            log.error("job returned no report", job=name, returned=type(report).__name__)
            return Report(job=name, started=now).failed(
                f"the job returned {type(report).__name__}, not a Report"
            )
        if report.outcome is Outcome.FAILED:
            log.warning("job failed", job=name, messages=report.messages, counts=report.counts)
        else:
            log.info("job finished", job=name, outcome=report.outcome.value, counts=report.counts)
        return report

    def _record(self, report: Report, trigger: str) -> Node | None:
        try:
            return record_run(self.store, report, self.holder, trigger, uuid.uuid4().hex[:8])
        except Exception as exc:
            log.error("job run not recorded", job=report.job, error=str(exc))
            report.messages.append(f"the run could not be recorded: {exc}")
            return None


@dataclass(slots=True)
class _Held:
    ttl: float
    every: float
    renewed: float  # time.monotonic() of the last renewal
    lost: bool = False


class _LeaseKeeper:
    """Renews the leases a runner holds, from one background thread (so one store connection)
    started on first use; a lease is renewed once a third of its TTL (or ``renew_every``) has
    passed. ``lost`` is set when another holder has it: this process was too slow to renew, so
    its run may no longer be alone."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def hold(self, lease: str, ttl: float) -> _Held:
        every = self.runner.renew_every if self.runner.renew_every is not None else ttl / 3
        held = _Held(ttl=ttl, every=every, renewed=time.monotonic())
        with self._lock:
            self._held[lease] = held
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="leases", daemon=True)
                self._thread.start()
        self._wake.set()
        return held

    def drop(self, lease: str) -> None:
        with self._lock:
            self._held.pop(lease, None)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                due = {k: h for k, h in self._held.items() if not h.lost}
            now = time.monotonic()
            waits = [h.renewed + h.every - now for h in due.values()]
            if waits and min(waits) <= 0:
                for lease, held in due.items():
                    if held.renewed + held.every <= now:
                        self._renew(lease, held)
                continue
            self._wake.wait(min(waits) if waits else None)
            self._wake.clear()

    def _renew(self, lease: str, held: _Held) -> None:
        runner = self.runner
        with self._lock:
            if self._held.get(lease) is not held:  # the run ended meanwhile
                return
        try:
            runner.touch()
            taken = runner.store.try_lease(lease, runner.holder, runner.clock(), held.ttl)
        except Exception as exc:  # try again at the next tick, while the TTL lasts
            log.warning("job lease not renewed", lease=lease, error=str(exc))
            held.renewed = time.monotonic()
            return
        held.renewed = time.monotonic()
        if not taken:
            held.lost = True
            log.error("job lease lost", lease=lease, holder=runner.holder)
