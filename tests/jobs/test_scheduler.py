"""The scheduler: schedule.toml refused at start with file, line and reason; jobs found by
name (and skipped, saying so, while their module does not exist); a job that raises is
recorded FAILED and the scheduler keeps running; the API starts and stops it with itself; the
``lineage jobs`` commands."""

from __future__ import annotations

import json
import queue
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage.cli import app
from lineage.errors import InvalidError
from lineage.graphql.app import create_app
from lineage.jobs import drills
from lineage.jobs.registry import JOBS, JobSpec, JobUnavailable, LoadedJob, load_job
from lineage.jobs.report import Outcome, Report
from lineage.jobs.runner import RunResult
from lineage.jobs.runs import latest_runs
from lineage.jobs.scheduler import JobSchedule, JobScheduler, Prepared, load_schedule, prepare
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.settings import Settings
from lineage.store import GraphStore, open_store
from tests.jobs.support import SCHEDULE, write_jobs_dir

with warnings.catch_warnings():
    # Starlette suggests httpx2; plain httpx is what the project depends on.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0


def refusal(tmp_path: Path, schedule: str) -> str:
    """The message a jobs folder holding ``schedule`` is refused with."""
    folder = write_jobs_dir(tmp_path, schedule)
    with pytest.raises(InvalidError) as info:
        prepare(folder)
    return info.value.message


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        pytest.param(
            '[jobs.drills]\ncron = "0 3 * * *"\n\n[jobs.backups]\ncron = "0 4 * * *"\n',
            ":4: jobs.backups: unknown job 'backups'; known jobs: monitors, retention, drills, "
            "accountability",
            id="unknown job",
        ),
        pytest.param(
            "[jobs.drills]\ncron = 5\n",
            ":2: jobs.drills.cron: Input should be a valid string",
            id="cron of the wrong type",
        ),
        pytest.param(
            '[jobs.accountability]\ninterval_seconds = "3600"\n',
            ":2: jobs.accountability.interval_seconds: Input should be a valid integer",
            id="interval of the wrong type",
        ),
        pytest.param(
            '[jobs.drills]\nenabled = "yes"\ncron = "0 3 * * *"\n',
            ":2: jobs.drills.enabled: Input should be a valid boolean",
            id="enabled of the wrong type",
        ),
        pytest.param(
            '# the drills\n[jobs.drills]\ncron = "61 3 * * *"\n',
            ":3: jobs.drills.cron: '61 3 * * *' is not a crontab expression (minute hour day "
            "month day-of-week): Error validating expression '61': the last value (61) is "
            "higher than the maximum value (59)",
            id="bad cron",
        ),
        pytest.param(
            '[jobs.drills]\ncron = "0 3 * * *"\ninterval_seconds = 60\n',
            ":1: jobs.drills: give exactly one of cron or interval_seconds",
            id="two schedules",
        ),
        pytest.param(
            '[jobs.drills]\ncron = "0 3 * * *"\nlease_ttl = 60\n',
            ":3: jobs.drills.lease_ttl: Extra inputs are not permitted",
            id="unknown key",
        ),
        pytest.param(
            '[jobs.drills]\ncron = "0 3 * * *"\n\n[drill]\nevery_days = 7\n',
            ":4: drill: unknown table 'drill'",
            id="unknown table",
        ),
        pytest.param(
            '[jobs.drills]\ncron = "0 3 * * *"\n[drills]\nevery_days = "30"\n',
            ":4: drills.every_days: Input should be a valid integer",
            id="a job's own settings of the wrong type",
        ),
        pytest.param(
            '[jobs.drills]\ncron = "0 3 * * *"\n[drills.deployments."model:x"]\nenabled = false\n',
            ":3: drills.deployments: 'model:x': 'model:x' is a Model, expected Deployment",
            id="a drill setting for something not a deployment",
        ),
        pytest.param(
            '[jobs.drills\ncron = "0 3 * * *"\n',
            ":1: Expected ']' at the end of a table declaration",
            id="not TOML",
        ),
    ],
)
def test_a_malformed_schedule_is_refused_naming_file_line_and_reason(
    tmp_path: Path, schedule: str, expected: str
) -> None:
    message = refusal(tmp_path, schedule)

    assert message.startswith(str(tmp_path / "jobs" / "schedule.toml"))
    assert expected in message


def test_a_missing_schedule_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidError, match=r"schedule\.toml: cannot be read"):
        prepare(tmp_path)


def test_the_repository_schedule_loads_and_names_every_job() -> None:
    _, schedule = load_schedule(ROOT / "jobs")

    assert sorted(schedule) == sorted(JOBS)
    assert schedule["drills"] == JobSchedule(cron="0 3 * * *")
    config = drills.load_config(ROOT / "jobs")
    assert (config.settings.every_days, config.settings.dry_run) == (30, True)


def test_the_repository_jobs_folder_prepares_every_job() -> None:
    prepared = prepare(ROOT / "jobs")

    assert prepared.unavailable == {}
    assert sorted(prepared.jobs) == sorted(prepared.configs) == sorted(JOBS)


def test_a_job_whose_module_does_not_exist_is_unavailable_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(JOBS, "drills", JobSpec("drills", "lineage.jobs.nope", "not written"))
    with pytest.raises(JobUnavailable, match=r"lineage\.jobs\.nope does not exist yet"):
        load_job("drills")

    prepared = prepare(write_jobs_dir(tmp_path))

    assert "drills" in prepared.unavailable and "drills" not in prepared.jobs
    assert "accountability" in prepared.jobs


