"""The monitors benchmark: a scheduled run over 10,000 inference batches, and detection latency
from a batch's registration to its incident.

    python -m bench.monitors_bench [--batches 10000] [--out bench/out/monitors.json]

(a) **the scheduled run** (:func:`lineage.jobs.monitors.run`) over ``--batches`` batches of
    the lending model (24 decisions each, one a minute after the reference scenario), beside
    its baseline measured in the same run: reading those batches' statistics alone (every
    page of InferenceBatch nodes, statistics decoded). Also without the decision-volatility
    signal, which reads every batch's records file.
(b) **detection latency**: a batch approving applicants aged 65+ at 10% sent as the
    ``registerInferenceBatch`` mutation, then the ``incidents`` query until the incident lists
    the batch as evidence; target under 1 s. Both go through the whole ASGI app (endpoint,
    authentication, limits, the monitors' hook) in this process via Starlette's TestClient,
    not over a socket: the hook runs inside the mutation, so a socket adds the same constant
    to both requests and nothing to what is measured (``bench/README.md`` has the HTTP
    overhead of one request for this server: about 1 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics as stats
import tempfile
import warnings
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from lineage.graphql.app import create_app
from lineage.jobs.monitors import load_config, registration_hook, run
from lineage.model.graph import NodeKind
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, DEPLOYMENT, decisions, statistics
from lineage.services.scenario_loader import load_scenario
from lineage.services.tokens import Role, create_token
from lineage.store import GraphStore, NodeQuery, open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

JOBS = Path(__file__).resolve().parents[1] / "jobs"
START = datetime(2024, 1, 26, tzinfo=UTC)
V12 = "model:lending_approval@v12"
JAN20 = "snapshot:credit_model_training_2024_01_20"


def batch(i: int, rows: list[dict[str, Any]], prefix: str = "bench") -> dict[str, Any]:
    """The i-th one-minute batch of v12 after the scenario."""
    start = START + timedelta(minutes=i)
    return {
        "id": f"batch:{prefix}_{i:06d}",
        "model_version": V12,
        "snapshot": JAN20,
        "window_start": start,
        "window_end": start + timedelta(minutes=1),
        "record_count": len(rows),
        "counts": dict(Counter(r["decision"] for r in rows)),
        "statistics": statistics(rows),
        "records": rows,
        "deployment": DEPLOYMENT,
    }


def build(directory: Path, batches: int) -> tuple[GraphStore, RecordStore]:
    """The scenario plus ``batches`` ordinary v12 batches (registered without the hook)."""
    store = open_store(f"sqlite:///{directory}/monitors.db")
    records = RecordStore(directory / "records")
    registry = Registry(store, records, actor=DEMO_ACTOR)
    load_scenario(registry, monitors=registration_hook(load_config(JOBS)))
    for i in range(batches):
        registry.register_inference_batch(batch(i, decisions(f"bench/{i}", "v12")))
    return store, records


def read_statistics(store: GraphStore) -> int:
    """The baseline: every batch's statistics, decoded."""
    seen, cursor = 0, None
    while True:
        page = store.find_nodes(NodeQuery(kind=NodeKind.INFERENCE_BATCH, limit=1_000, after=cursor))
        seen += sum(1 for n in page.items if isinstance(n.props.get("statistics"), dict))
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def timed(call: Any) -> tuple[float, Any]:
    began = perf_counter()
    result = call()
    return perf_counter() - began, result


def scheduled_run(store: GraphStore, records: RecordStore, batches: int) -> dict[str, Any]:
    config = load_config(JOBS)
    signals = config.settings.signals
    quieter = replace(
        config,
        settings=config.settings.model_copy(
            update={
                "signals": signals.model_copy(
                    update={
                        "decision_volatility": signals.decision_volatility.model_copy(
                            update={"enabled": False}
                        )
                    }
                )
            }
        ),
    )
    now = START + timedelta(days=30)
    baseline, seen = timed(lambda: read_statistics(store))
    full, report = timed(lambda: run(store, records, now, config))
    without, _ = timed(lambda: run(store, records, now, quieter))
    return {
        "batches": seen,
        "baseline_read_statistics_s": round(baseline, 3),
        "baseline_batches_per_s": round(seen / baseline),
        "run_s": round(full, 3),
        "run_batches_per_s": round(seen / full),
        "run_without_volatility_s": round(without, 3),
        "run_without_volatility_batches_per_s": round(seen / without),
        "ratio_to_baseline": round(full / baseline, 1),
        "report": report.counts,
        "generated": batches,
    }


def detection(store: GraphStore, records: RecordStore, rounds: int) -> dict[str, Any]:
    pipeline = create_token(store, "pipeline:credit_training", [Role.PIPELINE], actor=DEMO_ACTOR)
    reader = create_token(store, "person:oncall_ml_engineer", [Role.READER], actor=DEMO_ACTOR)
    app = create_app(store, records, after_batch=[registration_hook(load_config(JOBS))])
    mutation = (
        "mutation R($input: InferenceBatchInput!) "
        "{ registerInferenceBatch(input: $input) { created } }"
    )
    query = '{ incidents(status: "open", model: "lending_approval") { id evidence } }'
    seconds, mutations = [], []
    with TestClient(app) as client:
        for i in range(rounds):
            rows = decisions(f"late/{i}", "v13", 200)  # 65+ approved at about 10%
            data = batch(100_000 + i, rows, "skewed")
            body = {k: v for k, v in data.items() if k not in {"window_start", "window_end"}}
            camel = {
                "id": body["id"],
                "modelVersion": V12,
                "snapshot": JAN20,
                "windowStart": data["window_start"].isoformat(),
                "windowEnd": data["window_end"].isoformat(),
                "recordCount": body["record_count"],
                "counts": body["counts"],
                "statistics": body["statistics"],
                "records": rows,
                "deployment": DEPLOYMENT,
            }
            began = perf_counter()
            sent = client.post(
                "/graphql",
                json={"query": mutation, "variables": {"input": camel}},
                headers={"Authorization": f"Bearer {pipeline.token}"},
            )
            mutations.append(perf_counter() - began)
            assert sent.status_code == 200 and "errors" not in sent.json(), sent.text
            while True:
                answer = client.post(
                    "/graphql",
                    json={"query": query},
                    headers={"Authorization": f"Bearer {reader.token}"},
                ).json()
                evidence = [
                    e["batch"] for i_ in answer["data"]["incidents"] for e in i_["evidence"]
                ]
                if data["id"] in evidence:
                    break
            seconds.append(perf_counter() - began)
    ordered = sorted(seconds)
    return {
        "rounds": rounds,
        "detection_p50_ms": round(stats.median(seconds) * 1000, 1),
        "detection_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
        "mutation_p50_ms": round(stats.median(mutations) * 1000, 1),
        "target": "< 1 s",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        began = perf_counter()
        store, records = build(Path(directory), args.batches)
        built = perf_counter() - began
        try:
            result = {
                "build_s": round(built, 1),
                "scheduled_run": scheduled_run(store, records, args.batches),
                "detection": detection(store, records, args.rounds),
            }
        finally:
            store.close()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
