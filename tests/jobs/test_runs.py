"""Running a job: under its lease, renewed while it works, recorded as a JobRun node by the
scheduler's agent; a job that raises is recorded FAILED with the reason and logged; a run
that finds the lease held is skipped. On every backend, with clocks passed in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from lineage.jobs.report import Outcome, Report
from lineage.jobs.runner import Runner, lease_name
from lineage.jobs.runs import SCHEDULER_ACTOR, latest_runs, report_of
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.audit import verify
from lineage.services.record_store import RecordStore
from lineage.store import EdgeQuery, GraphStore
from tests.jobs.support import AFTER_SCENARIO

T0 = AFTER_SCENARIO
TTL = 60.0
WAIT = 10.0  # the most an event is waited for; a passing test never waits that long


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Watching:
    """A store that tells the test what the runner's lease renewals answer."""

    def __init__(self, store: GraphStore, lease: str) -> None:
        self.store = store
        self.lease = lease
        self.renewed = threading.Event()  # a renewal after the run's start succeeded
        self.refused = threading.Event()  # a renewal found another holder

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def try_lease(self, name: str, holder: str, now: datetime, ttl: float) -> bool:
        taken = self.store.try_lease(name, holder, now, ttl)
        if name == self.lease and now > T0:
            (self.renewed if taken else self.refused).set()
        return taken


