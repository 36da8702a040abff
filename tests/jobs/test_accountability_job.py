"""The accountability job on the reference scenario, on every backend: a model whose owner,
steward or risk approver left gets an incident (signal ``accountability_gap``), once per gap,
however often the job runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lineage.errors import InvalidError
from lineage.jobs import accountability
from lineage.jobs.accountability import AccountabilityConfig, AccountabilitySettings
from lineage.jobs.report import Outcome
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.governance.accountability import People
from lineage.services.record_store import RecordStore
from lineage.services.scenario import DEMO_ACTOR, MODEL
from lineage.store import EdgeQuery, GraphStore, NodeQuery
from tests.jobs.support import AFTER_SCENARIO, write_jobs_dir

T = AFTER_SCENARIO
OWNER = "person:head_of_lending"
STEWARD = "person:credit_ml_lead"


def gap_incidents(store: GraphStore) -> list[str]:
    query = NodeQuery(kind=NodeKind.INCIDENT, props={"signal": accountability.SIGNAL})
    return [n.id for n in store.find_nodes(query).items]


def test_no_gap_opens_nothing(lending_store: GraphStore, records: RecordStore) -> None:
    report = accountability.run(lending_store, records, T, AccountabilityConfig())

    assert report.outcome is Outcome.OK and report.counts == {"gaps": 0}
    assert gap_incidents(lending_store) == []


def test_an_owner_who_left_opens_an_incident_about_the_model(
    lending_store: GraphStore, records: RecordStore
) -> None:
    People(lending_store, DEMO_ACTOR).mark_left(OWNER, "left the bank", at=T - timedelta(days=2))
    config = AccountabilityConfig(AccountabilitySettings(severity="SEV1"))

    report = accountability.run(lending_store, records, T, config)

    assert report.outcome is Outcome.OK
    assert report.counts == {"gaps": 1, "incidents_opened": 1}
    [incident_id] = gap_incidents(lending_store)
    assert report.details == {"incidents": [incident_id]}
    incident = lending_store.get_nodes([incident_id])[incident_id]
    assert incident.props["model"] == MODEL and incident.props["severity"] == "SEV1"
    assert incident.props["title"] == (
        f"{MODEL} has no active owner: its owner {OWNER} left on 2024-01-30T03:00:00.000000Z"
    )
    assert incident.props["details"] == {
        "role": "owner",
        "problem": "left",
        "agent": OWNER,
        "since": "2024-01-30T03:00:00.000000Z",
    }


def test_a_gap_is_raised_once_however_often_the_job_runs_and_a_new_one_joins_the_incident(
    lending_store: GraphStore, records: RecordStore
) -> None:
    people = People(lending_store, DEMO_ACTOR)
    people.mark_left(OWNER, "left the bank", at=T - timedelta(days=2))
    accountability.run(lending_store, records, T, AccountabilityConfig())
    head = lending_store.audit_head()

    hour_later = accountability.run(lending_store, records, T + timedelta(hours=1), None)

    assert hour_later.counts == {"gaps": 1, "gaps_already_reported": 1}
    assert lending_store.audit_head() == head  # nothing written
    people.mark_left(STEWARD, "moved team", at=T + timedelta(hours=1))
    later = accountability.run(lending_store, records, T + timedelta(hours=2), None)

    assert later.counts == {"gaps": 2, "gaps_already_reported": 1, "incidents_updated": 1}
    [incident_id] = gap_incidents(lending_store)
    evidence = lending_store.get_nodes([incident_id])[incident_id].props["evidence"]
    assert [e["details"]["role"] for e in evidence] == ["owner", "technical_steward"]


def test_the_signal_s_playbook_is_loaded_with_the_config_and_followed_by_the_incident(
    lending_store: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    folder = write_jobs_dir(tmp_path)
    (folder / "playbooks").mkdir()
    (folder / "playbooks" / "accountability_gap.md").write_text(
        "# Accountability gap\n\nHand the role over.\n", encoding="utf-8"
    )
    config = accountability.load_config(folder)
    People(lending_store, DEMO_ACTOR).mark_left(OWNER, "left the bank", at=T - timedelta(days=2))

    accountability.run(lending_store, records, T, config)

    [incident_id] = gap_incidents(lending_store)
    follows = lending_store.find_edges(
        EdgeQuery(src=incident_id, kinds=frozenset({EdgeKind.FOLLOWS}))
    ).items
    assert [e.dst for e in follows] == ["playbook:accountability_gap"]


def test_a_malformed_playbook_is_refused_with_the_config(tmp_path: Path) -> None:
    folder = write_jobs_dir(tmp_path)
    (folder / "playbooks").mkdir()
    (folder / "playbooks" / "accountability_gap.md").write_text("no title\n", encoding="utf-8")

    with pytest.raises(InvalidError, match=r"accountability_gap\.md:1: a playbook starts with"):
        accountability.load_config(folder)
