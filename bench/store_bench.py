"""The store benchmark: ingest rates and bounded downstream traversal, each beside a raw baseline.

    python -m bench.store_bench --nodes 100000 --nodes 1000000 [--backend sqlite]
        [--neo4j-uri bolt://user:pass@host:7687] [--out bench/out/results.json]

For each size and each backend it can reach, on a freshly generated graph (``bench.generate``):

- ingest, in nodes+edges per second of store time (generation is timed apart): (a) the store's
  ``upsert_nodes`` / ``upsert_edges`` in batches, the baseline; (b) the batch API
  ``lineage.services.bulk.load``, audited and immutable; both fed the same chunks, alternating
  which goes first; (c) the registration services, one audited transaction per record, on a
  separate sample graph of a few thousand nodes registered into the loaded store;
- traversal: ``store.traverse`` downstream (``Direction.IN``, depth <= 6, <= 1,000 nodes) from
  popular and typical dataset versions, interleaved run by run with the same walk hand-written
  (``bench.raw_sqlite``; for Neo4j the raw Cypher of ``bench.neo4j_bench``, a breadth-first walk
  by levels, and ``apoc.path.subgraphNodes`` as a second baseline where APOC is installed),
  after checking the store and the baseline return the same subgraph.

Both backends produce result rows of the same shape (``report.size_result``), so the same
tables print.

The machine this runs on is usually shared: compare ratios between paths measured in the same
run, not absolute figures between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bench import report
from bench.generate import GraphConfig, Item, ProvenanceGraph, chunked
from bench.raw_sqlite import RawSubgraph, connect, differences, traverse_downstream
from bench.registrations import registration_calls
from lineage.model.graph import Direction, Edge, Node
from lineage.services.bulk import load
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store.base import GraphStore, TraversalSpec
from lineage.store.neo4j_uri import redact
from lineage.store.sqlite import SQLiteStore

RawWrite = Callable[[list[Node], list[Edge]], None]
RawWalk = Callable[[str], RawSubgraph]

ACTOR = "pipeline:lineage_bench"
MAX_DEPTH = 6
MAX_NODES = 1_000
RECORDS_PER_BATCH = 24


@dataclass(frozen=True)
class Settings:
    """Knobs shared by every backend."""

    seed: int = 20240125
    batch_size: int = 20_000
    popular: int = 5
    typical: int = 15
    runs: int = 200
    warmup: int = 2
    services_nodes: int = 3_000
    workdir: str | None = None


def register_actor(store: GraphStore, records: RecordStore) -> None:
    """Register the benchmark's pipeline agent, the actor of its writes (a no-op once done).

    Every audited write needs a registered actor; an agent may register itself. Done once per
    store, outside any timing.
    """
    Registry(store, records, actor=ACTOR).register_pipeline(
        {"id": ACTOR, "name": "Benchmark harness"}, reason="the benchmark registers itself"
    )


def progress_bar(console: Console) -> Progress:
    """A rich progress display on the console (silent when it is not a terminal)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def timed(action: Callable[[], object]) -> int:
    """Nanoseconds ``action`` took."""
    started = perf_counter_ns()
    action()
    return perf_counter_ns() - started


# -- ingest ------------------------------------------------------------------------------------


