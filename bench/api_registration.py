"""Sustained registration through the API: concurrent clients posting ``registerInferenceBatch``.

Each client is a thread with its own keep-alive connection and the pipeline token, registering
batches with their decisions inline (the saved operation of ``graphql/queries``), one after the
other, for a fixed time. Every batch has an ID unique to the run and binds a model version, the
snapshot it was trained on and the deployment serving it, all from the generated graph. A
failure of any kind (transport, HTTP status, GraphQL error, a batch not created) is an error;
afterwards every batch the API acknowledged is looked up in the store, then removed.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from time import perf_counter, perf_counter_ns
from typing import Any

from rich.progress import Progress

from bench import report
from bench.api_graph import BatchTarget
from bench.api_server import ApiError, GraphQLClient, saved_operation
from bench.store_bench import ACTOR
from lineage.model.graph import NodeKind
from lineage.model.times import to_text
from lineage.services.audit import append_event, edge_subject, node_subject
from lineage.store.base import MAX_PAGE, EdgeQuery, GraphStore


@dataclass(frozen=True)
class Load:
    """How hard to push: concurrent clients, seconds, decisions per batch."""

    clients: int = 8
    duration: float = 30.0
    records_per_batch: int = 20


@dataclass(slots=True)
class Tally:
    """What one client saw."""

    latencies_ns: list[int] = field(default_factory=list)  # timed requests, failed or not
    timed_ok: int = 0
    registered: list[str] = field(default_factory=list)  # every batch acknowledged
    audit_seqs: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Window:
    """The timed interval, opened once every client is connected and warmed up."""

    started: float = 0.0
    deadline: float = 0.0


def batch_input(batch_id: str, target: BatchTarget, at: datetime, size: int) -> dict[str, Any]:
    """A registerInferenceBatch input with ``size`` decisions inline, unique to ``batch_id``."""
    rng = random.Random(batch_id)
    name = batch_id.split(":", 1)[1]
    records = [
        {
            "applicant_id": f"{name}_{i:04d}",
            "decision": "APPROVED" if rng.random() < 0.55 else "DECLINED",
            "confidence": round(rng.uniform(0.5, 0.99), 2),
            "age_band": rng.choice(("18-34", "35-49", "50-64", "65+")),
        }
        for i in range(size)
    ]
    counts = Counter(str(r["decision"]) for r in records)
    return {
        "id": batch_id,
        "modelVersion": target.model_version,
        "snapshot": target.snapshot,
        "deployment": target.deployment,
        "windowStart": to_text(at),
        "windowEnd": to_text(at + timedelta(minutes=1)),
        "recordCount": size,
        "counts": dict(sorted(counts.items())),
        "statistics": {"latency_ms": {"p50": rng.randint(10, 40), "p95": rng.randint(40, 120)}},
        "records": records,
    }


class Client:
    """One registering client: a thread, a connection, a tally."""

    def __init__(
        self,
        base_url: str,
        token: str,
        index: int,
        targets: list[BatchTarget],
        load: Load,
        run_tag: str,
    ) -> None:
        self.base_url = base_url
        self.token = token
        self.index = index
        self.targets = targets
        self.load = load
        self.run_tag = run_tag
        self.query = saved_operation("register_inference_batch")
        self.tally = Tally()

    def run(self, barrier: threading.Barrier, window: Window) -> None:
        """A warm-up registration, then register batches until the window closes."""
        with GraphQLClient(self.base_url, self.token) as client:
            self.register(client, 0)  # opens the connection; not timed, but an error counts
            barrier.wait()
            n = 1
            while perf_counter() < window.deadline:
                elapsed, ok = self.register(client, n)
                self.tally.latencies_ns.append(elapsed)
                self.tally.timed_ok += ok
                n += 1

    def register(self, client: GraphQLClient, n: int) -> tuple[int, bool]:
        """Register this client's ``n``-th batch: (nanoseconds, whether it was created)."""
        batch_id = f"batch:apibench_{self.run_tag}_c{self.index:02d}_{n:06d}"
        # Clients walk the targets in step, so concurrent batches bind different versions.
        target = self.targets[(self.index + n * self.load.clients) % len(self.targets)]
        # Inside the target's open serving window and in the past: a batch must be attributed
        # to a deployment serving its version then, and no registration is dated in the future.
        at = target.serving_since + timedelta(days=self.index, seconds=n)
        variables = {"input": batch_input(batch_id, target, at, self.load.records_per_batch)}
        started = perf_counter_ns()
        try:
            answer = client.call(self.query, variables)["registerInferenceBatch"]
            elapsed = perf_counter_ns() - started
            if answer["batch"]["id"] != batch_id or not answer["created"]:
                raise ApiError(f"not registered as a new batch: {answer}")
            seq = int(answer["auditSeq"])
        except Exception as exc:  # every failure is counted, whatever raised it
            self.tally.errors.append(f"{batch_id}: {type(exc).__name__}: {exc}")
            return perf_counter_ns() - started, False
        self.tally.registered.append(batch_id)
        self.tally.audit_seqs.append(seq)
        return elapsed, True


