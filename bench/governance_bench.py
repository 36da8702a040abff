"""The governance benchmark: rollback and the routing endpoint over HTTP, and the deploy check.

    python -m bench.governance_bench --nodes 1000000 [--db /tmp/lineage-gov-1m.db] [--out ...]

On the API benchmark's generated graph (``bench.api_graph``: built once, reused with ``--db``),
with the real server (uvicorn, one worker, on loopback):

(a) **rollback end to end**: the rollback request over HTTP (:func:`send_rollback`), then polls
    of ``GET /api/v1/routing/{deployment}`` with the ETag held before, until one answers the
    new version; target p95 < 50 ms. Until the GraphQL ``rollback`` mutation exists the
    request cannot be sent over HTTP: the harness then makes the same change with the
    service in its own process (another process than the server, on the same SQLite file),
    times it apart, and times the routing poll that must show it; the end-to-end figure is
    reported as pending.
(b) **routing throughput** on the one worker: with ``If-None-Match`` (the 304 path) and
    without (200 and the document), beside ``/healthz`` on the same server (the framework's
    floor); by ``wrk`` when it is installed (Debian's ``wrk``), else by the built-in asyncio
    keep-alive client. Target >= 1,000 requests/s.
(c) **the deploy check**: ``readiness.deployable()`` in process, for the latest version of the
    generated model with the most versions (no governance evidence: refused on every count),
    and for the reference scenario's v13 loaded into the same store with its audits, gates and
    sign-offs (deployable); target < 1 s (the CLI's gate check).

The deployment measured is that model's; its two latest versions are put in its slots first
(``backfill_deploy``, untimed). A reused database keeps what the runs wrote (slot changes and
tokens), all through the audit chain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter, perf_counter_ns
from typing import Any
from urllib.parse import urlsplit

import httpx
from rich.console import Console

from bench import report
from bench.api_graph import BuiltGraph, build_graph, open_graph
from bench.api_server import ApiError, GraphQLClient, api_process
from bench.generate import GraphConfig
from bench.store_bench import ACTOR, machine, register_actor
from lineage.model.graph import NodeKind
from lineage.model.records import ModelRecord
from lineage.model.times import utcnow
from lineage.services.governance import readiness
from lineage.services.governance.deployment import Deployments
from lineage.services.governance.scenario_steps import MODEL_SCOPING, load_governance
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario import MODEL as SCENARIO_MODEL
from lineage.services.scenario_loader import load_scenario
from lineage.services.tokens import Role, create_token
from lineage.services.write_plan import Registration
from lineage.store.base import NodeQuery, iter_all_nodes
from lineage.store.sqlite import SQLiteStore

ROLLBACK_P95_MS_TARGET = 50.0
ROUTING_RPS_TARGET = 1_000.0
DEPLOYABLE_S_TARGET = 1.0
ROLLBACK_MUTATION = """
mutation BenchRollback($deployment: ID!, $toVersion: ID, $reason: String!) {
  rollback(deployment: $deployment, toVersion: $toVersion, reason: $reason) { auditSeq }
}
"""


@dataclass(frozen=True)
class Settings:
    """What to measure, and how much."""

    seed: int = 20240125
    rollbacks: int = 100
    deployable_runs: int = 30
    duration: float = 10.0  # seconds of load per throughput measurement
    connections: int = 8
    tool: str = "auto"  # the load generator: wrk when installed, else asyncio; or either one
    workdir: str | None = None


@dataclass(frozen=True)
class Target:
    """The deployment measured, its slots, and the tokens."""

    deployment: str
    versions: tuple[str, str]  # (previous, latest): the harness rolls back between them
    busiest_model: str
    latest_version: str
    router: str
    operator: str


# -- setup (untimed) ---------------------------------------------------------------------------


def prepare(store: SQLiteStore, records: RecordStore) -> Target:
    """Slots for the busiest model's deployment, and a router and an operator token."""
    register_actor(store, records)
    versions: dict[str, list[tuple[int, str]]] = {}
    for node in iter_all_nodes(store, NodeKind.MODEL_VERSION):
        number = str(node.props.get("version", "")).lstrip("v")
        if not number.isdigit():  # the reference scenario's v12-rc1, loaded by an earlier run
            continue
        versions.setdefault(str(node.props["model"]), []).append((int(number), node.id))
    model, found = max(versions.items(), key=lambda item: (len(item[1]), item[0]))
    ordered = [v for _, v in sorted(found)]
    deployment = f"deployment:{model.split(':', 1)[1]}_prod"
    registry = Registry(store, records, actor=ACTOR)
    now = utcnow()
    for offset, version in ((2, ordered[-2]), (1, ordered[-1])):
        registry.backfill_deploy(
            {
                "deployment": deployment,
                "model_version": version,
                "at": now - timedelta(seconds=offset),
                "reason": "governance benchmark: fill the slots",
            }
        )
    person = store.find_nodes(NodeQuery(kind=NodeKind.PERSON, limit=1)).items[0].id
    tokens = {
        role: create_token(store, person, [role], actor=ACTOR, label="governance bench").token
        for role in (Role.ROUTER, Role.OPERATOR)
    }
    return Target(
        deployment=deployment,
        versions=(ordered[-2], ordered[-1]),
        busiest_model=model,
        latest_version=ordered[-1],
        router=tokens[Role.ROUTER],
        operator=tokens[Role.OPERATOR],
    )


