"""One vocabulary over GraphQL: short names, `until`, `versionDiff`, kinds in every spelling, and
the registrations that were Python-only (registerPipeline, registerIncident, assignRole)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLInputObjectType
from pydantic import BaseModel

from lineage.graphql.schema import graphql_schema
from lineage.model import records
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

MODEL = "model:lending_approval"
V13 = f"{MODEL}@v13"

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    id
    kind
    ... on Model { accountable { role agent { id } } }
  }
}
"""
CHANGES = """
query Changes($node: ID!, $since: DateTime!, $until: DateTime) {
  upstreamChanges(node: $node, since: $since, until: $until) {
    truncated
    changes { at what node { id } edge { kind dst } }
  }
}
"""
DIFF = """
query Diff($a: String!, $b: String!) {
  versionDiff(a: $a, b: $b) { rows(onlyDifferences: true) { aspect field a b same } }
}
"""
ASSIGN = """
mutation Assign($model: String!, $role: String!, $person: ID!, $reason: String!) {
  assignRole(model: $model, role: $role, person: $person, reason: $reason) {
    created
    model { accountable { role agent { id } } }
  }
}
"""
INCIDENT = """
mutation Incident($input: IncidentInput!) {
  registerIncident(input: $input) { incident { id status } created }
}
"""
IMPACT = """
query Impact($node: ID!, $kinds: [String!]) {
  impact(node: $node, direction: DOWNSTREAM, kinds: $kinds) { nodes { id kind } }
}
"""


def error_of(api: Api, query: str, variables: dict[str, Any], role: Role = Role.READER) -> Any:
    (error,) = api.errors(query, variables, role=role)
    return error["extensions"]


def test_who_owns_the_model_now_is_one_query_by_its_short_name(api: Api) -> None:
    node = api.data(NODE, {"id": "lending_approval"})["node"]
    assert node["id"] == MODEL and node["kind"] == "Model"
    owners = [a["agent"]["id"] for a in node["accountable"] if a["role"] == "owner"]
    assert owners == ["person:head_of_lending"]


def test_node_by_a_short_name_nobody_carries_is_null(api: Api) -> None:
    assert api.data(NODE, {"id": "no_such_node"})["node"] is None


def test_node_by_an_ambiguous_short_name_is_invalid_listing_the_ids(api: Api) -> None:
    api.data(
        """mutation { registerPipeline(input: {id: "pipeline:lending_approval", name: "Job"}) {
        created } }""",
        role=Role.PIPELINE,
    )
    extensions = error_of(api, NODE, {"id": "lending_approval"})
    assert extensions["code"] == "INVALID" and extensions["field"] == "id"
    assert extensions["details"]["candidates"] == [MODEL, "pipeline:lending_approval"]


def test_upstream_changes_until_stop_at_the_incident(api: Api) -> None:
    variables = {
        "node": "lending_approval",
        "since": "2024-01-24T00:00:00Z",
        "until": "2024-01-25T11:30:00Z",
    }
    answer = api.data(CHANGES, variables)["upstreamChanges"]
    first = answer["changes"][0]
    assert (first["at"], first["what"], first["node"]["id"]) == (
        "2024-01-25T11:30:00Z",
        "REGISTERED",
        "incident:lending_approval_2024_01_25",
    )
    assert all(c["at"] <= "2024-01-25T11:30:00Z" for c in answer["changes"])


def test_upstream_changes_with_until_before_since_are_invalid_naming_until(api: Api) -> None:
    variables = {"node": MODEL, "since": "2024-01-25T00:00:00Z", "until": "2024-01-24T00:00:00Z"}
    extensions = error_of(api, CHANGES, variables)
    assert (extensions["code"], extensions["field"]) == ("INVALID", "until")


def test_version_diff_lists_only_the_differences_when_asked(api: Api) -> None:
    rows = api.data(DIFF, {"a": "lending_approval@v12", "b": V13})["versionDiff"]["rows"]
    assert rows and all(r["same"] is False for r in rows)
    assert ("snapshot", "id") in {(r["aspect"], r["field"]) for r in rows}


