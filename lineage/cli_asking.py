"""How the question commands ask (lineage.cli_questions): one executor for a local store and
a server, and one exit-code rule.

A question is a GraphQL operation. With a local store it runs in process against the API's own
schema, limits and node budget, as a reader (:mod:`lineage.graphql.local`); with a server the
same document is POSTed to ``/graphql`` (:mod:`lineage.client`). Exit codes:

== ===========================================================================================
0  answered
1  the answer carries errors (NOT_FOUND, INVALID, FORBIDDEN, ...): each printed with its code
   and field on stderr, after whatever part of the answer did come back
2  usage: a bad option or value, a missing token for ``--url``, an unreadable file
3  UNAVAILABLE: the store or the server cannot be reached or cannot answer now
== ===========================================================================================
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from graphql import (
    GraphQLError,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeNode,
    get_operation_ast,
    parse,
)
from rich.console import Console

from lineage import cli_render as render
from lineage.cli_options import ANSWERED, REFUSED, UNAVAILABLE, USAGE
from lineage.client import ApiClient, ApiUnreachable
from lineage.errors import ErrorCode, LineageError

err = Console(stderr=True)



@dataclass(frozen=True, slots=True)
class Where:
    """Where a question goes: a local store (and its records), or a server."""

    store: str | None = None
    records_dir: str | None = None
    url: str | None = None

    @property
    def remote_url(self) -> str | None:
        """The server to ask, if the question goes to one."""
        if self.url:
            return self.url
        if self.store:
            return None
        return os.environ.get("LINEAGE_URL") or None


def usage(message: str) -> typer.Exit:
    """Say what is wrong with the command line; the exit to raise (code 2)."""
    err.print(f"[red]error[/red] {message}", highlight=False)
    return typer.Exit(USAGE)


def execute(
    where: Where, query: str, variables: dict[str, Any], operation: str | None = None
) -> dict[str, Any]:
    """The answer body (``data``, ``errors``) from the store or the server; exits 2 or 3 when
    there is nobody to ask."""
    url = where.remote_url
    if url:
        token = os.environ.get("LINEAGE_TOKEN")
        if not token:
            raise usage("asking a server needs a token in $LINEAGE_TOKEN")
        try:
            return ApiClient(url, token).execute(query, variables, operation)
        except ApiUnreachable as exc:
            err.print(f"[red]unavailable[/red] {exc}", highlight=False)
            raise typer.Exit(UNAVAILABLE) from None
    with _local(where) as executor:
        body: dict[str, Any] = executor.execute(query, variables, operation)
        return body


@contextmanager
def _local(where: Where) -> Iterator[Any]:
    from lineage.cli import settings
    from lineage.graphql.local import LocalExecutor
    from lineage.services.record_store import RecordStore
    from lineage.store import open_store

    cfg = settings(where.store, where.records_dir)
    if cfg.store.startswith("sqlite:///"):
        # Opening creates a missing database: a question must not leave an empty store behind.
        path = Path(cfg.store.removeprefix("sqlite:///"))
        if not path.is_file():
            err.print(
                f"[red]unavailable[/red] there is no store at {path} (give --store, or load "
                "the demo with `lineage demo`)",
                highlight=False,
            )
            raise typer.Exit(UNAVAILABLE)
    try:
        graph = open_store(cfg.store, lock_timeout=cfg.lock_timeout_seconds)
    except LineageError as exc:
        err.print(f"[red]{exc.code.value}[/red] {exc}", highlight=False)
        raise typer.Exit(UNAVAILABLE if exc.code is ErrorCode.UNAVAILABLE else USAGE) from None
    try:
        yield LocalExecutor(graph, RecordStore(cfg.records_dir), cfg)
    finally:
        graph.close()


def answer(
    where: Where,
    query: str,
    variables: dict[str, Any],
    as_json: bool,
    show: Callable[[Console, dict[str, Any]], None],
    operation: str | None = None,
    absent: tuple[str, str, str] | None = None,
) -> None:
    """Ask, print the answer (rendered, or its ``data`` as JSON) and exit by the rule.

    ``absent``: (root field, argument, ID) of a field that answers null for a missing node,
    which the command reports as NOT_FOUND like every other question."""
    given = {k: v for k, v in variables.items() if v is not None}
    with _waiting():
        body = execute(where, query, given, operation)
    data = body.get("data")
    errors = body.get("errors") or []
    if absent and not errors and isinstance(data, dict) and data.get(absent[0]) is None:
        extensions = {"code": ErrorCode.NOT_FOUND.value, "field": absent[1]}
        errors = [{"message": f"{absent[2]} is not registered", "extensions": extensions}]
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif data:
        show(render.console(), data)
    raise typer.Exit(report_errors(errors))


@contextmanager
def _waiting() -> Iterator[None]:
    if not err.is_terminal:
        yield
        return
    with err.status("asking…"):
        yield


def report_errors(errors: list[dict[str, Any]]) -> int:
    """Print each error with its code and field on stderr; the exit code they call for."""
    codes = []
    for error in errors:
        extensions = error.get("extensions") or {}
        code = str(extensions.get("code", "ERROR"))
        codes.append(code)
        field = extensions.get("field")
        where = f" {field}:" if field else ""
        err.print(f"[red]{code}[/red]{where} {error.get('message', '')}", highlight=False)
    if not codes:
        return ANSWERED
    return UNAVAILABLE if ErrorCode.UNAVAILABLE.value in codes else REFUSED


def instant(text: str | None, option: str) -> str | None:
    """An option's instant as ISO 8601 with its zone; a bare date is midnight UTC. Exits 2
    for anything else, naming the option."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise usage(f"{option}: not an instant: {text!r} (e.g. 2024-01-25T11:30:00Z)") from None
    if len(text) == 10:  # a date alone
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is None:
        raise usage(f"{option}: give a timezone, e.g. {text}Z or {text}+01:00")
    return parsed.isoformat()



