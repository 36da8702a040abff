"""Sections 5 to 8 of the dossier (:mod:`lineage.services.export.dossier`): how the model is
operated once trained: human oversight, approvals, changes over the lifecycle, and post-market
monitoring."""

from __future__ import annotations

from typing import Any

from lineage.model.graph import Edge, NodeKind
from lineage.services.export.dossier_parts import Section, instant, section, table, when
from lineage.services.export.scope import Scope


def operation_sections(scope: Scope) -> list[Section]:
    """Sections 5 to 8."""
    return [_oversight(scope), _approvals(scope), _lifecycle(scope), _monitoring(scope)]


def _oversight(scope: Scope) -> Section:
    facts: dict[str, Any] = {}
    for model_id in scope.models:
        model = scope.nodes.get(model_id)
        if model is not None and "automation_level" in model.props:
            facts[f"{model_id} automation level"] = model.props["automation_level"]
    for audit in scope.of_kind(NodeKind.RISK_ASSESSMENT):
        if audit.props.get("human_override_path"):
            facts[f"{audit.id} human override path"] = audit.props["human_override_path"]
    if scope.batches:
        facts["overrides in the exported batches"] = scope.overrides
    rules = [
        [r.id, r.props.get("default_decision", ""), len(r.props.get("rules", []))]
        for r in scope.of_kind(NodeKind.DECISION_RULES)
    ]
    return section(
        "5",
        "Human oversight",
        "Annex IV(2)(e)",
        facts,
        [table("Fallback rules (kill switch)", ["rules", "default decision", "rules count"],
                rules)],
        "no human override path, automation level or fallback rules recorded",
    )


def _approvals(scope: Scope) -> Section:
    rows = [
        [
            a.id,
            str(a.props.get("model_version", "")),
            str(a.props.get("role", "")),
            str(a.props.get("decision", "")),
            str(a.props.get("approver", "")),
            when(a),
            str(a.props.get("reason", "")),
            a.props.get("evidence", {}),
        ]
        for a in scope.of_kind(NodeKind.APPROVAL)
    ]
    standing = [
        [version, s.role, s.required, s.latest.id if s.latest else "", s.approved, s.stale]
        for version, ready in sorted(scope.readiness.items())
        for s in ready.sign_offs
    ]
    return section(
        "6",
        "Approvals: who, when, on what evidence",
        "Annex IV(2)(e), IV(6)",
        {},
        [
            table(
                "Sign-offs",
                ["sign-off", "version", "role", "decision", "by", "at", "reason", "evidence"],
                rows,
            ),
            table(
                "Standing at the export's instant",
                ["version", "role", "required", "latest", "holds", "stale because"],
                standing,
            ),
        ],
        "no approval or block of the versions exported",
    )


def deployment_history(scope: Scope) -> list[Edge]:
    """The deployments' slot, rules and rollback edges, oldest first."""
    kinds = {"SERVED", "STANDS_BY", "HAS_FALLBACK", "FELL_BACK_TO", "ROLLED_BACK_FOR"}
    found = [e for e in scope.edges.values() if e.src in scope.deployments and e.kind in kinds]
    return sorted(found, key=lambda e: (instant(e.valid_from), e.key))


def _lifecycle(scope: Scope) -> Section:
    history = [
        [
            instant(e.valid_from),
            instant(e.valid_to),
            e.src,
            e.kind.value,
            e.dst,
            str(e.props.get("slot", "")),
            e.props.get("weight", ""),
            str(e.props.get("change", "")),
            str(e.props.get("reason", "")),
            str(e.props.get("by", "")),
        ]
        for e in deployment_history(scope)
    ]
    corrections = [
        [c.id, str(c.props.get("target", "")), when(c), c.props.get("changes", {}),
         str(c.props.get("reason", "")), str(c.props.get("by", ""))]
        for c in scope.of_kind(NodeKind.CORRECTION)
    ]
    return section(
        "7",
        "Changes over the lifecycle",
        "Annex IV(6)",
        {},
        [
            table(
                "Deployment history",
                ["from", "until", "deployment", "edge", "to", "slot", "weight", "change",
                 "reason", "by"],
                history,
            ),
            table("Corrections", ["correction", "of", "at", "changes", "reason", "by"],
                   corrections),
        ],
        "no deployment change or correction",
    )


def _monitoring(scope: Scope) -> Section:
    facts: dict[str, Any] = {}
    if scope.batches:
        facts["inference batches"] = len(scope.batches)
        facts["decisions"] = scope.decisions
        facts["first window starts"] = when(scope.batches[0])
        facts["last window starts"] = when(scope.batches[-1])
    incidents = [
        [
            i.id,
            when(i),
            str(i.props.get("severity", "")),
            str(i.props.get("status", "")),
            str(i.props.get("signal", "")),
            str(i.props.get("title", "")),
            str(i.props.get("root_cause", "")),
        ]
        for i in scope.of_kind(NodeKind.INCIDENT)
        if scope.window.contains(i.valid_from)  # a rollback's incident may lie outside it
    ]
    drills = [
        [d.id, when(d), str(d.props.get("result", "")), d.props.get("reasons", []),
         d.props.get("recovery_seconds", "")]
        for d in scope.of_kind(NodeKind.DRILL)
    ]
    return section(
        "8",
        "Post-market monitoring",
        "Annex IV(8), Article 72",
        facts,
        [
            table(
                "Incidents",
                ["incident", "opened", "severity", "status", "signal", "title", "root cause"],
                incidents,
            ),
            table("Rollback drills", ["drill", "at", "result", "reasons", "recovery s"], drills),
        ],
        "no inference batch, incident or rollback drill in the window",
    )
