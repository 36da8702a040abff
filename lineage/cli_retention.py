"""The ``lineage retention`` commands: prune, erase a data subject, and legal holds.

``prune`` runs the retention job once against a local store (``--dry-run`` lists what would go
and writes nothing), with the same configuration the scheduler reads (``jobs/retention.toml``).
``erase`` removes one data subject's decisions from the records files and keeps their hashes.
``hold`` and ``release`` place and lift legal holds; ``holds`` lists them. Writes are made as
``--actor`` (a registered person or pipeline; default the CLI's own pipeline agent) and are
audited.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from lineage.cli_options import JsonOption, RecordsOption, StoreOption
from lineage.errors import LineageError
from lineage.model.times import from_text, to_text, utcnow

if TYPE_CHECKING:
    from lineage.settings import Settings
    from lineage.store.base import GraphStore

retention_app = typer.Typer(
    help="Retention: prune by class, erase a data subject, legal holds.", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor",
        help="The registered person:... or pipeline:... the write is recorded as (default: "
        "the CLI's pipeline agent).",
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit chain).")]


def _settings(store: str | None, records_dir: str | None = None) -> Settings:
    from lineage.cli import settings  # the CLI's module imports this one

    return settings(store, records_dir)


def _actor(graph: GraphStore, cfg: Settings, actor: str | None) -> str:
    """The given actor, or the CLI's own agent (registered on first use)."""
    from lineage.cli import CLI_ACTOR, register_cli_agent

    if actor:
        return actor
    register_cli_agent(graph, cfg)
    return CLI_ACTOR


def _now(value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        return from_text(value)
    except (ValueError, LineageError):
        err.print(f"[red]error[/red] --now: not an ISO 8601 instant with a timezone: {value}")
        raise typer.Exit(2) from None


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


@retention_app.command("prune")
def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be pruned; write nothing.")
    ] = False,
    jobs_dir: Annotated[
        Path | None,
        typer.Option(
            "--jobs-dir", help="Where retention.toml is (default: $LINEAGE_JOBS_DIR or ./jobs)."
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Prune as of this instant (default: now); for rehearsals."),
    ] = None,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Prune inference batches past their retention class (exit 1 if the run failed)."""
    from lineage.cli import opened
    from lineage.jobs import retention as job
    from lineage.jobs.report import Outcome
    from lineage.services.record_store import RecordStore

    cfg = _settings(store, records_dir)
    folder = jobs_dir or Path(os.environ.get("LINEAGE_JOBS_DIR") or "jobs")
    try:
        config = job.load_config(folder)
    except LineageError as exc:
        err.print(f"[red]error[/red] {exc.message}")
        raise typer.Exit(2) from None
    if dry_run:
        config = config.model_copy(update={"dry_run": True, "list_limit": 100_000})
    with opened(cfg) as graph:
        report = job.run(graph, RecordStore(cfg.records_dir), _now(now), config)
    if as_json:
        _print_json(
            {
                "outcome": report.outcome.value,
                "counts": report.counts,
                "messages": report.messages,
                "details": report.details,
            }
        )
    else:
        for message in report.messages:
            (out if report.outcome is Outcome.OK else err).print(message)
        if dry_run:
            for batch_id in report.details.get("batches", []):
                sys.stdout.write(f"  {batch_id}\n")
    if report.outcome is not Outcome.OK:
        raise typer.Exit(1)


@retention_app.command("erase")
def erase(
    subject: Annotated[
        str, typer.Option("--subject", help="field=value naming the data subject's decisions.")
    ],
    reason: ReasonOption,
    model: Annotated[
        str | None, typer.Option("--model", help="Only this model's (or version's) batches.")
    ] = None,
    actor: ActorOption = None,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase a data subject's decisions from the records files, keeping their hashes."""
    from lineage.cli import opened, progress_bar
    from lineage.services.record_store import RecordStore
    from lineage.services.retention_erasure import Subject, erase_subject

    cfg = _settings(store, records_dir)
    try:
        who = Subject.parse(subject)
    except LineageError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None
    with opened(cfg) as graph:
        by = _actor(graph, cfg, actor)
        with progress_bar() as bar:
            task = bar.add_task("erasing: scanning batches", total=None)
            report = erase_subject(
                graph,
                RecordStore(cfg.records_dir),
                who,
                reason=reason,
                actor=by,
                now=utcnow(),
                model=model,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    if as_json:
        _print_json(
            {
                "subject_hash": report.subject_hash,
                "batches_scanned": report.batches_scanned,
                "erased": report.erased,
                "records_erased": report.records_erased,
                "erasures": report.erasures,
                "held": report.held,
                "missing": report.missing,
                "audit_seqs": report.audit_seqs,
            }
        )
        return
    out.print(
        f"erased {report.records_erased} decisions of subject {report.subject_hash[:16]}... "
        f"from {len(report.erased)} batches ({report.batches_scanned} scanned); "
        f"their hashes are kept"
    )
    for batch_id, why in sorted(report.held.items()):
        err.print(f"not erased: {why} ({batch_id}); lift the hold or record why it stands")
    for batch_id in report.missing:
        err.print(f"no records file for {batch_id} (pruned?)")


@retention_app.command("hold")
def hold(
    node: Annotated[str, typer.Argument(help="The node to hold, e.g. model:lending_approval.")],
    reason: ReasonOption,
    name: Annotated[
        str | None, typer.Option("--name", help="The hold's name, e.g. a case reference.")
    ] = None,
    actor: ActorOption = None,
    store: StoreOption = None,
) -> None:
    """Place a legal hold: nothing it holds, or downstream of it, is pruned until lifted."""
    from lineage.cli import opened
    from lineage.services.retention_holds import place_hold

    cfg = _settings(store)
    with opened(cfg) as graph:
        by = _actor(graph, cfg, actor)
        done = place_hold(graph, node, reason=reason, actor=by, now=utcnow(), name=name)
    state = "placed" if done.created else "already in place:"
    out.print(f"{state} {done.hold.id} on {node}")


@retention_app.command("release")
def release(
    hold_id: Annotated[str, typer.Argument(help="The hold, hold:<name>.")],
    reason: ReasonOption,
    actor: ActorOption = None,
    store: StoreOption = None,
) -> None:
    """Lift a legal hold."""
    from lineage.cli import opened
    from lineage.services.retention_holds import lift_hold

    cfg = _settings(store)
    with opened(cfg) as graph:
        by = _actor(graph, cfg, actor)
        done = lift_hold(graph, hold_id, reason=reason, actor=by, now=utcnow())
    state = "lifted" if done.created else "already lifted:"
    out.print(f"{state} {done.hold.id}")


@retention_app.command("holds")
def holds(
    every: Annotated[bool, typer.Option("--all", help="Lifted holds too.")] = False,
    store: StoreOption = None,
) -> None:
    """List legal holds: ID, target, placed, lifted, reason."""
    from lineage.cli import opened
    from lineage.services.retention_holds import list_holds

    cfg = _settings(store)
    with opened(cfg) as graph:
        found = list_holds(graph, None if every else utcnow())
    for node in found:
        lifted = to_text(node.valid_to) if node.valid_to else "-"
        sys.stdout.write(
            f"{node.id}\t{node.props.get('target')}\t{to_text(node.valid_from)}\t{lifted}\t"
            f"{node.props.get('reason')}\n"
        )
