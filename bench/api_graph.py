"""The graph the API benchmark serves: generated into a SQLite file once, reusable across runs.

The graph is the store benchmark's (``bench.generate``, loaded through the batch API in the same
5,000-item chunks). Building 1M nodes takes minutes, so a file built with ``--db`` is kept, with
a sidecar JSON describing it (the generator's config, counts and snapshot fan-out, from which the
store benchmark's start nodes follow); the sidecar is written last, so a file without one is a
build that did not finish and is refused.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.console import Console

from bench.generate import GraphConfig, ProvenanceGraph, chunked
from bench.store_bench import ACTOR, progress_bar, register_actor
from bench.store_bench import Settings as StoreSettings
from lineage.model.graph import Direction, EdgeKind, NodeKind
from lineage.services.bulk import load
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Role, create_token
from lineage.store.base import MAX_PAGE, NodeQuery, TraversalSpec
from lineage.store.sqlite import SQLiteStore

LOAD_CHUNK = StoreSettings.batch_size  # the store benchmark's chunks


@dataclass(frozen=True)
class BuiltGraph:
    """A generated graph in a SQLite file, and what the benchmark needs to know about it."""

    path: Path
    config: GraphConfig
    nodes: int
    edges: int
    nodes_by_kind: dict[str, int]
    snapshot_fanout: dict[str, int]
    build_seconds: float | None = None  # None: an earlier run built it

    @property
    def uri(self) -> str:
        """The store URI of the file."""
        return f"sqlite:///{self.path}"

    def start_nodes(self, popular: int, typical: int) -> dict[str, list[str]]:
        """The store benchmark's start nodes for this graph (same config, same choice)."""
        graph = ProvenanceGraph(self.config)
        graph.snapshot_fanout.update(self.snapshot_fanout)
        return graph.start_nodes(popular, typical, self.config.seed)

    def summary(self) -> dict[str, Any]:
        """For the JSON report."""
        return {
            "path": str(self.path),
            "nodes": self.nodes,
            "edges": self.edges,
            "nodes_by_kind": self.nodes_by_kind,
            "db_bytes": self.path.stat().st_size,
            "build_seconds": self.build_seconds,
            "reused": self.build_seconds is None,
        }


def sidecar(path: Path) -> Path:
    """Where the description of a built graph is kept, beside the database."""
    return path.with_name(path.name + ".bench.json")


def build_graph(path: Path, config: GraphConfig, console: Console) -> BuiltGraph:
    """Generate the graph into a new SQLite file through the batch API, as the store bench does."""
    if path.exists():
        raise FileExistsError(f"{path} exists; pass it with --db to reuse it, or remove it")
    graph = ProvenanceGraph(config)
    started = perf_counter()
    store = SQLiteStore(f"sqlite:///{path}")
    try:
        register_actor(store, RecordStore(path.parent / "records"))
        with progress_bar(console) as progress:
            task = progress.add_task(f"generate + load {config.nodes:,} nodes", total=config.nodes)
            for chunk, _ in chunked(graph.items(), LOAD_CHUNK):
                load(store, chunk, actor=ACTOR, reason="api benchmark graph", batch_size=LOAD_CHUNK)
                progress.update(task, completed=graph.counts.nodes)
    finally:
        store.close()
    built = BuiltGraph(
        path=path,
        config=config,
        nodes=graph.counts.nodes,
        edges=graph.counts.edges,
        nodes_by_kind=dict(sorted(graph.counts.by_kind.items())),
        snapshot_fanout=dict(graph.snapshot_fanout),
        build_seconds=perf_counter() - started,
    )
    # Written last: a database without its sidecar is a build that did not finish.
    description = {
        "config": asdict(config),
        "nodes": built.nodes,
        "edges": built.edges,
        "nodes_by_kind": built.nodes_by_kind,
        "snapshot_fanout": built.snapshot_fanout,
        "build_seconds": built.build_seconds,
        "built": datetime.now(UTC).isoformat(),
    }
    sidecar(path).write_text(json.dumps(description) + "\n")
    return built


