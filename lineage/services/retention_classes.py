"""Retention classes: how long decisions are kept, and which class a batch of decisions takes.

A class comes from the governance metadata registered on each dataset version
(``retention_class``; with ``consent_basis`` and ``sensitivity``, see
:class:`lineage.model.records.DatasetVersionRecord`). What is derived from data takes the
*strictest* class of everything upstream of it, the strictest being the one that keeps longest:
a batch scored by a model version keeps the classes of the dataset versions behind its feature
snapshot and behind the model version's training run (its snapshot and the datasets it bound).

The class is computed when pruning, not copied onto derived nodes at registration: a period in
``jobs/retention.toml`` can change and the class of a dataset version can be corrected, and a
copy on an immutable node would go stale. Computing it costs one read per *distinct* model
version, run, snapshot and dataset version (memoised for a run, read in batches), not per batch:
on the benchmark graph (825k batches over 37k model versions) that is a few percent of the
pruning time (bench/README.md, "Retention").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import get_args

from lineage.errors import InvalidError
from lineage.model.graph import Node
from lineage.model.ids import parse_id
from lineage.model.record_fields import ConsentBasis, Sensitivity
from lineage.model.times import from_text
from lineage.services.corrected import CorrectedReads
from lineage.store.base import GraphStore

# The documented values of the metadata a dataset version may carry (its input record's types).
CONSENT_BASES: tuple[str, ...] = get_args(ConsentBasis)
SENSITIVITIES: tuple[str, ...] = get_args(Sensitivity)


@dataclass(frozen=True, slots=True)
class RetentionClass:
    """A class and its period: calendar years plus days after a batch's window end."""

    name: str
    years: int = 0
    days: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        if self.years < 0 or self.days < 0 or self.years + self.days == 0:
            raise InvalidError(
                f"retention class {self.name!r} needs a positive period", field="classes"
            )

    def expires(self, end: datetime) -> datetime:
        """The instant after which what ended at ``end`` may be pruned."""
        year = end.year + self.years
        try:
            moved = end.replace(year=year)
        except ValueError:  # 29 February in a year without one: the last day of February
            moved = end.replace(year=year, day=28)
        return moved + timedelta(days=self.days)

    @property
    def period(self) -> str:
        """The period in words, e.g. ``7 years``."""
        parts = [f"{self.years} year{'s' * (self.years != 1)}"] if self.years else []
        parts += [f"{self.days} day{'s' * (self.days != 1)}"] if self.days else []
        return " ".join(parts)

    def describe(self) -> dict[str, object]:
        """What a tombstone and an audit payload record of the policy applied."""
        return {"class": self.name, "years": self.years, "days": self.days}


@dataclass(frozen=True, slots=True)
class Policy:
    """The classes in force and the class of data registered without one."""

    classes: Mapping[str, RetentionClass]
    default_class: str

    def __post_init__(self) -> None:
        if self.default_class not in self.classes:
            raise InvalidError(
                f"default_class {self.default_class!r} is not one of the classes",
                field="default_class",
            )

    def cutoff(self, now: datetime) -> datetime:
        """No batch whose window starts at or after this instant can have expired at ``now``
        (a year is at least 365 days), so a pruning run reads no later batch."""
        shortest = min(c.years * 365 + c.days for c in self.classes.values())
        return now - timedelta(days=shortest)


@dataclass(frozen=True, slots=True)
class Lineage:
    """What one batch's decisions depend on: ``upstream`` is every node ID above the batch (its
    deployment, model version and model, the snapshots, the training run, the dataset versions
    and datasets, the features), one set shared by every batch of the same version, snapshot
    and deployment; ``dataset_versions`` are those whose classes it takes."""

    batch: str
    upstream: frozenset[str]
    dataset_versions: frozenset[str]

    @property
    def ids(self) -> frozenset[str]:
        """The batch and everything upstream of it."""
        return self.upstream | {self.batch}


@dataclass(frozen=True, slots=True)
class Classified:
    """A batch's class: the strictest of its upstream (``unknown`` when one is not in the
    configuration, so the batch cannot be judged and is kept)."""

    retention: RetentionClass | None
    expires: datetime | None
    unknown: frozenset[str] = frozenset()


