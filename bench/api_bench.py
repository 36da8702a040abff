"""The API benchmark: the GraphQL API over HTTP on a generated SQLite graph, beside the store.

    python -m bench.api_bench --nodes 1000000 [--db /tmp/lineage-1m.db] [--out bench/out/api.json]

It loads a generated graph (``bench.generate``, through the batch API as ``bench.store_bench``
does) into a SQLite file, or reuses one an earlier run built with ``--db``; issues a reader and
a pipeline token; starts the real server (uvicorn in a subprocess, on loopback) and measures,
with an HTTP client that keeps its connection alive:

- ``impact`` downstream (depth 6, the API's 1,000-node budget) from the popular and typical
  dataset versions the store benchmark starts from, run by run beside ``store.traverse`` of the
  same walk in this process, after checking both return the same subgraph. Target: HTTP p95
  within 2x the direct traversal.
- ``trainingProvenance`` with the saved operation (``graphql/queries``), over a sample of models
  at instants when one of their versions was serving, beside the service called directly.
  Target: p95 <= 30 ms.
- ``registerInferenceBatch`` with the decisions inline, from concurrent clients (one connection
  and thread each) for a fixed time: batches per second, latency, errors, and afterwards a check
  that every batch acknowledged is in the store under its own audit sequence number. Target:
  zero errors.

The machine this runs on is usually shared: read the ratios, not absolute figures between runs.
The batches a run registers (under IDs unique to the run) are deleted at its end, with an audit
event, so a reused database stays the generated graph and still verifies; its log keeps growing.

The modules behind it: ``bench.api_graph`` (build or reuse the graph), ``bench.api_server`` (the
server subprocess and the client), ``bench.api_registration`` (the concurrent clients).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from rich.console import Console
from rich.progress import Progress

from bench import report
from bench.api_graph import BuiltGraph, build_graph, issue_tokens, open_graph, sample_models
from bench.api_registration import Load, measure_registration, remove_batches, stored_check
from bench.api_server import (
    ROOT,
    GraphQLClient,
    api_server,
    http_timed,
    saved_operation,
    server_command,
)
from bench.generate import GraphConfig
from bench.store_bench import MAX_DEPTH, MAX_NODES, machine, progress_bar
from lineage.model.graph import Direction, Subgraph
from lineage.model.times import to_text
from lineage.services.investigation import training_provenance
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Role
from lineage.store.base import TraversalSpec
from lineage.store.sqlite import SQLiteStore

IMPACT_P95_RATIO_TARGET = 2.0
PROVENANCE_P95_MS_TARGET = 30.0

IMPACT_QUERY = """
query ApiBenchImpact($node: ID!, $maxDepth: Int) {
  impact(node: $node, direction: DOWNSTREAM, maxDepth: $maxDepth) {
    truncated
    nodes { id kind }
    edges { src dst kind }
  }
}
"""


@dataclass(frozen=True)
class Settings:
    """What to measure, and how much."""

    seed: int = 20240125
    popular: int = 5
    typical: int = 15
    runs: int = 200
    warmup: int = 2
    models: int = 10
    instants: int = 2
    load: Load = field(default_factory=Load)
    workdir: str | None = None


def compared(http_ns: list[int], direct_ns: list[int]) -> dict[str, Any]:
    """Latencies over HTTP and direct, and their ratio."""
    http, direct = report.latency(http_ns), report.latency(direct_ns)
    return {
        "runs": len(http_ns),
        "http": http,
        "direct": direct,
        "ratio_p50": http["p50"] / direct["p50"],
        "ratio_p95": http["p95"] / direct["p95"],
    }


# -- impact ------------------------------------------------------------------------------------


def impact_spec(start: str) -> TraversalSpec:
    """The walk ``impact(node, DOWNSTREAM, maxDepth: 6)`` makes."""
    return TraversalSpec(start, Direction.IN, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)


def timed_traverse(store: SQLiteStore, spec: TraversalSpec) -> tuple[int, Subgraph]:
    """Nanoseconds ``store.traverse`` took, and what it returned."""
    started = perf_counter_ns()
    subgraph = store.traverse(spec)
    return perf_counter_ns() - started, subgraph


def impact_differences(answer: dict[str, Any], direct: Subgraph) -> list[str]:
    """How the API's answer differs from the direct traversal (empty when they agree)."""
    found: list[str] = []
    if answer["truncated"] != direct.truncated:
        found.append(f"truncated: api {answer['truncated']}, direct {direct.truncated}")
    if {n["id"] for n in answer["nodes"]} != {n.id for n in direct.nodes}:
        found.append(f"nodes: api {len(answer['nodes'])}, direct {len(direct.nodes)}")
    api_edges = sorted((e["src"], e["dst"]) for e in answer["edges"])
    if api_edges != sorted((e.src, e.dst) for e in direct.edges):
        found.append(f"edges: api {len(answer['edges'])}, direct {len(direct.edges)}")
    return found


