"""Sustained OpenLineage ingestion over HTTP, beside the same registrations through GraphQL.

The real server (``uvicorn`` over the app factory, in its own process, on a fresh SQLite file)
receives realistic RunEvents from concurrent emitters, each a thread with its own keep-alive
connection and the pipeline token: a START then a COMPLETE per run, each with 2 inputs and 1
output whose schema has 30 columns and whose column lineage maps every output column to one or
two input columns (the shape Airflow's SQL operators and Spark emit), over a pool of tasks
that each read the same tables and derive their columns the same way every run, as scheduled
jobs do, so that datasets and columns recur as they do in production. Every event is one
request, timed from sending to the decoded answer.

The baseline is the registration the GraphQL mutations can express for the same work: a
``registerDatasetVersion`` per event, from the same number of clients. (The mutations have no
run, job or column: the OpenLineage request does more per call.)

Figures: events per second and latency percentiles of each path, their ratio, and whether the
issue's targets (>= 500 events/s, p95 < 50 ms on SQLite) were met. Nothing is asserted: the
machine is shared, and the report says what it measured.

    python -m bench.openlineage_bench --emitters 4 --duration 20
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter, perf_counter_ns
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench import report
from bench.api_server import api_process
from bench.store_bench import ACTOR
from lineage.services.audit import verify
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.tokens import Role, create_token
from lineage.store import open_store

ROOT = Path(__file__).resolve().parent.parent
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/integration/airflow"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
TARGET_RATE = 500.0
TARGET_P95_MS = 50.0
REGISTER_VERSION = """
mutation Register($input: DatasetVersionInput!) {
  registerDatasetVersion(input: $input) { created auditSeq }
}
"""


@dataclass(frozen=True)
class Settings:
    """How hard to push and what to send."""

    emitters: int = 4
    duration: float = 20.0
    warmup: int = 10  # requests per emitter before the timed window
    columns: int = 30
    tables: int = 40
    batch: int = 10  # events per request of the batch measurement
    seed: int = 7
    workdir: str | None = None


@dataclass(slots=True)
class Tally:
    """What one emitter saw in the timed window."""

    latencies_ns: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def facet(schema: str, **values: Any) -> dict[str, Any]:
    """A facet with the base fields every facet carries."""
    return {"_producer": PRODUCER, "_schemaURL": schema, **values}


class Events:
    """Realistic RunEvents over a pool of tables, START then COMPLETE for each new run."""

    def __init__(self, settings: Settings, seed: int) -> None:
        self.rng = random.Random(seed)
        self.settings = settings
        self.pending: dict[str, Any] | None = None
        self.at = datetime(2024, 1, 20, tzinfo=UTC)

    def _table(self, index: int) -> tuple[str, str]:
        return "postgres://warehouse:5432", f"analytics.public.table_{index:03d}"

    def _schema(self, prefix: str) -> dict[str, Any]:
        fields = [
            {"name": f"{prefix}_{i:02d}", "type": "numeric"} for i in range(self.settings.columns)
        ]
        return facet(
            "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
            "#/$defs/SchemaDatasetFacet",
            fields=fields,
        )

    def next(self) -> dict[str, Any]:
        """The next event: the COMPLETE of the last run, or the START of a new one."""
        if self.pending is not None:
            done, self.pending = self.pending, None
            return done
        rng = self.rng
        # A task always reads the same two tables and derives its columns the same way, as a
        # scheduled job does run after run; which task runs next is random.
        out = rng.randrange(self.settings.tables)
        task = random.Random(out)
        left, right = task.sample([t for t in range(self.settings.tables) if t != out], 2)
        inputs = [self._table(left), self._table(right)]
        output = self._table(out)
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.at += timedelta(seconds=1)
        job = {"namespace": "airflow-bench", "name": f"etl.task_{out:03d}"}
        start: dict[str, Any] = {
            "eventType": "START",
            "eventTime": self.at.isoformat(),
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
            "run": {"runId": run_id},
            "job": job,
            "inputs": [
                {"namespace": ns, "name": name, "facets": {"schema": self._schema("c")}}
                for ns, name in inputs
            ],
            "outputs": [{"namespace": output[0], "name": output[1]}],
        }
        width = self.settings.columns
        lineage = {
            f"c_{i:02d}": {
                "inputFields": [
                    {"namespace": ns, "name": name, "field": f"c_{task.randrange(width):02d}"}
                    for ns, name in task.sample(inputs, task.choice((1, 2)))
                ]
            }
            for i in range(self.settings.columns)
        }
        complete = json.loads(json.dumps(start))
        complete["eventType"] = "COMPLETE"
        complete["eventTime"] = (self.at + timedelta(milliseconds=500)).isoformat()
        complete["outputs"] = [
            {
                "namespace": output[0],
                "name": output[1],
                "facets": {
                    "schema": self._schema("c"),
                    "columnLineage": facet(
                        "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
                        "#/$defs/ColumnLineageDatasetFacet",
                        fields=lineage,
                    ),
                },
                "outputFacets": {
                    "outputStatistics": facet(
                        "https://openlineage.io/spec/facets/1-0-2/"
                        "OutputStatisticsOutputDatasetFacet.json"
                        "#/$defs/OutputStatisticsOutputDatasetFacet",
                        rowCount=rng.randrange(1_000, 10_000_000),
                    )
                },
            }
        ]
        self.pending = complete
        return start


def openlineage_request(settings: Settings, seed: int) -> Callable[[httpx.Client], httpx.Response]:
    """One emitter's requests: the next event to ``/api/v1/lineage``."""
    events = Events(settings, seed)

    def send(client: httpx.Client) -> httpx.Response:
        return client.post("/api/v1/lineage", json=events.next())

    return send


