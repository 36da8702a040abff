"""The evidence export commands: ``lineage export NODE --out PATH`` and
``lineage verify-bundle PATH``.

``export`` reads a local store (``--store``, ``--records-dir``), writes the bundle (a folder,
or a .zip when PATH ends so) with a progress bar on a terminal, and records the hand-out in the
audit chain as the command line's own agent. Exit 0 when written, 2 for a usage or store
error. ``verify-bundle`` needs no store: exit 0 when every file matches the manifest and the
audit events chain up to its head, 1 naming the first mismatch.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from lineage.cli_options import JsonOption, RecordsOption, StoreOption, exit_for
from lineage.errors import LineageError
from lineage.model.times import from_text

err = Console(stderr=True)


def _instant(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return from_text(text)
    except (ValueError, LineageError):
        err.print(f"[red]error[/red] {name}: not an ISO 8601 instant with a timezone: {text!r}")
        raise typer.Exit(2) from None


def export_command(
    node: Annotated[
        str, typer.Argument(help="A model, model version or deployment, e.g. model:x@v12.")
    ],
    out: Annotated[Path, typer.Option("--out", help="A new folder, or a file ending in .zip.")],
    start: Annotated[
        str | None, typer.Option("--from", help="Batches, incidents, drills from this instant.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="... up to this instant.")] = None,
    redact: Annotated[
        bool, typer.Option("--redact", help="Replace personal identifiers by keyed hashes.")
    ] = False,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    json_out: JsonOption = False,
) -> None:
    """Write the regulator evidence bundle of a model, model version or deployment."""
    # Imported here: the export's modules (jinja2, prov) would slow every other command's start.
    from lineage.cli import CLI_ACTOR, opened, progress_bar, register_cli_agent, settings
    from lineage.services.export import ExportRequest, Window, export_bundle
    from lineage.services.export.redaction import Redactor, redaction_key
    from lineage.services.record_store import RecordStore

    cfg = settings(store, records_dir)
    window_start, window_end = _instant(start, "--from"), _instant(end, "--to")
    with opened(cfg) as graph:
        try:
            window = Window(window_start, window_end)
            records = RecordStore(cfg.records_dir)
            redactor = (
                Redactor(redaction_key(cfg.export_redaction_key, records.root)) if redact else None
            )
            register_cli_agent(graph, cfg)
            with progress_bar() as bar:
                task = bar.add_task("exporting", total=None)

                def tick(stage: str, done: int, total: int | None) -> None:
                    bar.update(task, description=stage, completed=done, total=total)

                result = export_bundle(
                    graph,
                    records,
                    ExportRequest(node, window, redact),
                    out,
                    actor=CLI_ACTOR,
                    redactor=redactor,
                    progress=tick,
                )
        except LineageError as exc:
            err.print(f"[red]error[/red] {exc.field or 'input'}: {exc.message}")
            raise typer.Exit(exit_for(exc)) from None
    summary = {
        "path": str(result.path),
        "manifest_sha256": result.manifest_sha256,
        "audit_head": result.manifest["audit_head"],
        "audit_seq": result.audit_seq,
        "counts": result.counts,
        "truncated": result.manifest["truncated"],
    }
    if json_out:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    c = result.counts
    sys.stdout.write(
        f"evidence bundle of {node} written to {result.path}: {c['nodes']} nodes, "
        f"{c['edges']} edges, {c['inference_batches']} batches, {c['decisions']} decisions"
        f"{' (redacted)' if redact else ''}; manifest sha256 {result.manifest_sha256}; "
        f"recorded as audit event {result.audit_seq}\n"
    )
    if result.manifest["truncated"]:
        err.print("[yellow]truncated[/yellow]: " + "; ".join(result.manifest["notes"]))


def verify_bundle_command(
    path: Annotated[Path, typer.Argument(help="The bundle: a folder or a .zip.")],
    json_out: JsonOption = False,
) -> None:
    """Check a bundle's files against its manifest and its audit events up to the head."""
    from lineage.services.export import verify_bundle

    check = verify_bundle(path)
    if json_out:
        body = {"ok": check.ok, "file": check.file, "problem": check.problem,
                "files": check.files, "audit_head": check.audit_head}
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    elif check.ok:
        head = check.audit_head or {}
        sys.stdout.write(
            f"bundle intact: {check.files} files match the manifest; audit events chain up to "
            f"event {head.get('seq', 0)} ({head.get('hash', 'empty chain')})\n"
        )
    else:
        err.print(f"[red]bundle does not verify[/red]: {check.file}: {check.problem}")
    if not check.ok:
        raise typer.Exit(1)
