"""Rich rendering of the question commands' answers (lineage.cli_questions): tables and trees on
a terminal, plain text when piped. Each function takes the answer's ``data`` as the API sends
it, so an answer renders the same whether a local store or a server gave it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

Show = Callable[[Console, dict[str, Any]], None]
DECISION_COLUMNS = 8  # a decision's first fields that fit a terminal; --json has them all


PIPED_WIDTH = 400  # piped, a table takes the width it needs: no ID or hash folded mid-way


def console() -> Console:
    """stdout: the terminal's width; piped, $COLUMNS or as wide as each table needs."""
    out = Console(soft_wrap=False, highlight=False)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out = Console(soft_wrap=False, highlight=False, width=PIPED_WIDTH)
    return out


def _bare(node_id: str | None) -> str | None:
    """An ID without its kind, where the column names the kind (``lending_approval@v12``: the
    API resolves it back)."""
    return node_id.partition(":")[2] or node_id if node_id else node_id


def _window(start: str, end: str) -> str:
    """``2024-01-25 00:00 - 10:00``: a window on one line, the end's date when it differs."""
    a, b = start.replace("T", " ").removesuffix("Z"), end.replace("T", " ").removesuffix("Z")
    a, b = a.removesuffix(":00"), b.removesuffix(":00")
    return f"{a} - {b[11:]}" if a[:10] == b[:10] else f"{a} - {b}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict) and set(value) == {"id"}:
        return str(value["id"])
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


def _table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_text(v) for v in row))
    return table


def _truncated(out: Console, truncated: Any, what: str = "answer") -> None:
    if truncated:
        out.print(
            f"[bold yellow]truncated[/bold yellow]: a limit stopped the {what} before it was "
            "complete; narrow the question (a smaller depth, fewer kinds, a shorter window)"
        )


# -- show ------------------------------------------------------------------------------------


def node(out: Console, data: dict[str, Any]) -> None:
    """Render ``node``: its fields, properties, and a model's accountable people."""
    node = data.get("node")
    if node is None:
        return
    fields = [(k, node.get(k)) for k in ("id", "kind", "validFrom", "validTo", "recordedAt")]
    if node.get("correctedBy"):
        fields.append(("correctedBy", node["correctedBy"]))
    out.print(_table(None, ["field", "value"], fields))
    props = node.get("props") or {}
    if props:
        out.print(_table("properties", ["property", "value"], sorted(props.items())))
    if "accountable" in node:
        rows = [
            (
                a["role"],
                a["agent"]["id"],
                a["agent"].get("name"),
                a["agent"].get("title"),
                a.get("validFrom"),
            )
            for a in node["accountable"]
        ]
        out.print(_table("accountable now", ["role", "who", "name", "title", "since"], rows))


# -- impact ----------------------------------------------------------------------------------


def impact(start: str) -> Show:
    """Render an ``impact`` subgraph as a tree from its start node."""

    def show(out: Console, data: dict[str, Any]) -> None:
        sub = data.get("impact")
        if sub is None:
            return
        kinds = {n["id"]: n["kind"] for n in sub["nodes"]}
        depth = {d["id"]: d["depth"] for d in sub["depths"]}
        root_id = next((i for i, d in depth.items() if d == 0), start)
        links: dict[str, list[tuple[str, str]]] = {}
        for e in sub["edges"]:
            links.setdefault(e["src"], []).append((e["dst"], e["kind"]))
            links.setdefault(e["dst"], []).append((e["src"], e["kind"]))
        root = Tree(f"[bold]{root_id}[/bold] ({kinds.get(root_id, '?')})")
        branches = {root_id: root}
        for node_id in sorted(depth, key=lambda i: (depth[i], kinds.get(i, ""), i)):
            if node_id in branches:
                continue
            via = [
                (other, kind)
                for other, kind in links.get(node_id, [])
                if depth.get(other) == depth[node_id] - 1 and other in branches
            ]
            if via:
                parent, label = branches[via[0][0]], f" [dim]{via[0][1]}[/dim]"
                others = sorted({other for other, _k in via} - {via[0][0]})
                if others:
                    shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
                    label += f" [dim](also via {shown})[/dim]"
            else:  # its neighbours one hop nearer were filtered out by --kind
                parent, label = root, f" [dim](depth {depth[node_id]})[/dim]"
            text = f"{node_id} ({kinds.get(node_id, '?')}){label}"
            branches[node_id] = parent.add(text)
        out.print(root)
        listed = len(sub["nodes"]) - (1 if root_id in kinds else 0)
        out.print(f"{_plural(listed, 'node')} reached within {sub['maxDepth']} hops")
        _truncated(out, sub["truncated"], "walk")

    return show