def batch_request(settings: Settings, seed: int) -> Callable[[httpx.Client], httpx.Response]:
    """One emitter's requests: the next ``settings.batch`` events to ``/api/v1/lineage/batch``."""
    events = Events(settings, seed)

    def send(client: httpx.Client) -> httpx.Response:
        return client.post(
            "/api/v1/lineage/batch", json=[events.next() for _ in range(settings.batch)]
        )

    return send


def graphql_request(settings: Settings, seed: int) -> Callable[[httpx.Client], httpx.Response]:
    """One client's requests: a new dataset version through ``registerDatasetVersion``."""
    rng = random.Random(seed)
    counter = iter(range(10**9))

    def send(client: httpx.Client) -> httpx.Response:
        n = next(counter)
        variables = {
            "input": {
                "id": f"dataset:bench_{seed}_{rng.randrange(settings.tables)}@v{n}",
                "contentHash": secrets.token_hex(32),
                "recordCount": rng.randrange(1_000, 10_000_000),
                "createdAt": "2024-01-20T00:00:00Z",
            }
        }
        return client.post("/graphql", json={"query": REGISTER_VERSION, "variables": variables})

    return send


def _ok(response: httpx.Response) -> str | None:
    if response.status_code not in (200, 201):
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code == 200 and response.json().get("errors"):
        return str(response.json()["errors"][0].get("message"))[:200]
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used; None where ``/proc`` is not."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    base_url: str,
    token: str,
    make: Callable[[Settings, int], Callable[[httpx.Client], httpx.Response]],
    settings: Settings,
    per_request: int = 1,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """Concurrent clients for ``settings.duration`` seconds after their warm-up;
    ``per_request`` is how many events (or registrations) one request carries. With the
    server's ``server_pid``, also the server's CPU time per request and the cores it used: a
    server that uses about one core is bound by its own interpreter, not by the emitters."""
    tallies = [Tally() for _ in range(settings.emitters)]
    ready = threading.Barrier(settings.emitters + 1)
    window: dict[str, float] = {}

    def work(index: int) -> None:
        send = make(settings, settings.seed * 1_000 + index)
        headers = {"Authorization": f"Bearer {token}"}
        tally = tallies[index]
        with httpx.Client(base_url=base_url, headers=headers, timeout=60.0) as client:
            for _ in range(settings.warmup):
                if (problem := _ok(send(client))) is not None:
                    tally.errors.append(problem)
            ready.wait()
            ready.wait()  # the window is open
            while perf_counter() < window["deadline"]:
                started = perf_counter_ns()
                response = send(client)
                tally.latencies_ns.append(perf_counter_ns() - started)
                if (problem := _ok(response)) is not None:
                    tally.errors.append(problem)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(settings.emitters)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = perf_counter_ns()
    cpu_before = cpu_seconds(server_pid)
    window["deadline"] = perf_counter() + settings.duration
    ready.wait()
    for thread in threads:
        thread.join()
    elapsed = perf_counter_ns() - started
    cpu_after = cpu_seconds(server_pid)
    samples = [s for t in tallies for s in t.latencies_ns]
    errors = [e for t in tallies for e in t.errors]
    return {
        "clients": settings.emitters,
        "requests": len(samples),
        "events_per_request": per_request,
        "per_s": report.rate(len(samples) * per_request, elapsed),
        "latency_ms": report.latency(samples) if samples else {},
        "errors": len(errors),
        "first_errors": errors[:3],
        "server_cpu": _server_cpu(cpu_before, cpu_after, len(samples), elapsed),
    }


