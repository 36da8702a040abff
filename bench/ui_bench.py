"""The web view benchmark: a dataset version's node page rendered on the server, beside the
``impact`` walks it makes and the GraphQL ``impact`` query.

    python -m bench.ui_bench --nodes 1000000 [--db /tmp/lineage-1m.db] [--out bench/out/ui-1m.json]

On the API benchmark's generated graph (``bench.api_graph``: built once, reused with ``--db``),
the app is driven in process through its ASGI interface with httpx, so the figures are the
server's own work (routing, the store, the walks, the layered layout, the SVG and the template)
without a network. For the popular and typical dataset versions the store benchmark starts
from, run by run and interleaved:

- ``page``: ``GET /ui/node/{id}``, the whole page. Target: p95 < 200 ms.
- ``walks``: the two ``impact`` walks the page makes (upstream and downstream, at the page's
  depths and node budget), called directly: the rest of ``page`` is facts, drawing, template.
- ``graphql impact``: ``POST /graphql`` ``impact`` downstream at the page's depth (the API's
  budget), the question an investigator would otherwise ask.

The server runs with anonymous reads allowed, so the benchmark writes nothing to the database
(a reused one stays as it was). The machine is usually shared: read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter_ns
from typing import Any
from urllib.parse import quote

import httpx
from rich.console import Console

from bench import report
from bench.api_graph import BuiltGraph, build_graph, open_graph
from bench.generate import GraphConfig
from bench.store_bench import machine, progress_bar
from lineage.graphql.app import create_app
from lineage.graphql.observability import configure_logging
from lineage.model.graph import Direction
from lineage.services import investigation
from lineage.services.record_store import RecordStore
from lineage.settings import Settings
from lineage.store.sqlite import SQLiteStore
from lineage.web.neighbourhood import DOWNSTREAM_DEPTH, UPSTREAM_DEPTH, WALK_BUDGET

PAGE_P95_MS_TARGET = 200.0
IMPACT_QUERY = """
query UiBenchImpact($node: ID!, $maxDepth: Int) {
  impact(node: $node, direction: DOWNSTREAM, maxDepth: $maxDepth) {
    truncated
    nodes { id kind }
    edges { src dst kind }
  }
}
"""


def walks(store: SQLiteStore, node: str) -> None:
    """The page's two walks, as :func:`lineage.web.neighbourhood.neighbourhood` makes them."""
    investigation.impact(store, node, Direction.OUT, UPSTREAM_DEPTH, max_nodes=WALK_BUDGET)
    investigation.impact(store, node, Direction.IN, DOWNSTREAM_DEPTH, max_nodes=WALK_BUDGET)


async def measure(
    built: BuiltGraph, runs: int, warmup: int, popular: int, typical: int, console: Console
) -> dict[str, Any]:
    """Time the page, its walks and the GraphQL impact per class of start node."""
    starts = built.start_nodes(popular, typical)
    store = SQLiteStore(built.uri)
    records = RecordStore(built.path.parent / "records")
    app = create_app(store, records, Settings(allow_anonymous=True), after_batch=[])
    samples: dict[str, dict[str, list[int]]] = {
        cls: {"page": [], "walks": [], "graphql": []} for cls in starts
    }
    sizes: list[int] = []
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ui-bench") as client:
            with progress_bar(console) as progress:
                total = (warmup + runs) * sum(len(v) for v in starts.values())
                task = progress.add_task("node pages", total=total)
                for run in range(warmup + runs):
                    for cls, nodes in starts.items():
                        for node in nodes:
                            page_ns, size = await _page(client, node)
                            walk_ns = _timed(walks, store, node)
                            gql_ns = await _impact(client, node)
                            if run >= warmup:
                                samples[cls]["page"].append(page_ns)
                                samples[cls]["walks"].append(walk_ns)
                                samples[cls]["graphql"].append(gql_ns)
                                sizes.append(size)
                            progress.advance(task)
    finally:
        store.close()
    rows: dict[str, Any] = {}
    every: dict[str, list[int]] = {"page": [], "walks": [], "graphql": []}
    for cls, timed in samples.items():
        rows[cls] = {name: report.latency(values) for name, values in timed.items() if values}
        for name, values in timed.items():
            every[name].extend(values)
    rows["all"] = {name: report.latency(values) for name, values in every.items() if values}
    page_p95 = rows["all"]["page"]["p95"]
    return {
        "starts": starts,
        "latency_ms": rows,
        "page_bytes": {"min": min(sizes), "max": max(sizes)} if sizes else {},
        "page_p95_over_graphql_p95": page_p95 / rows["all"]["graphql"]["p95"],
        "target": {"page_p95_ms": PAGE_P95_MS_TARGET, "met": page_p95 < PAGE_P95_MS_TARGET},
    }


def _timed(action: Callable[..., object], *args: Any) -> int:
    started = perf_counter_ns()
    action(*args)
    return perf_counter_ns() - started


async def _page(client: httpx.AsyncClient, node: str) -> tuple[int, int]:
    started = perf_counter_ns()
    response = await client.get(f"/ui/node/{quote(node, safe=':@')}")
    elapsed = perf_counter_ns() - started
    if response.status_code != 200 or "<svg" not in response.text:
        raise RuntimeError(f"the page of {node} answered {response.status_code}")
    return elapsed, len(response.content)


async def _impact(client: httpx.AsyncClient, node: str) -> int:
    body = {"query": IMPACT_QUERY, "variables": {"node": node, "maxDepth": DOWNSTREAM_DEPTH}}
    started = perf_counter_ns()
    response = await client.post("/graphql", json=body)
    elapsed = perf_counter_ns() - started
    answer = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise RuntimeError(f"impact of {node} failed: {answer}")
    return elapsed


def table(result: dict[str, Any]) -> str:
    """The figures as a markdown table, milliseconds."""
    lines = [
        "| start | page p50 | page p95 | walks p50 | walks p95 | graphql impact p50 | p95 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for cls, row in result["latency_ms"].items():
        names = ("page", "walks", "graphql")
        cells = [f"{row[name][q]:.1f}" for name in names for q in ("p50", "p95")]
        lines.append(f"| {cls} | " + " | ".join(cells) + " |")
    met = "met" if result["target"]["met"] else "NOT met"
    lines.append(f"\nTarget page p95 < {PAGE_P95_MS_TARGET:.0f} ms: {met}.")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=GraphConfig(nodes=10_000).seed)
    parser.add_argument("--db", type=Path, help="a graph an earlier run built (else a new one)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--popular", type=int, default=5)
    parser.add_argument("--typical", type=int, default=15)
    parser.add_argument("--out", type=Path)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build or reuse the graph, measure, print the table and write the JSON report."""
    args = parse_args(argv)
    configure_logging("WARNING")  # a line per request would drown the progress bar
    console = Console(stderr=True)
    config = GraphConfig(nodes=args.nodes, seed=args.seed)
    if args.db is not None and args.db.exists():
        built = open_graph(args.db, config)
    else:
        path = args.db or Path(f"/tmp/lineage-ui-{args.nodes}.db")
        built = build_graph(path, config, console)
    result = asyncio.run(
        measure(built, args.runs, args.warmup, args.popular, args.typical, console)
    )
    result |= {
        "graph": built.summary(),
        "machine": machine(),
        "measured": datetime.now(UTC).isoformat(),
        "runs": args.runs,
    }
    print(table(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