def test_a_disabled_job_is_not_scheduled(
    tmp_path: Path, jobs_store: GraphStore, records: RecordStore
) -> None:
    schedule = SCHEDULE.replace('cron = "0 3 * * *"', 'cron = "0 3 * * *"\nenabled = false')
    prepared = prepare(write_jobs_dir(tmp_path, schedule))

    scheduler = JobScheduler(jobs_store, records, prepared)

    assert scheduler.scheduled == ["accountability"]


def prepared_with(**jobs: Any) -> Prepared:
    """A prepared scheduler running the given functions as the named jobs, hourly."""
    return Prepared(
        path=Path("schedule.toml"),
        schedule={name: JobSchedule(interval_seconds=3600) for name in jobs},
        jobs={name: LoadedJob(JOBS[name], run, lambda _d: None) for name, run in jobs.items()},
    )


def test_a_job_that_raises_is_recorded_failed_and_the_scheduler_keeps_running(
    jobs_store: GraphStore, records: RecordStore
) -> None:
    def broken(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
        raise ValueError("a bug in the job")

    def working(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
        return Report(job="accountability", started=now)

    finished: queue.Queue[RunResult] = queue.Queue()
    prepared = prepared_with(drills=broken, accountability=working)
    scheduler = JobScheduler(jobs_store, records, prepared, listener=finished.put)
    scheduler.start()
    try:
        scheduler.run_now("drills")
        failed = finished.get(timeout=WAIT)
        scheduler.run_now("accountability")
        worked = finished.get(timeout=WAIT)
        assert scheduler.running
    finally:
        scheduler.shutdown()

    assert failed.report.outcome is Outcome.FAILED
    assert failed.report.messages == ["the job raised ValueError: a bug in the job"]
    assert worked.report.outcome is Outcome.OK
    [recorded] = latest_runs(jobs_store, "drills")
    assert recorded.props["outcome"] == "failed" and recorded.props["trigger"] == "schedule"
    assert not scheduler.running


def test_the_api_starts_and_stops_the_scheduler_with_itself(
    jobs_store: GraphStore, records: RecordStore
) -> None:
    scheduler = JobScheduler(jobs_store, records, prepared_with(accountability=lambda *a: None))
    api = create_app(jobs_store, records, Settings(allow_anonymous=True), jobs=scheduler)

    with TestClient(api) as client:
        assert client.get("/healthz").status_code == 200
        assert scheduler.running
        assert scheduler.next_runs()["accountability"] is not None

    assert not scheduler.running


# -- the command line --------------------------------------------------------------------------


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def demo_db(tmp_path: Path, store_uri: str) -> str:
    """The reference scenario in a store of each backend, as ``lineage demo`` leaves it."""
    uri = store_uri
    graph = open_store(uri)
    try:
        load_scenario(Registry(graph, RecordStore(tmp_path / "records"), actor=DEMO_ACTOR))
    finally:
        graph.close()
    return uri


def test_jobs_run_refuses_a_malformed_schedule_before_starting(tmp_path: Path) -> None:
    folder = write_jobs_dir(tmp_path, '[jobs.drills]\ncron = "every day"\n')
    store = f"sqlite:///{tmp_path}/lineage.db"

    done = invoke("jobs", "run", "--store", store, "--jobs-dir", str(folder))

    assert done.exit_code == 2
    assert f"{folder / 'schedule.toml'}:2: jobs.drills.cron: 'every day' is not a crontab" in (
        " ".join(done.output.split())
    )


def test_jobs_run_once_prints_the_report_and_records_the_run(tmp_path: Path, demo_db: str) -> None:
    folder = write_jobs_dir(tmp_path)

    done = invoke("jobs", "run", "--once", "drills", "--store", demo_db, "--jobs-dir", str(folder))
    listed = invoke("jobs", "list", "--store", demo_db, "--jobs-dir", str(folder), "--json")

    assert done.exit_code == 0, done.output
    assert "drills: ok\n  drills_passed: 1\n  drills_run: 1\nrecorded as jobrun:drills-" in (
        done.output
    )
    rows = {row["job"]: row for row in json.loads(listed.stdout)}
    assert rows["drills"]["state"] == "enabled"
    assert rows["drills"]["schedule"] == "cron 0 3 * * * (UTC)"
    assert rows["drills"]["last_run"]["outcome"] == "ok"
    assert rows["drills"]["last_run"]["counts"] == {"drills_passed": 1, "drills_run": 1}
    assert rows["accountability"]["last_run"] is None
    assert rows["retention"]["state"] == "unscheduled"


def test_jobs_run_once_exits_1_when_the_job_failed(
    tmp_path: Path, demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(store: GraphStore, records: RecordStore, now: datetime, config: Any) -> Report:
        return Report(job="drills", started=now).failed("the standby cannot be reached")

    monkeypatch.setattr(drills, "run", failing)
    folder = write_jobs_dir(tmp_path)

    done = invoke(
        "jobs", "run", "--once", "drills", "--store", demo_db, "--jobs-dir", str(folder), "--json"
    )

    assert done.exit_code == 1
    report = json.loads(done.stdout)
    assert (report["outcome"], report["messages"]) == ("failed", ["the standby cannot be reached"])
    assert report["run"].startswith("jobrun:drills-")


def test_jobs_run_once_refuses_an_unknown_job(tmp_path: Path) -> None:
    folder = write_jobs_dir(tmp_path)

    done = invoke("jobs", "run", "--once", "backups", "--jobs-dir", str(folder))

    assert done.exit_code == 2
    assert "unknown job 'backups'" in done.output
