"""Rollback drills on the reference scenario, on every backend, at instants passed in: a dry
run plans the rollback through the real code path and changes nothing that serves; a standby
that needs a retired feature, a slow recovery or a missing standby fails the drill and opens an
incident; each deployment is drilled once per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import ConflictError
from lineage.jobs import drills
from lineage.jobs.drills import DeploymentDrills, Drilling, DrillsConfig, DrillSettings
from lineage.jobs.report import Outcome
from lineage.jobs.runs import SCHEDULER_ACTOR
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.audit import verify
from lineage.services.governance import slots
from lineage.services.governance.deployment import Deployments
from lineage.services.governance.features import Features
from lineage.services.governance.routing import routing
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.store import EdgeQuery, GraphStore, NodeQuery
from tests.jobs.support import AFTER_SCENARIO, PRODUCTION, V11, V12

T = AFTER_SCENARIO
STAGING = "deployment:lending_approval_staging"


def timer_of(*values: float) -> drills.Timer:
    """A timer that answers ``values`` in turn: the time to recovery without waiting."""
    answers = iter(values)
    return lambda: next(answers)


def head_seq(store: GraphStore) -> int:
    head = store.audit_head()
    return head.seq if head else 0


def open_slot_edges(store: GraphStore) -> list[str]:
    edges = store.find_edges(EdgeQuery(src=PRODUCTION, kinds=slots.SLOT_EDGES)).items
    return sorted(e.key for e in edges if e.valid_to is None)


def incidents_of(store: GraphStore, signal: str) -> list[str]:
    query = NodeQuery(kind=NodeKind.INCIDENT, props={"signal": signal})
    return [n.id for n in store.find_nodes(query).items]


def test_a_dry_run_drill_passes_records_its_plan_and_changes_nothing_that_serves(
    lending_store: GraphStore, records: RecordStore
) -> None:
    serving_before = open_slot_edges(lending_store)
    document_before = routing(lending_store, PRODUCTION, T).etag
    before = head_seq(lending_store)

    result = drills.drill(lending_store, records, PRODUCTION, T, timer=timer_of(10.0, 10.004))

    assert result.passed and result.reasons == []
    drill = result.node
    assert drill.kind is NodeKind.DRILL and drill.id.startswith(
        "drill:lending_approval_production-"
    )
    assert drill.valid_from == T
    props = drill.props
    assert (props["deployment"], props["current"], props["standby"]) == (PRODUCTION, V12, V11)
    assert props["result"] == "passed" and props["dry_run"] is True
    assert props["recovery_seconds"] == pytest.approx(0.004)
    assert props["plan"]["after"]["current"] == V11
    assert props["plan"]["after"]["weights"] == {V11: 100}
    assert props["plan"]["before"]["current"] == V12
    # Serving is untouched: the same open edges, the same routing document; one audit event,
    # the drill's own record, and the chain verifies.
    assert open_slot_edges(lending_store) == serving_before
    assert routing(lending_store, PRODUCTION, T).etag == document_before
    assert head_seq(lending_store) == before + 1
    event = lending_store.audit_head()
    assert event is not None and event.action == "record_drill" and event.actor == SCHEDULER_ACTOR
    assert verify(lending_store).ok


def test_a_drill_links_the_deployment_the_standby_and_the_scheduler(
    lending_store: GraphStore, records: RecordStore
) -> None:
    drill = drills.drill(lending_store, records, PRODUCTION, T).node

    edges = lending_store.find_edges(EdgeQuery(src=drill.id)).items
    linked = {(e.kind, e.dst, e.props.get("role")) for e in edges}
    assert linked == {
        (EdgeKind.USED, PRODUCTION, "rehearsed"),
        (EdgeKind.USED, V11, "standby"),
        (EdgeKind.WAS_ASSOCIATED_WITH, SCHEDULER_ACTOR, "scheduler"),
    }


def test_the_dry_run_plans_exactly_what_the_rollback_then_writes(
    lending_store: GraphStore, records: RecordStore
) -> None:
    ops = Deployments(lending_store, records, SCHEDULER_ACTOR)
    planned = ops.rollback(PRODUCTION, "drill", at=T, dry_run=True)
    assert not planned.created and planned.audit_seq is None

    done = ops.rollback(PRODUCTION, "drill", at=T)

    assert done.created
    assert (planned.before, planned.after) == (done.before, done.after)
    assert sorted(e.key for e in planned.opened) == sorted(e.key for e in done.opened)
    assert [e.props for e in sorted(planned.opened, key=lambda e: e.key)] == [
        e.props for e in sorted(done.opened, key=lambda e: e.key)
    ]
    assert sorted(e.key for e in planned.closed) == sorted(e.key for e in done.closed)


def test_a_standby_that_needs_a_retired_feature_fails_the_drill_and_opens_an_incident(
    lending_store: GraphStore, records: RecordStore
) -> None:
    Features(lending_store, DEMO_ACTOR).retire_feature(
        "feature:age", "no longer collected", at=T - timedelta(days=1)
    )

    report = drills.run(lending_store, records, T, DrillsConfig())

    assert report.outcome is Outcome.OK  # the job did its work; what it found is in the counts
    assert report.counts == {"drills_run": 1, "drills_failed": 1, "incidents_opened": 1}
    [drill_id] = report.details["drills"]
    drill = lending_store.get_nodes([drill_id])[drill_id]
    assert drill.props["result"] == "failed"
    assert drill.props["features_retired"] == ["feature:age"]
    [reason] = drill.props["reasons"]
    assert f"the standby {V11} cannot consume the current feature schema" in reason
    assert "feature:age (retired 2024-01-31" in reason
    assert "plan" not in drill.props and drill.props["recovery_seconds"] is None
    [incident_id] = incidents_of(lending_store, drills.SIGNAL)
    assert report.details["incidents"] == [incident_id]
    incident = lending_store.get_nodes([incident_id])[incident_id]
    assert incident.props["deployment"] == PRODUCTION
    assert incident.props["model_version"] == V11
    assert incident.props["details"]["drill"] == drill_id
    assert incident.valid_from == T
    assert verify(lending_store).ok


def test_a_recovery_slower_than_the_objective_fails_the_drill(
    lending_store: GraphStore, records: RecordStore
) -> None:
    settings = Drilling(max_recovery_seconds=0.5)

    result = drills.drill(
        lending_store, records, PRODUCTION, T, settings, timer=timer_of(100.0, 100.75)
    )

    assert not result.passed
    assert result.reasons == ["time to recovery 0.750 s is past the objective of 0.5 s"]
    assert result.node.props["recovery_seconds"] == pytest.approx(0.75)


def test_a_deployment_without_a_warm_standby_fails_its_drill(
    lending_store: GraphStore, records: RecordStore
) -> None:
    Registry(lending_store, records, actor=DEMO_ACTOR).backfill_deploy(
        {
            "deployment": STAGING,
            "model_version": V12,
            "at": "2024-01-21T09:00:00Z",
            "environment": "staging",
            "reason": "staging soak",
        }
    )

    result = drills.drill(lending_store, records, STAGING, T)

    assert not result.passed and result.standby is None
    assert result.reasons == [f"{STAGING} has no warm standby: there is nothing to roll back to"]


def test_a_rollback_the_service_would_refuse_fails_the_drill(
    lending_store: GraphStore, records: RecordStore
) -> None:
    # At Jan 25, 20:00 the batch of v12's window up to Jan 26 is registered: rolling back then
    # would cut it, and the dry run finds that exactly as the real rollback would.
    during_a_batch = datetime(2024, 1, 25, 20, 0, tzinfo=UTC)

    result = drills.drill(lending_store, records, PRODUCTION, during_a_batch)

    assert not result.passed
    [reason] = result.reasons
    assert reason.startswith("the rollback would be refused: CONFLICT: at: ")


def test_each_deployment_is_drilled_once_per_interval(
    lending_store: GraphStore, records: RecordStore
) -> None:
    config = DrillsConfig(DrillSettings(every_days=30))

    first = drills.run(lending_store, records, T, config)
    again = drills.run(lending_store, records, T + timedelta(days=29), config)
    month_later = drills.run(lending_store, records, T + timedelta(days=30), config)

    assert first.counts == {"drills_run": 1, "drills_passed": 1}
    assert again.counts == {"deployments_not_due": 1}
    assert month_later.counts == {"drills_run": 1, "drills_passed": 1}
    drilled = lending_store.find_nodes(NodeQuery(kind=NodeKind.DRILL)).items
    assert [d.valid_from for d in drilled] == [T, T + timedelta(days=30)]


def test_per_deployment_settings_turn_a_deployment_s_drills_off(
    lending_store: GraphStore, records: RecordStore
) -> None:
    settings = DrillSettings(deployments={PRODUCTION: DeploymentDrills(enabled=False)})

    report = drills.run(lending_store, records, T, DrillsConfig(settings))

    assert report.counts == {"deployments_not_drilled": 1}
    assert lending_store.find_nodes(NodeQuery(kind=NodeKind.DRILL)).items == []


def test_a_live_drill_rolls_back_then_restores_the_current_version(
    lending_store: GraphStore, records: RecordStore
) -> None:
    settings = Drilling(dry_run=False)

    result = drills.drill(lending_store, records, PRODUCTION, T, settings)

    assert result.passed, result.reasons
    history = lending_store.find_edges(EdgeQuery(src=PRODUCTION, kinds=slots.SLOT_EDGES)).items
    changes = [e.props.get("reason") for e in history if e.props.get("by") == SCHEDULER_ACTOR]
    assert "rollback drill (live)" in changes and "rollback drill: restore" in changes
    state = slots.latest_state(history)
    assert (state.current, state.standby, state.backup) == (V12, V11, None)
    assert state.traffic() == {V12: 100}
    assert verify(lending_store).ok


def test_a_drill_recorded_at_an_instant_is_not_recorded_twice(
    lending_store: GraphStore, records: RecordStore
) -> None:
    drills.drill(lending_store, records, PRODUCTION, T)

    with pytest.raises(ConflictError):
        drills.drill(lending_store, records, PRODUCTION, T)