def ingest(
    graph: ProvenanceGraph,
    raw_write: RawWrite,
    batch_store: GraphStore,
    settings: Settings,
    progress: Progress,
) -> dict[str, Any]:
    """Load the graph twice, by ``raw_write`` (the baseline) and by the batch API into
    ``batch_store``, chunk by chunk, each path timed apart."""
    task = progress.add_task(f"generate + load {graph.config.nodes:,} nodes", total=None)
    generate_ns = raw_ns = batch_ns = 0
    for index, (chunk, gen_ns) in enumerate(chunked(graph.items(), settings.batch_size)):
        generate_ns += gen_ns
        nodes = [item for item in chunk if isinstance(item, Node)]
        edges = [item for item in chunk if isinstance(item, Edge)]

        def raw_chunk(nodes: list[Node] = nodes, edges: list[Edge] = edges) -> None:
            raw_write(nodes, edges)

        def batch_write(chunk: list[Item] = chunk) -> None:
            load(batch_store, chunk, actor=ACTOR, reason="benchmark", batch_size=len(chunk))

        # Alternate which path goes first so drift on a noisy machine hits both alike.
        if index % 2 == 0:
            raw_ns += timed(raw_chunk)
            batch_ns += timed(batch_write)
        else:
            batch_ns += timed(batch_write)
            raw_ns += timed(raw_chunk)
        progress.update(task, completed=graph.counts.nodes)
    progress.remove_task(task)
    items = graph.counts.nodes + graph.counts.edges
    return {
        "generate": _ingest_row(items, generate_ns),
        "raw": _ingest_row(items, raw_ns),
        "batch": _ingest_row(items, batch_ns),
    }


def _ingest_row(items: int, elapsed_ns: int) -> dict[str, Any]:
    return {
        "items": items,
        "seconds": elapsed_ns / report.NS_PER_S,
        "items_per_s": report.rate(items, elapsed_ns),
    }


def raw_upserts(raw_store: GraphStore) -> RawWrite:
    """The ingest baseline on a store: its own batched upserts in one transaction a chunk."""

    def write(nodes: list[Node], edges: list[Edge]) -> None:
        with raw_store.transaction():
            raw_store.upsert_nodes(nodes)
            raw_store.upsert_edges(edges)

    return write


def _row_counts(conn: sqlite3.Connection) -> int:
    nodes = conn.execute("SELECT count(*) FROM nodes").fetchone()[0]
    edges = conn.execute("SELECT count(*) FROM edges").fetchone()[0]
    return int(nodes) + int(edges)


def register_sample(
    store: GraphStore,
    count_items: Callable[[], int],
    tmp: Path,
    settings: Settings,
    progress: Progress,
) -> dict[str, Any]:
    """Register a separate sample graph record by record through the services.

    ``count_items`` reads the store's nodes+edges, before and after, outside the timing.
    """
    records = RecordStore(tmp / "records")
    digest = records.put_records(
        [{"decision": "APPROVED" if i % 2 else "DECLINED", "row": i} for i in range(24)]
    )
    registry = Registry(store, records, actor=ACTOR)
    sample = ProvenanceGraph(
        GraphConfig(nodes=settings.services_nodes, seed=settings.seed + 1, prefix="svc_")
    )
    calls = list(registration_calls(sample.items(), digest, RECORDS_PER_BATCH))
    task = progress.add_task("registration services", total=len(calls))
    per_operation: dict[str, list[int]] = {}
    before = count_items()
    for operation, data in calls:
        method = getattr(registry, operation)
        started = perf_counter_ns()
        method(data)
        per_operation.setdefault(operation, []).append(perf_counter_ns() - started)
        progress.advance(task)
    progress.remove_task(task)
    items = count_items() - before
    elapsed = sum(sum(v) for v in per_operation.values())
    return {
        "records": len(calls),
        "items": items,
        "seconds": elapsed / report.NS_PER_S,
        "records_per_s": report.rate(len(calls), elapsed),
        "items_per_s": report.rate(items, elapsed),
        "by_operation": {
            op: {"count": len(v), "mean_ms": statistics.fmean(v) / report.NS_PER_MS}
            for op, v in sorted(per_operation.items())
        },
    }


# -- traversal ---------------------------------------------------------------------------------


