"""The ``lineage`` command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from lineage import cli_questions
from lineage.cli_export import export_command, verify_bundle_command
from lineage.cli_governance import approve, block, gate_app, rollback
from lineage.cli_incidents import incident_command, incidents_command
from lineage.cli_jobs import JobsDirOption, jobs_app, scheduler_for
from lineage.cli_options import RecordsOption, StoreOption, exit_for
from lineage.cli_reference import reference_command
from lineage.cli_retention import retention_app
from lineage.errors import LineageError
from lineage.services.audit import verify as verify_chain
from lineage.services.content import hash_path
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario, scenario_size
from lineage.services.tokens import Role, create_token, list_tokens, revoke_token
from lineage.settings import Settings
from lineage.store import GraphStore, open_store

app = typer.Typer(
    help="ML provenance graph and incident investigation service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()



def settings(
    store: str | None = None, records_dir: str | None = None, **overrides: object
) -> Settings:
    """Environment settings with command-line overrides applied (None means not given)."""
    given = {"store": store, "records_dir": records_dir, **overrides}
    updates = {k: v for k, v in given.items() if v is not None and v != ""}
    try:
        return Settings(**updates)  # type: ignore[arg-type]
    except ValidationError as exc:
        for problem in exc.errors():
            name = "LINEAGE_" + "_".join(str(p) for p in problem["loc"]).upper()
            err.print(f"[red]error[/red] {name}: {problem['msg']}")
        raise typer.Exit(2) from None


@contextmanager
def opened(cfg: Settings) -> Iterator[GraphStore]:
    """Open the configured store for one command; a LineageError becomes a message and the
    exit code of the rule (3 when the store cannot answer, else 2)."""
    try:
        store = open_store(cfg.store, lock_timeout=cfg.lock_timeout_seconds)
    except LineageError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(exit_for(exc)) from None
    try:
        yield store
    except LineageError as exc:
        err.print(f"[red]error[/red] {exc}")
        raise typer.Exit(exit_for(exc)) from None
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
    with opened(cfg) as graph:
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
    with opened(cfg) as graph, progress_bar() as bar:
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


# -- the API -----------------------------------------------------------------------------------

# One token per role for the demo, held by the scenario's people and pipelines.
DEMO_TOKENS: list[tuple[Role, str]] = [
    (Role.READER, "person:oncall_ml_engineer"),
    (Role.PIPELINE, "pipeline:credit_training"),
    (Role.APPROVER, "person:model_risk_officer"),
    (Role.OPERATOR, "person:credit_ml_lead"),
    (Role.COMPLIANCE, "person:model_risk_officer"),
    (Role.ADMIN, DEMO_ACTOR),
]
CLI_ACTOR = "pipeline:lineage_cli"  # the audit actor of tokens made with direct store access
CLI_AGENT = {"id": CLI_ACTOR, "name": "lineage command line (direct store access)"}
DEMO_QUERY = (
    '{ trainingProvenance(model: \\"lending_approval\\", asOf: \\"2024-01-24T00:00:00Z\\") '
    "{ modelVersion { id codeCommit } datasets { id contentHash } } }"
)


def print_demo_tokens(issued: list[tuple[Role, str, str]], base_url: str) -> None:
    """The demo tokens and a request to paste, on stdout (plain text: no wrapping)."""
    lines = ["", "Demo tokens (new on every start; `lineage token list` shows them):"]
    lines += [f"  {role.value:<11} {principal:<28} {token}" for role, principal, token in issued]
    reader = next(token for role, _p, token in issued if role is Role.READER)
    lines += [
        "",
        "Ask a question:",
        f"  curl -s {base_url}/graphql -H 'Authorization: Bearer {reader}' "
        f"-H 'Content-Type: application/json' -d '{{\"query\": \"{DEMO_QUERY}\"}}'",
        "",
        f"Web view: {base_url}/ui (sign in with a token above; works offline)",
        f"GraphiQL: {base_url}/graphql (put the token in the headers editor)",
        "",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


@app.command()
def serve(
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Interface (default: $LINEAGE_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default: $LINEAGE_PORT or 8000).")
    ] = None,
    demo_data: Annotated[
        bool,
        typer.Option("--demo", help="Load the reference scenario and print a token per role."),
    ] = False,
    with_jobs: Annotated[
        bool, typer.Option("--with-jobs", help="Run the scheduled jobs in this process too.")
    ] = False,
    jobs_dir: JobsDirOption = None,
) -> None:
    """Serve the GraphQL API (and /healthz, /readyz, /metrics) under uvicorn."""
    import uvicorn

    from lineage.graphql.app import create_app
    from lineage.graphql.observability import configure_logging

    cfg = settings(store, records_dir, host=host, port=port)
    configure_logging(cfg.log_level)
    with opened(cfg) as graph:
        records = RecordStore(cfg.records_dir)
        jobs = scheduler_for(graph, records, jobs_dir) if with_jobs else None
        if demo_data:
            load_scenario(Registry(graph, records, actor=DEMO_ACTOR))
            issued = [
                (role, principal, create_token(graph, principal, [role], actor=DEMO_ACTOR).token)
                for role, principal in DEMO_TOKENS
            ]
            print_demo_tokens(issued, f"http://{cfg.host}:{cfg.port}")
        elif not cfg.allow_anonymous:
            err.print(
                "every request needs a token: "
                "lineage token create --principal person:... --role reader"
            )
        uvicorn.run(
            create_app(graph, records, cfg, jobs=jobs),
            host=cfg.host,
            port=cfg.port,
            log_config=None,
            access_log=False,
        )


@app.command("schema")
def schema_command() -> None:
    """Print the GraphQL schema (SDL), as graphql/schema.graphql holds it."""
    from lineage.graphql.schema import schema_sdl

    sys.stdout.write(schema_sdl())


token_app = typer.Typer(help="API tokens: create, revoke, list.", no_args_is_help=True)
app.add_typer(token_app, name="token")


def register_cli_agent(graph: GraphStore, cfg: Settings) -> None:
    """Register the CLI's own pipeline agent, the actor of its writes (a no-op once done)."""
    Registry(graph, RecordStore(cfg.records_dir), actor=CLI_ACTOR).register_pipeline(
        CLI_AGENT, reason="the command line registers itself"
    )


