"""The bundle's ``report.html``: one self-contained page a person reads.

It answers "why is this model in production?" in prose, shows the provenance graph as inline
SVG laid out by the server (:mod:`lineage.drawing`, layered from upstream on the left to
downstream on the right), and the dossier's sections as tables. No script, no font, style or
image from elsewhere: the page reads the same offline and printed. The template is inline, so
the page needs no package data.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from lineage.drawing import from_subgraph, layered_svg
from lineage.model.times import to_text
from lineage.services.export.dossier_md import cell
from lineage.services.export.dossier_operation import deployment_history
from lineage.services.export.scope import Scope

MAX_DRAWN = 120

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Evidence: {{ subject }}</title>
<style>
body { font-family: Georgia, "Times New Roman", serif; margin: 2em; color: #111; max-width: 75em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #999; margin-top: 2em; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.85em; width: 100%; }
th, td { border: 1px solid #999; padding: 0.25em 0.4em; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #eee; }
.answer { font-size: 1.05em; line-height: 1.5; }
.note { font-style: italic; }
.warn { border: 2px solid #000; padding: 0.5em; font-weight: bold; }
.figure { overflow-x: auto; border: 1px solid #ccc; padding: 0.5em; }
.figure svg { max-width: 100%; height: auto; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; }
@media print { .figure { overflow: visible; } h2 { page-break-after: avoid; } }
</style>
</head>
<body>
<h1>Why is <code>{{ subject }}</code> in production?</h1>
<p class="note">Evidence bundle generated {{ generated_at }} by lineage {{ version }};
audit chain head at export: {{ head }}.{% if redacted %} Personal identifiers in the decision
records are replaced by keyed hashes.{% endif %}</p>
{% if truncated %}<p class="warn">This bundle is partial: {{ notes }}</p>{% endif %}
<div class="answer">
{% for paragraph in answer %}<p>{{ paragraph }}</p>
{% endfor %}
</div>
<h2>Provenance graph</h2>
<p>Upstream on the left, downstream on the right; {{ drawn_nodes }} nodes and {{ drawn_edges }}
relations{% if batches %}; the {{ batches }} inference batches of the window are listed in
the bundle (<code>provenance.json</code>, <code>graph.graphml</code>), not drawn{% endif %}.</p>
{% if drawing_truncated %}<p class="warn">The drawing shows part of the graph: it holds more
nodes than one drawing can show legibly. The files of the bundle hold all of it.</p>{% endif %}
<div class="figure">{{ svg }}</div>
{% for section in sections %}
<h2>{{ section.number }}. {{ section.title }} <small>({{ section.annex_iv }})</small></h2>
{% if section.statement %}<p class="warn">{{ section.statement }}</p>{% endif %}
{% if section.facts %}<table>{% for name, value in section.facts.items() %}
<tr><th>{{ name }}</th><td>{{ cell(value) }}</td></tr>{% endfor %}</table>{% endif %}
{% for table in section.tables %}<h3>{{ table.title }}</h3>
<table><tr>{% for c in table.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in table.rows %}<tr>{% for v in row %}<td>{{ cell(v) }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% endfor %}{% endfor %}
<h2>How to check this bundle</h2>
<p>Every file's SHA-256 is in <code>manifest.json</code> and in <code>SHA256SUMS</code>:
<code>sha256sum -c SHA256SUMS</code> in the bundle's folder checks them with no other tool.
<code>audit.jsonl</code> links every exported node and edge to the audit chain's head recorded
in the manifest; <code>lineage verify-bundle</code> checks both.</p>
</body>
</html>
"""


def answer(scope: Scope) -> list[str]:
    """The prose answer: where the versions serve, why they may, and how they were trained."""
    paragraphs: list[str] = []
    at = scope.as_of
    serving = [
        e
        for e in deployment_history(scope)
        if e.kind.value == "SERVED" and e.dst in scope.versions and e.valid_at(at)
    ]
    if serving:
        parts = [
            f"At {to_text(at)}, {e.src} sends {e.props.get('weight', 100)}% of its traffic to "
            f"{e.dst} ({e.props.get('slot', 'current')} slot) since "
            f"{to_text(e.valid_from) if e.valid_from else 'its start'}"
            for e in serving
        ]
        paragraphs.append("; ".join(parts) + ".")
    else:
        paragraphs.append(
            f"At {to_text(at)}, no version exported here receives traffic from a deployment: "
            f"{scope.root.id} is not in production then."
        )
    for version, ready in sorted(scope.readiness.items()):
        gates = ready.gates
        verdicts = (
            ", ".join(f"{g.gate} gate {g.verdict.value}" for g in gates.results)
            if gates
            else "no gate evaluated"
        )
        signed = [
            f"{s.role} {s.latest.props.get('approver', '?')} ({s.latest.props.get('decision')} "
            f"{to_text(s.latest.valid_from)})"
            for s in ready.sign_offs
            if s.latest is not None
        ]
        tier = ready.tier.value if ready.tier else "not computed (model unscoped)"
        verdict = "may be deployed" if ready.ok else "may NOT be deployed"
        text = (
            f"At {to_text(ready.at) if ready.at else '?'}, {version} {verdict}: risk tier {tier}; "
            f"{verdicts}; sign-offs: {', '.join(signed) or 'none'}."
        )
        if ready.unmet:
            text += " Unmet: " + "; ".join(u.message for u in ready.unmet) + "."
        paragraphs.append(text)
    for version_id in scope.versions:
        run = scope.nodes.get(str(scope.nodes[version_id].props.get("training_run", "")))
        if run is None:
            continue
        bound = dict(run.props.get("datasets", {}))
        datasets = [f"{d} (sha256 {h[:12]}...)" for d, h in sorted(bound.items())]
        used, available = run.props.get("records_used"), run.props.get("records_available")
        selection = f", {used:,} of {available:,} records" if used and available else ""
        paragraphs.append(
            f"{version_id} was produced by {run.id} (code commit "
            f"{run.props.get('code_commit', '?')}, seed {run.props.get('seed', '?')}{selection}) "
            f"on {run.props.get('snapshot', '?')}, from {', '.join(datasets) or 'no dataset'}."
        )
    return paragraphs


def render(
    scope: Scope, dossier: dict[str, Any], manifest_head: str, meta: dict[str, Any]
) -> str:
    """The page. ``meta``: ``generated_at``, ``version`` and ``redacted`` of the manifest."""
    nodes, edges = from_subgraph(scope.subgraph(), focus=scope.root.id)
    drawing = layered_svg(nodes, edges, title=f"Provenance of {scope.root.id}", max_nodes=MAX_DRAWN)
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_TEMPLATE)
    return template.render(
        subject=scope.root.id,
        generated_at=meta["generated_at"],
        version=meta["version"],
        redacted=meta["redacted"],
        head=manifest_head,
        truncated=scope.truncated,
        notes="; ".join(scope.notes),
        answer=answer(scope),
        drawn_nodes=len(nodes),
        drawn_edges=len(edges),
        batches=len(scope.batches),
        drawing_truncated=drawing.truncated,
        svg=Markup(drawing.svg),  # the drawing module escapes every text it places
        sections=dossier["sections"],
        cell=cell,
    )
