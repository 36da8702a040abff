"""The incidents service on the scenario's graph: opening, deduplicating, acknowledging and
resolving, status as of any instant, alert precision; every write audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.jobs.monitors import MonitorsConfig
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.audit import verify
from lineage.services.incident_signals import Signal, status_at
from lineage.services.incidents import Incidents, alert_precision, find_incidents
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store import EdgeQuery, GraphStore
from tests.monitors.conftest import t

V12 = "model:lending_approval@v12"
DEPLOYMENT = "deployment:lending_approval_production"
LATE_BATCH = "batch:lending_approval_2024_01_25_1147"
OPERATOR = "person:oncall_ml_engineer"


def latency(
    config: MonitorsConfig, at: str = "2024-01-26T00:00", batch: str = LATE_BATCH
) -> Signal:
    """A latency finding on the batch after the rollback."""
    return Signal(
        signal="latency_p99",
        severity="SEV3",
        title="p99 latency 2400 ms",
        detected_at=t(at),
        model_version=V12,
        deployment=DEPLOYMENT,
        batch=batch,
        value=2_400.0,
        baseline=90.0,
        playbook=config.playbooks["latency_p99"],
    )


@pytest.fixture
def incidents(scenario: GraphStore, records: RecordStore) -> Incidents:
    """The service as the monitors' pipeline (registered by the scenario's monitors)."""
    return Incidents(scenario, records, "pipeline:lineage_monitors")


@pytest.fixture
def people(scenario: GraphStore, records: RecordStore) -> Incidents:
    """The service as the on-call engineer."""
    return Incidents(scenario, records, OPERATOR)


def test_a_signal_opens_an_incident_linked_to_what_it_is_about(
    incidents: Incidents, config: MonitorsConfig, scenario: GraphStore
) -> None:
    done = incidents.raise_signal(latency(config))
    assert done.created and done.incident.id == "incident:lending_approval_2024_01_26"
    props = done.incident.props
    assert (props["status"], props["value"], props["baseline"]) == ("open", 2_400.0, 90.0)
    assert done.incident.valid_from == t("2024-01-26T00:00")
    edges = scenario.find_edges(EdgeQuery(src=done.incident.id)).items
    links = {(e.kind, e.dst, e.props.get("role")) for e in edges}
    assert {
        (EdgeKind.AFFECTED, V12, "model_version"),
        (EdgeKind.AFFECTED, DEPLOYMENT, "deployment"),
        (EdgeKind.AFFECTED, LATE_BATCH, "evidence"),
        (EdgeKind.FOLLOWS, "playbook:latency_p99", None),
        (EdgeKind.WAS_ATTRIBUTED_TO, "person:head_of_lending", "owner"),
        (EdgeKind.WAS_ATTRIBUTED_TO, "person:credit_ml_lead", "technical_steward"),
        (EdgeKind.WAS_ATTRIBUTED_TO, "person:model_risk_officer", "risk_approver"),
    } == links
    playbook = scenario.get_nodes(["playbook:latency_p99"])["playbook:latency_p99"]
    assert playbook.props["title"].startswith("Latency p99")
    assert props["context"]["upstream_changes"]["truncated"] is False


def test_a_second_finding_of_the_same_key_is_evidence_not_a_new_incident(
    incidents: Incidents, config: MonitorsConfig
) -> None:
    first = incidents.raise_signal(latency(config))
    again = incidents.raise_signal(
        latency(config, "2024-01-26T01:00", "batch:lending_approval_2024_01_25_1000")
    )
    assert again.evidence_added and not again.created
    assert again.incident.id == first.incident.id
    assert again.incident.props["evidence_count"] == 2


def test_raising_a_batch_already_recorded_as_evidence_is_a_no_op(
    incidents: Incidents, config: MonitorsConfig, scenario: GraphStore
) -> None:
    incidents.raise_signal(latency(config))
    head = scenario.audit_head()
    repeat = incidents.raise_signal(latency(config, "2024-01-26T05:00"))
    assert (repeat.created, repeat.evidence_added, repeat.audit_seq) == (False, False, None)
    assert scenario.audit_head() == head


def test_status_changes_are_history_answered_as_of_any_instant(
    incidents: Incidents, people: Incidents, config: MonitorsConfig
) -> None:
    opened = incidents.raise_signal(latency(config)).incident.id
    people.acknowledge(opened, "looking at the serving hosts", at=t("2024-01-26T00:10"))
    done = people.resolve(
        opened, "actionable", "a noisy neighbour", "moved hosts", at=t("2024-01-26T02:00")
    )
    node = done.incident
    assert [h["status"] for h in node.props["status_history"]] == [
        "open",
        "acknowledged",
        "resolved",
    ]
    assert node.props["status_history"][1]["by"] == OPERATOR
    assert status_at(node, t("2024-01-25T23:59")) is None
    assert status_at(node, t("2024-01-26T00:05")) == "open"
    assert status_at(node, t("2024-01-26T01:00")) == "acknowledged"
    assert status_at(node, t("2024-01-26T03:00")) == "resolved"
    open_then = find_incidents(incidents.store, "open", as_of=t("2024-01-26T00:05"))
    assert opened in [n.id for n in open_then]


def test_repeating_a_resolution_is_a_no_op_and_changing_it_a_conflict(
    incidents: Incidents, people: Incidents, config: MonitorsConfig
) -> None:
    opened = incidents.raise_signal(latency(config)).incident.id
    people.resolve(opened, "false_positive", "a load test", "known test")
    assert not people.resolve(opened, "false_positive", "a load test", "known test").created
    with pytest.raises(ConflictError) as caught:
        people.resolve(opened, "actionable", "something else", "changed my mind")
    assert caught.value.field == "incident"
    with pytest.raises(ConflictError):
        people.acknowledge(opened, "too late")


def test_a_status_change_dated_before_the_last_one_is_a_conflict_on_at(
    incidents: Incidents, people: Incidents, config: MonitorsConfig
) -> None:
    opened = incidents.raise_signal(latency(config)).incident.id
    with pytest.raises(ConflictError) as caught:
        people.acknowledge(opened, "on it", at=t("2024-01-25T00:00"))
    assert caught.value.field == "at"


def test_a_resolved_key_opens_a_new_incident_with_the_next_id_of_the_day(
    incidents: Incidents, people: Incidents, config: MonitorsConfig
) -> None:
    first = incidents.raise_signal(latency(config)).incident.id
    people.resolve(first, "actionable", "hosts", "fixed")
    later = latency(config, "2024-01-26T08:00", "batch:lending_approval_2024_01_25_1000")
    second = incidents.raise_signal(later)
    assert second.created and second.incident.id == f"{first}-2"


def test_alert_precision_is_actionable_over_resolved_per_signal(
    incidents: Incidents, people: Incidents, config: MonitorsConfig, scenario: GraphStore
) -> None:
    first = incidents.raise_signal(latency(config)).incident.id
    people.resolve(first, "actionable", "hosts", "fixed")
    later = latency(config, "2024-01-26T08:00", "batch:lending_approval_2024_01_25_1000")
    people.resolve(incidents.raise_signal(later).incident.id, "false_positive", "test", "noise")
    (row,) = alert_precision(scenario, "latency_p99")
    assert (row.raised, row.resolved, row.actionable, row.false_positive) == (2, 2, 1, 1)
    assert row.precision == 0.5


def test_a_hand_registered_incident_can_be_acknowledged_and_resolved(
    registry: Registry, people: Incidents, scenario: GraphStore
) -> None:
    registry.register_incident(
        {
            "id": "incident:manual_report",
            "title": "A customer complaint about a decline",
            "severity": "SEV3",
            "opened_at": t("2024-01-26T09:00"),
            "affected": [V12],
        }
    )
    people.acknowledge("incident:manual_report", "calling the customer back")
    done = people.resolve("incident:manual_report", "actionable", "a data entry error", "fixed")
    assert [h["status"] for h in done.incident.props["status_history"]] == [
        "open",
        "acknowledged",
        "resolved",
    ]
    assert verify(scenario).ok


def test_a_signal_naming_an_unregistered_batch_is_not_found(
    incidents: Incidents, config: MonitorsConfig
) -> None:
    with pytest.raises(NotFoundError) as caught:
        incidents.raise_signal(latency(config, batch="batch:nowhere"))
    assert caught.value.field == "batch"


def test_a_signal_with_an_unknown_severity_is_invalid_naming_it(config: MonitorsConfig) -> None:
    with pytest.raises(InvalidError) as caught:
        Signal("latency_p99", "SEV9", "slow", t("2024-01-26T00:00"))
    assert caught.value.field == "severity"


def test_incident_writes_keep_the_audit_chain_verifiable(
    incidents: Incidents, people: Incidents, config: MonitorsConfig, scenario: GraphStore
) -> None:
    opened = incidents.raise_signal(latency(config)).incident.id
    incidents.raise_signal(
        latency(config, "2024-01-26T01:00", "batch:lending_approval_2024_01_25_1000")
    )
    people.acknowledge(opened, "on it")
    assert verify(scenario).ok
    assert scenario.get_nodes([opened])[opened].kind is NodeKind.INCIDENT
    assert opened in {n.id for n in find_incidents(scenario, model="model:lending_approval")}
    assert t("2024-01-26T00:00") + timedelta(0) == scenario.get_nodes([opened])[opened].valid_from