def measure_registration(
    base_url: str, token: str, targets: list[BatchTarget], load: Load, progress: Progress
) -> tuple[dict[str, Any], list[str]]:
    """``load.clients`` clients registering for ``load.duration`` seconds.

    Returns the summary and the IDs of every batch the API acknowledged.
    """
    now = datetime.now(UTC)
    run_tag = f"{now:%Y%m%d%H%M%S}_{secrets.token_hex(2)}"
    # Client i's windows start i days into the serving window, one second apart.
    targets = [t for t in targets if t.serving_since + timedelta(days=load.clients + 1) < now]
    if not targets:
        raise RuntimeError("no sampled deployment has served its version long enough")
    window = Window()

    def open_window() -> None:
        window.started = perf_counter()
        window.deadline = window.started + load.duration

    barrier = threading.Barrier(load.clients + 1, action=open_window)
    clients = [Client(base_url, token, i, targets, load, run_tag) for i in range(load.clients)]
    threads = [
        threading.Thread(target=c.run, args=(barrier, window), name=f"register-{c.index}")
        for c in clients
    ]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=300)
    task = progress.add_task(f"registerInferenceBatch, {load.clients} clients", total=load.duration)
    while any(t.is_alive() for t in threads):
        progress.update(task, completed=min(perf_counter() - window.started, load.duration))
        time.sleep(0.2)
    for thread in threads:
        thread.join()
    wall = perf_counter() - window.started
    progress.remove_task(task)
    tallies = [c.tally for c in clients]
    latencies = [ns for t in tallies for ns in t.latencies_ns]
    errors = [e for t in tallies for e in t.errors]
    registered = [b for t in tallies for b in t.registered]
    seqs = [s for t in tallies for s in t.audit_seqs]
    batches = sum(t.timed_ok for t in tallies)
    summary = {
        "clients": load.clients,
        "duration_s": load.duration,
        "wall_s": wall,
        "records_per_batch": load.records_per_batch,
        "requests": len(latencies) + load.clients,  # with one warm-up per client
        "batches": batches,
        "batches_per_s": batches / wall if wall else 0.0,
        "records_per_s": batches * load.records_per_batch / wall if wall else 0.0,
        "latency": report.latency(latencies) if latencies else None,
        "errors": len(errors),
        "error_samples": errors[:5],
        "acknowledged": len(registered),
        "audit_seqs_unique": len(set(seqs)) == len(seqs),
        "run_tag": run_tag,
    }
    return summary, registered


def remove_batches(store: GraphStore, registered: list[str]) -> int:
    """Delete the batches a run registered, and their edges, as retention would: audited.

    A reused graph then stays the one the generator built, so runs on it stay comparable; the
    audit log keeps the registrations and records their removal, so ``lineage verify`` holds.
    """
    with store.transaction():
        deleted: list[str] = []
        for offset in range(0, len(registered), MAX_PAGE):
            page = registered[offset : offset + MAX_PAGE]
            deleted += [node_subject(i) for i in store.get_nodes(page)]
            for batch in page:  # a batch has a handful of edges: one page each way
                for query in (EdgeQuery(src=batch), EdgeQuery(dst=batch)):
                    deleted += [edge_subject(e) for e in store.find_edges(query).items]
        removed = sum(
            store.delete_nodes(registered[offset : offset + MAX_PAGE])
            for offset in range(0, len(registered), MAX_PAGE)
        )
        append_event(
            store,
            actor=ACTOR,
            action="delete",
            reason="api benchmark: remove the batches this run registered",
            deleted=deleted,
        )
        return removed


def stored_check(store: GraphStore, registered: list[str]) -> dict[str, int]:
    """How many acknowledged batches the store holds as inference batches, and how many not."""
    found = 0
    for offset in range(0, len(registered), MAX_PAGE):
        nodes = store.get_nodes(registered[offset : offset + MAX_PAGE])
        found += sum(1 for n in nodes.values() if n.kind is NodeKind.INFERENCE_BATCH)
    return {"stored": found, "missing": len(registered) - found}
