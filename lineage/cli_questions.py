"""The investigator's questions on the command line: ``show``, ``impact``, ``provenance``,
``decisions``, ``changes``, ``serving``, ``diff``, ``search`` and ``query``.

Each command is one GraphQL operation. With a local store (``--store``) it runs in process
against the API's own schema, limits and node budget as a reader
(:mod:`lineage.graphql.local`); with a server (``--url``, or ``$LINEAGE_URL`` when no
``--store`` is given, and the token in ``$LINEAGE_TOKEN``) the same document is POSTed to
``/graphql`` (:mod:`lineage.client`). So ``lineage query FILE.graphql`` and the named commands
share one executor, and no question has a second implementation.

Human output is rich tables and trees (:mod:`lineage.cli_render`); ``--json`` prints the
answer's ``data``. The exit codes follow one rule (:mod:`lineage.cli_asking`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from lineage import cli_render as render
from lineage.cli_asking import Where, answer, err, instant, typed_variables, usage
from lineage.cli_options import JsonOption, RecordsOption, StoreOption

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Ask this server instead of a local store (default: $LINEAGE_URL when no --store "
        "is given); the token comes from $LINEAGE_TOKEN.",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Ask as of this instant, e.g. 2024-01-24 or 2024-01-25T11:30:00Z."
    ),
]


# -- the questions ---------------------------------------------------------------------------

SHOW = """
query Show($id: ID!) {
  node(id: $id) {
    id kind validFrom validTo recordedAt correctedBy props
    ... on Model {
      accountable { role validFrom validTo agent { id kind ... on Person { name title } } }
    }
  }
}
"""
IMPACT = """
query Impact($node: ID!, $direction: Direction!, $maxDepth: Int, $kinds: [String!],
             $asOf: DateTime) {
  impact(node: $node, direction: $direction, maxDepth: $maxDepth, kinds: $kinds, asOf: $asOf) {
    truncated maxDepth
    nodes { id kind validFrom }
    edges { src kind dst validFrom validTo }
    depths { id depth }
  }
}
"""
PROVENANCE = """
query Provenance($model: String!, $asOf: DateTime!) {
  trainingProvenance(model: $model, asOf: $asOf) {
    asOf serving truncated
    modelVersion { id version registeredAt }
    trainingRun {
      id codeCommit parameters split seed recordsUsed recordsAvailable startedAt endedAt
    }
    snapshot { id contentHash computedBy createdAt }
    features { id name }
    datasets { id contentHash recordCount createdAt }
    evaluations { id metrics evaluatedAt evaluator }
    approvals { id validFrom props }
    accountable { role validFrom validTo agent { id ... on Person { name title } } }
    triggeredBy { id }
  }
}
"""
DECISIONS = """
query Decisions($model: String!, $from: DateTime!, $to: DateTime!, $snapshot: String,
                $subject: String, $first: Int) {
  decisions(model: $model, from: $from, to: $to, snapshot: $snapshot, subject: $subject) {
    truncated
    batches {
      batch { id windowStart windowEnd recordCount counts props }
      modelVersion { id }
      snapshot { id }
      datasets { id contentHash }
      records(first: $first) { total hasNextPage decisions }
    }
  }
}
"""
CHANGES = """
query Changes($node: ID!, $since: DateTime!%s) {
  upstreamChanges(node: $node, since: $since%s) {
    truncated
    changes {
      at what depth
      node { id kind }
      edge { src kind dst validFrom validTo }
    }
  }
}
"""
SERVING_AT = """
  %s: serving(target: $target, asOf: $%s) {
    asOf
    deployments {
      deployment { id }
      traffic { version { id } slot weight since }
      standby { version { id } }
      backup { version { id } }
      killSwitch
      changedAt
    }
  }"""
DIFF = """
query Diff($a: String!, $b: String!, $asOf: DateTime, $only: Boolean) {
  versionDiff(a: $a, b: $b, asOf: $asOf) {
    a { id } b { id } asOf truncated
    rows(onlyDifferences: $only) { aspect field a b same }
  }
}
"""
SEARCH = """
query Search($text: String!, $kinds: [String!], $first: Int) {
  search(text: $text, kinds: $kinds, first: $first) {
    text truncated
    hits { id kind label match score matched }
  }
}
"""


def show(
    node: Annotated[str, typer.Argument(help="A node ID (or a short name the API resolves).")],
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """One node: its fields, its properties, and for a model who is accountable for it now."""
    where = Where(store, records_dir, url)
    answer(where, SHOW, {"id": node}, as_json, render.node, absent=("node", "id", node))


def impact(
    node: Annotated[str, typer.Argument(help="Where to start, e.g. dataset:applications@v2.")],
    down: Annotated[
        bool, typer.Option("--down", help="What depends on it (what breaks without it).")
    ] = False,
    up: Annotated[bool, typer.Option("--up", help="What it was derived from.")] = False,
    depth: Annotated[
        int | None, typer.Option("--depth", help="Hops to follow (server default 6, max 12).")
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only list nodes of this kind (repeatable): ModelVersion."),
    ] = None,
    as_of: AsOfOption = None,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The bounded subgraph reachable from NODE, as a tree; says when a limit truncated it."""
    if not (down or up):
        raise usage("say which way: --down (what depends on it), --up (its sources), or both")
    direction = "BOTH" if down and up else "DOWNSTREAM" if down else "UPSTREAM"
    variables = {
        "node": node,
        "direction": direction,
        "maxDepth": depth,
        "kinds": kind or None,
        "asOf": instant(as_of, "--as-of"),
    }
    answer(Where(store, records_dir, url), IMPACT, variables, as_json, render.impact(node))


