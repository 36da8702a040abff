"""Two real scheduler processes against one store (each backend) never run the same job at once.

Process A runs the accountability job through the scheduler's runner and stops inside it,
holding the job's lease, until the test lets it finish (a line on its stdin: no sleeping).
Meanwhile process B, the real ``lineage jobs run --once accountability``, must skip the job;
once A has finished and given the lease back, B runs it. Then two ``--once`` processes started
together: whichever order they reach the store in, their recorded runs never overlap.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from lineage.jobs.runner import lease_name
from lineage.jobs.runs import latest_runs, register_scheduler_agent
from lineage.model.graph import Node
from lineage.model.times import from_text, utcnow
from lineage.services.record_store import RecordStore
from lineage.store import GraphStore, open_store
from tests.jobs.support import write_jobs_dir

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30  # seconds any one process may take before the test fails rather than hangs
EXIT_SKIPPED = 3

# Process A: the scheduler's runner, with a job that reports it is running, then waits for a
# line on stdin before it returns.
HOLDING_PROCESS = """
import sys
from lineage.graphql.observability import configure_logging
from lineage.jobs.report import Report
from lineage.jobs.runner import Runner
from lineage.services.record_store import RecordStore
from lineage.store import open_store

configure_logging("warning")  # on stderr: stdout is the conversation with the test
store = open_store(sys.argv[1])
records = RecordStore(sys.argv[2])

def held(store, records, now, config):
    print("running", flush=True)
    sys.stdin.readline()
    return Report(job="accountability", started=now)

runner = Runner(store, records, holder="process-a")
result = runner.run("accountability", held, None, 600)
runner.close()
store.close()
print(result.report.outcome.value, flush=True)
"""


@pytest.fixture
def shared(tmp_path: Path, store_uri: str) -> Iterator[tuple[str, Path, GraphStore]]:
    """One store for every process (the scheduler's agent registered), its record store
    folder, and this process's own connection to it. The processes inherit ``os.environ``,
    which carries the Neo4j credentials the ``store_uri`` fixture put there."""
    uri = store_uri
    graph = open_store(uri)
    register_scheduler_agent(graph, RecordStore(tmp_path / "records"))
    yield uri, tmp_path, graph
    graph.close()


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "LINEAGE_LOG_LEVEL": "warning"}


def once(uri: str, folder: Path) -> subprocess.Popen[str]:
    """Start ``lineage jobs run --once accountability`` against the shared store."""
    command = [sys.executable, "-m", "lineage.cli", "jobs", "run", "--once", "accountability"]
    command += ["--store", uri, "--records-dir", str(folder / "records")]
    command += ["--jobs-dir", str(write_jobs_dir(folder))]
    return subprocess.Popen(
        command,
        cwd=folder,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode in (0, EXIT_SKIPPED), out + err
    return process.returncode, out


def never_overlap(runs: list[Node]) -> bool:
    spans = sorted((from_text(r.props["started"]), from_text(r.props["ended"])) for r in runs)
    return all(end <= next_start for (_, end), (next_start, _) in pairwise(spans))


def test_a_second_process_skips_the_job_while_the_first_runs_it(
    shared: tuple[str, Path, GraphStore],
) -> None:
    uri, folder, graph = shared
    holding = subprocess.Popen(
        [sys.executable, "-c", HOLDING_PROCESS, uri, str(folder / "records")],
        cwd=folder,
        env=environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holding.stdout is not None and holding.stdin is not None
        assert holding.stdout.readline() == "running\n", holding.stderr

        while_held = finished(once(uri, folder))

        holding.stdin.write("finish\n")
        holding.stdin.flush()
        rest, errors = holding.communicate(timeout=TIMEOUT)
    finally:
        holding.kill()
    assert holding.returncode == 0 and rest == "ok\n", errors
    after = finished(once(uri, folder))

    assert while_held[0] == EXIT_SKIPPED
    assert "accountability: skipped" in while_held[1] and "not recorded" in while_held[1]
    assert after[0] == 0 and "recorded as jobrun:accountability-" in after[1]
    runs = latest_runs(graph, "accountability", limit=10)
    assert [r.props["holder"] == "process-a" for r in runs] == [False, True]
    assert never_overlap(runs)


def test_two_processes_started_together_never_run_the_job_at_once(
    shared: tuple[str, Path, GraphStore],
) -> None:
    uri, folder, graph = shared
    lease = lease_name("accountability")
    # First while a third scheduler (this test) holds the lease: both skip, neither records.
    assert graph.try_lease(lease, "the-test", utcnow(), ttl=600)
    held = [finished(p) for p in [once(uri, folder), once(uri, folder)]]
    graph.release_lease(lease, "the-test")
    free = [finished(p) for p in [once(uri, folder), once(uri, folder)]]

    assert [code for code, _ in held] == [EXIT_SKIPPED, EXIT_SKIPPED]
    codes = sorted(code for code, _ in free)
    assert codes in ([0, 0], [0, EXIT_SKIPPED])
    runs = latest_runs(graph, "accountability", limit=10)
    assert len(runs) == codes.count(0)
    assert never_overlap(runs)
    # Every run gave the lease back: it is free now.
    assert graph.try_lease(lease, "the-test", utcnow() + timedelta(seconds=1), ttl=1)
