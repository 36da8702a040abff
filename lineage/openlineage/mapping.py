"""OpenLineage events onto the provenance graph, each one audited write.

The mapping (the README's table says it for users):

- a job is a Job node (a PROV plan), ``job:`` + the ID of its ``(namespace, name)``
  (:mod:`lineage.openlineage.ids`); a run is a PipelineRun activity ``pipelinerun:<runId>``, or a
  TrainingRun ``run:<runId>`` when its job matches a training rule
  (:mod:`lineage.openlineage.training`); run -HAD_PLAN-> job, run -WAS_ASSOCIATED_WITH-> the
  token's principal; a parent run facet adds run -WAS_INFORMED_BY-> parent, the parent being a
  placeholder (state UNKNOWN) until its own events arrive;
- a dataset is a Dataset node; an input is bound as run -USED-> a DatasetVersion: the one its
  ``version`` facet names, else the one its ``contentHash`` facet names, else
  ``@ol.unversioned`` (read, version not stated); each output of a COMPLETE event is a
  DatasetVersion -WAS_GENERATED_BY-> run, named the same way but ``@ol.run.<runId>`` when
  unstated. A version is ``content_addressed`` only when a ``contentHash`` facet gave its hash;
- ``schema`` gives a version its ``columns`` and version -HAD_MEMBER-> Column nodes;
  ``columnLineage`` gives output column -WAS_DERIVED_FROM-> input column; ``outputStatistics``
  gives ``record_count`` and ``size_bytes``; ``dataQualityMetrics`` is kept on the run per
  input (``input_quality``); ``ownership`` gives -WAS_ATTRIBUTED_TO-> registered persons and
  ``unresolved_owners`` for the other names; ``symlinks`` gives alias -ALTERNATE_OF-> dataset;
- a completed training run whose outputs include its rule's model artifact produced a
  ModelVersion (-WAS_GENERATED_BY-> run, -SPECIALIZATION_OF-> the Model, created if missing,
  -ALTERNATE_OF-> the artifact's version), and used a FeatureSnapshot ``snapshot:ol.<runId>``
  whose features are the columns its inputs' schemas list, each feature -WAS_DERIVED_FROM-> its
  column, so ``trainingProvenance``, ``modelsUsingDataset`` and ``featureImpact`` answer;
- every facet is kept as sent (unknown ones too), newest stamp first (:mod:`merge`).

The same event twice is a no-op; events of a run in any order converge on the same nodes
(:mod:`lineage.openlineage.merge`). Facts never change under a version: a contradiction is a
CONFLICT and nothing of that event is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.model.graph import EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.model.times import to_text, utcnow
from lineage.openlineage import ids, merge
from lineage.openlineage.events import DatasetRef, ParsedEvent
from lineage.openlineage.facts import (
    VERSION_FACETS,
    payload,
    person_of,
    run_details,
    run_identity,
    run_identity_of,
    run_node_id,
    touched,
    version_id,
    version_identity,
    version_name,
)
from lineage.openlineage.plan import WritePlan, dataset_node
from lineage.openlineage.schema import EventKind
from lineage.openlineage.training import TrainingJobs
from lineage.openlineage.training_runs import record_training
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.store.base import GraphStore

ACTION = "ingest_openlineage"


@dataclass(frozen=True, slots=True)
class Ingested:
    """What one event did. ``duplicate``: it had been ingested before, nothing was written."""

    event_hash: str
    kind: str
    duplicate: bool
    run: str | None = None
    job: str | None = None
    datasets: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    training_run: str | None = None
    model_version: str | None = None
    audit_seq: int | None = None
    nodes_written: int = 0
    edges_written: int = 0

    def as_json(self) -> dict[str, Any]:
        """The answer's form of it (camelCase, as the API writes)."""
        return {
            "eventHash": self.event_hash,
            "kind": self.kind,
            "duplicate": self.duplicate,
            "run": self.run,
            "job": self.job,
            "datasets": self.datasets,
            "datasetVersions": self.versions,
            "trainingRun": self.training_run,
            "modelVersion": self.model_version,
            "auditSeq": self.audit_seq,
            "nodesWritten": self.nodes_written,
            "edgesWritten": self.edges_written,
        }


