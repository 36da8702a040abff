"""The ``lineage jobs`` commands: run the scheduler, run one job now, list the jobs.

``lineage jobs run`` runs the scheduler in this process until SIGINT or SIGTERM (the running
jobs finish and give their leases back first). ``--once JOB`` runs one job now and prints its
report: exit 0 when it ran ok, 1 when it failed, 3 when it was skipped because another
scheduler holds its lease, 2 for a usage, configuration or store error (a malformed
``jobs/*.toml`` is refused naming file, line and reason). ``lineage jobs list`` shows each job,
its schedule, and its last recorded run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from lineage.cli_options import JsonOption, RecordsOption, StoreOption
from lineage.errors import LineageError
from lineage.jobs.registry import JOBS
from lineage.jobs.report import Outcome, Report
from lineage.model.graph import Node
from lineage.model.times import to_text
from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore

if TYPE_CHECKING:
    from lineage.jobs.scheduler import JobScheduler, Prepared

jobs_app = typer.Typer(
    help="Scheduled jobs: monitors, retention, rollback drills, accountability.",
    no_args_is_help=True,
)
err = Console(stderr=True)

EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_SKIPPED = 3

JobsDirOption = Annotated[
    str | None,
    typer.Option(
        "--jobs-dir",
        help="The folder of schedule.toml and the jobs' files (default: $LINEAGE_JOBS_DIR "
        "or ./jobs).",
    ),
]


def prepared_or_exit(
    jobs_dir: str | None, only: str | None = None, announce: bool = True
) -> Prepared:
    """The checked schedule and job configurations, or exit 2 naming file, line and reason;
    with ``announce``, say which jobs are skipped because their module does not exist yet."""
    from lineage.jobs.scheduler import jobs_dir_of, prepare

    try:
        prepared = prepare(jobs_dir_of(jobs_dir, os.environ), only)
    except LineageError as exc:
        err.print(f"[red]error[/red] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
    for why in prepared.unavailable.values() if announce else []:
        err.print(f"[yellow]skipped[/yellow] {why}", highlight=False, soft_wrap=True)
    return prepared


def scheduler_for(graph: GraphStore, records: RecordStore, jobs_dir: str | None) -> JobScheduler:
    """A scheduler over the jobs folder, checked but not started (``serve --with-jobs``)."""
    from lineage.jobs.scheduler import JobScheduler

    return JobScheduler(graph, records, prepared_or_exit(jobs_dir))


@jobs_app.command("run")
def run_command(
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    jobs_dir: JobsDirOption = None,
    once: Annotated[
        str | None,
        typer.Option("--once", help=f"Run this job now and print its report ({', '.join(JOBS)})."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Run the scheduler until interrupted, or one job now with --once."""
    from lineage.cli import opened, settings
    from lineage.graphql.observability import configure_logging
    from lineage.jobs.runner import Runner
    from lineage.jobs.runs import register_scheduler_agent
    from lineage.jobs.scheduler import JobScheduler, run_once

    cfg = settings(store, records_dir)
    configure_logging(cfg.log_level)  # JSON lines on stderr; the report goes to stdout
    prepared = prepared_or_exit(jobs_dir, once)
    with opened(cfg) as graph:
        records = RecordStore(cfg.records_dir)
        if once is None:
            scheduler = JobScheduler(graph, records, prepared)
            scheduler.start()
            err.print(f"scheduler running: {', '.join(scheduler.scheduled) or 'no jobs'}")
            try:
                _wait_for_stop()
            finally:
                scheduler.shutdown(wait=True)
            return
        if once in prepared.unavailable:
            raise typer.Exit(EXIT_ERROR)
        register_scheduler_agent(graph, records)
        runner = Runner(graph, records)
        try:
            result = run_once(prepared, once, runner)
        finally:
            runner.close()
    _print_report(result.report, result.run, json_out)
    if result.report.outcome is Outcome.FAILED:
        raise typer.Exit(EXIT_FAILED)
    if result.report.outcome is Outcome.SKIPPED:
        raise typer.Exit(EXIT_SKIPPED)


@jobs_app.command("list")
def list_command(
    store: StoreOption = None, jobs_dir: JobsDirOption = None, json_out: JsonOption = False
) -> None:
    """Each job: whether and when it is scheduled, its last run and outcome."""
    from lineage.cli import opened, settings
    from lineage.jobs.runs import last_run_by_job

    cfg = settings(store)
    prepared = prepared_or_exit(jobs_dir, announce=False)
    with opened(cfg) as graph:
        last = last_run_by_job(graph, JOBS)
    rows = [_row(name, prepared, last.get(name)) for name in JOBS]
    if json_out:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    for row in rows:
        run = row["last_run"]
        ran = f"{run['started']} {run['outcome']}" if run else "never run"
        sys.stdout.write(f"{row['job']:<15} {row['state']:<12} {row['schedule']:<32} {ran}\n")
        if row["note"]:
            sys.stdout.write(f"{'':<15} {row['note']}\n")


def _row(name: str, prepared: Prepared, run: Node | None) -> dict[str, Any]:
    entry = prepared.schedule.get(name)
    note = prepared.unavailable.get(name, "")
    if entry is None:
        state, schedule = "unscheduled", "-"
    else:
        schedule = entry.describe()
        state = "unavailable" if note else "enabled" if entry.enabled else "disabled"
    last = None
    if run is not None:
        props = run.props
        last = {
            "id": run.id,
            "started": props.get("started"),
            "ended": props.get("ended"),
            "outcome": props.get("outcome"),
            "counts": props.get("counts", {}),
        }
    return {"job": name, "state": state, "schedule": schedule, "note": note, "last_run": last}


def _print_report(report: Report, run: Node | None, json_out: bool) -> None:
    document = {
        "job": report.job,
        "outcome": report.outcome.value,
        "started": to_text(report.started),
        "ended": to_text(report.ended) if report.ended else None,
        "counts": report.counts,
        "messages": report.messages,
        "details": report.details,
        "run": run.id if run is not None else None,
    }
    if json_out:
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
        return
    lines = [f"{report.job}: {report.outcome.value}"]
    lines += [f"  {name}: {value}" for name, value in sorted(report.counts.items())]
    lines += [f"  {message}" for message in report.messages]
    lines.append(f"recorded as {run.id}" if run is not None else "not recorded")
    sys.stdout.write("\n".join(lines) + "\n")


def _wait_for_stop() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop.wait(1.0):
        pass
