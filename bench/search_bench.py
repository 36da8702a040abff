"""The search benchmark: ``search`` at a generated graph size, beside raw SQLite queries.

    python -m bench.search_bench --nodes 1000000 [--runs 200] [--db PATH]
        [--out bench/out/search.json] [--compare-ingest]

Builds the store benchmark's generated graph (``bench.generate``) with raw store upserts (the
store writes the search index as it loads), or reuses ``--db``, then times
classes of searches an investigator types, each query through the service
(``lineage.services.search.search``, what the API calls), the store (``store.search``) and the
raw baseline on the same tables, back to back, alternating the order:

- **exact ID** (model versions, dataset versions, snapshots, runs, batches): raw ``WHERE id = ?``;
- **ID prefix** (``model:m0012``): raw one range of the ID index;
- **name prefix** without the kind (``m00123_v``): raw one range (the store tries every kind);
- **words**, a model's description (``synthetic decision model 4711``), a feature or a person:
  raw FTS5 ``MATCH ... ORDER BY rank LIMIT`` on the index alone (no join, no check);
- **common words** matching thousands to tens of thousands of nodes (``scheduled retrain``,
  ``feast``, ``v1``): the worst case of ranking by BM25 (SQLite ranks the newest matches when
  more than ``sqlite_search.MAX_RANKED`` match), same raw baseline (which ranks them all);
- **did you mean**: ``suggestions`` for a mistyped model version ID (no baseline).

``--compare-ingest`` also loads the graph into two more stores, chunk by chunk and alternating
which goes first, one with the search index writes switched off, and reports both load rates
(the index's cost on writes). A progress bar shows on a
terminal. Figures go to stdout (markdown) and ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter, perf_counter_ns
from typing import Any

from rich.console import Console
from rich.progress import Progress

from bench.generate import GraphConfig, ProvenanceGraph, chunked
from bench.report import latency
from bench.store_bench import machine, progress_bar
from lineage.model.graph import Node, NodeKind
from lineage.services.search import search, suggestions
from lineage.store import sqlite_search
from lineage.store.base import SearchQuery
from lineage.store.search_plan import words_of
from lineage.store.sqlite import SQLiteStore
from lineage.store.sqlite_search import TABLE, fts_query

HITS = 20
SAMPLE = 400  # IDs kept per kind while loading (reservoir), to draw queries from
QUERIES_PER_CLASS = 20
CLASSES = ("exact ID", "ID prefix", "name prefix", "words", "common words", "did you mean")


class Sampler:
    """A uniform sample of each kind's IDs as they stream past (reservoir sampling)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}/search-sample")
        self.seen: dict[NodeKind, int] = {}
        self.ids: dict[NodeKind, list[str]] = {}

    def add(self, node: Node) -> None:
        count = self.seen.get(node.kind, 0) + 1
        self.seen[node.kind] = count
        kept = self.ids.setdefault(node.kind, [])
        if len(kept) < SAMPLE:
            kept.append(node.id)
        else:
            slot = self.rng.randrange(count)
            if slot < SAMPLE:
                kept[slot] = node.id


@contextmanager
def index_writes(on: bool) -> Iterator[None]:
    """The store's search index writes as they are (``on``) or switched off (the baseline)."""
    real = sqlite_search.index_nodes
    if not on:
        sqlite_search.index_nodes = lambda _conn, _nodes: None
    try:
        yield
    finally:
        sqlite_search.index_nodes = real


def build(
    db: Path, nodes: int, seed: int, progress: Progress, plain_db: Path | None = None
) -> dict[str, Any]:
    """Load the generated graph with raw upserts; the store time and the ID sample. With
    ``plain_db``, each chunk also goes to a second store with the index writes switched off,
    alternating which goes first (the machine is shared: both see the same noise)."""
    stores = {True: SQLiteStore(f"sqlite:///{db}")}
    if plain_db is not None:
        stores[False] = SQLiteStore(f"sqlite:///{plain_db}")
    graph = ProvenanceGraph(GraphConfig(nodes=nodes, seed=seed))
    sampler = Sampler(seed)
    task = progress.add_task("load", total=nodes)
    spent = {on: 0 for on in stores}
    items = 0
    for i, (chunk, _) in enumerate(chunked(graph.items(), 20_000)):
        batch = [n for n in chunk if isinstance(n, Node)]
        edges = [e for e in chunk if not isinstance(e, Node)]
        for node in batch:
            sampler.add(node)
        for on in sorted(stores, reverse=i % 2 == 0):
            store = stores[on]
            with index_writes(on):
                started = perf_counter_ns()
                with store.transaction():
                    store.upsert_nodes(batch)
                    store.upsert_edges(edges)  # type: ignore[arg-type]
                spent[on] += perf_counter_ns() - started
        items += len(chunk)
        progress.update(task, completed=graph.counts.nodes)
    progress.remove_task(task)
    for store in stores.values():
        store.close()
    rates = {on: round(items / (ns / 1e9)) for on, ns in spent.items()}
    return {
        "nodes": graph.counts.nodes,
        "edges": graph.counts.edges,
        "store_seconds": round(spent[True] / 1e9, 1),
        "items_per_s": rates[True],
        "plain_items_per_s": rates.get(False),
        "sample": {k.value: v for k, v in sampler.ids.items()},
    }


