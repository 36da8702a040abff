"""A deterministic generator of realistic provenance graphs at a given node count.

The shape follows the reference scenario (``lineage.services.scenario``), scaled out:

- people and pipelines (agents), a pool of features;
- datasets, each with a few immutable versions;
- models, each with a run of versions; every version has a feature snapshot over one to three
  dataset versions (new, or the previous version's), a training run, an evaluation, and is served
  by the model's deployment for a few weeks, producing one inference batch a day. Inference
  batches are the bulk of the nodes, as in production.

Fan-out is skewed: the dataset versions a snapshot reads, and the features it holds, are drawn
from Zipf-like weights over a shuffled catalogue, so a few dataset versions feed thousands of
snapshots and models while a typical one feeds a handful. Node properties have the shape the
registration services give them, so row sizes are realistic and the stream can be replayed
through :class:`lineage.services.registry.Registry` (see ``bench.registrations``).

Items stream out, every node before the first edge that needs it, so 1M nodes never sit in
memory. The same ``GraphConfig`` always yields the same items, in the same order.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice
from time import perf_counter_ns
from typing import Any, TypeVar

from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import to_text

Item = Node | Edge
T = TypeVar("T")
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
MIN_NODES = 200
DATASET_DAYS = 1_100  # dataset versions keep appearing while models are served


@dataclass(frozen=True, slots=True)
class GraphConfig:
    """What to generate. ``prefix`` keeps the IDs of two graphs in one store apart."""

    nodes: int
    seed: int = 20240125
    prefix: str = ""
    zipf_exponent: float = 1.1
    batch_deployment_edges: bool = True  # batch -WAS_ASSOCIATED_WITH-> deployment, as registered

    def __post_init__(self) -> None:
        if self.nodes < MIN_NODES:
            raise ValueError(f"nodes must be at least {MIN_NODES}")
        if self.prefix and not self.prefix.replace("_", "").isalnum():
            raise ValueError("prefix: letters, digits and '_' only")


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """A catalogue entry: a dataset version and when it appeared."""

    id: str
    dataset: str
    created: datetime
    content_hash: str


@dataclass(slots=True)
class Counts:
    """What has been emitted so far."""

    nodes: int = 0
    edges: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def content_hash(seed: int, label: str) -> str:
    """A stand-in content address, deterministic per seed."""
    return hashlib.sha256(f"lineage-bench/{seed}/{label}".encode()).hexdigest()


def zipf_cumulative(count: int, exponent: float) -> list[float]:
    """Cumulative Zipf weights for ranks 1..count, for ``random.choices(cum_weights=...)``."""
    return list(accumulate(1.0 / (rank**exponent) for rank in range(1, count + 1)))


def chunked(items: Iterator[Item], size: int) -> Iterator[tuple[list[Item], int]]:
    """The stream in lists of ``size`` items, each with the nanoseconds it took to generate."""
    while True:
        started = perf_counter_ns()
        chunk = list(islice(items, size))
        elapsed = perf_counter_ns() - started
        if not chunk:
            return
        yield chunk, elapsed


class ProvenanceGraph:
    """One synthetic graph: a small catalogue built up front, and :meth:`items` streamed."""

    def __init__(self, config: GraphConfig) -> None:
        self.config = config
        self.counts = Counts()
        n, p = config.nodes, config.prefix
        rng = random.Random(f"{config.seed}/catalogue")
        self.people = [f"person:{p}p{i:04d}" for i in range(max(6, n // 4_000))]
        self.training_pipelines = [
            f"pipeline:{p}training_{i:02d}" for i in range(max(1, n // 100_000))
        ]
        self.inference_pipelines = [
            f"pipeline:{p}inference_{i:02d}" for i in range(max(1, n // 100_000))
        ]
        self.features = [f"feature:{p}f{i:05d}" for i in range(max(16, n // 500))]
        # Each dataset publishes a version every week or two months until the end of the story;
        # a snapshot reads the version current at its time (sometimes a pinned older one).
        self.datasets: list[list[DatasetVersion]] = []
        for d in range(max(3, n // 2_000)):
            dataset = f"dataset:{p}ds{d:05d}"
            day = rng.uniform(0, 300)
            versions: list[DatasetVersion] = []
            while day < DATASET_DAYS and len(versions) < 40:
                dv_id = f"{dataset}@v{len(versions) + 1}"
                created = EPOCH + timedelta(days=day, hours=6)
                versions.append(
                    DatasetVersion(dv_id, dataset, created, content_hash(config.seed, dv_id))
                )
                day += rng.uniform(7, 60)
            self.datasets.append(versions)
        # Popularity: Zipf weights over the shuffled datasets.
        self._popular_datasets = list(self.datasets)
        rng.shuffle(self._popular_datasets)
        self._dataset_cum = zipf_cumulative(len(self.datasets), config.zipf_exponent)
        self._feature_order = list(self.features)
        rng.shuffle(self._feature_order)
        self._feature_cum = zipf_cumulative(len(self._feature_order), 1.0)
        # How many snapshots read each dataset version: filled in as items() streams.
        self.snapshot_fanout: Counter[str] = Counter()

    @property
    def dataset_versions(self) -> list[DatasetVersion]:
        """Every dataset version, dataset by dataset."""
        return [dv for versions in self.datasets for dv in versions]

    def start_nodes(self, popular: int, typical: int, seed: int = 0) -> dict[str, list[str]]:
        """Dataset versions to start downstream traversals from, once :meth:`items` has run.

        ``popular``: drawn from the top 1% by snapshot fan-out; ``typical``: from the middle half
        of the dataset versions that feed at least one snapshot.
        """
        used = sorted(self.snapshot_fanout.items(), key=lambda kv: (-kv[1], kv[0]))
        if not used:
            raise ValueError("no dataset version feeds a snapshot: consume items() first")
        rng = random.Random(f"{self.config.seed}/{seed}/starts")
        top = [dv for dv, _ in used[: max(popular, len(used) // 100)]]
        middle = [dv for dv, _ in used[len(used) // 4 : max(len(used) * 3 // 4, 1)]]
        return {
            "popular": rng.sample(top, min(popular, len(top))),
            "typical": rng.sample(middle, min(typical, len(middle))),
        }

    # -- the stream ----------------------------------------------------------------------------

    def items(self) -> Iterator[Item]:
        """Every node and edge; nodes come before the edges that refer to them."""
        self.counts = Counts()
        self.snapshot_fanout.clear()
        rng = random.Random(f"{self.config.seed}/stream")
        yield from self._count(self._agents())
        yield from self._count(self._catalogue())
        model = 0
        while self.counts.nodes < self.config.nodes:
            yield from self._count(self._model(rng, model))
            model += 1

    def _count(self, items: Iterator[Item]) -> Iterator[Item]:
        counts = self.counts
        for item in items:
            if isinstance(item, Node):
                counts.nodes += 1
                counts.by_kind[item.kind.value] = counts.by_kind.get(item.kind.value, 0) + 1
            else:
                counts.edges += 1
            yield item

    def _full(self) -> bool:
        return self.counts.nodes >= self.config.nodes

    def _agents(self) -> Iterator[Item]:
        since = EPOCH - timedelta(days=180)
        for i, person in enumerate(self.people):
            props = {"name": f"Person {i}", "title": "ML engineer"}
            manager = self.people[(i - 1) // 5] if i else None
            if manager is not None:
                props["manager"] = manager
            yield Node(person, NodeKind.PERSON, since, props)
            if manager is not None:
                yield Edge(person, EdgeKind.ACTED_ON_BEHALF_OF, manager)
        for i, pipeline in enumerate(self.training_pipelines + self.inference_pipelines):
            owner = self.people[i % len(self.people)]
            yield Node(pipeline, NodeKind.PIPELINE, since, {"name": pipeline, "owner": owner})
            yield Edge(pipeline, EdgeKind.ACTED_ON_BEHALF_OF, owner)

    def _catalogue(self) -> Iterator[Item]:
        for feature in self.features:
            yield Node(feature, NodeKind.FEATURE, EPOCH, {"name": feature.split(":", 1)[1]})
        for versions in self.datasets:
            first = versions[0]
            name = first.dataset.split(":", 1)[1]
            yield Node(first.dataset, NodeKind.DATASET, first.created, {"name": name})
            for dv in versions:
                props = {
                    "content_hash": dv.content_hash,
                    "record_count": 10_000 + int(dv.content_hash[:6], 16) % 2_000_000,
                    "uri": f"s3://bench-data/{dv.id.split(':', 1)[1].replace('@', '/')}/",
                    "version": dv.id.rsplit("@", 1)[1],
                }
                yield Node(dv.id, NodeKind.DATASET_VERSION, dv.created, props)
                yield Edge(dv.id, EdgeKind.SPECIALIZATION_OF, dv.dataset)

    def _pick(self, rng: random.Random, pool: Sequence[T], cum: list[float], k: int) -> list[T]:
        picked: dict[T, None] = {}
        for _ in range(4):  # a few redraws are enough to fill k distinct picks in practice
            for item in rng.choices(pool, cum_weights=cum, k=k):
                picked.setdefault(item, None)
            if len(picked) >= k:
                break
        return list(picked)[:k]

    def _model(self, rng: random.Random, m: int) -> Iterator[Item]:
        seed, p = self.config.seed, self.config.prefix
        name = f"{p}m{m:05d}"
        model_id = f"model:{name}"
        owner, steward, approver = rng.sample(self.people, 3)
        since = EPOCH + timedelta(days=rng.uniform(200, 360))
        yield Node(
            model_id,
            NodeKind.MODEL,
            since,
            {
                "description": f"Synthetic decision model {m}",
                "owner": owner,
                "technical_steward": steward,
                "risk_approver": approver,
            },
        )
        for role, person in (
            ("owner", owner),
            ("technical_steward", steward),
            ("risk_approver", approver),
        ):
            yield Edge(model_id, EdgeKind.WAS_ATTRIBUTED_TO, person, {"role": role}, since)
        serve_from = EPOCH + timedelta(days=365 + rng.randrange(240), hours=9)
        deployment = f"deployment:{name}_prod"
        yield Node(
            deployment,
            NodeKind.DEPLOYMENT,
            serve_from,
            {"model": model_id, "environment": "production"},
        )
        versions = 1 + min(int(rng.expovariate(1 / 4)), 24)
        trainer = rng.choice(self.training_pipelines)
        snapshot: Node | None = None
        for k in range(1, versions + 1):
            if self._full():
                return
            days = rng.randint(5, 40)
            serve_to = serve_from + days * DAY if k < versions else None
            if snapshot is None or rng.random() < 0.8:
                snapshot = yield from self._snapshot(rng, f"{name}_v{k}", serve_from - 3 * DAY)
            mv = f"{model_id}@v{k}"
            run = f"run:{name}_v{k}"
            commit = content_hash(seed, run)[:12]
            sources: list[str] = snapshot.props["sources"]
            dv_hashes = {s: content_hash(seed, s) for s in sources}
            started, ended = serve_from - 2 * DAY, serve_from - DAY
            available = 50_000 + rng.randrange(2_000_000)
            yield Node(
                run,
                NodeKind.TRAINING_RUN,
                started,
                {
                    "model_version": mv,
                    "snapshot": snapshot.id,
                    "code_commit": commit,
                    "parameters": {
                        "algorithm": "gradient_boosting",
                        "max_depth": rng.randint(3, 10),
                        "learning_rate": rng.choice([0.01, 0.03, 0.05, 0.1]),
                    },
                    "split": {"train": 0.8, "test": 0.2},
                    "seed": 42,
                    "records_available": available,
                    "records_used": available * 4 // 5,
                    "triggered_by": trainer,
                    "reason": "scheduled retrain",
                    "ended_at": to_text(ended),
                    "datasets": dv_hashes,
                    "snapshot_hash": snapshot.props["content_hash"],
                },
            )
            yield Edge(
                run, EdgeKind.USED, snapshot.id, {"content_hash": snapshot.props["content_hash"]}
            )
            for source, hash_ in dv_hashes.items():
                yield Edge(run, EdgeKind.USED, source, {"content_hash": hash_})
            yield Edge(run, EdgeKind.WAS_ASSOCIATED_WITH, trainer, {"role": "triggered_by"})
            yield Node(
                mv,
                NodeKind.MODEL_VERSION,
                ended,
                {
                    "model": model_id,
                    "version": f"v{k}",
                    "training_run": run,
                    "snapshot": snapshot.id,
                    "code_commit": commit,
                },
            )
            yield Edge(mv, EdgeKind.WAS_GENERATED_BY, run)
            yield Edge(mv, EdgeKind.SPECIALIZATION_OF, model_id)
            evaluation = f"evaluation:{name}_v{k}"
            yield Node(
                evaluation,
                NodeKind.EVALUATION,
                ended + timedelta(hours=2),
                {
                    "model_version": mv,
                    "metrics": {
                        "auc": round(rng.uniform(0.7, 0.95), 4),
                        "disparate_impact": round(rng.uniform(0.75, 1.0), 4),
                    },
                    "evaluator": steward,
                },
            )
            yield Edge(evaluation, EdgeKind.USED, mv, {"role": "evaluated"})
            yield Edge(evaluation, EdgeKind.WAS_ASSOCIATED_WITH, steward, {"role": "evaluator"})
            yield Edge(
                deployment,
                EdgeKind.SERVED,
                mv,
                {"reason": "scheduled release"},
                valid_from=serve_from,
                valid_to=serve_to,
            )
            for day in range(days):
                if self._full():
                    return
                yield from self._batch(
                    rng, f"{name}_v{k}_d{day:03d}", mv, snapshot, deployment, serve_from + day * DAY
                )
            serve_from += days * DAY

    def _version_at(
        self, rng: random.Random, versions: list[DatasetVersion], at: datetime
    ) -> DatasetVersion:
        current = bisect_right([dv.created for dv in versions], at) - 1
        if current < 0:  # the dataset began after ``at``: its first version (kept rare)
            return versions[0]
        if rng.random() < 0.2:  # pinned to an older version
            current = max(0, current - rng.randint(1, 3))
        return versions[current]

    def _snapshot(
        self, rng: random.Random, name: str, created: datetime
    ) -> Generator[Item, None, Node]:
        snapshot_id = f"snapshot:{name}"
        ranks = range(len(self._popular_datasets))
        sources = [
            self._version_at(rng, self._popular_datasets[rank], created)
            for rank in self._pick(rng, ranks, self._dataset_cum, rng.choice((1, 2, 2, 3)))
        ]
        self.snapshot_fanout.update(dv.id for dv in sources)
        features = self._pick(rng, self._feature_order, self._feature_cum, rng.randint(4, 12))
        node = Node(
            snapshot_id,
            NodeKind.FEATURE_SNAPSHOT,
            created,
            {
                "content_hash": content_hash(self.config.seed, snapshot_id),
                "computed_by": "feast v3.1",
                "sources": [dv.id for dv in sources],
                "features": features,
                "record_count": 10_000 + rng.randrange(1_000_000),
            },
        )
        yield node
        for feature in features:
            yield Edge(snapshot_id, EdgeKind.HAD_MEMBER, feature)
        for dv in sources:
            yield Edge(snapshot_id, EdgeKind.WAS_DERIVED_FROM, dv.id)
        return node

    def _batch(
        self,
        rng: random.Random,
        name: str,
        mv: str,
        snapshot: Node,
        deployment: str,
        start: datetime,
    ) -> Iterator[Item]:
        batch_id = f"batch:{name}"
        count = rng.randint(1_000, 50_000)
        approved = int(count * rng.uniform(0.3, 0.7))
        features: list[str] = snapshot.props["features"][:4]
        props: dict[str, Any] = {
            "model_version": mv,
            "snapshot": snapshot.id,
            "window_end": to_text(start + DAY),
            "record_count": count,
            "counts": {"APPROVED": approved, "DECLINED": count - approved},
            "statistics": {
                "features": {
                    f.split(":", 1)[1]: {
                        "null_rate": round(rng.random() * 0.02, 4),
                        "min": 0,
                        "max": rng.randint(100, 1_000_000),
                    }
                    for f in features
                },
                "predictions": {"APPROVED": approved, "DECLINED": count - approved},
                "latency_ms": {"p50": rng.randint(10, 40), "p95": rng.randint(40, 120)},
                "overrides": rng.randint(0, count // 50),
            },
            "records_hash": content_hash(self.config.seed, batch_id),
            "deployment": deployment,
        }
        yield Node(batch_id, NodeKind.INFERENCE_BATCH, start, props)
        yield Edge(batch_id, EdgeKind.SCORED_WITH, mv, {"role": "model"})
        yield Edge(batch_id, EdgeKind.SCORED_WITH, snapshot.id, {"role": "features"})
        if self.config.batch_deployment_edges:
            yield Edge(batch_id, EdgeKind.WAS_ASSOCIATED_WITH, deployment)
