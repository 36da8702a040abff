"""The governance commands of the ``lineage`` CLI: ``gate check``, ``approve``, ``block`` and
``rollback``.

``gate check`` is what a CI pipeline runs before deploying: exit 0 when the version may be
deployed, 1 listing every unmet condition, 2 for a usage error, 3 when the store or server
cannot answer. It reads a local
store (``--store``) or asks a server (``--url`` with ``--token``). Sign-offs and rollbacks
change what is deployed and are made by a person, so they go through the API as the token's
principal: the approver is always the token's, never a flag.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from lineage.cli_options import UNAVAILABLE, JsonOption, exit_for
from lineage.client import ApiClient, ApiRefused, ApiUnreachable
from lineage.errors import LineageError
from lineage.model.times import utcnow

gate_app = typer.Typer(help="Deployment gates.", no_args_is_help=True)
err = Console(stderr=True)

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The server, e.g. http://127.0.0.1:8000 (default: $LINEAGE_URL)."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="A bearer token (default: $LINEAGE_TOKEN; prefer the variable: a flag shows in "
        "the process list).",
    ),
]

DEPLOYABLE = """
query GateCheck($version: ID!, $asOf: DateTime) {
  deployable(version: $version, asOf: $asOf) {
    ok version at tier explanation unmet { code message }
  }
}
"""
SIGN_OFF = """
mutation SignOff($version: ID!, $role: String!, $reason: String!) {
  %s(version: $version, role: $role, reason: $reason) {
    approval { id validFrom } auditSeq gates { passed }
  }
}
"""
ROLLBACK = """
mutation Rollback($deployment: ID!, $reason: String!, $toVersion: ID, $incident: ID) {
  rollback(deployment: $deployment, reason: $reason, toVersion: $toVersion, incident: $incident) {
    at created auditSeq after { current standby backup }
  }
}
"""


def client(url: str | None, token: str | None) -> ApiClient:
    """The API client, or exit 2 saying what is missing."""
    url = url or os.environ.get("LINEAGE_URL")
    token = token or os.environ.get("LINEAGE_TOKEN")
    if not url or not token:
        err.print(
            "[red]error[/red] this command asks the API as a person: give --url (or "
            "LINEAGE_URL) and a token (LINEAGE_TOKEN or --token)"
        )
        raise typer.Exit(2)
    return ApiClient(url, token)


def ask(api: ApiClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One API call: a refusal exits 1 with its code and field, a transport error exits 3."""
    try:
        return api.call(query, variables)
    except ApiRefused as exc:
        err.print(f"[red]refused[/red] {exc}")
        raise typer.Exit(1) from None
    except ApiUnreachable as exc:
        err.print(f"[red]unavailable[/red] {exc}")
        raise typer.Exit(UNAVAILABLE) from None


@gate_app.command("check")
def gate_check(
    version: Annotated[str, typer.Argument(help="The model version, e.g. model:m@v12.")],
    store: Annotated[
        str | None, typer.Option("--store", help="A local store URI (default: $LINEAGE_STORE).")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    at: Annotated[
        datetime | None, typer.Option("--at", help="Judge as of this instant (default: now).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """May VERSION be deployed? Exit 0 if so; 1 listing every unmet condition; 2 for a usage
    error; 3 when the store or server cannot answer."""
    if at is not None and at.tzinfo is None:
        err.print("[red]error[/red] --at: give a timezone, e.g. 2024-01-22T09:00:00+00:00")
        raise typer.Exit(2)
    if url or (os.environ.get("LINEAGE_URL") and not store):
        variables = {"version": version, "asOf": at.isoformat() if at else None}
        answer = ask(client(url, token), DEPLOYABLE, variables)["deployable"]
    else:
        answer = _local_check(version, store, at)
    _report(answer, as_json)


def _local_check(version: str, store: str | None, at: datetime | None) -> dict[str, Any]:
    from lineage.cli import opened, settings
    from lineage.services.governance.readiness import deployable

    cfg = settings(store)
    with opened(cfg) as graph:
        try:
            found = deployable(graph, version, at or utcnow())
        except LineageError as exc:
            err.print(f"[red]error[/red] {exc}")
            raise typer.Exit(exit_for(exc)) from None
    return {
        "ok": found.ok,
        "version": found.version,
        "at": found.at.isoformat() if found.at else None,
        "tier": found.tier.value if found.tier else None,
        "explanation": found.explanation,
        "unmet": [{"code": u.code, "message": u.message} for u in found.unmet],
    }


def _report(answer: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(answer, indent=2) + "\n")
    elif answer["ok"]:
        sys.stdout.write(f"{answer['version']} may be deployed (tier {answer['tier']})\n")
    else:
        sys.stdout.write(f"{answer['version']} may NOT be deployed:\n")
        for unmet in answer["unmet"]:
            sys.stdout.write(f"  {unmet['code']}: {unmet['message']}\n")
    raise typer.Exit(0 if answer["ok"] else 1)


def _sign(decision: str, version: str, role: str, reason: str, api: ApiClient) -> None:
    answer = ask(api, SIGN_OFF % decision, {"version": version, "role": role, "reason": reason})
    done = answer[decision]
    gates = "both gates pass" if done["gates"]["passed"] else "a gate FAILS"
    sys.stdout.write(
        f"{done['approval']['id']} recorded (audit #{done['auditSeq']}); as seen: {gates}\n"
    )


RoleOption = Annotated[str, typer.Option("--role", help="owner or risk_approver.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, for the record.")]


def approve(
    version: Annotated[str, typer.Argument(help="The model version.")],
    role: RoleOption,
    reason: ReasonOption,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Approve VERSION as the token's principal, in a model role it holds."""
    _sign("approve", version, role, reason, client(url, token))


def block(
    version: Annotated[str, typer.Argument(help="The model version.")],
    role: RoleOption,
    reason: ReasonOption,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Block VERSION as the token's principal: it cannot be deployed until that role approves."""
    _sign("block", version, role, reason, client(url, token))


def rollback(
    deployment: Annotated[str, typer.Argument(help="The deployment.")],
    reason: ReasonOption,
    to: Annotated[
        str | None, typer.Option("--to", help="The version (default: the standby).")
    ] = None,
    incident: Annotated[
        str | None, typer.Option("--incident", help="The incident it answers.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Move all of DEPLOYMENT's traffic to its standby (or --to a version it served)."""
    variables = {
        "deployment": deployment,
        "reason": reason,
        "toVersion": to,
        "incident": incident,
    }
    done = ask(client(url, token), ROLLBACK, variables)["rollback"]
    after = done["after"]
    what = "rolled back" if done["created"] else "already so (nothing written)"
    sys.stdout.write(
        f"{deployment} {what} at {done['at']}: current {after['current']}, standby "
        f"{after['standby']}, backup {after['backup']}\n"
    )