@token_app.command("create")
def token_create(
    principal: Annotated[
        str, typer.Option("--principal", help="The person:... or pipeline:... it stands for.")
    ],
    role: Annotated[
        list[str],
        typer.Option(
            "--role", help="reader, pipeline, approver, operator, compliance or admin; repeatable."
        ),
    ],
    label: Annotated[str | None, typer.Option("--label", help="What the token is for.")] = None,
    store: StoreOption = None,
) -> None:
    """Create a token and print it (once: only its hash is stored)."""
    cfg = settings(store)
    with opened(cfg) as graph:
        register_cli_agent(graph, cfg)
        issued = create_token(graph, principal, role, actor=CLI_ACTOR, label=label)
    err.print(f"created {issued.credential.id} for {principal} ({', '.join(role)})")
    sys.stdout.write(issued.token + "\n")


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token, its ID, or credential:<id>.")],
    store: StoreOption = None,
) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    cfg = settings(store)
    with opened(cfg) as graph:
        register_cli_agent(graph, cfg)
        node = revoke_token(graph, token, actor=CLI_ACTOR)
    out.print(
        f"revoked {node.id} ({node.props.get('principal')}) at {node.props.get('revoked_at')}"
    )


@token_app.command("list")
def token_list(
    principal: Annotated[
        str | None, typer.Option("--principal", help="Only this principal's tokens.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """List tokens: ID, principal, roles, created, revoked (never the tokens themselves)."""
    cfg = settings(store)
    with opened(cfg) as graph:
        found = list_tokens(graph, principal)
    for node in found:
        roles = ",".join(node.props.get("roles", []))
        revoked = node.props.get("revoked_at") or "-"
        sys.stdout.write(
            f"{node.id}\t{node.props.get('principal')}\t{roles}\t"
            f"{node.props.get('created_at')}\t{revoked}\n"
        )


# The governance commands live in their own module (lineage/cli_governance.py).
app.add_typer(gate_app, name="gate")
app.command("approve")(approve)
app.command("block")(block)
app.command("rollback")(rollback)
app.add_typer(retention_app, name="retention")
app.add_typer(jobs_app, name="jobs")  # lineage/cli_jobs.py
app.command("incidents")(incidents_command)  # lineage/cli_incidents.py
app.command("incident")(incident_command)
app.command("reference")(reference_command)  # lineage/cli_reference.py
app.command("export")(export_command)  # lineage/cli_export.py
app.command("verify-bundle")(verify_bundle_command)
# The investigator's questions (lineage/cli_questions.py): one GraphQL operation each.
for _question in (
    cli_questions.show,
    cli_questions.impact,
    cli_questions.provenance,
    cli_questions.decisions,
    cli_questions.changes,
    cli_questions.serving,
    cli_questions.diff,
    cli_questions.search,
    cli_questions.query,
):
    app.command(_question.__name__)(_question)
app.add_typer(cli_questions.subjects_app, name="subjects")


if __name__ == "__main__":
    app()
