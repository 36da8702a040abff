"""The API server's memory under expensive concurrent requests, with the cost limits and without.

    python -m bench.api_memory [--nodes 100000] [--db PATH] [--clients 8] [--duration 20]

On a generated SQLite graph (``bench.api_graph``, reusable with ``--db``) it starts the real
server twice and, each time, has ``--clients`` concurrent clients send wide ``impact`` requests
(many aliases, each walking downstream from a popular dataset version to the 1,000-node budget)
for ``--duration`` seconds, while it samples the server's resident memory (``VmRSS``) every
50 ms:

* ``limits``: the defaults (20,000 nodes per request, 80,000 in flight): each client asks the
  widest request admitted (20 aliases), and whatever does not fit waits or is answered busy;
* ``no limits``: the budget lifted (1,000,000 nodes per request and in flight), each client
  sending the 60-alias request the issue measured (27 MB answers).

The baseline is the server's memory when idle after start-up. It reports idle, peak and final
resident memory, answers, refusals and bytes per mode, and writes JSON. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.api_graph import build_graph, issue_tokens, open_graph
from bench.api_server import api_process
from bench.generate import GraphConfig
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Role
from lineage.store.sqlite import SQLiteStore

MODES: dict[str, tuple[dict[str, str], int]] = {
    "limits": ({}, 20),
    "no limits": (
        {"LINEAGE_MAX_NODES_PER_REQUEST": "1000000", "LINEAGE_MAX_NODES_IN_FLIGHT": "1000000"},
        60,
    ),
}


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wide_query(start: str, aliases: int) -> str:
    field = f'impact(node: "{start}", direction: DOWNSTREAM) {{ truncated nodes {{ id props }} }}'
    return "{ " + " ".join(f"a{i}: {field}" for i in range(aliases)) + " }"


def hammer(
    base_url: str, token: str, query: str, until: float, tally: dict[str, int], lock: threading.Lock
) -> None:
    """One client: send ``query`` until ``until``, counting outcomes and bytes."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        while time.monotonic() < until:
            response = client.post("/graphql", json={"query": query})
            outcome = str(response.status_code)
            if response.status_code == 200 and response.json().get("errors"):
                outcome = "200 with errors"
            with lock:
                tally[outcome] = tally.get(outcome, 0) + 1
                tally["bytes"] = tally.get("bytes", 0) + len(response.content)


def measure(
    graph_uri: str, work: Path, token: str, start: str, mode: str, clients: int, duration: float
) -> dict[str, Any]:
    """One server, ``clients`` clients for ``duration`` seconds; memory sampled throughout."""
    settings, aliases = MODES[mode]
    log = work / f"server-{mode.replace(' ', '-')}.log"
    with api_process(graph_uri, work / "records", log, settings=settings) as (url, process):
        time.sleep(1.0)
        idle = rss_mb(process.pid)
        tally: dict[str, int] = {}
        lock = threading.Lock()
        until = time.monotonic() + duration
        threads = [
            threading.Thread(
                target=hammer, args=(url, token, wide_query(start, aliases), until, tally, lock)
            )
            for _ in range(clients)
        ]
        for thread in threads:
            thread.start()
        peak = idle
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_mb(process.pid))
            time.sleep(0.05)
        final = rss_mb(process.pid)
    return {
        "mode": mode,
        "aliases": aliases,
        "settings": settings,
        "idle_mb": round(idle, 1),
        "peak_mb": round(peak, 1),
        "final_mb": round(final, 1),
        "answers": {k: v for k, v in tally.items() if k != "bytes"},
        "mb_answered": round(tally.get("bytes", 0) / 2**20, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both modes; print a markdown table; write JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.api_memory", description=__doc__)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="reuse or keep the graph here")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--out", default="bench/out/api-memory.json")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    config = GraphConfig(nodes=args.nodes)
    results = []
    with tempfile.TemporaryDirectory(prefix="lineage-api-memory-") as tmp:
        work = Path(tmp)
        path = args.db.resolve() if args.db else work / "graph.db"
        graph = open_graph(path, config) if path.exists() else build_graph(path, config, console)
        store = SQLiteStore(graph.uri)
        try:
            token = issue_tokens(store, RecordStore(work / "records"))[Role.READER]
        finally:
            store.close()
        start = graph.start_nodes(popular=1, typical=0)["popular"][0]
        for mode in MODES:
            console.log(f"{mode}: {args.clients} clients for {args.duration:g} s from {start}")
            results.append(
                measure(graph.uri, work, token, start, mode, args.clients, args.duration)
            )
    print(f"## API server memory, {args.clients} clients, {graph.nodes:,} nodes\n")
    print("| mode | aliases per request | idle MiB | peak MiB | after MiB | answers | MiB sent |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for row in results:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(row["answers"].items()))
        print(
            f"| {row['mode']} | {row['aliases']} | {row['idle_mb']} | {row['peak_mb']} | "
            f"{row['final_mb']} | {answers} | {row['mb_answered']} |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"nodes": graph.nodes, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