def counting_job(report_counts: dict[str, int] | None = None) -> Callable[..., Report]:
    def job(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
        report = Report(job="accountability", started=now)
        for name, value in (report_counts or {}).items():
            report.count(name, value)
        report.messages.append(f"configured with {config!r}")
        return report

    return job


def raising_job(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
    raise RuntimeError("the disk caught fire")


def test_a_run_is_recorded_as_a_job_run_by_the_scheduler_agent(
    jobs_store: GraphStore, records: RecordStore
) -> None:
    clock = Clock(T0)
    runner = Runner(jobs_store, records, holder="scheduler-a", clock=clock)

    result = runner.run("accountability", counting_job({"gaps": 2}), "cfg", TTL, trigger="once")

    assert result.report.outcome is Outcome.OK
    run = result.run
    assert run is not None and run.kind is NodeKind.JOB_RUN
    assert run.id.startswith("jobrun:accountability-20240201T030000000000Z-")
    assert run.valid_from == T0
    props = run.props
    assert props["job"] == "accountability" and props["outcome"] == "ok"
    assert props["counts"] == {"gaps": 2}
    assert props["messages"] == ["configured with 'cfg'"]
    assert (props["holder"], props["trigger"]) == ("scheduler-a", "once")
    assert props["started"] == props["ended"] == "2024-02-01T03:00:00.000000Z"
    [link] = jobs_store.find_edges(EdgeQuery(src=run.id)).items
    assert (link.kind, link.dst) == (EdgeKind.WAS_ASSOCIATED_WITH, SCHEDULER_ACTOR)
    event = jobs_store.audit_head()
    assert event is not None
    assert (event.actor, event.action, event.reason) == (
        SCHEDULER_ACTOR,
        "record_job_run",
        "accountability: ok",
    )
    assert [n.id for n in latest_runs(jobs_store, "accountability")] == [run.id]
    assert report_of(run).counts == {"gaps": 2}
    assert verify(jobs_store).ok
    runner.close()


def test_a_job_that_raises_is_logged_and_recorded_failed_with_the_reason(
    jobs_store: GraphStore, records: RecordStore
) -> None:
    runner = Runner(jobs_store, records, holder="scheduler-a", clock=Clock(T0))

    with capture_logs() as logs:
        result = runner.run("drills", raising_job, None, TTL)

    assert result.report.outcome is Outcome.FAILED
    assert result.report.messages == ["the job raised RuntimeError: the disk caught fire"]
    assert result.run is not None
    assert result.run.props["outcome"] == "failed"
    assert result.run.props["messages"] == ["the job raised RuntimeError: the disk caught fire"]
    [raised] = [e for e in logs if e["event"] == "job raised"]
    assert raised["job"] == "drills" and raised["log_level"] == "error"
    assert isinstance(raised["exc_info"], RuntimeError)
    # The lease was given back: another holder takes it at once.
    assert jobs_store.try_lease(lease_name("drills"), "scheduler-b", T0, TTL)
    runner.close()


def test_a_run_that_finds_the_lease_held_is_skipped_and_not_recorded(
    jobs_store: GraphStore, records: RecordStore
) -> None:
    assert jobs_store.try_lease(lease_name("accountability"), "scheduler-a", T0, TTL)
    ran = threading.Event()

    def job(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
        ran.set()
        return Report(job="accountability", started=now)

    runner = Runner(
        jobs_store, records, holder="scheduler-b", clock=Clock(T0 + timedelta(seconds=30))
    )
    result = runner.run("accountability", job, None, TTL)

    assert result.report.outcome is Outcome.SKIPPED and result.run is None
    assert result.report.messages == [
        "skipped: another scheduler holds the lease job:accountability"
    ]
    assert not ran.is_set()
    assert latest_runs(jobs_store, "accountability") == []
    runner.close()


def test_a_crashed_holder_s_lease_is_taken_over_once_its_ttl_ran_out(
    jobs_store: GraphStore, records: RecordStore
) -> None:
    # Scheduler A took the lease at T0 and died without giving it back.
    assert jobs_store.try_lease(lease_name("accountability"), "scheduler-a", T0, TTL)
    clock = Clock(T0 + timedelta(seconds=TTL - 1))
    runner = Runner(jobs_store, records, holder="scheduler-b", clock=clock)

    before_expiry = runner.run("accountability", counting_job(), None, TTL)
    clock.advance(2)
    after_expiry = runner.run("accountability", counting_job(), None, TTL)

    assert before_expiry.report.outcome is Outcome.SKIPPED
    assert after_expiry.report.outcome is Outcome.OK
    assert after_expiry.run is not None and after_expiry.run.props["holder"] == "scheduler-b"
    runner.close()


def test_the_lease_is_renewed_while_the_job_works(
    jobs_store: GraphStore, records: RecordStore
) -> None:
    clock = Clock(T0)
    lease = lease_name("drills")
    watching = Watching(jobs_store, lease)
    seen: dict[str, bool] = {}

    def long_job(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
        clock.advance(TTL - 10)  # the job has worked for most of the lease
        seen["renewed"] = watching.renewed.wait(WAIT)
        # Without the renewal the lease would have run out at T0 + TTL.
        later = T0 + timedelta(seconds=TTL + 5)
        seen["held"] = not jobs_store.try_lease(lease, "intruder", later, TTL)
        return Report(job="drills", started=now)

    store: Any = watching
    runner = Runner(store, records, holder="scheduler-a", clock=clock, renew_every=0.01)
    result = runner.run("drills", long_job, None, TTL)

    assert seen == {"renewed": True, "held": True}
    assert result.report.outcome is Outcome.OK
    assert not any("lease" in m for m in result.report.messages)
    runner.close()


def test_a_lease_lost_while_the_job_worked_is_reported(
    jobs_store: GraphStore, records: RecordStore
) -> None:
    clock = Clock(T0)
    lease = lease_name("drills")
    watching = Watching(jobs_store, lease)

    def stalled_job(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
        # This process stalled past the TTL, and another scheduler took the job over.
        clock.advance(TTL + 1)
        assert jobs_store.try_lease(lease, "scheduler-b", clock(), TTL)
        watching.refused.wait(WAIT)
        return Report(job="drills", started=now)

    store: Any = watching
    runner = Runner(store, records, holder="scheduler-a", clock=clock, renew_every=0.01)
    result = runner.run("drills", stalled_job, None, TTL)

    assert watching.refused.is_set()
    assert result.report.messages[-1].startswith("the lease job:drills was lost during the run")
    # The lease stays with the scheduler that took it over: the loser does not release it.
    assert not jobs_store.try_lease(lease, "scheduler-c", clock(), TTL)
    runner.close()


@pytest.mark.parametrize("returned", [None, "done"])
def test_a_job_that_returns_no_report_is_recorded_failed(
    jobs_store: GraphStore, records: RecordStore, returned: Any
) -> None:
    def job(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Any:
        return returned

    runner = Runner(jobs_store, records, clock=Clock(T0))
    result = runner.run("retention", job, None, TTL)

    assert result.report.outcome is Outcome.FAILED
    assert result.report.messages[0].endswith("not a Report")
    assert result.run is not None
    runner.close()
