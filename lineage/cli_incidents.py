"""The incident commands of the ``lineage`` CLI: ``incidents`` (a list) and ``incident ID`` (one,
with its evidence, status history, playbook and investigation context).

Both read a local store (``--store``, like ``lineage gate check``); ``--json`` prints what the
GraphQL ``incidents`` / ``incident`` fields answer, for scripts. Exit 0 when answered, 1 when
the incident is not registered, 2 for a usage or store error.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from lineage.cli_options import JsonOption, StoreOption, exit_for
from lineage.errors import LineageError
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import require_kind
from lineage.model.times import to_text
from lineage.services.incident_signals import history_of
from lineage.services.incidents import find_incidents

err = Console(stderr=True)


def _plain(node: Node) -> dict[str, Any]:
    return {"id": node.id, "opened_at": to_text(node.valid_from)} | dict(node.props)


def incidents_command(
    status: Annotated[
        str | None, typer.Option("--status", help="open, acknowledged or resolved.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="A model, e.g. lending_approval.")
    ] = None,
    store: StoreOption = None,
    json_out: JsonOption = False,
) -> None:
    """List incidents, newest first: ID, severity, status, signal, title."""
    from lineage.cli import opened, settings

    cfg = settings(store)
    with opened(cfg) as graph:
        try:
            model_id = None
            if model is not None:
                model_id = model if ":" in model else f"model:{model}"
                require_kind(model_id, "model", NodeKind.MODEL)
            found = find_incidents(graph, status, model_id)
        except LineageError as exc:
            err.print(f"[red]error[/red] {exc.field or 'input'}: {exc.message}")
            raise typer.Exit(exit_for(exc)) from None
    if json_out:
        sys.stdout.write(json.dumps([_plain(n) for n in found], indent=2) + "\n")
        return
    for node in found:
        p = node.props
        sys.stdout.write(
            f"{node.id}\t{p.get('severity', '-')}\t{p.get('status', '-')}\t"
            f"{p.get('signal') or 'by hand'}\t{to_text(node.valid_from)}\t{p.get('title')}\n"
        )


def incident_command(
    incident: Annotated[str, typer.Argument(help="The incident, incident:...")],
    store: StoreOption = None,
    json_out: JsonOption = False,
) -> None:
    """One incident: what fired, its evidence, status history, playbook and context."""
    from lineage.cli import opened, settings

    cfg = settings(store)
    with opened(cfg) as graph:
        try:
            require_kind(incident, "incident", NodeKind.INCIDENT)
        except LineageError as exc:
            err.print(f"[red]error[/red] {exc.message}")
            raise typer.Exit(2) from None
        node = graph.get_nodes([incident]).get(incident)
    if node is None:
        err.print(f"[red]error[/red] {incident} is not registered")
        raise typer.Exit(1)
    if json_out:
        sys.stdout.write(json.dumps(_plain(node), indent=2) + "\n")
        return
    sys.stdout.write("\n".join(_describe(node)) + "\n")


def _describe(node: Node) -> list[str]:
    p = node.props
    lines = [
        f"{node.id}  {p.get('severity', '-')}  {p.get('status', '-')}",
        f"  {p.get('title')}",
        f"  opened      {to_text(node.valid_from)}  signal {p.get('signal') or '(by hand)'}",
    ]
    if p.get("value") is not None:
        lines.append(f"  value       {p.get('value')} (baseline {p.get('baseline')})")
    for name in ("model_version", "deployment", "feature", "playbook", "disposition"):
        if p.get(name):
            lines.append(f"  {name:<13} {p[name]}")
    if p.get("root_cause"):
        lines.append(f"  root cause  {p['root_cause']}")
    lines.append("  status history:")
    lines += [
        f"    {h.get('at')}  {h.get('status'):<12} {h.get('by', '')}  {h.get('reason', '')}"
        for h in history_of(node)
    ]
    evidence = p.get("evidence") or []
    if evidence:
        lines.append(f"  evidence ({p.get('evidence_count', len(evidence))}):")
        lines += [
            f"    {e.get('detected_at')}  {e.get('batch', '-')}  {e.get('title')}" for e in evidence
        ]
    if p.get("accountable"):
        people = ", ".join(f"{a['role']} {a['agent']}" for a in p["accountable"])
        lines.append(f"  accountable {people}")
    context = p.get("context") or {}
    upstream = context.get("upstream_changes") or {}
    if upstream:
        cut = " (truncated)" if upstream.get("truncated") else ""
        lines.append(f"  upstream changes since {upstream.get('since')}{cut}:")
        lines += [
            f"    {c['at']}  {c['what']:<10} {c['node']}"
            + (f" -> {c['to']}" if c.get("to") else "")
            for c in upstream.get("changes", [])
        ]
    blast = context.get("blast_radius") or {}
    if blast.get("counts"):
        cut = " (truncated)" if blast.get("truncated") else ""
        counts = ", ".join(f"{n} {kind}" for kind, n in blast["counts"].items())
        lines.append(f"  blast radius{cut}: {counts}")
    return lines
