"""What a batch is compared with: the trailing window of earlier batches of the same model.

Every statistical signal but demographic parity and the latency ceiling (which judge the batch
on its own) compares a batch with the pooled statistics of the batches of the same model that
ended by the time it started, within ``baseline.window_days``, at most ``baseline.max_batches``
(:class:`~lineage.jobs.monitors.config.BaselineSettings`). The registered statistics carry no
training-time distribution (a feature snapshot has no statistics), so the window, not the
training snapshot, is the baseline of every signal.

A scheduled run walks a model's batches in time order and slides one :class:`Window` along,
keeping running sums, so each batch costs the same whatever the window's size; min/max and the
median p99 are read from the views still in the window.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lineage.model.graph import Node
from lineage.model.ids import parse_id
from lineage.model.times import from_text

GROUP_PREFIX = "approval_rate_by_"


def number(value: Any) -> float | None:
    """A finite JSON number as a float; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(slots=True)
class BatchView:
    """A batch as the monitors read it: its window, model and statistics."""

    node: Node
    model: str
    start: datetime
    end: datetime
    decisions: int
    stats: dict[str, Any]
    inputs: list[tuple[str, str]] | None = None  # (input hash, decision), read on demand

    @classmethod
    def of(cls, node: Node) -> BatchView:
        """The view of a registered InferenceBatch node."""
        props = node.props
        end = props.get("window_end")
        stats = props.get("statistics")
        count = props.get("record_count")
        return cls(
            node=node,
            model=parse_id(str(props["model_version"])).unversioned,
            start=node.valid_from,
            end=from_text(end) if isinstance(end, str) else node.valid_from,
            decisions=count if isinstance(count, int) else 0,
            stats=stats if isinstance(stats, dict) else {},
        )

    def features(self) -> dict[str, dict[str, Any]]:
        """statistics.features: name -> {null_rate, min, max}."""
        found = self.stats.get("features")
        return (
            {k: v for k, v in found.items() if isinstance(v, dict)}
            if isinstance(found, dict)
            else {}
        )

    def predictions(self) -> Counter[str]:
        """statistics.predictions: class -> count."""
        found = self.stats.get("predictions")
        counts: Counter[str] = Counter()
        if isinstance(found, dict):
            for name, n in found.items():
                if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                    counts[str(name)] = n
        return counts

    def groups(self, attribute: str) -> dict[str, tuple[int, float]]:
        """statistics.approval_rate_by_<attribute>: group -> (count, positives)."""
        found = self.stats.get(GROUP_PREFIX + attribute)
        groups: dict[str, tuple[int, float]] = {}
        if isinstance(found, dict):
            for group, value in found.items():
                if not isinstance(value, dict):
                    continue
                count, rate = value.get("count"), number(value.get("approval_rate"))
                if (
                    isinstance(count, int)
                    and not isinstance(count, bool)
                    and count > 0
                    and rate is not None
                ):
                    groups[str(group)] = (count, rate * count)
        return groups

    def overrides(self) -> int | None:
        """statistics.overrides: how many decisions a person overrode."""
        found = self.stats.get("overrides")
        return found if isinstance(found, int) and not isinstance(found, bool) else None

    def latency(self, percentile: str) -> float | None:
        """statistics.latency_ms.<percentile>."""
        found = self.stats.get("latency_ms")
        return number(found.get(percentile)) if isinstance(found, dict) else None

    def at_path(self, path: str) -> float | None:
        """The number at a dotted path in the statistics."""
        value: Any = self.stats
        for part in path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return number(value)


@dataclass(slots=True)
class Window:
    """The trailing window, slid along one model's batches in time order."""

    window: timedelta
    max_batches: int
    views: deque[BatchView] = field(default_factory=deque)
    pending: list[tuple[datetime, int, BatchView]] = field(default_factory=list)
    decisions: int = 0
    predictions: Counter[str] = field(default_factory=Counter)
    overrides: int = 0
    override_decisions: int = 0
    nulls: dict[str, list[float]] = field(default_factory=dict)  # feature -> [nulls, decisions]
    groups: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    inputs: dict[str, Counter[str]] = field(default_factory=dict)  # input hash -> decisions
    _seq: int = 0

    def push(self, view: BatchView) -> None:
        """A batch that may join the window once a later batch starts after it ended."""
        self._seq += 1
        heapq.heappush(self.pending, (view.end, self._seq, view))

    def advance(self, view: BatchView) -> None:
        """Make the window the one ``view`` is compared with."""
        while self.pending and self.pending[0][0] <= view.start:
            self._add(heapq.heappop(self.pending)[2])
        low = view.start - self.window
        while self.views and (self.views[0].start < low or len(self.views) > self.max_batches):
            self._remove(self.views.popleft())

    def _add(self, view: BatchView) -> None:
        self.views.append(view)
        self._count(view, 1)

    def _remove(self, view: BatchView) -> None:
        self._count(view, -1)

    def _count(self, view: BatchView, sign: int) -> None:
        self.decisions += sign * view.decisions
        self.predictions.update({k: sign * v for k, v in view.predictions().items()})
        overridden = view.overrides()
        if overridden is not None:
            self.overrides += sign * overridden
            self.override_decisions += sign * view.decisions
        for name, feature in view.features().items():
            rate = number(feature.get("null_rate"))
            if rate is not None:
                sums = self.nulls.setdefault(name, [0.0, 0.0])
                sums[0] += sign * rate * view.decisions
                sums[1] += sign * view.decisions
        for key in view.stats:
            if key.startswith(GROUP_PREFIX):
                attribute = key.removeprefix(GROUP_PREFIX)
                pooled = self.groups.setdefault(attribute, {})
                for group, (count, positives) in view.groups(attribute).items():
                    sums = pooled.setdefault(group, [0.0, 0.0])
                    sums[0] += sign * count
                    sums[1] += sign * positives
        for digest, decision in view.inputs or ():
            seen = self.inputs.setdefault(digest, Counter())
            seen[decision] += sign
            if seen[decision] <= 0:
                del seen[decision]
                if not seen:
                    del self.inputs[digest]

    # -- what the signals read ---------------------------------------------------------------

    def null_rate(self, feature: str) -> float | None:
        """The pooled null rate of a feature."""
        sums = self.nulls.get(feature)
        return sums[0] / sums[1] if sums and sums[1] > 0 else None

    def value_range(self, feature: str) -> tuple[float, float] | None:
        """The smallest min and largest max of a feature over the window."""
        lows, highs = [], []
        for view in self.views:
            stats = view.features().get(feature, {})
            low, high = number(stats.get("min")), number(stats.get("max"))
            if low is not None and high is not None:
                lows.append(low)
                highs.append(high)
        return (min(lows), max(highs)) if lows else None

    def group(self, attribute: str, group: str) -> tuple[float, float] | None:
        """(decisions, positives) of a group over the window."""
        sums = self.groups.get(attribute, {}).get(group)
        return (sums[0], sums[1]) if sums and sums[0] > 0 else None

    def median_latency(self, percentile: str) -> float | None:
        """The median over the window's batches of a latency percentile."""
        values = sorted(v for v in (b.latency(percentile) for b in self.views) if v is not None)
        return values[len(values) // 2] if values else None

    def metric_mean(self, path: str) -> float | None:
        """The mean over the window's batches of the number at ``path``."""
        values = [v for v in (b.at_path(path) for b in self.views) if v is not None]
        return sum(values) / len(values) if values else None