@dataclass(slots=True)
class Upstream:
    """Resolves batches to their lineage and class, reading each upstream node once."""

    store: GraphStore
    policy: Policy | None  # None: lineages only (erasure needs no class)
    now: datetime
    _reads: CorrectedReads | None = None
    _nodes: dict[str, Node | None] = field(default_factory=dict)
    _shared: dict[tuple[str | None, ...], tuple[frozenset[str], frozenset[str]]] = field(
        default_factory=dict
    )

    def lineages(self, batches: Iterable[Node]) -> dict[str, Lineage]:
        """The lineage of each batch, in four batched reads of what was not read before (model
        versions and snapshots, runs, training snapshots, dataset versions)."""
        batches = list(batches)
        new = list({_key(b): b for b in batches if _key(b) not in self._shared}.values())
        self._load(p for b in new for p in (_text(b, "model_version"), _text(b, "snapshot")))
        self._load(_text(self._version_of(b), "training_run") for b in new)
        self._load(s for b in new for s in self._snapshots_of(b))
        self._load(dv for b in new for dv in self._dataset_versions_of(b))
        for batch in new:
            self._shared[_key(batch)] = self._upstream(batch)
        return {b.id: Lineage(b.id, *self._shared[_key(b)]) for b in batches}

    def classify(self, batch: Node, lineage: Lineage) -> Classified:
        """The strictest class of the dataset versions upstream of ``batch``."""
        policy = self.policy
        assert policy is not None, "classify needs a policy"
        names = {self._class_of(dv, policy) for dv in lineage.dataset_versions}
        names = names or {policy.default_class}
        unknown = frozenset(n for n in names if n not in policy.classes)
        if unknown:
            return Classified(None, None, unknown)
        end = window_end(batch)
        strictest = max((policy.classes[n] for n in names), key=lambda c: (c.expires(end), c.name))
        return Classified(strictest, strictest.expires(end))

    # -- reading ---------------------------------------------------------------------------

    @property
    def reads(self) -> CorrectedReads:
        """Corrected reads: a corrected class applies from the correction on."""
        if self._reads is None:
            self._reads = CorrectedReads(self.store, self.now)
        return self._reads

    def _load(self, ids: Iterable[str | None]) -> None:
        missing = sorted({i for i in ids if i and i not in self._nodes})
        for start in range(0, len(missing), 1_000):
            chunk = missing[start : start + 1_000]
            found = self.reads.get_nodes(chunk)
            for node_id in chunk:
                self._nodes[node_id] = found.get(node_id)

    def _snapshots_of(self, batch: Node) -> list[str]:
        run = self._run_of(batch)
        found = [_text(batch, "snapshot"), _text(run, "snapshot")]
        return [s for s in found if s]

    def _version_of(self, batch: Node) -> Node | None:
        return self._nodes.get(_text(batch, "model_version") or "")

    def _run_of(self, batch: Node) -> Node | None:
        return self._nodes.get(_text(self._version_of(batch), "training_run") or "")

    def _dataset_versions_of(self, batch: Node) -> set[str]:
        found: set[str] = set()
        run = self._run_of(batch)
        if run is not None and isinstance(run.props.get("datasets"), dict):
            found |= {str(d) for d in run.props["datasets"]}
        for snapshot_id in self._snapshots_of(batch):
            snapshot = self._nodes.get(snapshot_id)
            if snapshot is not None:
                found |= {str(s) for s in snapshot.props.get("sources", [])}
        return found

    def _upstream(self, batch: Node) -> tuple[frozenset[str], frozenset[str]]:
        version_id = _text(batch, "model_version")
        run = self._run_of(batch)
        snapshots = self._snapshots_of(batch)
        dvs = self._dataset_versions_of(batch)
        ids = {*snapshots, *dvs, *(parse_id(dv).unversioned for dv in dvs)}
        if version_id:
            ids |= {version_id, parse_id(version_id).unversioned}
        if run is not None:
            ids.add(run.id)
        deployment = _text(batch, "deployment")
        if deployment:
            ids.add(deployment)
        for snapshot_id in snapshots:
            snapshot = self._nodes.get(snapshot_id)
            if snapshot is not None:
                features = snapshot.props.get("features", [])
                ids |= {f if ":" in str(f) else f"feature:{f}" for f in features}
        return frozenset(ids), frozenset(dvs)

    def _class_of(self, dataset_version: str, policy: Policy) -> str:
        node = self._nodes.get(dataset_version)
        named = node.props.get("retention_class") if node is not None else None
        return named if isinstance(named, str) and named else policy.default_class


def window_end(batch: Node) -> datetime:
    """The end of a batch's window (its start for a batch registered without one)."""
    end = batch.props.get("window_end")
    return from_text(end) if isinstance(end, str) else batch.valid_to or batch.valid_from


def _key(batch: Node) -> tuple[str | None, ...]:
    """What a batch's upstream depends on."""
    return (_text(batch, "model_version"), _text(batch, "snapshot"), _text(batch, "deployment"))


def _text(node: Node | None, name: str) -> str | None:
    value = node.props.get(name) if node is not None else None
    return value if isinstance(value, str) and value else None