def provenance(
    model: Annotated[str, typer.Argument(help="The model, e.g. lending_approval.")],
    as_of: AsOfOption = None,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """How the model version serving at --as-of (default now) was trained: data hashes,
    snapshot, code, parameters, evaluations, approvals and the people in force then."""
    at = instant(as_of, "--as-of") or datetime.now(UTC).isoformat()
    variables = {"model": model, "asOf": at}
    answer(Where(store, records_dir, url), PROVENANCE, variables, as_json, render.provenance)


def decisions(
    model: Annotated[str, typer.Argument(help="The model (or a version): lending_approval.")],
    start: Annotated[str, typer.Option("--from", help="Start of the window (inclusive).")],
    end: Annotated[str, typer.Option("--to", help="End of the window (exclusive).")],
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Only batches that used this snapshot.")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject",
            help="Only this person's decisions: john_doe_12345 or applicant_id=john_doe_12345.",
        ),
    ] = None,
    first: Annotated[
        int, typer.Option("--first", help="Decisions to list per batch (default 5).")
    ] = 5,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The model's batches in [--from, --to) with what they used, and their decisions."""
    variables = {
        "model": model,
        "from": instant(start, "--from"),
        "to": instant(end, "--to"),
        "snapshot": snapshot,
        "subject": subject,
        "first": first,
    }
    answer(Where(store, records_dir, url), DECISIONS, variables, as_json, render.decisions)


