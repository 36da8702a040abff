"""The retention benchmark: pruning a million expired decisions, beside raw deletion.

    python -m bench.retention_bench [--batches 10000] [--decisions 100]
        [--graph-nodes 1000000] [--out bench/out/retention.json]

**Records** (always): a store whose provenance chain is registered through the services, with
``--batches`` expired inference batches of ``--decisions`` decisions each in real records files
(10,000 x 100 = 1,000,000 decisions by default), plus batches that must stay: 5% of that under
a legal hold, 5% scored by the version a deployment serves, 1% affected by an open incident,
5% of a regulated class that has not expired. The prepared store and record store are copied,
then:

- ``retention.prune``: classes, protections re-checked per chunk, a tombstone per batch, one
  audit event per 1,000 batches, records files deleted (what the job does), and its dry run;
- the baseline on the copy: the same batches deleted with ``store.delete_nodes`` in chunks of
  1,000 and their files unlinked, without any check, tombstone or audit;
- ``lineage verify`` on the pruned store (it must pass).

**Graph** (``--graph-nodes``): the store benchmark's generated graph (``bench.generate``, 83%
inference batches, no records files), pruned as of a day when every batch has expired, beside
the same raw deletion on a copy.

A progress bar shows on a terminal. Figures go to stdout (markdown) and ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.console import Console
from rich.progress import Progress

from bench.generate import EPOCH, GraphConfig, ProvenanceGraph, chunked
from bench.store_bench import machine, progress_bar
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import to_text
from lineage.services.audit import verify
from lineage.services.bulk import load
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.retention import PruneResult, prune
from lineage.services.retention_classes import Policy, RetentionClass
from lineage.services.retention_holds import place_hold
from lineage.store.base import GraphStore
from lineage.store.sqlite import SQLiteStore

ACTOR = "pipeline:lineage_bench"
T0 = datetime(2023, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # standard (2 years) expired for 2023-2024 windows
CHUNK = 1_000
POLICY = Policy(
    {"regulated": RetentionClass("regulated", years=7), "standard": RetentionClass("standard", 2)},
    "regulated",
)
VERSIONS = 8  # model:bench@v1..v8 hold the prunable batches; v9 is held, v10 serves


# -- building ----------------------------------------------------------------------------------


def build_records_store(
    store: GraphStore, records: RecordStore, batches: int, decisions: int, progress: Progress
) -> dict[str, int]:
    """Register the chain, then bulk-load the batches and write their records files."""
    registry = Registry(store, records, actor=ACTOR)
    registry.register_pipeline({"id": ACTOR, "name": "Benchmark harness"})
    for person in ("owner", "steward", "approver"):
        registry.register_person({"id": f"person:bench_{person}", "name": person})
    for name, cls in (("std", "standard"), ("reg", "regulated")):
        dv = f"dataset:bench_{name}@v1"
        registry.register_dataset_version(
            {
                "id": dv,
                "content_hash": f"{hash_of(dv)}",
                "record_count": 1_000_000,
                "created_at": to_text(T0),
                "retention_class": cls,
            }
        )
        registry.register_feature_snapshot(
            {
                "id": f"snapshot:bench_{name}",
                "features": ["income", "age"],
                "sources": [dv],
                "content_hash": hash_of(f"snapshot:{name}"),
                "computed_by": "feast v3.1",
                "created_at": to_text(T0 + timedelta(days=1)),
            }
        )
    versions = [(f"model:bench@v{k}", "std") for k in range(1, VERSIONS + 3)]
    versions.append(("model:bench_reg@v1", "reg"))
    for model in ("model:bench", "model:bench_reg"):
        registry.register_model(
            {
                "id": model,
                "owner": "person:bench_owner",
                "technical_steward": "person:bench_steward",
                "risk_approver": "person:bench_approver",
                "since": to_text(T0),
            }
        )
    for version, name in versions:
        registry.register_training_run(
            {
                "id": "run:" + version.split(":", 1)[1].replace("@", "_"),
                "model_version": version,
                "snapshot": f"snapshot:bench_{name}",
                "datasets": [
                    {
                        "id": f"dataset:bench_{name}@v1",
                        "content_hash": hash_of(f"dataset:bench_{name}@v1"),
                    }
                ],
                "code_commit": "abc123def456",
                "records_available": 1_000_000,
                "records_used": 800_000,
                "triggered_by": ACTOR,
                "reason": "benchmark",
                "started_at": to_text(T0 + timedelta(days=2)),
                "ended_at": to_text(T0 + timedelta(days=3)),
            }
        )
    serving = f"model:bench@v{VERSIONS + 2}"
    registry.backfill_deploy(
        {
            "deployment": "deployment:bench_prod",
            "model_version": serving,
            "at": to_text(T0 + timedelta(days=4)),
            "reason": "benchmark",
        }
    )
    # Who stays: 5% held (v9), 5% served (v10), 5% regulated, 1% affected by an incident.
    plan: list[tuple[str, str]] = [
        (f"model:bench@v{1 + i % VERSIONS}", "std") for i in range(batches)
    ]
    extra = max(1, batches // 20)
    plan += [(f"model:bench@v{VERSIONS + 1}", "std")] * extra
    plan += [(serving, "std")] * extra
    plan += [("model:bench_reg@v1", "reg")] * extra
    affected = [f"batch:bench_affected_{i:05d}" for i in range(max(1, batches // 100))]
    task = progress.add_task("records: writing batches and files", total=len(plan) + len(affected))
    rng = random.Random(20240125)
    items: list[Node | Edge] = []

    def flush() -> None:
        load(store, items, actor=ACTOR, reason="retention benchmark", batch_size=20_000)
        items.clear()

    start = T0 + timedelta(days=5)
    ids = [f"batch:bench_{i:06d}" for i in range(len(plan))] + affected
    plan += [("model:bench@v1", "std")] * len(affected)
    for i, (batch_id, (version, name)) in enumerate(zip(ids, plan, strict=True)):
        rows = [
            {
                "applicant_id": f"a{i:06d}_{j:03d}",
                "decision": "APPROVED" if rng.random() < 0.5 else "DECLINED",
                "confidence": round(rng.uniform(0.5, 0.99), 2),
                "age": rng.randint(18, 90),
                "income": rng.randint(18, 160) * 1000,
            }
            for j in range(decisions)
        ]
        window = start + timedelta(hours=i % 8_000)
        props: dict[str, Any] = {
            "model_version": version,
            "snapshot": f"snapshot:bench_{name}",
            "window_end": to_text(window + timedelta(hours=1)),
            "record_count": decisions,
            "counts": {"APPROVED": sum(r["decision"] == "APPROVED" for r in rows)},
            "statistics": {"approval_rate": 0.5},
            "records_hash": records.put_records(rows),
        }
        if version == serving:
            props["deployment"] = "deployment:bench_prod"
        items.append(Node(batch_id, NodeKind.INFERENCE_BATCH, window, props))
        items.append(Edge(batch_id, EdgeKind.SCORED_WITH, version, {"role": "model"}))
        items.append(
            Edge(batch_id, EdgeKind.SCORED_WITH, f"snapshot:bench_{name}", {"role": "features"})
        )
        if version == serving:
            items.append(Edge(batch_id, EdgeKind.WAS_ASSOCIATED_WITH, "deployment:bench_prod"))
        if len(items) >= 20_000:
            flush()
        progress.update(task, advance=1)
    flush()
    progress.remove_task(task)
    place_hold(
        store,
        f"model:bench@v{VERSIONS + 1}",
        reason="benchmark hold",
        actor=ACTOR,
        now=NOW - timedelta(days=1),
    )
    registry.register_incident(
        {
            "id": "incident:bench",
            "title": "benchmark incident",
            "severity": "SEV3",
            "opened_at": to_text(NOW - timedelta(days=2)),
            "affected": affected,
        }
    )
    return {"batches": len(ids), "prunable": batches, "decisions_per_batch": decisions}


def hash_of(label: str) -> str:
    """A stand-in content hash."""
    return hashlib.sha256(f"retention-bench/{label}".encode()).hexdigest()


def build_graph_store(store: GraphStore, nodes: int, progress: Progress) -> dict[str, int]:
    """The store benchmark's generated graph, loaded through the batch API."""
    Registry(store, RecordStore(tempfile.mkdtemp()), actor=ACTOR).register_pipeline(
        {"id": ACTOR, "name": "Benchmark harness"}
    )
    graph = ProvenanceGraph(GraphConfig(nodes=nodes))
    task = progress.add_task(f"graph: generate + load {nodes:,} nodes", total=nodes)
    for chunk, _ns in chunked(graph.items(), 20_000):
        load(store, chunk, actor=ACTOR, reason="retention benchmark", batch_size=len(chunk))
        progress.update(task, completed=graph.counts.nodes)
    progress.remove_task(task)
    return {"nodes": graph.counts.nodes, "edges": graph.counts.edges, **graph.counts.by_kind}


