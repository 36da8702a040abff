"""The bundle's technical documentation, ``dossier.json`` and ``dossier.md``, structured after
Annex IV of the EU AI Act.

Each section holds ``facts`` (name -> value) and ``tables`` (title, columns, rows); a section
with nothing recorded says so in ``status`` and ``statement`` instead of being left out. The
facts are read from the exported scope and the governance services' answers (risk tier, gate
verdicts, sign-off standing), never recomputed here. Sections 1 to 4 (what the model is and
how it was made) are here, 5 to 8 (how it is operated) in :mod:`.dossier_operation`;
:mod:`.dossier_md` renders the markdown.
"""

from __future__ import annotations

from typing import Any

from lineage.model.graph import Node, NodeKind
from lineage.model.times import to_text
from lineage.services.export.dossier_operation import operation_sections
from lineage.services.export.dossier_parts import (
    NOT_RECORDED,
    Section,
    instant,
    section,
    table,
    when,
)
from lineage.services.export.scope import Scope


def build(scope: Scope) -> dict[str, Any]:
    """The dossier of a scope."""
    return {
        "subject": scope.root.id,
        "as_of": to_text(scope.as_of),
        "sections": [
            _general(scope),
            _development(scope),
            _evaluation(scope),
            _risk(scope),
            *operation_sections(scope),
        ],
    }


_MODEL_FACTS = (
    "description",
    "intended_use",
    "scope",
    "assumptions",
    "forbidden_features",
    "input_bounds",
    "automation_level",
    "affected_population",
    "reversibility",
    "performance_thresholds",
    "risk_thresholds",
)


def _general(scope: Scope) -> Section:
    facts: dict[str, Any] = {}
    for model_id in scope.models:
        model = scope.nodes.get(model_id)
        if model is None:
            continue
        # One fact per line: the model's own words on what it is for and where it stops.
        prefix = "" if len(scope.models) == 1 else f"{model_id} "
        for key in _MODEL_FACTS:
            facts[prefix + key.replace("_", " ")] = model.props.get(key, NOT_RECORDED)
    people = [
        [e.src, e.props.get("role", ""), e.dst, instant(e.valid_from), instant(e.valid_to)]
        for e in scope.sorted_edges()
        if e.kind.value == "WAS_ATTRIBUTED_TO" and e.src in scope.models
    ]
    versions = [
        [v, when(scope.nodes[v]), scope.nodes[v].props.get("code_commit", "")]
        for v in scope.versions
    ]
    return section(
        "1",
        "General description and intended use",
        "Annex IV(1)",
        facts,
        [
            table("Versions", ["version", "trained (run ended)", "code commit"], versions),
            table("Accountable people", ["model", "role", "agent", "from", "to"], people),
        ],
        "the model records no description, intended use or scope",
    )


def _development(scope: Scope) -> Section:
    runs = scope.of_kind(NodeKind.TRAINING_RUN)
    run_rows = [
        [
            r.id,
            str(r.props.get("model_version", "")),
            when(r),
            str(r.props.get("ended_at", "")),
            str(r.props.get("code_commit", "")),
            r.props.get("parameters", {}),
            r.props.get("split", {}),
            r.props.get("seed", ""),
            _selection(r),
            str(r.props.get("triggered_by", "")),
        ]
        for r in runs
    ]
    snapshots = [
        [
            s.id,
            str(s.props.get("content_hash", "")),
            str(s.props.get("computed_by", "")),
            s.props.get("features", []),
            s.props.get("sources", []),
            when(s),
        ]
        for s in scope.of_kind(NodeKind.FEATURE_SNAPSHOT)
    ]
    datasets = [
        [
            d.id,
            str(d.props.get("content_hash", "")),
            d.props.get("record_count", ""),
            when(d),
            str(d.props.get("uri", "")),
            str(d.props.get("sensitivity", "")),
        ]
        for d in scope.of_kind(NodeKind.DATASET_VERSION)
    ]
    return section(
        "2",
        "Development process and data provenance",
        "Annex IV(2)(a-d)",
        {},
        [
            table(
                "Training runs",
                [
                    "run",
                    "version",
                    "started",
                    "ended",
                    "code commit",
                    "parameters",
                    "split",
                    "seed",
                    "selection",
                    "triggered by",
                ],
                run_rows,
            ),
            table(
                "Feature snapshots",
                ["snapshot", "content hash", "computed by", "features", "sources", "created"],
                snapshots,
            ),
            table(
                "Dataset versions",
                ["dataset version", "content hash", "records", "created", "uri", "sensitivity"],
                datasets,
            ),
        ],
        "no training run, snapshot or dataset version is linked to the versions exported",
    )


def _selection(run: Node) -> str:
    used, available = run.props.get("records_used"), run.props.get("records_available")
    if isinstance(used, int) and isinstance(available, int) and available:
        return f"{used:,} of {available:,} records ({used / available:.1%})"
    return ""


def _evaluation(scope: Scope) -> Section:
    rows = [
        [
            e.id,
            str(e.props.get("model_version", "")),
            when(e),
            e.props.get("metrics", {}),
            str(e.props.get("dataset", "")),
            str(e.props.get("evaluator", "")),
        ]
        for e in scope.of_kind(NodeKind.EVALUATION)
    ]
    return section(
        "3",
        "Evaluation metrics",
        "Annex IV(2)(g), IV(3)",
        {},
        [table("Evaluations", ["evaluation", "version", "at", "metrics", "dataset", "by"], rows)],
        "no evaluation of the versions exported",
    )


def _risk(scope: Scope) -> Section:
    facts: dict[str, Any] = {}
    checks: list[list[Any]] = []
    for version, ready in sorted(scope.readiness.items()):
        facts[version] = {
            "risk_tier": ready.tier.value if ready.tier else None,
            "tier_explanation": ready.explanation,
            "deployable_at": to_text(ready.at) if ready.at else None,
            "deployable": ready.ok,
            "unmet": [f"{u.code}: {u.message}" for u in ready.unmet],
        }
        if ready.gates is not None:
            for gate in ready.gates.results:
                checks += [
                    [version, gate.gate, gate.verdict.value, c.name, c.passed, c.detail]
                    for c in gate.checks
                ]
    audits = [
        [
            a.id,
            str(a.props.get("model_version", "")),
            when(a),
            str(a.props.get("group_attribute", "")),
            a.props.get("counts", {}),
            a.props.get("stress_tests", []),
            str(a.props.get("auditor", "")),
        ]
        for a in scope.of_kind(NodeKind.RISK_ASSESSMENT)
    ]
    recorded = [
        [g.id, str(g.props.get("gate", "")), str(g.props.get("verdict", "")), when(g)]
        for g in scope.of_kind(NodeKind.GATE_RESULT)
    ]
    return section(
        "4",
        "Risk management record",
        "Annex IV(5)",
        facts,
        [
            table("Gate checks", ["version", "gate", "verdict", "check", "passed", "detail"],
                   checks),
            table("Recorded gate results", ["gate result", "gate", "verdict", "at"], recorded),
            table(
                "Bias audits",
                ["audit", "version", "at", "groups by", "counts", "stress tests", "auditor"],
                audits,
            ),
        ],
        "no risk tier, gate result or bias audit for the versions exported",
    )