def changes(
    node: Annotated[str, typer.Argument(help="The node under investigation, e.g. a version.")],
    since: Annotated[str, typer.Option("--since", help="Only what changed at or after this.")],
    until: Annotated[
        str | None, typer.Option("--until", help="Only what changed at or before this.")
    ] = None,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Everything that changed upstream of NODE in the window, newest first."""
    variables = {
        "node": node,
        "since": instant(since, "--since"),
        "until": instant(until, "--until"),
    }
    # ``until`` only when given, so a server without the argument still answers the rest.
    document = CHANGES % ((", $until: DateTime", ", until: $until") if until else ("", ""))
    answer(Where(store, records_dir, url), document, variables, as_json, render.changes)


def serving(
    target: Annotated[str, typer.Argument(help="A deployment, or a model for all of its own.")],
    at: Annotated[
        list[str] | None,
        typer.Option("--as-of", help="The instant (repeatable; default now)."),
    ] = None,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """What served at each instant: versions with traffic and weights, standby, backup."""
    instants = [instant(t, "--as-of") for t in at or []] or [datetime.now(UTC).isoformat()]
    names = [f"at{i}" for i in range(len(instants))]
    fields = "".join(SERVING_AT % (n, n) for n in names)
    declared = "".join(f", ${n}: DateTime" for n in names)
    document = f"query Serving($target: ID!{declared}) {{{fields}\n}}"
    variables: dict[str, Any] = {"target": target} | dict(zip(names, instants, strict=True))
    answer(Where(store, records_dir, url), document, variables, as_json, render.serving(names))


def diff(
    a: Annotated[str, typer.Argument(help="A version, e.g. lending_approval@v12.")],
    b: Annotated[str, typer.Argument(help="Another, e.g. lending_approval@v13.")],
    as_of: AsOfOption = None,
    everything: Annotated[
        bool, typer.Option("--all", help="List what is the same too.")
    ] = False,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """What differs between two versions: data, snapshot, code, parameters, metrics, gates,
    approvals, deployments."""
    variables = {"a": a, "b": b, "asOf": instant(as_of, "--as-of"), "only": not everything}
    answer(Where(store, records_dir, url), DIFF, variables, as_json, render.version_diff)


def search(
    text: Annotated[str, typer.Argument(help="An ID, the start of one, or words.")],
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only this kind (repeatable).")
    ] = None,
    first: Annotated[
        int | None, typer.Option("--first", help="At most this many (server default 20).")
    ] = None,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find nodes by ID, ID prefix or words, best first."""
    variables = {"text": text, "kinds": kind or None, "first": first}
    answer(Where(store, records_dir, url), SEARCH, variables, as_json, render.search)


def query(
    file: Annotated[
        Path, typer.Argument(help="A .graphql file, e.g. graphql/queries/serving.graphql.")
    ],
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            help="A variable, name=value (repeatable); the value is read as the type the "
            "operation declares (Int, Boolean, lists and objects as JSON).",
        ),
    ] = None,
    variables_file: Annotated[
        Path | None,
        typer.Option("--variables", help="A JSON file of variables (--var overrides it)."),
    ] = None,
    operation: Annotated[
        str | None, typer.Option("--operation", help="The operation to run, if several.")
    ] = None,
    store: StoreOption = None,
    records_dir: RecordsOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run any saved operation (graphql/queries/*.graphql) here or against a server."""
    try:
        document = file.read_text(encoding="utf-8")
        base = json.loads(variables_file.read_text(encoding="utf-8")) if variables_file else {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise usage(f"cannot read {exc}") from None
    if not isinstance(base, dict):
        raise usage(f"--variables: {variables_file} must hold a JSON object")
    variables = base | typed_variables(document, operation, var or [])
    answer(Where(store, records_dir, url), document, variables, as_json, render.generic, operation)


# -- the subject index -----------------------------------------------------------------------

subjects_app = typer.Typer(help="The index of decisions by data subject.", no_args_is_help=True)


@subjects_app.command("rebuild")
def subjects_rebuild(store: StoreOption = None, records_dir: RecordsOption = None) -> None:
    """Rebuild the subject index from every batch's records (after a loss, or a new key)."""
    from lineage.cli import opened, progress_bar, settings
    from lineage.services.record_store import RecordStore
    from lineage.services.subjects import rebuild

    cfg = settings(store, records_dir)
    with opened(cfg) as graph, progress_bar() as bar:
        task = bar.add_task("indexing batches", total=None)
        done = rebuild(
            graph,
            RecordStore(cfg.records_dir),
            lambda n, total: bar.update(task, completed=n, total=total),
        )
    err.print(f"subject index rebuilt from {done} inference batches")