class OpenLineageIngest:
    """Ingest events on behalf of ``actor`` (the token's principal)."""

    def __init__(self, store: GraphStore, actor: str, training: TrainingJobs) -> None:
        parse_id(actor, "actor")
        self.store = store
        self.actor = actor
        self.training = training

    def ingest(self, events: Sequence[ParsedEvent], wait: bool = True) -> list[Ingested]:
        """Write the events in order in one transaction: all of them, or none (the first
        failure is raised). ``wait=False``: WouldWait, nothing done, unless the store can
        write at once without waiting (GraphStore.transaction)."""
        # Each event reads its run (and job, datasets, columns), merges, and writes them back.
        # Two events of one run arriving at once would lose one's update if both read before
        # either wrote. The scope prevents it on every store: it is serialised from its first
        # operation to its commit (GraphStore.transaction). SQLite's BEGIN IMMEDIATE takes the
        # database's write lock before the first read; Neo4j's scope first writes a lock node,
        # and a write lock is held to commit, so the second scope blocks before reading and then
        # reads what the first committed (read committed). Taking a lock by first upserting the
        # run node would not do: an upsert replaces the node, so writing it before reading it
        # would overwrite what a concurrent event just committed.
        with self.store.transaction(wait=wait):
            require_agent(self.store, self.actor, utcnow())
            return [self._one(event) for event in events]

    # -- one event ---------------------------------------------------------------------------

    def _one(self, event: ParsedEvent) -> Ingested:
        plan = WritePlan(self.store)
        if event.kind is EventKind.RUN:
            outcome = self._run_event(plan, event)
        elif event.kind is EventKind.JOB:
            outcome = self._job_event(plan, event)
        else:
            outcome = self._dataset_event(plan, event)
        if outcome.duplicate:
            return outcome
        nodes = plan.changed()
        if not nodes and event.kind is not EventKind.RUN:
            return _replace(outcome, duplicate=True)
        self.store.upsert_nodes(nodes)
        edges = list(plan.edges.values())
        self.store.upsert_edges(edges)
        audit = append_event(
            self.store,
            actor=self.actor,
            action=ACTION,
            reason=f"OpenLineage {event.event_type or event.kind.value} from {event.producer}"[
                :500
            ],
            nodes=nodes,
            edges=edges,
            payload=payload(event),
        )
        return _replace(
            outcome, audit_seq=audit.seq, nodes_written=len(nodes), edges_written=len(edges)
        )

    def _run_event(self, plan: WritePlan, event: ParsedEvent) -> Ingested:
        assert event.run_id is not None and event.job_namespace is not None
        assert event.job_name is not None
        rule = self.training.rule_for(event.job_namespace, event.job_name)
        run_id = run_node_id(event.run_id, rule)
        job = ids.job_id(event.job_namespace, event.job_name)
        plan.prefetch(touched(event, run_id, job))
        stamp = merge.stamp(event.event_time, event.hash)
        entry = {
            "type": event.event_type or "OTHER",
            "time": to_text(event.event_time),
            "hash": event.hash,
            "producer": event.producer,
            "schema_url": event.schema_url,
        }
        existing = plan.current(run_id)
        base = dict(existing.props) if existing is not None else run_identity(event, job, rule)
        props = merge.add_event(base, entry)
        if props is None:
            return Ingested(event.hash, event.kind.value, duplicate=True, run=run_id, job=job)
        self._job(plan, event.job_namespace, event.job_name, event.job_facets, stamp, event)
        props = merge.merge_facets(props, event.run_facets, stamp, "run_")
        props = merge.merge_facets(props, event.job_facets, stamp, "job_")
        props |= merge.run_state(props["events"])
        props.pop("placeholder", None)
        props |= run_details(props)
        inputs = [self._input(plan, d, event, run_id) for d in event.inputs]
        seen = dict(props.get("inputs_seen") or {})
        for ref, version in zip(event.inputs, inputs, strict=True):
            seen[version] = sorted(set(seen.get(version, [])) | {c["name"] for c in ref.columns})
            if ref.quality is not None:
                props = merge.merge_facets(
                    props, {version: ref.quality}, stamp, "input_quality_"
                )
        props["inputs_seen"] = seen
        datasets = [ids.dataset_id(d.namespace, d.name) for d in (*event.inputs, *event.outputs)]
        versions = list(inputs)
        complete = event.event_type == "COMPLETE"
        for ref in event.outputs:
            self._dataset(plan, ref, stamp, event.event_time)
            if complete:
                versions.append(self._output(plan, ref, event, run_id))
        start = merge.run_start(props["events"], event.event_time)
        kind = NodeKind.TRAINING_RUN if rule else NodeKind.PIPELINE_RUN
        run = plan.put(Node(run_id, kind, start, props))
        plan.edge(run_id, EdgeKind.HAD_PLAN, job)
        plan.edge(run_id, EdgeKind.WAS_ASSOCIATED_WITH, self.actor, role="triggered_by")
        parent = event.parent
        if parent is not None:
            self._parent(plan, run_id, parent, event.event_time)
        model_version = None
        if rule is not None and props["state"] == "COMPLETE":
            model_version = record_training(plan, run, rule)
        return Ingested(
            event.hash,
            event.kind.value,
            duplicate=False,
            run=run_id,
            job=job,
            datasets=sorted(set(datasets)),
            versions=versions,
            training_run=run_id if model_version else None,
            model_version=model_version,
        )

    def _job_event(self, plan: WritePlan, event: ParsedEvent) -> Ingested:
        assert event.job_namespace is not None and event.job_name is not None
        stamp = merge.stamp(event.event_time, event.hash)
        job = self._job(plan, event.job_namespace, event.job_name, event.job_facets, stamp, event)
        datasets = []
        for ref in event.inputs:
            datasets.append(self._dataset(plan, ref, stamp, event.event_time))
            plan.edge(job, EdgeKind.USED, datasets[-1], declared=True)
        for ref in event.outputs:
            datasets.append(self._dataset(plan, ref, stamp, event.event_time))
            plan.edge(datasets[-1], EdgeKind.WAS_GENERATED_BY, job, declared=True)
            plan.column_lineage(ref, event.event_time)
        return Ingested(event.hash, event.kind.value, False, job=job, datasets=datasets)

    def _dataset_event(self, plan: WritePlan, event: ParsedEvent) -> Ingested:
        ref = event.dataset
        assert ref is not None
        stamp = merge.stamp(event.event_time, event.hash)
        dataset = self._dataset(plan, ref, stamp, event.event_time)
        versions = []
        if ref.version is not None or ref.content_hash is not None:
            versions.append(self._version(plan, ref, version_name(ref, None), event.event_time))
        plan.column_lineage(ref, event.event_time)
        return Ingested(event.hash, event.kind.value, False, datasets=[dataset], versions=versions)

    # -- nodes -------------------------------------------------------------------------------

    def _job(
        self,
        plan: WritePlan,
        namespace: str,
        name: str,
        facets: dict[str, Any],
        stamp: str,
        event: ParsedEvent,
    ) -> str:
        job_id = ids.job_id(namespace, name)
        existing = plan.current(job_id)
        props: dict[str, Any] = (
            dict(existing.props)
            if existing is not None
            else {"ol_namespace": namespace, "ol_name": name}
        )
        props = merge.merge_facets(props, facets, stamp)
        owners = self._owners(plan, job_id, dict(props[merge.FACETS]))
        props.pop("unresolved_owners", None)
        if owners:
            props["unresolved_owners"] = owners
        start = min(existing.valid_from, event.event_time) if existing else event.event_time
        plan.put(Node(job_id, NodeKind.JOB, start, props))
        return job_id

    def _dataset(self, plan: WritePlan, ref: DatasetRef, stamp: str, at: datetime) -> str:
        dataset_id = ids.dataset_id(ref.namespace, ref.name)
        existing = plan.current(dataset_id)
        props: dict[str, Any] = (
            dict(existing.props)
            if existing is not None
            else {
                "name": parse_id(dataset_id).name,
                "ol_namespace": ref.namespace,
                "ol_name": ref.name,
            }
        )
        kept = {k: v for k, v in ref.facets.items() if k not in VERSION_FACETS}
        props = merge.merge_facets(props, kept, stamp)
        owners = self._owners(plan, dataset_id, dict(props[merge.FACETS]))
        props.pop("unresolved_owners", None)
        if owners:
            props["unresolved_owners"] = owners
        start = min(existing.valid_from, at) if existing else at
        plan.put(Node(dataset_id, NodeKind.DATASET, start, props))
        for namespace, name, kind in ref.aliases:
            alias = ids.dataset_id(namespace, name)
            if plan.current(alias) is None:
                plan.put(dataset_node(alias, namespace, name, at))
            if alias != dataset_id:
                plan.edge(alias, EdgeKind.ALTERNATE_OF, dataset_id, type=kind)
        return dataset_id

    def _owners(self, plan: WritePlan, owned: str, facets: dict[str, Any]) -> list[str]:
        """Edges to the registered persons an ``ownership`` facet names; the other names."""
        facet = facets.get("ownership")
        if not isinstance(facet, dict):
            return []
        unresolved = []
        for owner in facet.get("owners") or []:
            name = str(owner.get("name", ""))
            person = person_of(name)
            found = plan.current(person) if person else None
            if found is not None and found.kind is NodeKind.PERSON:
                plan.edge(
                    owned, EdgeKind.WAS_ATTRIBUTED_TO, found.id, role="owner",
                    type=str(owner.get("type") or ""),
                )
            else:
                unresolved.append(name)
        return sorted(set(unresolved))

    def _input(self, plan: WritePlan, ref: DatasetRef, event: ParsedEvent, run_id: str) -> str:
        stamp = merge.stamp(event.event_time, event.hash)
        self._dataset(plan, ref, stamp, event.event_time)
        name = version_name(ref, None)
        facts = Node(
            version_id(ref, name),
            NodeKind.DATASET_VERSION,
            event.event_time,
            version_identity(ref, name),
        )
        version = plan.merge(facts)
        plan.edge(run_id, EdgeKind.USED, version)
        return version

    def _output(self, plan: WritePlan, ref: DatasetRef, event: ParsedEvent, run_id: str) -> str:
        assert event.run_id is not None
        name = version_name(ref, event.run_id)
        version = self._version(plan, ref, name, event.event_time, produced_by=run_id)
        plan.edge(version, EdgeKind.WAS_GENERATED_BY, run_id)
        plan.column_lineage(ref, event.event_time)
        return version

    def _version(
        self,
        plan: WritePlan,
        ref: DatasetRef,
        name: str,
        at: datetime,
        produced_by: str | None = None,
    ) -> str:
        facts = version_identity(ref, name)
        if ref.columns:
            facts["columns"] = ref.columns
        if ref.row_count is not None:
            facts["record_count"] = ref.row_count
        if ref.size_bytes is not None:
            facts["size_bytes"] = ref.size_bytes
        if ref.lineage:
            facts["column_lineage"] = {
                column: [[s.namespace, s.name, s.field] for s in sources]
                for column, sources in ref.lineage.items()
            }
        if produced_by is not None:
            facts["produced_by"] = produced_by
        made = version_id(ref, name)
        plan.merge(Node(made, NodeKind.DATASET_VERSION, at, facts))
        for column in ref.columns:
            column_id = plan.column(ref.namespace, ref.name, column["name"], at)
            plan.edge(made, EdgeKind.HAD_MEMBER, column_id)
        return made

    def _parent(
        self, plan: WritePlan, run_id: str, parent: tuple[str, str, str], at: datetime
    ) -> None:
        parent_run, namespace, name = parent
        rule = self.training.rule_for(namespace, name)
        parent_id = run_node_id(parent_run, rule)
        if parent_id == run_id:
            return
        job = ids.job_id(namespace, name)
        plan.if_missing(
            job, lambda: Node(job, NodeKind.JOB, at, {"ol_namespace": namespace, "ol_name": name})
        )
        kind = NodeKind.TRAINING_RUN if rule else NodeKind.PIPELINE_RUN
        props = run_identity_of(parent_run, namespace, name, job, rule)
        props |= {"events": [], "state": "UNKNOWN", "placeholder": True}
        plan.if_missing(parent_id, lambda: Node(parent_id, kind, at, props))
        plan.edge(parent_id, EdgeKind.HAD_PLAN, job)
        plan.edge(run_id, EdgeKind.WAS_INFORMED_BY, parent_id, relation="parent")


def _replace(outcome: Ingested, **changes: Any) -> Ingested:
    values = {f: getattr(outcome, f) for f in Ingested.__dataclass_fields__} | changes
    return Ingested(**values)
