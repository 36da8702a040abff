"""The retention job: prune inference batches past their class's period (``jobs/retention.toml``).

The scheduler imports :func:`load_config` and :func:`run`. ``dry_run = true`` in the file (or
set on the loaded configuration, as ``lineage jobs run --once retention --dry-run`` does)
reports what would go and writes nothing. The work is :func:`lineage.services.retention.prune`;
this module turns its result into a :class:`~lineage.jobs.report.Report` and never lets an
exception escape.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from lineage.errors import LineageError
from lineage.jobs.report import Report
from lineage.jobs.runs import SCHEDULER_ACTOR, register_scheduler_agent
from lineage.jobs.toml_config import load_toml
from lineage.model.ids import parse_id
from lineage.services import retention
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.retention_classes import Policy, RetentionClass
from lineage.store.base import GraphStore

CONFIG_FILE = "retention.toml"
JOB = "retention"
ClassName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class ClassConfig(BaseModel):
    """One retention class: calendar years plus days after a batch's window end."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: int = Field(default=0, ge=0, le=100)
    days: int = Field(default=0, ge=0, le=36_500)
    description: str = Field(default="", max_length=2_000)

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.years + self.days == 0:
            raise ValueError("a class needs a period: years, days or both")
        return self


class RetentionConfig(BaseModel):
    """``jobs/retention.toml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: dict[ClassName, ClassConfig] = Field(min_length=1)
    # The class of a dataset version registered without one.
    default_class: ClassName = "regulated"
    # The agent the pruning is recorded as: the scheduler's, as for every job (registered on
    # the first run); another pipeline registers itself, a person must be registered already.
    actor: str = SCHEDULER_ACTOR
    chunk: int = Field(default=retention.DEFAULT_CHUNK, ge=1, le=10_000)
    # How many pruned batch IDs a report lists (all are counted); a recorded run keeps 64 KiB
    # of details, about 1,500 IDs.
    list_limit: int = Field(default=500, ge=0, le=100_000)
    dry_run: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.default_class not in self.classes:
            raise ValueError(f"default_class: {self.default_class!r} is not one of the classes")
        try:
            parse_id(self.actor, "actor")
        except LineageError as exc:
            raise ValueError(f"actor: {exc.message}") from None
        if not self.actor.startswith(("pipeline:", "person:")):
            raise ValueError("actor: must be a pipeline: or person: agent")
        return self

    def policy(self) -> Policy:
        """The classes as the service takes them."""
        return Policy(
            {
                name: RetentionClass(name, c.years, c.days, c.description)
                for name, c in self.classes.items()
            },
            self.default_class,
        )


def load_config(jobs_dir: Path | str) -> RetentionConfig:
    """``<jobs_dir>/retention.toml``, validated; INVALID naming file, line and reason."""
    return load_toml(Path(jobs_dir) / CONFIG_FILE, RetentionConfig)


def run(store: GraphStore, records: RecordStore, now: datetime, config: RetentionConfig) -> Report:
    """Prune (or, dry, list) the batches past retention at ``now``; never raises."""
    report = Report(job=JOB, started=now)
    try:
        if not config.dry_run:
            register_actor(store, records, config.actor)
        with _terminal_progress() as tick:
            result = retention.prune(
                store,
                records,
                config.policy(),
                now=now,
                actor=config.actor,
                dry_run=config.dry_run,
                chunk=config.chunk,
                list_limit=config.list_limit,
                progress=tick,
            )
    except LineageError as exc:
        return report.failed(f"retention could not run: {exc}")
    except Exception as exc:  # a job never lets an exception reach the scheduler
        return report.failed(f"retention failed unexpectedly: {type(exc).__name__}: {exc}")
    summarise(result, report)
    return report


def register_actor(store: GraphStore, records: RecordStore, actor: str) -> None:
    """Register the job's agent if it is a pipeline (a no-op once done)."""
    if actor == SCHEDULER_ACTOR:
        register_scheduler_agent(store, records)
    elif actor.startswith("pipeline:"):
        Registry(store, records, actor=actor).register_pipeline(
            {"id": actor, "name": "Retention pruning job"},
            reason="the retention job registers itself",
        )


def summarise(result: retention.PruneResult, report: Report) -> None:
    """Counts, messages and details of a pruning run, in the report."""
    verb = "would prune" if result.dry_run else "pruned"
    report.counts |= {
        "batches_scanned": result.batches_scanned,
        "batches_pruned": result.batches_pruned,
        "records_pruned": result.records_pruned,
        "batches_kept": sum(result.kept.values()),
        "files_deleted": result.files_deleted,
        "audit_events": len(result.audit_seqs),
    }
    report.counts |= {f"kept_{reason}": n for reason, n in sorted(result.kept.items())}
    classes = ", ".join(f"{n} {name}" for name, n in sorted(result.by_class.items()))
    report.messages.append(
        f"{'dry run: ' if result.dry_run else ''}{verb} {result.batches_pruned} inference "
        f"batches ({result.records_pruned} decisions) past retention"
        + (f": {classes}" if classes else "")
    )
    if result.kept:
        reasons = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in sorted(result.kept.items()))
        report.messages.append(f"kept {sum(result.kept.values())} expired batches: {reasons}")
    for name, versions in sorted(result.unknown_classes.items()):
        report.messages.append(
            f"retention class {name!r} (on {', '.join(versions)}) is not in {CONFIG_FILE}: "
            "what is derived from it is kept until it is"
        )
    if result.files_shared:
        report.messages.append(
            f"{result.files_shared} records files kept: a remaining batch has the same records"
        )
    report.details |= {
        "dry_run": result.dry_run,
        "by_class": result.by_class,
        "kept": result.kept,
        "kept_examples": result.kept_examples,
        "unknown_classes": result.unknown_classes,
        "batches": result.pruned,
        "batches_listed": len(result.pruned),
        "audit_seqs": result.audit_seqs,
        "files": {
            "deleted": result.files_deleted,
            "missing": result.files_missing,
            "shared": result.files_shared,
        },
    }


@contextmanager
def _terminal_progress() -> Iterator[retention.Progress | None]:
    """A progress bar on stderr when it is a terminal (as the CLI's), else nothing."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task("retention: scanning batches", total=None)

        def tick(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=f"retention: {stage}", completed=done, total=total)

        yield tick
