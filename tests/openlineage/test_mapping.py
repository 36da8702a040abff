"""OpenLineage events in the shapes Airflow, Spark and dbt emit, mapped onto the graph; on every
store backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lineage.errors import ConflictError, InvalidError
from lineage.model.graph import Direction, EdgeKind, NodeKind
from lineage.openlineage import ids
from lineage.openlineage.events import event_hash
from lineage.services import investigation
from lineage.services.audit import verify
from lineage.store import GraphStore
from lineage.store.base import EdgeQuery
from tests.openlineage.support import PIPELINE, Send, event, with_run

DB = "postgres://lending-db:5432"
FEATURES = ids.dataset_id(DB, "lending.public.features")
APPLICATIONS = ids.dataset_id(DB, "lending.public.applications")
FEATURES_RUN = "pipelinerun:01940f3a-7c2e-7b51-9a8e-3f1c5d2a6b01"
DAG_RUN = "pipelinerun:01940f3a-7c2e-7b51-9a8e-3f1c5d2a6b00"
TRAINING_RUN = "run:01940f3a-7c2e-7b51-9a8e-3f1c5d2a6c01"
MODEL_VERSION = "model:lending_approval_ol@14"


def node(store: GraphStore, node_id: str) -> Any:
    return store.get_nodes([node_id])[node_id]


def edges(store: GraphStore, src: str, kind: EdgeKind) -> set[str]:
    return {e.dst for e in store.find_edges(EdgeQuery(src=src, kinds=frozenset({kind}))).items}


def head(store: GraphStore) -> int:
    found = store.audit_head()
    return found.seq if found else 0


def test_a_started_then_completed_airflow_task_is_a_complete_run_of_its_job(
    world: GraphStore, send: Send
) -> None:
    send(event("airflow_features_start"), event("airflow_features_complete"))
    run = node(world, FEATURES_RUN)
    assert run.kind is NodeKind.PIPELINE_RUN
    assert run.props["state"] == "COMPLETE"
    assert run.props["started_at"] == "2024-01-20T06:00:05.123456Z"
    assert run.props["ended_at"] == "2024-01-20T06:04:41.982100Z"
    assert run.valid_from == datetime(2024, 1, 20, 6, 0, 5, 123456, tzinfo=UTC)
    assert run.props["nominal_start"] == "2024-01-20T06:00:00+00:00"
    assert run.props["processing_engine"]["name"] == "Airflow"
    assert [e["type"] for e in run.props["events"]] == ["START", "COMPLETE"]
    job = ids.job_id("airflow-prod", "lending_features.build_features")
    assert edges(world, FEATURES_RUN, EdgeKind.HAD_PLAN) == {job}
    assert node(world, job).kind is NodeKind.JOB
    assert edges(world, FEATURES_RUN, EdgeKind.WAS_ASSOCIATED_WITH) == {PIPELINE}
    assert edges(world, FEATURES_RUN, EdgeKind.USED) == {
        f"{APPLICATIONS}@ol.unversioned",
        f"{ids.dataset_id(DB, 'lending.public.credit_bureau')}@ol.unversioned",
    }


def test_the_output_of_a_completed_run_is_a_version_with_its_schema_and_statistics(
    world: GraphStore, send: Send
) -> None:
    send(event("airflow_features_start"), event("airflow_features_complete"))
    version_id = f"{FEATURES}@ol.run.01940f3a-7c2e-7b51-9a8e-3f1c5d2a6b01"
    version = node(world, version_id)
    assert version.props["content_addressed"] is False and "content_hash" not in version.props
    assert version.props["record_count"] == 510_000 and version.props["size_bytes"] == 48_211_000
    assert [c["name"] for c in version.props["columns"]][:2] == ["applicant_id", "income"]
    assert edges(world, version_id, EdgeKind.WAS_GENERATED_BY) == {FEATURES_RUN}
    assert edges(world, version_id, EdgeKind.SPECIALIZATION_OF) == {FEATURES}
    income = ids.column_id(DB, "lending.public.features", "income")
    assert income in edges(world, version_id, EdgeKind.HAD_MEMBER)
    debt_ratio = ids.column_id(DB, "lending.public.features", "debt_ratio")
    assert edges(world, debt_ratio, EdgeKind.WAS_DERIVED_FROM) == {
        ids.column_id(DB, "lending.public.applications", "debt"),
        ids.column_id(DB, "lending.public.applications", "monthly_income"),
    }


def test_the_same_event_twice_is_a_no_op(world: GraphStore, send: Send) -> None:
    first = send(event("dbt_complete"))[0]
    before = head(world)
    again = send(event("dbt_complete"))[0]
    assert not first.duplicate and again.duplicate
    assert head(world) == before


def _comparable(world: GraphStore, run_id: str) -> dict[str, Any]:
    run = node(world, run_id)
    kept = ("state", "started_at", "ended_at", "nominal_start", "processing_engine", "run_facets")
    return {"valid_from": run.valid_from} | {k: run.props.get(k) for k in kept} | {
        "events": [(e["type"], e["time"]) for e in run.props["events"]],
        "outputs": [
            (e.src.split("@")[0], _facts(node(world, e.src).props))
            for e in world.find_edges(
                EdgeQuery(dst=run_id, kinds=frozenset({EdgeKind.WAS_GENERATED_BY}))
            ).items
        ],
    }


def _facts(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in ("version", "produced_by")}


def test_complete_before_start_and_repeated_delivery_end_in_the_same_run(
    world: GraphStore, send: Send
) -> None:
    other = "01940f41-12ab-7cde-8f01-23456789abc9"
    send(event("spark_start"), event("spark_complete"))
    start = with_run(event("spark_start"), other)
    complete = with_run(event("spark_complete"), other)
    send(complete)
    assert node(world, f"pipelinerun:{other}").props["state"] == "COMPLETE"
    send(complete, start, start)
    in_order = _comparable(world, "pipelinerun:01940f41-12ab-7cde-8f01-23456789abc1")
    reordered = _comparable(world, f"pipelinerun:{other}")
    in_order["run_facets"].pop("parent"), reordered["run_facets"].pop("parent")
    assert reordered == in_order


def test_a_failed_run_keeps_its_error_and_produced_no_version(
    world: GraphStore, send: Send
) -> None:
    done = send(event("spark_fail"))[0]
    run = node(world, str(done.run))
    assert run.props["state"] == "FAIL"
    assert run.props["error_message"].startswith("org.apache.spark.sql.AnalysisException")
    assert "started_at" not in run.props and run.props["ended_at"] == "2024-01-21T05:12:09.001000Z"
    produced = world.find_edges(EdgeQuery(dst=run.id, kinds=frozenset({EdgeKind.WAS_GENERATED_BY})))
    assert produced.items == []


def test_unknown_custom_facets_are_kept_as_sent(world: GraphStore, send: Send) -> None:
    send(event("spark_complete"))
    run = node(world, "pipelinerun:01940f41-12ab-7cde-8f01-23456789abc1")
    assert run.props["run_facets"]["spark.logicalPlan"]["plan"][0]["num-children"] == 1
    output = node(world, ids.dataset_id("s3://clean-bucket", "bureau_clean"))
    assert output.props["facets"]["storage"]["fileFormat"] == "parquet"
    dbt = send(event("dbt_complete"))[0]
    assert node(world, str(dbt.run)).props["run_facets"]["dbt_version"]["version"] == "1.8.4"


def test_an_unknown_parent_is_recorded_then_filled_in_when_its_events_arrive(
    world: GraphStore, send: Send
) -> None:
    send(event("airflow_features_start"))
    parent = node(world, DAG_RUN)
    assert parent.props["state"] == "UNKNOWN" and parent.props["placeholder"] is True
    assert edges(world, FEATURES_RUN, EdgeKind.WAS_INFORMED_BY) == {DAG_RUN}
    dag_start = event("airflow_features_start", eventTime="2024-01-20T06:00:00+00:00")
    dag_start["run"] = {"runId": DAG_RUN.split(":")[1]}
    dag_start["job"] = {"namespace": "airflow-prod", "name": "lending_features"}
    dag_start["inputs"], dag_start["outputs"] = [], []
    send(dag_start)
    parent = node(world, DAG_RUN)
    assert parent.props["state"] == "START" and "placeholder" not in parent.props
    assert edges(world, FEATURES_RUN, EdgeKind.WAS_INFORMED_BY) == {DAG_RUN}


def test_owners_link_registered_people_and_keep_other_names_unresolved(
    world: GraphStore, send: Send
) -> None:
    send(event("dbt_complete"), event("airflow_features_complete"))
    summary = ids.dataset_id(DB, "lending.public.applicant_summary")
    assert edges(world, summary, EdgeKind.WAS_ATTRIBUTED_TO) == {"person:oncall_ml_engineer"}
    assert node(world, summary).props["unresolved_owners"] == ["user:nobody_here"]
    assert edges(world, FEATURES, EdgeKind.WAS_ATTRIBUTED_TO) == {"person:credit_ml_lead"}
    assert node(world, FEATURES).props["unresolved_owners"] == ["team:data-platform"]


def test_symlinks_make_aliases_of_one_dataset(world: GraphStore, send: Send) -> None:
    send(event("spark_start"))
    alias = ids.dataset_id("hive://metastore:9083", "raw.bureau")
    assert edges(world, alias, EdgeKind.ALTERNATE_OF) == {
        ids.dataset_id("s3://raw-bucket", "bureau/2024-01-20")
    }


def test_data_quality_metrics_are_kept_on_the_run_per_input(
    world: GraphStore, send: Send
) -> None:
    done = send(event("dbt_complete"))[0]
    run = node(world, str(done.run))
    bureau = f"{ids.dataset_id(DB, 'lending.public.credit_bureau')}@ol.unversioned"
    metrics = run.props["input_quality_facets"][bureau]
    assert metrics["columnMetrics"]["score"]["nullCount"] == 120


def test_a_content_hash_facet_makes_a_version_content_addressed(
    world: GraphStore, send: Send
) -> None:
    send(event("airflow_training_complete"))
    artifact_id = ids.dataset_version_id("s3://models", "lending_approval_ol/model.pkl", "14")
    artifact = node(world, artifact_id)
    assert artifact.props["content_addressed"] is True
    assert artifact.props["content_hash"].startswith("5f0c6e2a")


def test_the_same_version_with_other_facts_is_a_conflict_and_nothing_is_written(
    world: GraphStore, send: Send
) -> None:
    send(event("airflow_training_complete"))
    before = head(world)
    clash = with_run(event("airflow_training_complete"), "01940f3a-7c2e-7b51-9a8e-3f1c5d2a6c02")
    clash["outputs"][0]["facets"]["contentHash"]["sha256"] = "0" * 64
    with pytest.raises(ConflictError) as caught:
        send(event("spark_start"), clash)
    assert caught.value.field == "content_hash"
    assert head(world) == before
    assert not world.get_nodes(["pipelinerun:01940f41-12ab-7cde-8f01-23456789abc1"])


def test_a_completed_training_run_answers_the_investigators_questions(
    world: GraphStore, send: Send
) -> None:
    send(
        event("airflow_features_start"),
        event("airflow_features_complete"),
        event("airflow_training_complete"),
        event("airflow_training_start"),
    )
    provenance = investigation.training_provenance(
        world, "lending_approval_ol", datetime(2024, 2, 1, tzinfo=UTC)
    )
    assert provenance.model_version.id == MODEL_VERSION
    assert provenance.training_run.id == TRAINING_RUN
    assert provenance.model_version.props["code_commit"] == "abc123def4567890"
    assert provenance.triggered_by is not None and provenance.triggered_by.id == PIPELINE
    assert {f.id for f in provenance.features} == {
        "feature:income", "feature:credit_score", "feature:debt_ratio"
    }
    uses = investigation.models_using_dataset(world, FEATURES)
    assert MODEL_VERSION in {u.model_version.id for u in uses.uses}
    impact = investigation.feature_impact(world, "income")
    assert MODEL_VERSION in {v.id for v in impact.model_versions}
    upstream = investigation.impact(world, "feature:income", Direction.OUT, max_depth=4)
    reached = {n.id for n in upstream.nodes}
    assert ids.column_id(DB, "lending.public.applications", "monthly_income") in reached


def test_every_event_is_one_audited_write_by_the_sender(world: GraphStore, send: Send) -> None:
    sent = event("spark_complete")
    before = head(world)
    send(sent)
    audited = world.audit_events(after_seq=before)
    assert [(e.actor, e.action) for e in audited] == [(PIPELINE, "ingest_openlineage")]
    assert audited[0].payload is not None
    assert audited[0].payload["event_hash"] == event_hash(sent)
    assert audited[0].payload["producer"] == sent["producer"]
    assert audited[0].payload["schema_url"] == sent["schemaURL"]
    assert verify(world).ok


def test_a_sender_that_is_not_a_registered_agent_is_refused(
    world: GraphStore, send: Send
) -> None:
    before = head(world)
    with pytest.raises(InvalidError) as caught:
        send(event("spark_start"), actor="pipeline:ghost")
    assert caught.value.field == "actor" and head(world) == before


def test_job_and_dataset_events_record_static_lineage(world: GraphStore, send: Send) -> None:
    base = {
        "eventTime": "2024-01-19T00:00:00Z",
        "producer": "https://example.com/catalog-sync",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
    }
    job_event = base | {
        "job": {"namespace": "dbt-prod", "name": "lending_analytics.lending.applicant_summary"},
        "inputs": [{"namespace": DB, "name": "lending.public.credit_bureau"}],
        "outputs": [{"namespace": DB, "name": "lending.public.applicant_summary"}],
    }
    dataset_event = base | {
        "dataset": {
            "namespace": "s3://exports",
            "name": "scores.csv",
            "facets": event("airflow_training_complete")["outputs"][0]["facets"],
        }
    }
    done = send(job_event, dataset_event)
    job = ids.job_id("dbt-prod", "lending_analytics.lending.applicant_summary")
    assert done[0].job == job
    assert edges(world, job, EdgeKind.USED) == {ids.dataset_id(DB, "lending.public.credit_bureau")}
    assert done[1].versions == [ids.dataset_version_id("s3://exports", "scores.csv", "14")]
    assert send(job_event)[0].duplicate


def test_a_rerun_with_the_same_column_lineage_writes_no_column_edge_again(
    world: GraphStore, send: Send
) -> None:
    send(event("airflow_features_start"), event("airflow_features_complete"))
    debt_ratio = ids.column_id(DB, "lending.public.features", "debt_ratio")
    assert len(node(world, debt_ratio).props["derived_from"]) == 2
    before = head(world)
    rerun = "01940f3a-7c2e-7b51-9a8e-3f1c5d2a6b09"
    send(with_run(event("airflow_features_complete"), rerun))
    written = [s for e in world.audit_events(after_seq=before) for s in e.subjects]
    assert not [s for s in written if "|WAS_DERIVED_FROM|" in s]
    assert f"node:{FEATURES}@ol.run.{rerun}" in written
