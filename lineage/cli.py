"""The ``lineage`` command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from lineage.errors import LineageError
from lineage.services.audit import verify as verify_chain
from lineage.services.content import hash_path
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, load_scenario, scenario_size
from lineage.settings import Settings
from lineage.store import GraphStore, open_store

app = typer.Typer(
    help="ML provenance graph and incident investigation service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URI (default: $LINEAGE_STORE or sqlite:///./lineage.db)."),
]
RecordsOption = Annotated[
    str | None,
    typer.Option(
        "--records-dir",
        help="Record store directory (default: $LINEAGE_RECORDS_DIR or ./lineage-records).",
    ),
]


def settings(store: str | None = None, records_dir: str | None = None) -> Settings:
    """Environment settings with command-line overrides applied."""
    base = Settings()
    updates = {k: v for k, v in {"store": store, "records_dir": records_dir}.items() if v}
    return base.model_copy(update=updates)


@contextmanager
def opened(uri: str) -> Iterator[GraphStore]:
    """Open a store for one command; a LineageError becomes a message and exit code 2."""
    try:
        store = open_store(uri)
    except LineageError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        yield store
    except LineageError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None
    finally:
        store.close()


def progress_bar() -> Progress:
    """A progress display on stderr (silent when stderr is not a terminal)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    )


@app.command()
def demo(store: StoreOption = None, records_dir: RecordsOption = None) -> None:
    """Load the reference lending scenario (idempotent: a second run changes nothing)."""
    cfg = settings(store, records_dir)
    with opened(cfg.store) as graph:
        registry = Registry(graph, RecordStore(cfg.records_dir), actor=DEMO_ACTOR)
        with progress_bar() as bar:
            task = bar.add_task("loading the lending scenario", total=scenario_size())
            results = load_scenario(
                registry,
                lambda label, _r: bar.update(task, advance=1, description=f"registered {label}"),
            )
        created = sum(r.created for r in results)
        out.print(
            f"reference scenario in {cfg.store}: {created} registrations written, "
            f"{len(results) - created} already present"
        )


@app.command()
def verify(store: StoreOption = None) -> None:
    """Recompute the audit chain and check every node and edge against it (exit 1 if broken)."""
    cfg = settings(store)
    with opened(cfg.store) as graph, progress_bar() as bar:
        task = bar.add_task("verifying", total=None)
        report = verify_chain(
            graph, lambda stage, n: bar.update(task, description=f"verifying {stage}", completed=n)
        )
    if report.ok:
        out.print(
            f"audit chain intact: {report.events} events, {report.nodes} nodes, "
            f"{report.edges} edges; head {report.head_hash}"
        )
        return
    err.print(f"[red]audit chain broken at sequence {report.broken_seq}[/red]: {report.problem}")
    raise typer.Exit(1)


@app.command("hash")
def hash_command(
    path: Annotated[Path, typer.Argument(help="A file or a directory tree.")],
) -> None:
    """Print the SHA-256 content address of a file, or of a directory's manifest of file hashes."""
    try:
        if path.is_dir():
            with progress_bar() as bar:
                task = bar.add_task(f"hashing {path}", total=None)
                digest = hash_path(path, lambda _p: bar.update(task, advance=1))
        else:
            digest = hash_path(path)
    except LineageError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(2) from None
    sys.stdout.write(digest + "\n")


if __name__ == "__main__":
    app()