# -- provenance ------------------------------------------------------------------------------


def provenance(out: Console, data: dict[str, Any]) -> None:
    """Render ``trainingProvenance``."""
    p = data.get("trainingProvenance")
    if p is None:
        return
    version = p["modelVersion"]
    status = "serving" if p["serving"] else "not serving (the latest registered by then)"
    out.print(f"[bold]{version['id']}[/bold] as of {p['asOf']}: {status}")
    run = p.get("trainingRun") or {}
    if run:
        facts: list[tuple[str, Any] | None] = [
            ("training run", run.get("id")),
            ("code commit", run.get("codeCommit")),
            ("parameters", run.get("parameters")),
            ("split", run.get("split")),
            ("seed", run.get("seed")),
            ("records used", f"{run.get('recordsUsed'):,} of {run.get('recordsAvailable'):,}")
            if run.get("recordsUsed") is not None and run.get("recordsAvailable") is not None
            else None,
            ("ran", f"{run.get('startedAt')} .. {run.get('endedAt')}"),
            ("triggered by", (p.get("triggeredBy") or {}).get("id")),
        ]
        out.print(_table(None, ["", ""], [r for r in facts if r is not None]))
    snap = p.get("snapshot")
    if snap:
        features = ", ".join(f["name"] for f in p.get("features") or [])
        out.print(
            _table(
                "feature snapshot",
                ["id", "sha256", "computed by", "created", "features"],
                [
                    (
                        snap["id"],
                        snap["contentHash"],
                        snap["computedBy"],
                        snap["createdAt"],
                        features,
                    )
                ],
            )
        )
    out.print(
        _table(
            "datasets",
            ["id", "sha256", "records", "created"],
            [
                (d["id"], d["contentHash"], d.get("recordCount"), d.get("createdAt"))
                for d in p.get("datasets") or []
            ],
        )
    )
    evaluations = p.get("evaluations") or []
    if evaluations:
        measured = [(e["id"], e["metrics"], e.get("evaluatedAt")) for e in evaluations]
        out.print(_table("evaluations", ["id", "metrics", "at"], measured))
    approvals = p.get("approvals") or []
    if approvals:
        rows = [
            (a["id"], a["props"].get("role"), a["props"].get("decision"), a["validFrom"])
            for a in approvals
        ]
        out.print(_table("approvals in force", ["id", "role", "decision", "at"], rows))
    people = [
        (a["role"], a["agent"]["id"], a["agent"].get("name"), a.get("validFrom"), a.get("validTo"))
        for a in p.get("accountable") or []
    ]
    out.print(_table("accountable then", ["role", "who", "name", "from", "to"], people))
    _truncated(out, p.get("truncated"))


# -- decisions -------------------------------------------------------------------------------


def decisions(out: Console, data: dict[str, Any]) -> None:
    """Render ``decisions``: the batches, then each batch's (first) decisions."""
    answer = data.get("decisions")
    if answer is None:
        return
    batches = answer["batches"]
    rows = [
        (
            b["batch"]["id"],
            _window(b["batch"]["windowStart"], b["batch"]["windowEnd"]),
            _bare(b["modelVersion"]["id"]),
            _bare(b["snapshot"]["id"]),
            b["batch"]["recordCount"],
            ", ".join(f"{n} {what}" for what, n in sorted(b["batch"]["counts"].items())),
        )
        for b in batches
    ]
    columns = ["batch", "window (UTC)", "model version", "snapshot", "decisions", "counts"]
    out.print(_table("1 batch" if len(batches) == 1 else f"{len(batches)} batches", columns, rows))
    sources = sorted({d["id"] for b in batches for d in b["datasets"]})
    if sources:
        out.print("fed by: " + ", ".join(sources))
    for b in batches:
        page = b["records"]
        shown = page["decisions"]
        if not shown:
            continue
        keys: list[str] = []
        for record in shown:
            keys += [k for k in record if k not in keys]
        # Who, what and how sure first; the rest as room allows.
        first_keys = [k for k in keys if k.endswith("_id") or k == "subject"]
        first_keys += [k for k in ("decision", "confidence") if k in keys]
        keys = (first_keys + [k for k in keys if k not in first_keys])[:DECISION_COLUMNS]
        title = f"{b['batch']['id']}: {len(shown)} of {page['total']} decisions"
        out.print(_table(title, keys, [[r.get(k) for k in keys] for r in shown]))
        erasures = b["batch"].get("props", {}).get("erasures")
        if erasures:
            erased = sum(e["decisions"] for e in erasures)
            out.print(f"  {erased} decisions erased from this batch")
    _truncated(out, answer["truncated"])


