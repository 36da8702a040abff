"""Summaries of timings and the markdown tables the benchmark prints.

Every backend's result has the same shape (``size_result``), so each table
has one row per backend and size; ``tests/bench/test_store_report.py`` feeds it both.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.generate import ProvenanceGraph

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


def latency(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50 / p95 / mean / min / max in milliseconds."""
    ms = [s / NS_PER_MS for s in samples_ns]
    if len(ms) == 1:
        return {"p50": ms[0], "p95": ms[0], "mean": ms[0], "min": ms[0], "max": ms[0]}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50": cuts[49],
        "p95": cuts[94],
        "mean": statistics.fmean(ms),
        "min": min(ms),
        "max": max(ms),
    }


def traversal_summary(
    starts: list[str],
    store_ns: list[int],
    raw_ns: list[int],
    returned: list[int],
    truncated: list[bool],
    others_ns: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """Latencies of both sides, their ratio and what the traversals returned; ``others``
    holds any further baseline (APOC on Neo4j) with its ratio to the store."""
    store, raw = latency(store_ns), latency(raw_ns)
    others = {name: latency(samples) for name, samples in (others_ns or {}).items()}
    return {
        "starts": starts,
        "runs": len(store_ns),
        "store": store,
        "raw": raw,
        "ratio_p50": store["p50"] / raw["p50"],
        "ratio_p95": store["p95"] / raw["p95"],
        "nodes_returned": {
            "min": min(returned),
            "median": int(statistics.median(returned)),
            "max": max(returned),
        },
        "truncated_fraction": sum(truncated) / len(truncated),
        "others": {
            name: {
                **other,
                "ratio_p50": store["p50"] / other["p50"],
                "ratio_p95": store["p95"] / other["p95"],
            }
            for name, other in others.items()
        },
    }


def size_result(
    backend: str,
    graph: ProvenanceGraph,
    ingested: dict[str, Any],
    traversal: dict[str, Any],
    disagreements: dict[str, list[str]],
    **more: Any,
) -> dict[str, Any]:
    """One backend at one size, in the shape the report reads (the same for every backend)."""
    return {
        "backend": backend,
        "nodes": graph.counts.nodes,
        "edges": graph.counts.edges,
        "nodes_by_kind": dict(sorted(graph.counts.by_kind.items())),
        "ingest": ingested,
        "traversal": traversal,
        "raw_disagreements": disagreements,
        **more,
    }


def rate(count: int, elapsed_ns: int) -> float:
    """Items per second."""
    return count * NS_PER_S / elapsed_ns if elapsed_ns else 0.0


def _num(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    return f"{value:.1f}"


def ingest_table(results: Sequence[dict[str, Any]]) -> str:
    """One row per backend, size and ingest path."""
    lines = [
        "| backend | graph nodes | path | nodes+edges | seconds (store time) | nodes+edges/s "
        "| records/s | vs raw upserts |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in results:
        ingest = size["ingest"]
        raw_rate = ingest.get("raw", {}).get("items_per_s")
        for path, label in (
            ("raw", "raw store upserts (baseline)"),
            ("batch", "batch API `bulk.load`"),
            ("services", "registration services (sample)"),
        ):
            row = ingest.get(path)
            if row is None:
                continue
            records = _num(row["records_per_s"]) if "records_per_s" in row else ""
            ratio = f"{row['items_per_s'] / raw_rate:.2f}x" if raw_rate else ""
            lines.append(
                f"| {size['backend']} | {_num(size['nodes'])} | {label} | {_num(row['items'])} "
                f"| {row['seconds']:.1f} | {_num(row['items_per_s'])} | {records} | {ratio} |"
            )
    return "\n".join(lines)


def traversal_table(results: Sequence[dict[str, Any]]) -> str:
    """One row per backend, size and class of start node."""
    lines = [
        "| backend | graph nodes | starts | runs | nodes returned (min/median/max) | truncated "
        "| store p50 / p95 / mean ms | raw p50 / p95 / mean ms | store/raw p50 | store/raw p95 |",
        "| --- | ---: | --- | ---: | --- | ---: | --- | --- | ---: | ---: |",
    ]
    for size in results:
        for label, row in size["traversal"].items():
            store, raw = row["store"], row["raw"]
            returned = row["nodes_returned"]
            lines.append(
                f"| {size['backend']} | {_num(size['nodes'])} | {label} ({len(row['starts'])}) "
                f"| {row['runs']} | {returned['min']} / {returned['median']} / {returned['max']} "
                f"| {row['truncated_fraction']:.0%} "
                f"| {_ms(store['p50'])} / {_ms(store['p95'])} / {_ms(store['mean'])} "
                f"| {_ms(raw['p50'])} / {_ms(raw['p95'])} / {_ms(raw['mean'])} "
                f"| {row['ratio_p50']:.2f}x | {row['ratio_p95']:.2f}x |"
            )
    return "\n".join(lines)


def others_table(results: Sequence[dict[str, Any]]) -> str:
    """Second baselines (APOC on Neo4j), one row per backend, size and class of start node;
    empty when no result has any."""
    lines = [
        "| backend | graph nodes | starts | baseline | p50 / p95 / mean ms "
        "| store/baseline p50 | store/baseline p95 |",
        "| --- | ---: | --- | --- | --- | ---: | ---: |",
    ]
    for size in results:
        for label, row in size["traversal"].items():
            for name, other in row.get("others", {}).items():
                lines.append(
                    f"| {size['backend']} | {_num(size['nodes'])} "
                    f"| {label} ({len(row['starts'])}) | {name} "
                    f"| {_ms(other['p50'])} / {_ms(other['p95'])} / {_ms(other['mean'])} "
                    f"| {other['ratio_p50']:.2f}x | {other['ratio_p95']:.2f}x |"
                )
    return "\n".join(lines) if len(lines) > 2 else ""


def machine_lines(machine: dict[str, Any], results: Sequence[dict[str, Any]]) -> str:
    """Where the figures were measured: the client machine, and each Neo4j server."""
    lines = [
        f"- client: {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']}, "
        f"SQLite {machine['sqlite']}"
    ]
    servers = {
        f"{c.get('name')} {', '.join(c.get('versions') or [])} {c.get('edition')}"
        for size in results
        for c in size.get("server", [])
    }
    lines += [f"- server: {server}" for server in sorted(servers)]
    return "\n".join(lines)


def targets(results: Sequence[dict[str, Any]]) -> str:
    """The issue's targets, checked against what was measured: on every backend the store's
    traversal within 1.5x of its raw baseline at p95; on SQLite also the absolute ones."""
    lines = []
    for size in results:
        if size["backend"] != "sqlite":
            row = size["traversal"].get("all")
            if row is not None:
                ratio = row["ratio_p95"]
                lines.append(
                    f"- {size['backend']}, {_num(size['nodes'])} nodes: store/raw traversal p95 "
                    f"{ratio:.2f}x (target <= 1.5x): {'met' if ratio <= 1.5 else 'MISSED'}"
                )
            continue
        batch = size["ingest"].get("batch")
        if batch is not None:
            ok = batch["items_per_s"] >= 50_000
            lines.append(
                f"- {_num(size['nodes'])} nodes: batch ingest {_num(batch['items_per_s'])} "
                f"nodes+edges/s (target >= 50,000): {'met' if ok else 'MISSED'}"
            )
        row = size["traversal"].get("all")
        if row is not None:
            p95, ratio = row["store"]["p95"], row["ratio_p95"]
            lines.append(
                f"- {_num(size['nodes'])} nodes: traversal p95 {p95:.1f} ms (target <= 50): "
                f"{'met' if p95 <= 50 else 'MISSED'}; store/raw p95 {ratio:.2f}x "
                f"(target <= 1.5x): {'met' if ratio <= 1.5 else 'MISSED'}"
            )
    return "\n".join(lines)
