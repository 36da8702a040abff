"""What a job run reports: its outcome, what it counted, and what it found, in words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from lineage.services.record_store import RecordStore
from lineage.store.base import GraphStore


class Outcome(StrEnum):
    """How a run ended."""

    OK = "ok"  # it did its work (finding problems is still ok: they are in the counts)
    FAILED = "failed"  # it could not do its work: ``messages`` say why
    SKIPPED = "skipped"  # another scheduler held the job's lease


@dataclass(slots=True)
class Report:
    """One run of a job: ``counts`` are what it did (``incidents_opened``, ``batches_pruned``...),
    ``messages`` what a person reading the run should know, ``details`` machine-readable extras
    (the IDs it wrote, the dry-run list...)."""

    job: str
    started: datetime
    ended: datetime | None = None
    outcome: Outcome = Outcome.OK
    counts: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def count(self, name: str, by: int = 1) -> None:
        """Add ``by`` to the count ``name``."""
        self.counts[name] = self.counts.get(name, 0) + by

    def failed(self, why: str) -> Report:
        """Mark the run failed, saying why; returns the report."""
        self.outcome = Outcome.FAILED
        self.messages.append(why)
        return self


# A job: the store, the record store, the instant it runs as (a clock passed in, so tests never
# sleep), and its own configuration object.
Job = Callable[[GraphStore, RecordStore, datetime, Any], Report]