def open_graph(path: Path, config: GraphConfig) -> BuiltGraph:
    """A graph an earlier run built at ``path``, checked to be the one ``config`` asks for."""
    try:
        description = json.loads(sidecar(path).read_text())
    except FileNotFoundError:
        raise SystemExit(
            f"{path} has no {sidecar(path).name}: it was not built by this benchmark, or its "
            "build did not finish; remove it or give another --db"
        ) from None
    built_config = GraphConfig(**description["config"])
    if built_config != config:
        raise SystemExit(f"{path} holds {built_config}, not {config}; give another --db")
    return BuiltGraph(
        path=path,
        config=built_config,
        nodes=description["nodes"],
        edges=description["edges"],
        nodes_by_kind=description["nodes_by_kind"],
        snapshot_fanout=description["snapshot_fanout"],
    )


@dataclass(frozen=True, slots=True)
class BatchTarget:
    """What a registered inference batch binds: a model version, its snapshot, a deployment
    serving that version since ``serving_since`` (and still)."""

    model_version: str
    snapshot: str
    deployment: str
    serving_since: datetime


@dataclass(slots=True)
class Sample:
    """Models to ask trainingProvenance about, and versions to register batches against."""

    provenance: list[tuple[str, datetime]] = field(default_factory=list)  # (model, as of)
    targets: list[BatchTarget] = field(default_factory=list)


def sample_models(store: SQLiteStore, seed: int, models: int, instants: int) -> Sample:
    """Up to ``models`` models with served versions, each at ``instants`` instants when one of
    its versions was serving, and every served version of them as a batch target."""
    rng = random.Random(f"{seed}/api/models")
    candidates = store.find_nodes(NodeQuery(kind=NodeKind.MODEL, limit=MAX_PAGE)).items
    sample = Sample()
    chosen = 0
    for model in rng.sample(candidates, len(candidates)):
        # The walk trainingProvenance starts with: model <- version <- deployment.
        walk = store.traverse(
            TraversalSpec(
                model.id,
                Direction.IN,
                edge_kinds=frozenset({EdgeKind.SPECIALIZATION_OF, EdgeKind.SERVED}),
                max_depth=2,
            )
        )
        served = [e for e in walk.edges if e.kind is EdgeKind.SERVED and e.valid_from]
        if not served:
            continue  # the generator's last model can stop before its first version
        for edge in rng.sample(served, min(instants, len(served))):
            assert edge.valid_from is not None
            until = edge.valid_to or edge.valid_from + timedelta(days=2)
            sample.provenance.append((model.id, edge.valid_from + (until - edge.valid_from) / 2))
        nodes = {n.id: n for n in walk.nodes}
        # A batch must be attributed to a deployment serving its version for its whole window:
        # the version each deployment still serves, whose window has no end.
        for edge in (e for e in served if e.valid_to is None):
            snapshot = nodes[edge.dst].props.get("snapshot")
            if isinstance(snapshot, str):
                sample.targets.append(BatchTarget(edge.dst, snapshot, edge.src, edge.valid_from))
        chosen += 1
        if chosen == models:
            break
    if not sample.provenance or not sample.targets:
        raise RuntimeError("no model in the graph has a served version")
    return sample


def issue_tokens(store: SQLiteStore, records: RecordStore) -> dict[Role, str]:
    """A reader token for a person and a pipeline token for an inference pipeline."""
    register_actor(store, records)  # a graph built before agents had to be registered lacks it
    person = store.find_nodes(NodeQuery(kind=NodeKind.PERSON, limit=1)).items[0]
    pipelines = store.find_nodes(NodeQuery(kind=NodeKind.PIPELINE, limit=MAX_PAGE)).items
    pipeline = next((p for p in pipelines if "inference" in p.id), pipelines[0])
    return {
        role: create_token(store, principal, [role], actor=ACTOR, label="api benchmark").token
        for role, principal in ((Role.READER, person.id), (Role.PIPELINE, pipeline.id))
    }
