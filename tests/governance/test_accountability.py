"""Accountability: the model's current holders come from its temporal attributions, and a model
whose owner, steward or risk approver is missing or has left is listed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lineage.errors import InvalidError, NotFoundError
from lineage.services.answers import Attribution
from lineage.services.governance.accountability import People, accountability_gaps, holders
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, MODEL
from lineage.services.scenario_loader import load_scenario
from lineage.store import GraphStore

JAN_30 = datetime(2024, 1, 30, tzinfo=UTC)
FEB_1 = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.fixture
def loaded(store: GraphStore, tmp_path: Path) -> Registry:
    registry = Registry(store, RecordStore(tmp_path / "records"), actor=DEMO_ACTOR)
    load_scenario(registry)
    return registry


def roles(found: list[Attribution]) -> dict[str, str]:
    return {a.role: a.agent.id for a in found}


def test_the_model_node_keeps_no_copy_of_its_people(loaded: Registry) -> None:
    model = loaded.store.get_nodes([MODEL])[MODEL]
    assert not {"owner", "technical_steward", "risk_approver"} & set(model.props)


def test_holders_follow_a_handover_at_its_instant(loaded: Registry) -> None:
    loaded.register_person({"id": "person:new_owner", "name": "New Owner", "since": JAN_30})
    loaded.assign_role(MODEL, "owner", "person:new_owner", FEB_1, reason="reorganisation")

    before = roles(holders(loaded.store, MODEL, JAN_30))
    after = roles(holders(loaded.store, MODEL, FEB_1))
    assert before["owner"] == "person:head_of_lending"
    assert after == before | {"owner": "person:new_owner"}


def test_a_holder_who_left_is_a_gap_until_the_role_is_handed_over(loaded: Registry) -> None:
    assert accountability_gaps(loaded.store, FEB_1) == []
    People(loaded.store, DEMO_ACTOR).mark_left(
        "person:model_risk_officer", "left the company", at=JAN_30
    )

    (gap,) = accountability_gaps(loaded.store, FEB_1)
    assert (gap.model.id, gap.role, gap.problem) == (MODEL, "risk_approver", "left")
    assert gap.agent is not None and gap.agent.id == "person:model_risk_officer"
    assert gap.since == JAN_30
    # Before they left there was no gap: the question is asked as of an instant.
    assert accountability_gaps(loaded.store, datetime(2024, 1, 29, tzinfo=UTC)) == []

    loaded.register_person({"id": "person:new_risk", "name": "New Risk", "since": JAN_30})
    loaded.assign_role(MODEL, "risk_approver", "person:new_risk", FEB_1, reason="handover")
    assert accountability_gaps(loaded.store, FEB_1) == []


def test_marking_a_person_left_is_audited_and_a_repeat_is_a_no_op(loaded: Registry) -> None:
    people = People(loaded.store, DEMO_ACTOR)
    head = loaded.store.audit_head()
    first = people.mark_left("person:oncall_ml_engineer", "moved team", at=JAN_30)
    after = loaded.store.audit_head()
    again = people.mark_left("person:oncall_ml_engineer", "moved team", at=FEB_1)
    assert first.valid_to == JAN_30 and again.valid_to == JAN_30
    assert head is not None and after is not None and after.seq == head.seq + 1
    assert loaded.store.audit_head() == after


def test_marking_left_refuses_unknown_people_and_impossible_instants(loaded: Registry) -> None:
    people = People(loaded.store, DEMO_ACTOR)
    with pytest.raises(NotFoundError) as missing:
        people.mark_left("person:nobody", "x")
    assert missing.value.field == "person"
    with pytest.raises(InvalidError) as early:
        people.mark_left("person:oncall_ml_engineer", "x", at=datetime(2023, 1, 1, tzinfo=UTC))
    assert early.value.field == "at"
