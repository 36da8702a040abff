"""Accountability over GraphQL: a model answers its current holders, and gaps are listed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineage.model.times import utcnow
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, MODEL
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

HOLDERS = """
query Holders($id: ID!) { node(id: $id) { ... on Model { accountable { role agent { id } } } } }
"""
GAPS = "{ accountabilityGaps { model { id } role problem agent { id } since } }"
LEFT = """
mutation Left($person: ID!) {
  markPersonLeft(person: $person, reason: "left the company") { person { id leftAt } }
}
"""


def test_a_model_answers_its_current_holders_after_a_handover(api: Api) -> None:
    registry = Registry(api.store, api.records, actor=DEMO_ACTOR)
    registry.register_person({"id": "person:new_owner", "name": "New Owner"})
    registry.assign_role(MODEL, "owner", "person:new_owner", utcnow(), reason="handover")

    holders = api.data(HOLDERS, {"id": MODEL})["node"]["accountable"]
    assert {h["role"]: h["agent"]["id"] for h in holders} == {
        "owner": "person:new_owner",
        "technical_steward": "person:credit_ml_lead",
        "risk_approver": "person:model_risk_officer",
    }


def test_a_person_marked_left_shows_as_a_gap_and_only_an_admin_may_mark_it(api: Api) -> None:
    assert api.data(GAPS)["accountabilityGaps"] == []
    refused = api.errors(LEFT, {"person": "person:head_of_lending"}, role=Role.OPERATOR)
    assert refused[0]["extensions"]["code"] == "FORBIDDEN"

    left = api.data(LEFT, {"person": "person:head_of_lending"}, role=Role.ADMIN)
    assert left["markPersonLeft"]["person"]["leftAt"] is not None
    (gap,) = api.data(GAPS)["accountabilityGaps"]
    assert gap["model"]["id"] == MODEL and gap["role"] == "owner" and gap["problem"] == "left"
    assert gap["agent"]["id"] == "person:head_of_lending"