# -- measuring ---------------------------------------------------------------------------------


def timed_prune(
    store: GraphStore,
    records: RecordStore,
    now: datetime,
    progress: Progress,
    dry_run: bool = False,
) -> tuple[PruneResult, float, float]:
    """``retention.prune`` as the job runs it, its seconds, and those spent deleting files."""
    label = "dry run" if dry_run else "prune"
    task = progress.add_task(f"retention {label}", total=None)
    stages: dict[str, float] = {}

    def tick(stage: str, done: int, total: int | None) -> None:
        stages.setdefault(stage, perf_counter())
        progress.update(
            task, description=f"retention {label}: {stage}", completed=done, total=total
        )

    started = perf_counter()
    result = prune(
        store,
        records,
        POLICY,
        now=now,
        actor=ACTOR,
        dry_run=dry_run,
        chunk=CHUNK,
        list_limit=10**8,
        progress=tick,
    )
    ended = perf_counter()
    progress.remove_task(task)
    files = stages.get("deleting files")
    return result, ended - started, ended - files if files else 0.0


def raw_delete(
    store: GraphStore, records: RecordStore, ids: list[str], progress: Progress
) -> tuple[float, float]:
    """The baseline: delete the same batches and files, no check, tombstone or audit; its
    seconds, and those spent unlinking files."""
    task = progress.add_task("baseline: raw delete", total=len(ids))
    started = perf_counter()
    unlinking = 0.0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        hashes = [str(n.props.get("records_hash")) for n in store.get_nodes(chunk).values()]
        with store.transaction():
            store.delete_nodes(chunk)
        began = perf_counter()
        for digest in hashes:
            path = records.root / digest[:2] / digest
            path.unlink(missing_ok=True)
        unlinking += perf_counter() - began
        progress.update(task, advance=len(chunk))
    seconds = perf_counter() - started
    progress.remove_task(task)
    return seconds, unlinking