def measure_impact(
    client: GraphQLClient,
    store: SQLiteStore,
    starts: dict[str, list[str]],
    settings: Settings,
    progress: Progress,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """HTTP impact beside store.traverse, run by run, per class of start node."""
    disagreements: dict[str, list[str]] = {}
    for start in (s for group in starts.values() for s in group):
        answer = client.call(IMPACT_QUERY, {"node": start, "maxDepth": MAX_DEPTH})["impact"]
        found = impact_differences(answer, store.traverse(impact_spec(start)))
        if found:
            disagreements[start] = found
    results: dict[str, Any] = {}
    every: dict[str, list[Any]] = {"http": [], "direct": [], "returned": [], "truncated": []}
    task = progress.add_task("impact over HTTP and direct", total=settings.runs * len(starts))
    for label, ids in starts.items():
        for _ in range(settings.warmup):
            for start in ids:
                client.call(IMPACT_QUERY, {"node": start, "maxDepth": MAX_DEPTH})
                store.traverse(impact_spec(start))
        runs: dict[str, list[Any]] = {"http": [], "direct": [], "returned": [], "truncated": []}
        for run in range(settings.runs):
            start = ids[run % len(ids)]
            spec = impact_spec(start)
            variables = {"node": start, "maxDepth": MAX_DEPTH}
            # Alternate which side goes first, so neither always runs on the warmer cache.
            if run % 2:
                elapsed, subgraph = timed_traverse(store, spec)
            runs["http"].append(http_timed(client, IMPACT_QUERY, variables))
            if not run % 2:
                elapsed, subgraph = timed_traverse(store, spec)
            runs["direct"].append(elapsed)
            runs["returned"].append(len(subgraph.nodes))
            runs["truncated"].append(subgraph.truncated)
            progress.advance(task)
        results[label] = impact_summary(ids, runs)
        for key, values in runs.items():
            every[key] += values
    progress.remove_task(task)
    results["all"] = impact_summary([s for group in starts.values() for s in group], every)
    return results, disagreements


def impact_summary(starts: list[str], runs: dict[str, list[Any]]) -> dict[str, Any]:
    """Latencies of both sides, their ratio, and what the walks returned."""
    returned: list[int] = runs["returned"]
    return {
        "starts": starts,
        **compared(runs["http"], runs["direct"]),
        "nodes_returned": {
            "min": min(returned),
            "median": sorted(returned)[len(returned) // 2],
            "max": max(returned),
        },
        "truncated_fraction": sum(runs["truncated"]) / len(runs["truncated"]),
    }


# -- trainingProvenance ------------------------------------------------------------------------


def timed_provenance(store: SQLiteStore, model: str, at: datetime) -> int:
    """Nanoseconds the trainingProvenance service took, called in this process."""
    started = perf_counter_ns()
    training_provenance(store, model, at)
    return perf_counter_ns() - started


def measure_provenance(
    client: GraphQLClient,
    store: SQLiteStore,
    cases: list[tuple[str, datetime]],
    settings: Settings,
    progress: Progress,
) -> dict[str, Any]:
    """The saved trainingProvenance operation over HTTP beside the service called directly."""
    query = saved_operation("training_provenance")
    variables = [{"model": model, "asOf": to_text(at)} for model, at in cases]
    serving = 0
    for (model, at), values in zip(cases, variables, strict=True):
        answer = client.call(query, values)["trainingProvenance"]  # raises if it does not answer
        serving += bool(answer["serving"])
        training_provenance(store, model, at)
    for _ in range(settings.warmup):
        for (model, at), values in zip(cases, variables, strict=True):
            client.call(query, values)
            training_provenance(store, model, at)
    http_ns: list[int] = []
    direct_ns: list[int] = []
    task = progress.add_task("trainingProvenance over HTTP and direct", total=settings.runs)
    for run in range(settings.runs):
        model, at = cases[run % len(cases)]
        if run % 2:
            direct_ns.append(timed_provenance(store, model, at))
        http_ns.append(http_timed(client, query, variables[run % len(cases)]))
        if not run % 2:
            direct_ns.append(timed_provenance(store, model, at))
        progress.advance(task)
    progress.remove_task(task)
    return {
        "cases": [{"model": model, "asOf": to_text(at)} for model, at in cases],
        "serving_fraction": serving / len(cases),
        **compared(http_ns, direct_ns),
    }


# -- one run -----------------------------------------------------------------------------------


def run_api(graph: BuiltGraph, settings: Settings, console: Console) -> dict[str, Any]:
    """Serve the graph and measure the three operations."""
    with tempfile.TemporaryDirectory(prefix="lineage-api-bench-", dir=settings.workdir) as tmp:
        work = Path(tmp)
        store = SQLiteStore(graph.uri)
        try:
            tokens = issue_tokens(store, RecordStore(work / "records"))
            starts = graph.start_nodes(settings.popular, settings.typical)
            sample = sample_models(store, settings.seed, settings.models, settings.instants)
            log_path = work / "server.log"
            with (
                api_server(graph.uri, work / "records", log_path) as base_url,
                progress_bar(console) as progress,
            ):
                console.log(f"server ready at {base_url} over {graph.path}")
                with GraphQLClient(base_url, tokens[Role.READER]) as client:
                    impact, disagreements = measure_impact(
                        client, store, starts, settings, progress
                    )
                    console.log(
                        f"impact p95 HTTP {impact['all']['http']['p95']:.1f} ms, "
                        f"direct {impact['all']['direct']['p95']:.1f} ms"
                    )
                    provenance = measure_provenance(
                        client, store, sample.provenance, settings, progress
                    )
                    console.log(f"trainingProvenance p95 {provenance['http']['p95']:.1f} ms")
                registration, registered = measure_registration(
                    base_url, tokens[Role.PIPELINE], sample.targets, settings.load, progress
                )
                console.log(
                    f"registration {registration['batches_per_s']:.1f} batches/s, "
                    f"{registration['errors']} errors"
                )
            registration |= stored_check(store, registered)
            registration["removed_after"] = remove_batches(store, registered)
        finally:
            store.close()
    return {
        "graph": graph.summary(),
        "impact": impact,
        "impact_disagreements": disagreements,
        "training_provenance": provenance,
        "registration": registration,
    }


# -- the report --------------------------------------------------------------------------------


def targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issue's targets, checked against what was measured."""
    impact = result["impact"]["all"]
    provenance = result["training_provenance"]
    registration = result["registration"]
    errors = registration["errors"] + registration["missing"]
    return {
        "impact_p95_ratio": {
            "target": f"HTTP p95 <= {IMPACT_P95_RATIO_TARGET:g}x direct",
            "measured": f"{impact['ratio_p95']:.2f}x",
            "met": impact["ratio_p95"] <= IMPACT_P95_RATIO_TARGET,
        },
        "training_provenance_p95": {
            "target": f"p95 <= {PROVENANCE_P95_MS_TARGET:g} ms",
            "measured": f"{provenance['http']['p95']:.1f} ms",
            "met": provenance["http"]["p95"] <= PROVENANCE_P95_MS_TARGET,
        },
        "registration_errors": {
            "target": "zero errors",
            "measured": f"{errors} errors, {registration['batches_per_s']:.1f} batches/s",
            "met": errors == 0 and registration["audit_seqs_unique"],
        },
    }


def _pair(row: dict[str, float]) -> str:
    return f"{row['p50']:.1f} / {row['p95']:.1f}"


def latency_table(result: dict[str, Any]) -> str:
    """One row per measured read operation."""
    nodes = f"{result['graph']['nodes']:,}"
    lines = [
        "| graph nodes | operation | runs | HTTP p50 / p95 ms | direct p50 / p95 ms "
        "| HTTP/direct p50 / p95 | nodes returned (min/median/max) | truncated |",
        "| ---: | --- | ---: | --- | --- | --- | --- | ---: |",
    ]
    for label, row in result["impact"].items():
        returned = row["nodes_returned"]
        lines.append(
            f"| {nodes} | impact, {label} starts ({len(row['starts'])}) | {row['runs']} "
            f"| {_pair(row['http'])} | {_pair(row['direct'])} "
            f"| {row['ratio_p50']:.2f}x / {row['ratio_p95']:.2f}x "
            f"| {returned['min']} / {returned['median']} / {returned['max']} "
            f"| {row['truncated_fraction']:.0%} |"
        )
    row = result["training_provenance"]
    lines.append(
        f"| {nodes} | trainingProvenance ({len(row['cases'])} model/instant pairs) "
        f"| {row['runs']} | {_pair(row['http'])} | {_pair(row['direct'])} "
        f"| {row['ratio_p50']:.2f}x / {row['ratio_p95']:.2f}x | | |"
    )
    return "\n".join(lines)


def registration_table(result: dict[str, Any]) -> str:
    """The sustained registration run."""
    row = result["registration"]
    latency = _pair(row["latency"]) if row["latency"] else "-"
    return "\n".join(
        [
            "| graph nodes | clients | seconds | decisions per batch | batches | batches/s "
            "| p50 / p95 ms | errors | acknowledged and stored |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
            f"| {result['graph']['nodes']:,} | {row['clients']} | {row['wall_s']:.1f} "
            f"| {row['records_per_batch']} | {row['batches']:,} | {row['batches_per_s']:.1f} "
            f"| {latency} | {row['errors']} | {row['stored']:,} of {row['acknowledged']:,} |",
        ]
    )


def targets_list(checked: dict[str, dict[str, Any]]) -> str:
    """The targets as a markdown list."""
    return "\n".join(
        f"- {c['target']}: {c['measured']}: {'met' if c['met'] else 'MISSED'}"
        for c in checked.values()
    )


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--nodes", type=int, default=100_000, help="graph size")
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file: reused if an earlier run built it, else built there and kept "
        "(default: a temporary file, removed at the end)",
    )
    parser.add_argument("--out", default="bench/out/api.json", help="JSON results file")
    parser.add_argument(
        "--runs", type=int, default=Settings.runs, help="timed runs per class of query"
    )
    parser.add_argument(
        "--warmup", type=int, default=Settings.warmup, help="untimed rounds before the timed runs"
    )
    parser.add_argument(
        "--clients", type=int, default=Load.clients, help="concurrent registering clients"
    )
    parser.add_argument(
        "--duration", type=float, default=Load.duration, help="seconds of registration"
    )
    parser.add_argument(
        "--records-per-batch",
        type=int,
        default=Load.records_per_batch,
        help="decisions inline in each registered batch",
    )
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--workdir", default=None, help="where temporary files go")
    return parser.parse_args(argv)


def git_revision() -> str | None:
    """The code measured: the commit, marked ``-dirty`` with uncommitted changes."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print markdown tables; write JSON."""
    args = parse_args(argv)
    # A terminated benchmark unwinds like an interrupted one, so the server it started is stopped.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))
    console = Console(stderr=True)
    settings = Settings(
        seed=args.seed,
        runs=args.runs,
        warmup=args.warmup,
        load=Load(
            clients=args.clients, duration=args.duration, records_per_batch=args.records_per_batch
        ),
        workdir=args.workdir,
    )
    config = GraphConfig(nodes=args.nodes, seed=settings.seed)
    started = datetime.now(UTC).isoformat()
    with tempfile.TemporaryDirectory(prefix="lineage-api-graph-", dir=settings.workdir) as tmp:
        path = args.db.resolve() if args.db else Path(tmp) / "graph.db"
        if path.exists():
            graph = open_graph(path, config)
            console.log(f"reusing {path}: {graph.nodes:,} nodes, {graph.edges:,} edges")
        else:
            console.log(f"sqlite, {config.nodes:,} nodes: generating and loading into {path}")
            graph = build_graph(path, config, console)
            console.log(f"built {graph.nodes:,} nodes in {graph.build_seconds:.0f} s")
        result = run_api(graph, settings, console)
    checked = targets(result)
    nodes = result["graph"]["nodes"]
    print(f"## GraphQL API over HTTP, SQLite, {nodes:,} nodes\n")
    print(f"{latency_table(result)}\n")
    print(f"## Registration through the API\n\n{registration_table(result)}\n")
    print(f"## Targets\n\n{targets_list(checked)}")
    for start, found in result["impact_disagreements"].items():
        print(f"WARNING impact {start}: the API disagrees with store.traverse: {found}")
    for sample in result["registration"]["error_samples"]:
        print(f"ERROR registration: {sample}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": ["python", "-m", "bench.api_bench", *(argv or sys.argv[1:])],
        "started": started,
        "finished": datetime.now(UTC).isoformat(),
        "revision": git_revision(),
        "machine": machine(),
        "settings": asdict(settings),
        "server": [part if part != "0" else "PORT" for part in ["python", *server_command(0)[1:]]],
        "targets": checked,
        **result,
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