def test_version_diff_of_an_unknown_version_is_not_found_naming_it(api: Api) -> None:
    extensions = error_of(api, DIFF, {"a": f"{MODEL}@v99", "b": V13})
    assert (extensions["code"], extensions["field"]) == ("NOT_FOUND", "a")


@pytest.mark.parametrize("spelling", ["ModelVersion", "MODEL_VERSION", "model@"])
def test_impact_kinds_accept_every_spelling(api: Api, spelling: str) -> None:
    answer = api.data(IMPACT, {"node": "applications@v2", "kinds": [spelling]})["impact"]
    assert {n["kind"] for n in answer["nodes"][1:]} == {"ModelVersion"}


def test_nodes_accept_an_id_prefix_as_the_kind(api: Api) -> None:
    query = 'query { nodes(kind: "snapshot") { nodes { id kind } } }'
    nodes = api.data(query)["nodes"]["nodes"]
    assert len(nodes) == 4 and {n["kind"] for n in nodes} == {"FeatureSnapshot"}


def test_assign_role_hands_the_role_over_and_repeating_it_is_a_no_op(api: Api) -> None:
    variables = {
        "model": "lending_approval",
        "role": "owner",
        "person": "person:oncall_ml_engineer",
        "reason": "reorganisation",
    }
    done = api.data(ASSIGN, variables, role=Role.PIPELINE)["assignRole"]
    assert done["created"] is True
    holders = {a["role"]: a["agent"]["id"] for a in done["model"]["accountable"]}
    assert holders["owner"] == "person:oncall_ml_engineer"
    assert api.data(ASSIGN, variables, role=Role.PIPELINE)["assignRole"]["created"] is False


def test_assign_role_of_an_unknown_role_is_invalid_naming_role(api: Api) -> None:
    variables = {"model": MODEL, "role": "janitor", "person": "person:x", "reason": "r"}
    extensions = error_of(api, ASSIGN, variables, role=Role.PIPELINE)
    assert (extensions["code"], extensions["field"]) == ("INVALID", "role")


def test_assign_role_cannot_make_the_owner_the_risk_approver(api: Api) -> None:
    variables = {
        "model": MODEL,
        "role": "risk_approver",
        "person": "person:head_of_lending",
        "reason": "r",
    }
    extensions = error_of(api, ASSIGN, variables, role=Role.PIPELINE)
    assert (extensions["code"], extensions["field"]) == ("INVALID", "person")


def test_assign_role_needs_a_writer(api: Api) -> None:
    variables = {"model": MODEL, "role": "owner", "person": "person:x", "reason": "r"}
    assert error_of(api, ASSIGN, variables, role=Role.READER)["code"] == "FORBIDDEN"


def test_register_incident_on_an_unregistered_node_is_not_found_and_writes_nothing(
    api: Api,
) -> None:
    incident = {
        "id": "incident:by_hand",
        "title": "Something odd",
        "severity": "SEV3",
        "openedAt": "2024-01-25T12:00:00Z",
        "affected": [V13, f"{MODEL}@v99"],
    }
    extensions = error_of(api, INCIDENT, {"input": incident}, role=Role.PIPELINE)
    assert (extensions["code"], extensions["field"]) == ("NOT_FOUND", "input.affected.1")
    assert api.data(NODE, {"id": "incident:by_hand"})["node"] is None


INPUTS: dict[str, type[BaseModel]] = {
    "PipelineInput": records.PipelineRecord,
    "IncidentInput": records.IncidentRecord,
}


@pytest.mark.parametrize("input_name", sorted(INPUTS))
def test_new_input_types_carry_exactly_the_fields_of_their_records(input_name: str) -> None:
    kind = graphql_schema().type_map[input_name]
    assert isinstance(kind, GraphQLInputObjectType)
    assert set(kind.fields) == {to_camel_case(name) for name in INPUTS[input_name].model_fields}