# -- changes ---------------------------------------------------------------------------------


def changes(out: Console, data: dict[str, Any]) -> None:
    """Render ``upstreamChanges``, newest first."""
    answer = data.get("upstreamChanges")
    if answer is None:
        return
    rows = []
    for c in answer["changes"]:
        edge, node = c.get("edge"), c["node"]["id"]
        link = ""
        if edge:  # the node is one end of the edge: name the other
            other = edge["dst"] if edge["src"] == node else edge["src"]
            arrow = f"-{edge['kind']}->" if edge["src"] == node else f"<-{edge['kind']}-"
            link = f"{arrow} {other}"
        rows.append((c["at"], c["what"], c["node"]["kind"], node, link, c["depth"]))
    columns = ["at", "what", "kind", "node", "edge", "hops"]
    out.print(_table(_plural(len(rows), "change"), columns, rows))
    _truncated(out, answer["truncated"])


# -- serving ---------------------------------------------------------------------------------


def serving(names: list[str]) -> Show:
    """Render the ``serving`` answers asked under the aliases ``names``, in order."""

    def show(out: Console, data: dict[str, Any]) -> None:
        rows = []
        for name in names:
            answer = data.get(name)
            if answer is None:
                continue
            for d in answer["deployments"]:
                traffic = ", ".join(
                    f"{_bare(t['version']['id'])} {t['weight']}%" for t in d["traffic"]
                ) or ("kill switch: rules" if d["killSwitch"] else "none")
                standby = _bare((d.get("standby") or {}).get("version", {}).get("id"))
                backup = _bare((d.get("backup") or {}).get("version", {}).get("id"))
                deployment = _bare(d["deployment"]["id"])
                rows.append((answer["asOf"], deployment, traffic, standby, backup, d["changedAt"]))
        columns = ["at", "deployment", "traffic", "standby", "backup", "since"]
        out.print(_table("what served", columns, rows))

    return show


# -- diff ------------------------------------------------------------------------------------


def version_diff(out: Console, data: dict[str, Any]) -> None:
    """Render ``versionDiff``: one row per fact, the two versions side by side."""
    answer = data.get("versionDiff")
    if answer is None:
        return
    a, b = answer["a"]["id"], answer["b"]["id"]
    rows = [
        (r["aspect"], r["field"], r["a"], r["b"], "" if r["same"] else "differs")
        for r in answer["rows"]
    ]
    out.print(_table(f"{a} vs {b} as of {answer['asOf']}", ["aspect", "fact", a, b, ""], rows))
    _truncated(out, answer["truncated"])


# -- search ----------------------------------------------------------------------------------


def search(out: Console, data: dict[str, Any]) -> None:
    """Render ``search``: the hits, best first, with where the text matched."""
    answer = data.get("search")
    if answer is None:
        return
    rows = [
        (h["id"], h["kind"], h["label"], h["match"], f"{h['score']:.2f}", ", ".join(h["matched"]))
        for h in answer["hits"]
    ]
    title = f"{_plural(len(rows), 'hit')} for {answer['text']!r}"
    out.print(_table(title, ["id", "kind", "label", "match", "score", "matched"], rows))
    if answer["truncated"]:
        out.print("[bold yellow]more matched[/bold yellow]: ask for more with --first")


# -- anything --------------------------------------------------------------------------------


def generic(out: Console, data: dict[str, Any]) -> None:
    """Render any answer as a tree of its fields (``lineage query``, and answers without a
    renderer of their own); lists of flat objects become tables."""
    for name, value in data.items():
        tree = Tree(f"[bold]{name}[/bold]")
        _grow(tree, value)
        out.print(tree)


def _grow(tree: Tree, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                _grow(tree.add(f"[bold]{key}[/bold]"), item)
            else:
                tree.add(f"{key}: {_text(item)}")
    elif isinstance(value, list):
        if value and all(isinstance(v, dict) and _flat(v) for v in value):
            keys: list[str] = []
            for v in value:
                keys += [k for k in v if k not in keys]
            tree.add(_table(None, keys, [[v.get(k) for k in keys] for v in value]))
            return
        for i, item in enumerate(value):
            if isinstance(item, (dict, list)):
                _grow(tree.add(f"[dim]{i}[/dim]"), item)
            else:
                tree.add(_text(item))
    else:
        tree.add(_text(value))


def _flat(value: dict[str, Any]) -> bool:
    return all(
        not isinstance(v, (dict, list)) or (isinstance(v, dict) and set(v) <= {"id"})
        for v in value.values()
    )