def traverse(
    store: GraphStore,
    raw: RawWalk,
    starts: dict[str, list[str]],
    settings: Settings,
    progress: Progress,
    others: dict[str, Callable[[str], object]] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Time store.traverse against the raw walk (and any other baselines), run by run, per
    class of start node, after checking the store and the raw walk agree on every start."""
    others = others or {}
    disagreements: dict[str, list[str]] = {}
    for start in (s for group in starts.values() for s in group):
        spec = TraversalSpec(start, Direction.IN, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)
        found = differences(store.traverse(spec), raw(start))
        if found:
            disagreements[start] = found
    results: dict[str, Any] = {}
    all_store: list[int] = []
    all_raw: list[int] = []
    all_others: dict[str, list[int]] = {name: [] for name in others}
    all_returned: list[int] = []
    all_truncated: list[bool] = []
    task = progress.add_task("traversals", total=settings.runs * len(starts))
    for label, ids in starts.items():
        specs = [
            TraversalSpec(s, Direction.IN, max_depth=MAX_DEPTH, max_nodes=MAX_NODES) for s in ids
        ]
        for _ in range(settings.warmup):
            for spec in specs:
                store.traverse(spec)
                raw(spec.start)
                for walk in others.values():
                    walk(spec.start)
        store_ns: list[int] = []
        raw_ns: list[int] = []
        others_ns: dict[str, list[int]] = {name: [] for name in others}
        returned: list[int] = []
        truncated: list[bool] = []
        for run in range(settings.runs):
            spec = specs[run % len(specs)]
            # Alternate which side goes first, so neither always runs on the warmer cache.
            if run % 2:
                raw_ns.append(_timed_walk(raw, spec.start))
            started = perf_counter_ns()
            subgraph = store.traverse(spec)
            store_ns.append(perf_counter_ns() - started)
            if not run % 2:
                raw_ns.append(_timed_walk(raw, spec.start))
            for name, walk in others.items():
                others_ns[name].append(_timed_walk(walk, spec.start))
            returned.append(len(subgraph.nodes))
            truncated.append(subgraph.truncated)
            progress.advance(task)
        results[label] = report.traversal_summary(
            ids, store_ns, raw_ns, returned, truncated, others_ns
        )
        all_store += store_ns
        all_raw += raw_ns
        for name, samples in others_ns.items():
            all_others[name] += samples
        all_returned += returned
        all_truncated += truncated
    progress.remove_task(task)
    all_starts = [s for group in starts.values() for s in group]
    results["all"] = report.traversal_summary(
        all_starts, all_store, all_raw, all_returned, all_truncated, all_others
    )
    return results, disagreements


def _timed_walk(walk: Callable[[str], object], start: str) -> int:
    started = perf_counter_ns()
    walk(start)
    return perf_counter_ns() - started


# -- one size on SQLite ------------------------------------------------------------------------


def run_sqlite(nodes: int, settings: Settings, console: Console) -> dict[str, Any]:
    """Everything for one graph size on fresh SQLite files in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="lineage-bench-", dir=settings.workdir) as tmp_dir:
        tmp = Path(tmp_dir)
        raw_store = SQLiteStore(f"sqlite:///{tmp / 'raw.db'}")
        batch_path = tmp / "batch.db"
        batch_store = SQLiteStore(f"sqlite:///{batch_path}")
        register_actor(batch_store, RecordStore(tmp / "records"))
        graph = ProvenanceGraph(GraphConfig(nodes=nodes, seed=settings.seed))
        with progress_bar(console) as progress:
            console.log(f"sqlite, {nodes:,} nodes: generating and loading")
            ingested = ingest(graph, raw_upserts(raw_store), batch_store, settings, progress)
            raw_store.close()
            (tmp / "raw.db").unlink()
            console.log(
                f"loaded {graph.counts.nodes:,} nodes and {graph.counts.edges:,} edges: "
                f"raw {ingested['raw']['items_per_s']:,.0f}/s, "
                f"batch {ingested['batch']['items_per_s']:,.0f}/s"
            )
            starts = graph.start_nodes(settings.popular, settings.typical, settings.seed)
            conn = connect(str(batch_path))

            def raw(start: str) -> RawSubgraph:
                return traverse_downstream(conn, start, MAX_DEPTH, MAX_NODES)

            traversal, disagreements = traverse(batch_store, raw, starts, settings, progress)
            console.log(
                f"traversal p95 store {traversal['all']['store']['p95']:.1f} ms, "
                f"raw {traversal['all']['raw']['p95']:.1f} ms"
            )
            ingested["services"] = register_sample(
                batch_store, lambda: _row_counts(conn), tmp, settings, progress
            )
            console.log(f"services {ingested['services']['records_per_s']:,.0f} records/s")
            conn.close()
        batch_store.close()
        return report.size_result(
            "sqlite",
            graph,
            ingested,
            traversal,
            disagreements,
            db_bytes=batch_path.stat().st_size,
            baselines={"raw": "bench/raw_sqlite.py: one indexed query per level"},
        )


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.store_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--nodes", type=int, action="append", help="graph size (repeatable)")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "neo4j"],
        action="append",
        help="backends to run (default: every one reachable)",
    )
    parser.add_argument(
        "--neo4j-uri",
        default=os.environ.get("LINEAGE_BENCH_NEO4J_URI"),
        help="Neo4j to benchmark (default: $LINEAGE_BENCH_NEO4J_URI)",
    )
    parser.add_argument("--out", default="bench/out/results.json", help="JSON results file")
    parser.add_argument(
        "--runs", type=int, default=Settings.runs, help="timed traversals per class of start node"
    )
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument(
        "--services-nodes",
        type=int,
        default=Settings.services_nodes,
        help="size of the graph registered through the services",
    )
    parser.add_argument("--workdir", default=None, help="where the temporary databases go")
    return parser.parse_args(argv)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print markdown tables; write JSON."""
    args = parse_args(argv)
    console = Console(stderr=True)
    settings = Settings(
        seed=args.seed, runs=args.runs, services_nodes=args.services_nodes, workdir=args.workdir
    )
    sizes = args.nodes or [100_000]
    backends = args.backend or ["sqlite", "neo4j"]
    results: list[dict[str, Any]] = []
    skipped: list[str] = []
    if "neo4j" in backends and not args.neo4j_uri:
        skipped.append(
            "neo4j: skipped, no server given (set LINEAGE_BENCH_NEO4J_URI or pass "
            "--neo4j-uri bolt://user:password@host:7687)"
        )
    started = datetime.now(UTC).isoformat()
    for nodes in sizes:
        if "sqlite" in backends:
            results.append(run_sqlite(nodes, settings, console))
        if "neo4j" in backends and args.neo4j_uri:
            from bench.neo4j_bench import run_neo4j

            outcome = run_neo4j(args.neo4j_uri, nodes, settings, console)
            if isinstance(outcome, str):
                skipped.append(outcome)
            else:
                results.append(outcome)
    for reason in dict.fromkeys(skipped):
        console.print(reason)
    print(f"## Ingest\n\n{report.ingest_table(results)}\n")
    print(f"## Downstream traversal (depth <= {MAX_DEPTH}, <= {MAX_NODES:,} nodes)\n")
    print(f"{report.traversal_table(results)}\n")
    others = report.others_table(results)
    if others:
        print(f"## Second baselines (depth <= {MAX_DEPTH}, <= {MAX_NODES:,} nodes)\n\n{others}\n")
    print(f"## Targets\n\n{report.targets(results)}\n")
    print(f"## Machine\n\n{report.machine_lines(machine(), results)}")
    for size in results:
        for start, found in size.get("raw_disagreements", {}).items():
            print(f"WARNING {size['backend']} {start}: raw baseline disagrees: {found}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        # A --neo4j-uri may carry a password: it never reaches the results file.
        "command": ["python", "-m", "bench.store_bench", *map(redact, argv or sys.argv[1:])],
        "started": started,
        "finished": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "settings": asdict(settings),
        "skipped": list(dict.fromkeys(skipped)),
        "results": results,
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    console.print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