def queries(sample: dict[str, list[str]], seed: int) -> dict[str, list[str]]:
    """The texts of each class, drawn from the sampled IDs."""
    rng = random.Random(f"{seed}/search-queries")

    def pick(*kinds: NodeKind) -> list[str]:
        pool = [i for k in kinds for i in sample.get(k.value, [])]
        return rng.sample(pool, min(QUERIES_PER_CLASS, len(pool)))

    exact = pick(
        NodeKind.MODEL_VERSION,
        NodeKind.DATASET_VERSION,
        NodeKind.FEATURE_SNAPSHOT,
        NodeKind.TRAINING_RUN,
        NodeKind.INFERENCE_BATCH,
    )
    prefix = [i[: max(len(i.partition(":")[0]) + 3, len(i) * 2 // 3)] for i in exact]
    name = [i.partition(":")[2] for i in exact]
    name_prefix = [n[: max(3, len(n) * 2 // 3)] for n in name]
    models = pick(NodeKind.MODEL)
    words = [f"synthetic decision model {int(m.rpartition('m')[2])}" for m in models[:8]]
    words += [f.partition(":")[2] for f in pick(NodeKind.FEATURE)[:6]]
    words += [f"person {int(p.rpartition('p')[2])}" for p in pick(NodeKind.PERSON)[:6]]
    common = ["scheduled retrain", "feast", "production", "synthetic decision", "v1"]
    typos = [v.replace("@v", "@", 1).replace("_v", "_", 1) for v in pick(NodeKind.MODEL_VERSION)]
    typos = [t[:-1] + "9" if t[-1] != "9" else t[:-1] + "8" for t in typos]
    return {
        "exact ID": exact,
        "ID prefix": prefix,
        "name prefix": name_prefix,
        "words": words,
        "common words": common,
        "did you mean": [t.replace("model:", "modle:", 1) for t in typos],
    }


def raw_call(conn: sqlite3.Connection, kind: str, text: str) -> Callable[[], object]:
    """The raw baseline of one query (see the module docstring)."""
    if kind == "exact ID":
        return lambda: conn.execute("SELECT * FROM nodes WHERE id = ?", (text,)).fetchall()
    if kind in ("ID prefix", "name prefix"):
        lo = text if kind == "ID prefix" else f"model:{text}"
        return lambda: conn.execute(
            "SELECT * FROM nodes WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (lo, lo + "\U0010ffff", HITS + 1),
        ).fetchall()
    match = fts_query(words_of(text))
    return lambda: conn.execute(
        f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ? ORDER BY rank LIMIT ?",
        (match, HITS + 1),
    ).fetchall()


def measure(
    db: Path, texts: dict[str, list[str]], runs: int, progress: Progress
) -> list[dict[str, Any]]:
    """p50/p95 per class: service, store and raw, back to back, alternating the order."""
    store = SQLiteStore(f"sqlite:///{db}")
    conn = sqlite3.connect(db)
    rows = []
    try:
        for kind in CLASSES:
            chosen = texts[kind]
            if not chosen:
                continue
            calls: dict[str, list[Callable[[], object]]] = {"service": [], "store": [], "raw": []}
            for text in chosen:
                if kind == "did you mean":
                    calls["service"].append(lambda t=text: suggestions(store, t))
                    continue
                calls["service"].append(lambda t=text: search(store, t, None, HITS))
                calls["store"].append(lambda t=text: store.search(SearchQuery(t, limit=HITS)))
                calls["raw"].append(raw_call(conn, kind, text))
            samples: dict[str, list[int]] = {k: [] for k in calls if calls[k]}
            hits: list[int] = []
            truncated = 0
            for text in chosen:  # warm-up, and what the searches find
                if kind != "did you mean":
                    page = store.search(SearchQuery(text, limit=HITS))
                    hits.append(len(page.hits))
                    truncated += page.truncated
            task = progress.add_task(f"search: {kind}", total=runs)
            order = list(samples)
            for run in range(runs):
                i = run % len(chosen)
                for name in order if run % 2 == 0 else reversed(order):
                    started = perf_counter_ns()
                    calls[name][i]()
                    samples[name].append(perf_counter_ns() - started)
                progress.update(task, advance=1)
            progress.remove_task(task)
            row: dict[str, Any] = {
                "class": kind,
                "queries": len(chosen),
                "examples": chosen[:3],
                "hits_median": sorted(hits)[len(hits) // 2] if hits else None,
                "truncated_share": round(truncated / len(hits), 2) if hits else None,
            }
            for name, values in samples.items():
                row[name] = latency(values)
            if "raw" in samples:
                row["service_vs_raw_p95"] = round(row["service"]["p95"] / row["raw"]["p95"], 2)
            rows.append(row)
    finally:
        conn.close()
        store.close()
    return rows


def table(nodes: int, rows: Sequence[dict[str, Any]]) -> str:
    """The figures as markdown."""
    lines = [
        "| graph nodes | class | queries | hits (median) | truncated | service p50 / p95 ms "
        "| store p50 / p95 ms | raw p50 / p95 ms | service / raw p95 |",
        "| ---: | --- | ---: | ---: | ---: | --- | --- | --- | ---: |",
    ]
    for row in rows:

        def ms(name: str, row: dict[str, Any] = row) -> str:
            figures = row.get(name)
            return f"{figures['p50']:.2f} / {figures['p95']:.2f}" if figures else "-"

        ratio = row.get("service_vs_raw_p95")
        lines.append(
            f"| {nodes:,} | {row['class']} | {row['queries']} | {row['hits_median'] or '-'} "
            f"| {row['truncated_share'] if row['truncated_share'] is not None else '-'} "
            f"| {ms('service')} | {ms('store')} | {ms('raw')} | {f'{ratio}x' if ratio else '-'} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=100_000, help="generated graph size")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per class")
    parser.add_argument("--seed", type=int, default=20240125)
    parser.add_argument("--db", default=None, help="build the store here once and reuse it")
    parser.add_argument("--out", default="bench/out/search.json", help="JSON results file")
    parser.add_argument("--workdir", default=None, help="where temporary stores go")
    parser.add_argument(
        "--compare-ingest", action="store_true", help="also load without the search triggers"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print markdown, write JSON."""
    args = parse_args(argv)
    console = Console(stderr=True)
    result: dict[str, Any] = {"machine": machine(), "nodes": args.nodes, "runs": args.runs}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp, progress_bar(console) as progress:
        db = Path(args.db) if args.db else Path(tmp) / "search.db"
        meta = Path(f"{db}.search-bench.json")
        if args.db and meta.exists() and db.exists():
            loaded = json.loads(meta.read_text())
            if (loaded["nodes_requested"], loaded["seed"]) != (args.nodes, args.seed):
                raise SystemExit(f"{db} holds another graph; remove it or pick another --db")
        else:
            started = perf_counter()
            loaded = build(db, args.nodes, args.seed, progress)
            loaded |= {"nodes_requested": args.nodes, "seed": args.seed}
            loaded["build_seconds"] = round(perf_counter() - started, 1)
            meta.write_text(json.dumps(loaded))
        result["graph"] = {k: v for k, v in loaded.items() if k != "sample"}
        if args.compare_ingest:
            both = build(Path(tmp) / "a.db", args.nodes, args.seed, progress, Path(tmp) / "b.db")
            result["ingest"] = {
                "with_index_items_per_s": both["items_per_s"],
                "without_index_items_per_s": both["plain_items_per_s"],
                "ratio": round(both["items_per_s"] / both["plain_items_per_s"], 2),
            }
        texts = queries(loaded["sample"], args.seed)
        result["classes"] = measure(db, texts, args.runs, progress)
    print(table(result["graph"]["nodes"], result["classes"]))
    if "ingest" in result:
        ingest = result["ingest"]
        print(
            f"\nload, raw upserts: {ingest['with_index_items_per_s']:,} nodes+edges/s with the "
            f"search index, {ingest['without_index_items_per_s']:,} without "
            f"({ingest['ratio']}x)"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