# -- variables of `lineage query` ------------------------------------------------------------------


def typed_variables(document: str, operation: str | None, given: list[str]) -> dict[str, Any]:
    """``--var name=value`` as the types the operation declares; exits 2 naming a variable it
    does not declare or a value its type cannot take."""
    if not given:
        return {}
    try:
        found = get_operation_ast(parse(document), operation)
    except GraphQLError as exc:
        raise usage(f"the document does not parse: {exc.message}") from None
    if not isinstance(found, OperationDefinitionNode):
        raise usage("name the operation to run with --operation")
    declared = {d.variable.name.value: d.type for d in found.variable_definitions or ()}
    values: dict[str, Any] = {}
    for item in given:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise usage(f"--var {item!r}: give name=value")
        if name not in declared:
            known = ", ".join(f"${n}" for n in declared) or "none"
            raise usage(f"--var {name}: the operation declares no ${name} (it declares {known})")
        values[name] = _typed(name, text, declared[name])
    return values


def _typed(name: str, text: str, declared: TypeNode) -> Any:
    from graphql import GraphQLInputObjectType

    from lineage.graphql.schema import graphql_schema

    if isinstance(declared, NonNullTypeNode):
        declared = declared.type
    if not isinstance(declared, NamedTypeNode):  # a list
        kind, structured = "list", True
    else:
        kind = declared.name.value
        structured = isinstance(graphql_schema().get_type(kind), GraphQLInputObjectType)
    try:
        if kind == "Int":
            return int(text)
        if kind == "Float":
            return float(text)
        if kind == "Boolean":
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if structured:
            return json.loads(text)
    except ValueError:
        raise usage(f"--var {name}: {text!r} is not a {kind} (lists and objects as JSON)") from None
    if kind == "JSON":
        try:
            return json.loads(text)
        except ValueError:
            return text  # a JSON string given bare
    return text  # String, ID, DateTime, enums and other scalars travel as text
