"""Registration: how pipelines put provenance into the graph.

Each operation validates its record and builds the nodes and edges it adds as a
:class:`~lineage.services.write_plan.Plan`, which is written with an audit event in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import kind_of, parse_id
from lineage.model.records import (
    DatasetVersionRecord,
    DeploymentRecord,
    EvaluationRecord,
    FeatureSnapshotRecord,
    IncidentRecord,
    InferenceBatchRecord,
    ModelRecord,
    PersonRecord,
    PipelineRecord,
    TrainingRunRecord,
    parse_record,
)
from lineage.model.times import to_text, utcnow
from lineage.services import consistency
from lineage.services.governance import slots
from lineage.services.record_store import RecordStore
from lineage.services.subjects import index_batch
from lineage.services.write_plan import Plan, Registration, apply_plan, record_node, require
from lineage.store.base import EdgeQuery, GraphStore

Input = Mapping[str, Any]
ROLES = ("owner", "technical_steward", "risk_approver")


class Registry:
    """Registration operations on behalf of one actor (the token's principal in the API)."""

    def __init__(self, store: GraphStore, records: RecordStore, actor: str) -> None:
        parse_id(actor, "actor")
        self.store = store
        self.records = records
        self.actor = actor

    # -- agents ------------------------------------------------------------------------------

    def register_person(
        self, data: PersonRecord | Input, reason: str = "register person"
    ) -> Registration:
        """Register a person (owner, approver, engineer); ``manager`` links actedOnBehalfOf."""
        rec = parse_record(PersonRecord, data)
        return self._register_agent("register_person", reason, rec, NodeKind.PERSON, "manager")

    def register_pipeline(
        self, data: PipelineRecord | Input, reason: str = "register pipeline"
    ) -> Registration:
        """Register an automated agent; ``owner`` links actedOnBehalfOf."""
        rec = parse_record(PipelineRecord, data)
        return self._register_agent("register_pipeline", reason, rec, NodeKind.PIPELINE, "owner")

    def _register_agent(
        self,
        action: str,
        reason: str,
        rec: PersonRecord | PipelineRecord,
        kind: NodeKind,
        on_behalf_of: str,
    ) -> Registration:
        node = record_node(rec.id, kind, rec.since, rec, exclude={"id", "since"})
        plan = Plan(primary=node, immutable=[node])
        principal = getattr(rec, on_behalf_of)
        if principal:
            plan.edges.append(Edge(rec.id, EdgeKind.ACTED_ON_BEHALF_OF, principal))
            plan.references[principal] = on_behalf_of
        return apply_plan(
            self.store, self.actor, action, reason, plan, rec, time_defaulted=rec.since is None
        )

    # -- data --------------------------------------------------------------------------------

    def register_dataset_version(
        self, data: DatasetVersionRecord | Input, reason: str = "register dataset version"
    ) -> Registration:
        """Register an immutable dataset version (and its Dataset, on first sight)."""
        rec = parse_record(DatasetVersionRecord, data)
        parsed = parse_id(rec.id)
        node = record_node(
            rec.id,
            NodeKind.DATASET_VERSION,
            rec.created_at,
            rec,
            exclude={"id", "created_at"},
            extra={"version": parsed.version},
        )
        dataset = Node(parsed.unversioned, NodeKind.DATASET, rec.created_at, {"name": parsed.name})
        plan = Plan(primary=node, immutable=[node], if_missing=[dataset])
        plan.edges.append(Edge(rec.id, EdgeKind.SPECIALIZATION_OF, dataset.id))
        return apply_plan(self.store, self.actor, "register_dataset_version", reason, plan, rec)

    def register_feature_snapshot(
        self, data: FeatureSnapshotRecord | Input, reason: str = "register feature snapshot"
    ) -> Registration:
        """Register a feature snapshot over existing dataset versions (features on first sight)."""
        rec = parse_record(FeatureSnapshotRecord, data)
        features = rec.feature_ids()
        for i, feature_id in enumerate(features):
            if kind_of(feature_id, f"features.{i}") is not NodeKind.FEATURE:
                raise InvalidError(f"{feature_id!r} is not a feature", field=f"features.{i}")
        node = record_node(
            rec.id,
            NodeKind.FEATURE_SNAPSHOT,
            rec.created_at,
            rec,
            exclude={"id", "created_at", "features"},
            extra={"features": features},
        )
        plan = Plan(primary=node, immutable=[node])
        for feature_id in features:
            name = parse_id(feature_id).name
            plan.if_missing.append(
                Node(feature_id, NodeKind.FEATURE, rec.created_at, {"name": name})
            )
            plan.edges.append(Edge(rec.id, EdgeKind.HAD_MEMBER, feature_id))
        for i, source in enumerate(rec.sources):
            plan.edges.append(Edge(rec.id, EdgeKind.WAS_DERIVED_FROM, source))
            plan.references[source] = f"sources.{i}"
        plan.checks.append(
            lambda nodes: consistency.check_snapshot_sources(rec, [nodes[s] for s in rec.sources])
        )
        return apply_plan(self.store, self.actor, "register_feature_snapshot", reason, plan, rec)

    # -- models ------------------------------------------------------------------------------

    def register_model(
        self, data: ModelRecord | Input, reason: str = "register model"
    ) -> Registration:
        """Register a model with its owner, technical steward and risk approver.

        The three roles are temporal attributions starting at ``since``; changing one later is
        :meth:`assign_role`, not a re-registration.
        """
        rec = parse_record(ModelRecord, data)
        since = rec.since or utcnow()
        # The people are the temporal edges alone: a copy on the node would go stale at the
        # first handover.
        node = record_node(rec.id, NodeKind.MODEL, since, rec, exclude={"id", "since", *ROLES})
        plan = Plan(primary=node, immutable=[node])
        for role in ROLES:
            person = getattr(rec, role)
            plan.edges.append(
                Edge(rec.id, EdgeKind.WAS_ATTRIBUTED_TO, person, {"role": role}, valid_from=since)
            )
            plan.references[person] = role
        defaulted = rec.since is None
        return apply_plan(
            self.store, self.actor, "register_model", reason, plan, rec, time_defaulted=defaulted
        )

    def assign_role(
        self, model: str, role: str, person: str, at: datetime, reason: str
    ) -> Registration:
        """Hand a model role to another person from ``at``, closing the current holder's term."""
        if role not in ROLES:
            raise InvalidError(f"unknown role {role!r}; roles: {', '.join(ROLES)}", field="role")
        current = [e for e in self._attributions(model, at) if e.props.get("role") == role]
        node = require(self.store, model, "model", NodeKind.MODEL)
        if any(e.dst == person for e in current):
            return Registration(node=node, created=False)
        if role == "risk_approver":
            owners = [
                e.dst for e in self._attributions(model, at) if e.props.get("role") == "owner"
            ]
            if person in owners:
                raise InvalidError("the risk approver cannot be the model owner", field="person")
        edges = [Edge(e.src, e.kind, e.dst, e.props, e.valid_from, at) for e in current]
        edges.append(Edge(model, EdgeKind.WAS_ATTRIBUTED_TO, person, {"role": role}, valid_from=at))
        plan = Plan(primary=node, edges=edges, references={person: "person"})
        payload = {"model": model, "role": role, "person": person, "at": to_text(at)}
        return apply_plan(
            self.store, self.actor, "assign_role", reason, plan, payload=payload, force=True
        )

    def _attributions(self, model: str, at: datetime) -> list[Edge]:
        query = EdgeQuery(src=model, kinds=frozenset({EdgeKind.WAS_ATTRIBUTED_TO}), as_of=at)
        return self.store.find_edges(query).items

    def register_training_run(
        self, data: TrainingRunRecord | Input, reason: str | None = None
    ) -> Registration:
        """Register a training run and the model version it produced.

        Inputs are bound by exact hash: each dataset binding must match the hash the dataset
        version was registered with, or the run is a CONFLICT.
        """
        rec = parse_record(TrainingRunRecord, data)
        version = parse_id(rec.model_version)
        require(self.store, version.unversioned, "model_version", NodeKind.MODEL)
        snapshot = require(self.store, rec.snapshot, "snapshot", NodeKind.FEATURE_SNAPSHOT)
        for i, binding in enumerate(rec.datasets):
            registered = require(
                self.store, binding.id, f"datasets.{i}.id", NodeKind.DATASET_VERSION
            )
            if registered.props.get("content_hash") != binding.content_hash:
                raise ConflictError(
                    f"the run binds {binding.id} at hash {binding.content_hash} but it is "
                    f"registered with hash {registered.props.get('content_hash')}",
                    field=f"datasets.{i}.content_hash",
                    details={
                        "registered": registered.props.get("content_hash"),
                        "given": binding.content_hash,
                    },
                )
        run = record_node(
            rec.id,
            NodeKind.TRAINING_RUN,
            rec.started_at,
            rec,
            exclude={"id", "started_at", "datasets"},
            extra={
                "datasets": {d.id: d.content_hash for d in rec.datasets},
                "snapshot_hash": snapshot.props.get("content_hash"),
            },
        )
        mv = Node(
            rec.model_version,
            NodeKind.MODEL_VERSION,
            rec.ended_at,
            {
                "model": version.unversioned,
                "version": version.version,
                "training_run": rec.id,
                "snapshot": rec.snapshot,
                "code_commit": rec.code_commit,
            }
            | ({"artifact_hash": rec.artifact_hash} if rec.artifact_hash else {}),
        )
        plan = Plan(primary=mv, immutable=[run, mv])
        plan.edges += [
            Edge(
                rec.id,
                EdgeKind.USED,
                rec.snapshot,
                {"content_hash": snapshot.props.get("content_hash")},
            ),
            *(
                Edge(rec.id, EdgeKind.USED, d.id, {"content_hash": d.content_hash})
                for d in rec.datasets
            ),
            Edge(rec.id, EdgeKind.WAS_ASSOCIATED_WITH, rec.triggered_by, {"role": "triggered_by"}),
            Edge(rec.model_version, EdgeKind.WAS_GENERATED_BY, rec.id),
            Edge(rec.model_version, EdgeKind.SPECIALIZATION_OF, version.unversioned),
        ]
        plan.references[rec.triggered_by] = "triggered_by"
        plan.references[rec.snapshot] = "snapshot"
        plan.references |= {d.id: f"datasets.{i}.id" for i, d in enumerate(rec.datasets)}
        plan.checks.append(
            lambda nodes: consistency.check_run_inputs(
                rec, nodes[rec.snapshot], [nodes[d.id] for d in rec.datasets]
            )
        )
        action = "register_training_run"
        return apply_plan(self.store, self.actor, action, reason or rec.reason, plan, rec)

    def register_evaluation(
        self, data: EvaluationRecord | Input, reason: str = "register evaluation"
    ) -> Registration:
        """Register the metrics of a model version (and on which data, by whom)."""
        rec = parse_record(EvaluationRecord, data)
        node = record_node(
            rec.id, NodeKind.EVALUATION, rec.evaluated_at, rec, exclude={"id", "evaluated_at"}
        )
        plan = Plan(primary=node, immutable=[node])
        plan.edges.append(Edge(rec.id, EdgeKind.USED, rec.model_version, {"role": "evaluated"}))
        plan.references[rec.model_version] = "model_version"
        if rec.dataset:
            plan.edges.append(Edge(rec.id, EdgeKind.USED, rec.dataset, {"role": "evaluation_data"}))
            plan.references[rec.dataset] = "dataset"
        if rec.evaluator:
            plan.edges.append(
                Edge(rec.id, EdgeKind.WAS_ASSOCIATED_WITH, rec.evaluator, {"role": "evaluator"})
            )
            plan.references[rec.evaluator] = "evaluator"
        plan.checks.append(
            lambda nodes: consistency.check_evaluation(
                rec, nodes[rec.model_version], nodes[rec.dataset] if rec.dataset else None
            )
        )
        return apply_plan(self.store, self.actor, "register_evaluation", reason, plan, rec)

    # -- production --------------------------------------------------------------------------

    def register_inference_batch(
        self, data: InferenceBatchRecord | Input, reason: str = "register inference batch"
    ) -> Registration:
        """Register a window of decisions; the decisions go to the record store by hash."""
        rec = parse_record(InferenceBatchRecord, data)
        # Model versions are immutable: reading this one before the transaction is safe.
        version = require(self.store, rec.model_version, "model_version", NodeKind.MODEL_VERSION)
        skew = consistency.snapshot_skew(rec, version)
        if rec.records is not None:
            digest = self.records.put_records(rec.records)
        else:
            assert rec.records_hash is not None  # the record's validator guarantees one of them
            digest = rec.records_hash
            if not self.records.exists(digest):
                raise NotFoundError(
                    f"no records file {digest} in the record store; put it first",
                    field="records_hash",
                )
            stored = sum(1 for _ in self.records.iter_records(digest))
            if stored != rec.record_count:
                raise InvalidError(
                    f"says {rec.record_count} but the records file holds {stored}",
                    field="record_count",
                )
        # Before the commit: the index may hold a batch that failed, never lack one that did not.
        index_batch(self.store, self.records, rec.id, digest, rec.records)
        node = record_node(
            rec.id,
            NodeKind.INFERENCE_BATCH,
            rec.window_start,
            rec,
            exclude={"id", "records", "records_hash", "window_start", "skew_reason"},
            extra={"records_hash": digest, "window_end": to_text(rec.window_end)}
            | ({"snapshot_skew": skew} if skew else {}),
        )
        plan = Plan(primary=node, immutable=[node])
        plan.edges += [
            Edge(rec.id, EdgeKind.SCORED_WITH, rec.model_version, {"role": "model"}),
            Edge(rec.id, EdgeKind.SCORED_WITH, rec.snapshot, {"role": "features"}),
        ]
        plan.references |= {rec.model_version: "model_version", rec.snapshot: "snapshot"}
        if rec.deployment:
            plan.edges.append(Edge(rec.id, EdgeKind.WAS_ASSOCIATED_WITH, rec.deployment))
            plan.references[rec.deployment] = "deployment"
        plan.checks.append(
            lambda nodes: consistency.check_batch(
                self.store, rec, nodes[rec.model_version], nodes[rec.snapshot]
            )
        )
        payload = rec.model_dump(mode="json", exclude={"records"}) | {"records_hash": digest}
        action = "register_inference_batch"
        return apply_plan(self.store, self.actor, action, reason, plan, payload=payload)

    def backfill_deploy(self, data: DeploymentRecord | Input) -> Registration:
        """Record that a deployment served a model version from ``at``: history that predates
        this service, written WITHOUT the deployment gates. The API offers it to the admin role
        alone; every other deploy goes through the gated
        :meth:`lineage.services.governance.deployment.Deployments.deploy`.

        The change is the one a deploy makes (the version current with all the traffic, the
        previous current standing by, the previous standby as backup: see
        :mod:`lineage.services.governance.slots`); the edges it opens say
        ``change: backfill_deploy`` and its audit event is ``backfill_deploy`` with the reason
        prefixed ``backfill:``. History is append-only; repeating a recorded change is a no-op.
        """
        rec = parse_record(DeploymentRecord, data)
        with self.store.transaction():  # what is read below cannot change before the write
            return self._backfill_deploy(rec)

    def _backfill_deploy(self, rec: DeploymentRecord) -> Registration:
        version = require(self.store, rec.model_version, "model_version", NodeKind.MODEL_VERSION)
        model = str(version.props.get("model"))
        existing = self.store.get_nodes([rec.deployment]).get(rec.deployment)
        if existing is not None and existing.props.get("model") != model:
            raise ConflictError(
                f"{rec.deployment} serves {existing.props.get('model')}, not {model}",
                field="deployment",
            )
        deployment = existing or Node(
            rec.deployment,
            NodeKind.DEPLOYMENT,
            rec.at,
            {"model": model, "environment": rec.environment},
        )
        history = slots.history(self.store, rec.deployment) if existing is not None else []
        if any(
            e.kind is EdgeKind.SERVED and e.dst == rec.model_version and e.valid_from == rec.at
            for e in history
        ):
            return Registration(node=deployment, created=False)  # this change is recorded
        before = slots.latest_state(history)
        after = slots.Slots.ordered(
            [rec.model_version, *before.versions()],
            {rec.model_version: slots.FULL},
            before.kill_switch,
            before.rules,
        )
        last = slots.last_change(history)
        if after == before and (last is None or last <= rec.at):
            return Registration(node=deployment, created=False)
        consistency.check_appends_to_history(rec, history)
        open_edges = [e for e in history if e.valid_to is None]
        labels = {"change": "backfill_deploy", "reason": rec.reason}
        change = slots.plan(rec.deployment, open_edges, after, rec.at, labels)
        plan = Plan(primary=deployment, if_missing=[deployment], edges=change.edges)
        plan.references[rec.model_version] = "model_version"
        plan.checks.append(
            lambda nodes: consistency.check_deployment(rec, nodes[rec.model_version])
        )
        ending = change.served_ending(after)
        plan.checks.append(
            lambda _nodes: consistency.check_change_keeps_batches(self.store, rec, ending)
        )
        reason = f"backfill: {rec.reason}"
        return apply_plan(self.store, self.actor, "backfill_deploy", reason, plan, rec, force=True)

    def register_incident(
        self, data: IncidentRecord | Input, reason: str = "open incident"
    ) -> Registration:
        """Record an incident and what it affected."""
        rec = parse_record(IncidentRecord, data)
        node = record_node(
            rec.id,
            NodeKind.INCIDENT,
            rec.opened_at,
            rec,
            exclude={"id", "opened_at"},
            extra={"status": "open"},
        )
        plan = Plan(primary=node, immutable=[node])
        for i, target in enumerate(rec.affected):
            plan.edges.append(Edge(rec.id, EdgeKind.AFFECTED, target))
            plan.references.setdefault(target, f"affected.{i}")
        return apply_plan(self.store, self.actor, "register_incident", reason, plan, rec)