# -- (a) rollback ------------------------------------------------------------------------------


def rollback_mutation_exists(base_url: str, token: str) -> bool:
    """Whether the API offers a ``rollback`` mutation yet."""
    with GraphQLClient(base_url, token) as client:
        data = client.call("{ __schema { mutationType { fields { name } } } }", {})
    fields = (data["__schema"]["mutationType"] or {}).get("fields") or []
    return any(f["name"] == "rollback" for f in fields)


def send_rollback(client: GraphQLClient, deployment: str, to_version: str, reason: str) -> None:
    """The rollback request over HTTP: the GraphQL ``rollback`` mutation, as the operator."""
    client.call(
        ROLLBACK_MUTATION, {"deployment": deployment, "toVersion": to_version, "reason": reason}
    )


def routing_poll(http: httpx.Client, path: str, etag: str | None) -> httpx.Response:
    """One poll of the routing endpoint, with ``If-None-Match`` when an ETag is held."""
    return http.get(path, headers={"If-None-Match": etag} if etag else {})


def measure_rollback(
    base_url: str, store: SQLiteStore, target: Target, settings: Settings
) -> dict[str, Any]:
    """Rollbacks back and forth between the two slot versions; see the module docstring."""
    path = f"/api/v1/routing/{target.deployment}"
    over_http = rollback_mutation_exists(base_url, target.operator)
    service = Deployments(store, None, ACTOR)
    totals: list[int] = []
    writes: list[int] = []
    polls: list[int] = []
    polls_needed: Counter[int] = Counter()
    auth = {"Authorization": f"Bearer {target.router}"}
    with (
        httpx.Client(base_url=base_url, headers=auth, timeout=30) as http,
        GraphQLClient(base_url, target.operator) as graphql,
    ):
        for run in range(settings.rollbacks):
            held = routing_poll(http, path, None)
            current = held.json()["current"]["version"]
            to = target.versions[0] if current == target.versions[1] else target.versions[1]
            reason = f"governance benchmark rollback {run}"
            started = perf_counter_ns()
            if over_http:
                send_rollback(graphql, target.deployment, to, reason)
            else:
                service.rollback(target.deployment, reason, to_version=to)
            written = perf_counter_ns()
            count = 0
            while True:
                count += 1
                answer = routing_poll(http, path, held.headers["etag"])
                if answer.status_code == 200 and answer.json()["current"]["version"] == to:
                    break
                if count > 1_000:
                    raise RuntimeError(f"the routing never showed {to}")
            done = perf_counter_ns()
            totals.append(done - started)
            writes.append(written - started)
            polls.append(done - written)
            polls_needed[count] += 1
        healthz = [_timed(http, "/healthz") for _ in range(settings.rollbacks)]
        not_modified = [
            _timed(http, path, {"If-None-Match": routing_poll(http, path, None).headers["etag"]})
            for _ in range(settings.rollbacks)
        ]
    return {
        "over_http": over_http,
        "runs": settings.rollbacks,
        "end_to_end": report.latency(totals) if over_http else None,
        "rollback_write": report.latency(writes),
        "rollback_write_is": "HTTP request" if over_http else "service call, benchmark process",
        "routing_until_new": report.latency(polls),
        "polls_needed": dict(sorted(polls_needed.items())),
        "baseline_healthz": report.latency(healthz),
        "baseline_routing_304": report.latency(not_modified),
    }


def _timed(http: httpx.Client, path: str, headers: dict[str, str] | None = None) -> int:
    started = perf_counter_ns()
    response = http.get(path, headers=headers or {})
    if response.status_code not in (200, 304):
        raise ApiError(f"HTTP {response.status_code} for {path}: {response.text[:200]}")
    return perf_counter_ns() - started


# -- (b) throughput ----------------------------------------------------------------------------


def throughput(
    url: str, headers: dict[str, str], settings: Settings, expect: int
) -> dict[str, Any]:
    """Requests per second on ``url`` with ``settings.connections`` keep-alive connections."""
    if settings.tool == "wrk" or (settings.tool == "auto" and shutil.which("wrk")):
        return _wrk(url, headers, settings)
    return asyncio.run(_asyncio_load(url, headers, settings, expect))