def _server_cpu(
    before: float | None, after: float | None, requests: int, elapsed_ns: int
) -> dict[str, float] | None:
    if before is None or after is None or not requests or not elapsed_ns:
        return None
    used = after - before
    return {
        "ms_per_request": round(1000 * used / requests, 3),
        "cores": round(used / (elapsed_ns / 1e9), 2),
    }


def prepare(workdir: Path) -> tuple[str, Path, str]:
    """A fresh SQLite store with the benchmark's pipeline and its token."""
    path = workdir / "openlineage.db"
    records = workdir / "records"
    store = open_store(f"sqlite:///{path}")
    try:
        Registry(store, RecordStore(records), actor=ACTOR).register_pipeline(
            {"id": ACTOR, "name": "Benchmark harness"}, reason="the benchmark registers itself"
        )
        token = create_token(store, ACTOR, [Role.PIPELINE], actor=ACTOR).token
    finally:
        store.close()
    return f"sqlite:///{path}", records, token


def run(settings: Settings, console: Console) -> dict[str, Any]:
    """Both measurements against one server, then the audit chain verified."""
    workdir = Path(settings.workdir or tempfile.mkdtemp(prefix="openlineage-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    uri, records, token = prepare(workdir)
    with api_process(uri, records, workdir / "server.log") as (url, process):
        pid = process.pid
        console.print(f"[bold]OpenLineage[/]: {settings.emitters} emitters, {settings.duration:g}s")
        ingestion = measure(url, token, openlineage_request, settings, server_pid=pid)
        console.print(f"[bold]OpenLineage batches[/] of {settings.batch} events")
        batches = measure(url, token, batch_request, settings, settings.batch, server_pid=pid)
        console.print(f"[bold]GraphQL baseline[/]: {settings.emitters} clients")
        baseline = measure(url, token, graphql_request, settings, server_pid=pid)
    store = open_store(uri)
    try:
        chain = verify(store)
    finally:
        store.close()
    p95 = ingestion["latency_ms"].get("p95", float("inf"))
    return {
        "settings": asdict(settings) | {"workdir": str(workdir)},
        "openlineage": ingestion,
        "openlineage_batch": batches,
        "graphql": baseline,
        "ratio_per_s": ingestion["per_s"] / baseline["per_s"] if baseline["per_s"] else None,
        "targets": {
            f"events_per_s >= {TARGET_RATE:g}": ingestion["per_s"] >= TARGET_RATE,
            f"p95 < {TARGET_P95_MS:g} ms": p95 < TARGET_P95_MS,
        },
        "audit": {"ok": chain.ok, "events": chain.events, "nodes": chain.nodes},
    }


def table(result: dict[str, Any]) -> Table:
    """The figures as a terminal table."""
    out = Table(title="OpenLineage ingestion over HTTP (SQLite)")
    columns = ("path", "clients", "requests", "events/s", "p50 ms", "p95 ms", "errors")
    for column in (*columns, "server CPU ms/request", "server cores"):
        out.add_column(column)
    rows = (
        ("POST /api/v1/lineage", "openlineage"),
        (f"POST .../batch, {result['openlineage_batch']['events_per_request']} per request",
         "openlineage_batch"),
        ("GraphQL registerDatasetVersion", "graphql"),
    )
    for name, key in rows:
        row = result[key]
        lat = row["latency_ms"]
        cpu = row.get("server_cpu") or {}
        out.add_row(
            name,
            str(row["clients"]),
            f"{row['requests']:,}",
            f"{row['per_s']:,.0f}",
            f"{lat.get('p50', 0):.1f}",
            f"{lat.get('p95', 0):.1f}",
            str(row["errors"]),
            f"{cpu['ms_per_request']:.2f}" if cpu else "-",
            f"{cpu['cores']:.2f}" if cpu else "-",
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, and write ``bench/out/openlineage.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emitters", type=int, default=4)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--columns", type=int, default=30)
    parser.add_argument("--workdir")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "openlineage.json"))
    args = parser.parse_args(argv)
    settings = Settings(
        emitters=args.emitters, duration=args.duration, columns=args.columns, workdir=args.workdir
    )
    console = Console()
    result = run(settings, console)
    console.print(table(result))
    ratio = result["ratio_per_s"]
    console.print(f"ratio (OpenLineage / GraphQL, single requests per second): {ratio:.2f}")
    console.print(f"targets: {result['targets']}; audit chain ok: {result['audit']['ok']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
