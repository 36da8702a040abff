"""The evidence export benchmark: the reference scenario's v12 bundle, and a bundle of a model
version with 10,000 inference batches, each exported by the real ``lineage export`` command.

    python -m bench.export_bench [--batches 10000] [--rounds 5] [--out bench/out/export.json]

(a) **v12 of the reference scenario** (``lineage demo``): ``lineage export`` as a process, wall
    time and peak RSS, ``--rounds`` times; beside it, in process, ``export_bundle`` alone
    (without the interpreter's start-up and imports) and ``verify-bundle``.
(b) **a version with ``--batches`` batches**: the scenario plus that many one-minute v12
    batches of 24 decisions (``bench.monitors_bench.build``), exported by ``lineage export``
    into a .zip: wall time and peak RSS (``wait4``'s ``ru_maxrss`` of that process alone), and
    the same at a quarter of the batches, so the memory's growth with the batch count shows.
Targets: (a) under 1 s, (b) under 10 s with bounded memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics as stats
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

from bench.monitors_bench import build
from lineage.services.export import ExportRequest, Window, export_bundle, verify_bundle
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.store import open_store

V12 = "model:lending_approval@v12"
LINEAGE = Path(sys.executable).with_name("lineage")


def run_export(db: Path, records: Path, out: Path, *extra: str) -> dict[str, Any]:
    """One ``lineage export`` process: wall seconds, peak RSS (MiB), its summary."""
    command = [
        str(LINEAGE), "export", V12, "--out", str(out), "--store", f"sqlite:///{db}",
        "--records-dir", str(records), "--json", *extra,
    ]
    began = perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    stdout, stderr = child.stdout.read(), child.stderr.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"lineage export failed: {stderr.decode(errors='replace')}")
    summary = json.loads(stdout)
    return {"seconds": round(seconds, 3), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "counts": summary["counts"], "bytes": _size(out)}


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def scenario_bundle(work: Path, rounds: int) -> dict[str, Any]:
    """(a): the reference scenario's v12."""
    db, records = work / "demo.db", work / "demo-records"
    store = open_store(f"sqlite:///{db}")
    load_scenario(Registry(store, RecordStore(records), actor=DEMO_ACTOR))
    runs = [run_export(db, records, work / f"v12-{i}") for i in range(rounds)]
    in_process = []
    for i in range(rounds):
        began = perf_counter()
        export_bundle(store, RecordStore(records), ExportRequest(V12, Window()),
                      work / f"v12-in-process-{i}", actor=DEMO_ACTOR)
        in_process.append(perf_counter() - began)
    began = perf_counter()
    ok = verify_bundle(work / "v12-0").ok
    verify_seconds = perf_counter() - began
    store.close()
    return {
        "command_seconds_p50": round(stats.median(r["seconds"] for r in runs), 3),
        "command_seconds_max": max(r["seconds"] for r in runs),
        "command_peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "export_bundle_seconds_p50": round(stats.median(in_process), 4),
        "verify_bundle_seconds": round(verify_seconds, 4),
        "verify_ok": ok,
        "counts": runs[0]["counts"],
        "bytes": runs[0]["bytes"],
    }


def many_batches(work: Path, batches: int) -> dict[str, Any]:
    """(b): v12 with ``batches`` batches, and a quarter of them, exported to a .zip."""
    found: dict[str, Any] = {}
    for label, count in (("quarter", max(1, batches // 4)), ("full", batches)):
        folder = work / f"batches-{count}"
        folder.mkdir()
        began = perf_counter()
        store, _records = build(folder, count)
        store.close()
        built = perf_counter() - began
        run = run_export(folder / "monitors.db", folder / "records", folder / "bundle.zip")
        began = perf_counter()
        ok = verify_bundle(folder / "bundle.zip").ok
        run |= {"batches": count, "build_seconds": round(built, 1), "verify_ok": ok,
                "verify_seconds": round(perf_counter() - began, 3)}
        found[label] = run
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/out/export.json"))
    parser.add_argument("--workdir", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run both measurements and write the JSON report; exit 0."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        report = {
            "scenario_v12": scenario_bundle(work, args.rounds),
            "many_batches": many_batches(work, args.batches),
            "cpus": os.cpu_count(),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