def _wrk(url: str, headers: dict[str, str], settings: Settings) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{settings.connections}", f"-d{settings.duration:g}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    cuts = {p: _ms(v, unit) for p, v, unit in re.findall(r"\s(50|90|99)%\s+([\d.]+)(us|ms|s)", out)}
    return {
        "tool": "wrk",
        "requests_per_s": rate,
        "errors": int(errors[1]) if errors else 0,
        "latency_ms": {f"p{p}": v for p, v in cuts.items()},
    }


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def _asyncio_load(
    url: str, headers: dict[str, str], settings: Settings, expect: int
) -> dict[str, Any]:
    """A small keep-alive HTTP/1.1 load generator (GET only), for machines without wrk."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    request = "\r\n".join([*lines, *(f"{k}: {v}" for k, v in headers.items())]) + "\r\n\r\n"
    raw = request.encode("latin-1")
    latencies: list[int] = []
    errors = 0
    deadline = perf_counter() + settings.duration

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while perf_counter() < deadline:
                started = perf_counter_ns()
                writer.write(raw)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                latencies.append(perf_counter_ns() - started)
                errors += status != expect
        finally:
            writer.close()

    started = perf_counter()
    await asyncio.gather(*(client() for _ in range(settings.connections)))
    elapsed = perf_counter() - started
    cuts = report.latency(latencies)
    return {
        "tool": "asyncio keep-alive client",
        "requests_per_s": len(latencies) / elapsed,
        "errors": errors,
        "latency_ms": {"p50": cuts["p50"], "p90": None, "p99": None},
    }


def measure_throughput(base_url: str, target: Target, settings: Settings) -> dict[str, Any]:
    """/healthz, the routing 304 path and the routing 200 path, one after the other."""
    url = f"{base_url}/api/v1/routing/{target.deployment}"
    auth = {"Authorization": f"Bearer {target.router}"}
    etag = httpx.get(url, headers=auth).headers["etag"]
    return {
        "healthz": throughput(f"{base_url}/healthz", {}, settings, 200),
        "routing_304": throughput(url, auth | {"If-None-Match": etag}, settings, 304),
        "routing_200": throughput(url, auth, settings, 200),
    }


# -- (c) the deploy check ----------------------------------------------------------------------


class _ScopedScenario(Registry):
    """The reference scenario's registry with the lending model's scoping facts merged in, as
    its governance steps expect."""

    def register_model(
        self, data: ModelRecord | Mapping[str, Any], reason: str = "register model"
    ) -> Registration:
        if isinstance(data, Mapping) and data.get("id") == SCENARIO_MODEL:
            data = {**data, **MODEL_SCOPING}
        return super().register_model(data, reason)


def governed_version(store: SQLiteStore, records: RecordStore) -> str:
    """The reference scenario, with its audits, gates and sign-offs, in the benchmark's store
    (idempotent): its v13 has all the evidence a deploy check reads."""
    load_scenario(_ScopedScenario(store, records, actor=DEMO_ACTOR), governed=False)
    load_governance(store, records, DEMO_ACTOR)
    return f"{SCENARIO_MODEL}@v13"


def measure_deployable(
    store: SQLiteStore, versions: dict[str, str], settings: Settings
) -> dict[str, Any]:
    """``deployable()`` for each version, in process."""
    at = datetime.now(UTC)
    found: dict[str, Any] = {}
    for label, version in versions.items():
        verdict = readiness.deployable(store, version, at)
        runs = []
        for _ in range(settings.deployable_runs):
            started = perf_counter_ns()
            readiness.deployable(store, version, at)
            runs.append(perf_counter_ns() - started)
        found[label] = {
            "version": version,
            "ok": verdict.ok,
            "unmet": [u.code for u in verdict.unmet],
            "latency": report.latency(runs),
        }
    return found


# -- a run and its report ----------------------------------------------------------------------


def run(graph: BuiltGraph, settings: Settings) -> dict[str, Any]:
    """Prepare, serve, measure (a), (b), (c)."""
    with tempfile.TemporaryDirectory(prefix="lineage-gov-bench-", dir=settings.workdir) as tmp:
        work = Path(tmp)
        store = SQLiteStore(graph.uri)
        try:
            records = RecordStore(work / "records")
            target = prepare(store, records)
            versions = {
                "busiest_generated": target.latest_version,
                "governed_scenario": governed_version(store, records),
            }
            deployable = measure_deployable(store, versions, settings)
            with api_process(graph.uri, work / "records", work / "server.log") as (base_url, _):
                rollback = measure_rollback(base_url, store, target, settings)
                load = measure_throughput(base_url, target, settings)
        finally:
            store.close()
    return {
        "graph": graph.summary(),
        "deployment": target.deployment,
        "versions": list(target.versions),
        "rollback": rollback,
        "throughput": load,
        "deployable": deployable,
    }


def targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issue's targets against what was measured (None: not measurable yet)."""
    rollback = result["rollback"]
    end_to_end = rollback["end_to_end"]
    rps = result["throughput"]["routing_304"]["requests_per_s"]
    deploy = max(row["latency"]["p95"] for row in result["deployable"].values()) / 1000
    return {
        "rollback_p95": {
            "target": f"rollback + routing p95 < {ROLLBACK_P95_MS_TARGET:g} ms",
            "measured": f"{end_to_end['p95']:.1f} ms" if end_to_end else "pending the mutation",
            "met": end_to_end["p95"] < ROLLBACK_P95_MS_TARGET if end_to_end else None,
        },
        "routing_rps": {
            "target": f"routing (304) >= {ROUTING_RPS_TARGET:,.0f} requests/s on one worker",
            "measured": f"{rps:,.0f} requests/s",
            "met": rps >= ROUTING_RPS_TARGET,
        },
        "deployable": {
            "target": f"deployable() p95 < {DEPLOYABLE_S_TARGET:g} s",
            "measured": f"{deploy * 1000:.1f} ms",
            "met": deploy < DEPLOYABLE_S_TARGET,
        },
    }


