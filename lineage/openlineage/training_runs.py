"""A completed run of a training job: the model version it produced and the snapshot it used.

See :mod:`lineage.openlineage.training` for which jobs train models and which output is the
artifact. The nodes made here are facts completed, never contradicted, by later events of the
run (:func:`lineage.openlineage.merge.merge_facts`), so START arriving after COMPLETE adds the
commit or inputs it carried and changes nothing else.
"""

from __future__ import annotations

from typing import Any

from lineage.model.graph import EdgeKind, Node, NodeKind
from lineage.model.ids import make_id, parse_id
from lineage.openlineage import ids, merge
from lineage.openlineage.facts import instant
from lineage.openlineage.plan import WritePlan
from lineage.openlineage.training import TrainingJobs, TrainingRule
from lineage.store.base import EdgeQuery


def record_training(plan: WritePlan, run: Node, rule: TrainingRule) -> str | None:
    """The model version a completed training run produced, and the snapshot it used; None
    while no output of the run is the rule's artifact."""
    artifacts = [
        v
        for v in outputs_of(plan, run.id)
        if TrainingJobs.is_artifact(rule, str(v.props["ol_namespace"]), str(v.props["ol_name"]))
    ]
    if not artifacts:
        return None
    artifact = min(artifacts, key=lambda v: v.id)
    run_uuid = str(run.props["run_id"])
    at = merge.run_start(run.props["events"], run.valid_from)
    ended = run.props.get("ended_at")
    model_id = rule.model_id()
    plan.if_missing(
        model_id,
        lambda: Node(
            model_id,
            NodeKind.MODEL,
            at,
            {"name": parse_id(model_id).name, "registered_by": "openlineage"},
        ),
    )
    seen: dict[str, list[str]] = run.props.get("inputs_seen") or {}
    features: dict[str, str] = {}
    for holder, column in feature_columns(plan, artifact, seen):
        feature = make_id(NodeKind.FEATURE, ids.feature_name(column))
        if plan.current(feature) is None:
            plan.put(Node(feature, NodeKind.FEATURE, at, {"name": column}))
        source = plan.column(
            str(holder.props["ol_namespace"]), str(holder.props["ol_name"]), column, at
        )
        plan.edge(feature, EdgeKind.WAS_DERIVED_FROM, source)
        features[feature] = column
    snapshot = make_id(NodeKind.FEATURE_SNAPSHOT, f"ol.{run_uuid}")
    facts = Node(
        snapshot,
        NodeKind.FEATURE_SNAPSHOT,
        at,
        {
            "features": sorted(features),
            "sources": sorted(seen),
            "computed_by": run.id,
            "content_addressed": False,
        },
    )
    plan.merge(facts, lists=("features", "sources"))
    for feature in features:
        plan.edge(snapshot, EdgeKind.HAD_MEMBER, feature)
    for source in seen:
        plan.edge(snapshot, EdgeKind.WAS_DERIVED_FROM, source)
    plan.edge(run.id, EdgeKind.USED, snapshot, role="features")
    # The artifact's version names the model version: "14" for a version facet of 14,
    # ol.run.<runId> when none was stated.
    version = parse_id(artifact.id).version or f"ol.run.{run_uuid}"
    model_version = make_id(NodeKind.MODEL_VERSION, parse_id(model_id).name, version)
    mv_facts: dict[str, Any] = {
        "model": model_id,
        "version": version,
        "training_run": run.id,
        "snapshot": snapshot,
        "artifact": artifact.id,
    }
    commit = run.props.get("code_commit")
    if isinstance(commit, str):
        mv_facts["code_commit"] = commit
    if isinstance(artifact.props.get("content_hash"), str):
        mv_facts["artifact_hash"] = artifact.props["content_hash"]
    done = instant(ended) or at
    plan.merge(Node(model_version, NodeKind.MODEL_VERSION, done, mv_facts))
    plan.edge(model_version, EdgeKind.WAS_GENERATED_BY, run.id)
    plan.edge(model_version, EdgeKind.SPECIALIZATION_OF, model_id)
    plan.edge(model_version, EdgeKind.ALTERNATE_OF, artifact.id, role="artifact")
    training = {"model_version": model_version, "snapshot": snapshot}
    plan.put(Node(run.id, run.kind, run.valid_from, dict(run.props) | training))
    return model_version


def feature_columns(
    plan: WritePlan, artifact: Node, seen: dict[str, list[str]]
) -> list[tuple[Node, str]]:
    """The columns a model's features are: its artifact's schema (the model's inputs, which
    column lineage traces to their sources) when it has one, else the columns its inputs'
    schemas listed."""
    columns = artifact.props.get("columns")
    if isinstance(columns, list) and columns:
        return [(artifact, str(c["name"])) for c in columns if isinstance(c, dict)]
    found = []
    for version_id, names in sorted(seen.items()):
        version = plan.current(version_id)
        if version is not None:
            found += [(version, name) for name in names]
    return found


def outputs_of(plan: WritePlan, run_id: str) -> list[Node]:
    """The versions this event or an earlier one recorded as written by ``run_id``."""
    found = {
        n.id: n
        for n in plan.nodes.values()
        if n.kind is NodeKind.DATASET_VERSION and n.props.get("produced_by") == run_id
    }
    into = EdgeQuery(dst=run_id, kinds=frozenset({EdgeKind.WAS_GENERATED_BY}))
    for edge in plan.store.find_edges(into).items:
        if edge.src not in found:
            node = plan.current(edge.src)
            if node is not None and node.kind is NodeKind.DATASET_VERSION:
                found[node.id] = node
    return list(found.values())