def copy_store(path: Path, to: Path) -> None:
    """Copy a closed SQLite store file (and any WAL beside it)."""
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            shutil.copyfile(source, Path(f"{to}{suffix}"))


def measure(
    label: str,
    build: Callable[[GraphStore, RecordStore, Progress], dict[str, int]],
    now: datetime,
    workdir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Build once, copy, then prune one copy and raw-delete the other."""
    db, copy, records_dir = workdir / f"{label}.db", workdir / f"{label}-raw.db", workdir / label
    store = SQLiteStore(f"sqlite:///{db}")
    records = RecordStore(records_dir)
    started = perf_counter()
    shape = build(store, records, progress)
    build_seconds = perf_counter() - started
    store.close()
    copy_store(db, copy)
    if records_dir.exists():
        shutil.copytree(records_dir, workdir / f"{label}-raw")
    store = SQLiteStore(f"sqlite:///{db}")
    os.sync()  # both runs start with every file on disk, as a nightly run finds them
    dry, dry_seconds, _ = timed_prune(store, records, now, progress, dry_run=True)
    result, seconds, files_seconds = timed_prune(store, records, now, progress)
    started = perf_counter()
    checked = verify(store)
    verify_seconds = perf_counter() - started
    store.close()
    raw_store = SQLiteStore(f"sqlite:///{copy}")
    raw_seconds, raw_files = raw_delete(
        raw_store, RecordStore(workdir / f"{label}-raw"), result.pruned, progress
    )
    raw_store.close()
    assert dry.batches_pruned == result.batches_pruned
    return {
        "label": label,
        "shape": shape,
        "build_seconds": round(build_seconds, 1),
        "batches_scanned": result.batches_scanned,
        "batches_pruned": result.batches_pruned,
        "records_pruned": result.records_pruned,
        "edges_deleted": result.edges_deleted,
        "files_deleted": result.files_deleted,
        "kept": result.kept,
        "audit_events": len(result.audit_seqs),
        "prune_seconds": round(seconds, 2),
        "prune_files_seconds": round(files_seconds, 2),
        "dry_run_seconds": round(dry_seconds, 2),
        "raw_seconds": round(raw_seconds, 2),
        "raw_files_seconds": round(raw_files, 2),
        "ratio": round(seconds / raw_seconds, 2) if raw_seconds else None,
        "batches_per_s": round(result.batches_pruned / seconds) if seconds else None,
        "raw_batches_per_s": round(result.batches_pruned / raw_seconds) if raw_seconds else None,
        "verify_ok": checked.ok,
        "verify_seconds": round(verify_seconds, 1),
    }


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The figures as markdown."""
    lines = [
        "| run | batches pruned | decisions pruned | kept (reason: batches) | prune s (files) | "
        "dry run s | raw delete s (files) | prune / raw | verify |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        kept = ", ".join(f"{k}: {v:,}" for k, v in sorted(row["kept"].items())) or "-"
        lines.append(
            f"| {row['label']} | {row['batches_pruned']:,} | {row['records_pruned']:,} | {kept} "
            f"| {row['prune_seconds']:.1f} ({row['prune_files_seconds']:.1f}) "
            f"| {row['dry_run_seconds']:.1f} "
            f"| {row['raw_seconds']:.1f} ({row['raw_files_seconds']:.1f}) | {row['ratio']}x "
            f"| {'ok' if row['verify_ok'] else 'BROKEN'} ({row['verify_seconds']:.0f} s) |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=10_000, help="expired batches to prune")
    parser.add_argument("--decisions", type=int, default=100, help="decisions per batch")
    parser.add_argument(
        "--graph-nodes", type=int, default=0, help="also prune a generated graph of this size"
    )
    parser.add_argument("--out", default="bench/out/retention.json", help="JSON results file")
    parser.add_argument("--workdir", default=None, help="where the temporary stores go")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print markdown, write JSON."""
    args = parse_args(argv)
    console = Console(stderr=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp, progress_bar(console) as progress:
        workdir = Path(tmp)
        rows.append(
            measure(
                "records",
                lambda s, r, p: build_records_store(s, r, args.batches, args.decisions, p),
                NOW,
                workdir,
                progress,
            )
        )
        if args.graph_nodes:
            # Every generated batch has expired by then, whatever its class.
            later = EPOCH + timedelta(days=365 * 12)
            rows.append(
                measure(
                    "graph",
                    lambda s, _r, p: build_graph_store(s, args.graph_nodes, p),
                    later,
                    workdir,
                    progress,
                )
            )
    print(table(rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "runs": rows}, indent=2) + "\n")
    return 0 if all(r["verify_ok"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