def tables(result: dict[str, Any]) -> str:
    """Markdown tables of the three measurements."""
    nodes = f"{result['graph']['nodes']:,}"
    rb = result["rollback"]
    pair = "{p50:.1f} / {p95:.1f}".format
    lines = [
        f"## Governance, SQLite, {nodes} nodes, deployment {result['deployment']}",
        "",
        "| measurement | p50 / p95 ms | baseline p50 / p95 ms |",
        "| --- | --- | --- |",
        f"| rollback end to end (request + routing shows it) | "
        f"{pair(**rb['end_to_end']) if rb['end_to_end'] else 'pending the mutation'} "
        f"| /healthz {pair(**rb['baseline_healthz'])} |",
        f"| rollback write ({rb['rollback_write_is']}) | {pair(**rb['rollback_write'])} | |",
        f"| routing poll until the new version ({rb['polls_needed']} polls) "
        f"| {pair(**rb['routing_until_new'])} | routing 304 {pair(**rb['baseline_routing_304'])} |",
        *(
            f"| deployable() of {row['version']} ({label}: {'ok' if row['ok'] else 'refused'}) "
            f"| {pair(**row['latency'])} | |"
            for label, row in result["deployable"].items()
        ),
        "",
        "| one uvicorn worker | requests/s | p50 / p99 ms | errors | vs /healthz | tool |",
        "| --- | ---: | --- | ---: | ---: | --- |",
    ]
    floor = result["throughput"]["healthz"]["requests_per_s"]
    for label, row in result["throughput"].items():
        lat = row["latency_ms"]
        p99 = f"{lat['p99']:.2f}" if lat.get("p99") is not None else "-"
        lines.append(
            f"| {label} | {row['requests_per_s']:,.0f} | {lat['p50']:.2f} / {p99} "
            f"| {row['errors']} | {row['requests_per_s'] / floor:.2f}x | {row['tool']} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.governance_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--nodes", type=int, default=100_000, help="graph size")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file, built or reused")
    parser.add_argument("--out", default="bench/out/governance.json", help="JSON results file")
    parser.add_argument("--rollbacks", type=int, default=Settings.rollbacks)
    parser.add_argument("--deployable-runs", type=int, default=Settings.deployable_runs)
    parser.add_argument("--duration", type=float, default=Settings.duration)
    parser.add_argument("--connections", type=int, default=Settings.connections)
    parser.add_argument(
        "--tool", choices=["auto", "wrk", "asyncio"], default=Settings.tool, help="load generator"
    )
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--workdir", default=None, help="where temporary files go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print markdown tables; write JSON."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))
    settings = Settings(
        seed=args.seed,
        rollbacks=args.rollbacks,
        deployable_runs=args.deployable_runs,
        duration=args.duration,
        connections=args.connections,
        tool=args.tool,
        workdir=args.workdir,
    )
    config = GraphConfig(nodes=args.nodes, seed=settings.seed)
    started = datetime.now(UTC).isoformat()
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="lineage-gov-graph-", dir=settings.workdir) as tmp:
        path = args.db.resolve() if args.db else Path(tmp) / "graph.db"
        graph = open_graph(path, config) if path.exists() else build_graph(path, config, console)
        result = run(graph, settings)
    checked = targets(result)
    print(tables(result))
    print("\n## Targets\n")
    for check in checked.values():
        verdict = {True: "met", False: "MISSED", None: "not measured yet"}[check["met"]]
        print(f"- {check['target']}: {check['measured']}: {verdict}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": ["python", "-m", "bench.governance_bench", *(argv or sys.argv[1:])],
        "started": started,
        "finished": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "settings": asdict(settings),
        "targets": checked,
        **result,
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
