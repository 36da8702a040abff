"""Corrections over GraphQL: `correctNode`, `corrections(node)`, and the questions after them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from lineage.services.audit import verify
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

CORRECT = """
mutation Correct($target: ID!, $changes: JSON!, $reason: String!) {
  correctNode(target: $target, changes: $changes, reason: $reason) {
    created
    auditSeq
    correction { id target by reason changes previous recordedAt addedEdges hiddenEdges }
    node { id correctedBy props }
  }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) { id correctedBy ... on DatasetVersion { uri contentHash } }
}
"""
CORRECTIONS = """
query Corrections($node: ID!) {
  corrections(node: $node) { id recordedAt by reason changes previous validFrom }
}
"""
PROVENANCE = """
query Provenance($asOf: DateTime!) {
  trainingProvenance(model: "lending_approval", asOf: $asOf) {
    modelVersion { id codeCommit correctedBy }
    trainingRun { recordsUsed codeCommit }
    datasets { id uri correctedBy }
  }
}
"""
UPSTREAM = """
query Upstream($node: ID!, $since: DateTime!) {
  upstreamChanges(node: $node, since: $since) {
    changes { at what node { id } edge { kind dst } correction { id by reason } }
  }
}
"""
IMPACT = """
query Impact($node: ID!, $asOf: DateTime) {
  impact(node: $node, direction: UPSTREAM, kinds: ["Deployment"], asOf: $asOf) {
    nodes { id }
    edges { src kind dst }
  }
}
"""
APPLICATIONS_V2 = "dataset:applications@v2"
OLD_URI = "s3://lending-data/applications@v2/"
NEW_URI = "s3://lending-data-archive/applications/v2/"
PRODUCTION = "deployment:lending_approval_production"
CANARY = "deployment:lending_approval_canary"
JAN23 = "batch:lending_approval_2024_01_23_0000"
BEFORE = "2024-02-01T00:00:00Z"


def correct(api: Api, target: str, changes: dict[str, Any], role: Role = Role.PIPELINE) -> Any:
    variables = {"target": target, "changes": changes, "reason": "registered by mistake"}
    return api.data(CORRECT, variables, role=role)["correctNode"]


def refused(api: Api, target: str, changes: dict[str, Any], role: Role = Role.PIPELINE) -> Any:
    """The one error of a correction that must fail, after checking nothing was written."""
    head = api.store.audit_head()
    variables = {"target": target, "changes": changes, "reason": "registered by mistake"}
    (error,) = api.errors(CORRECT, variables, role=role)
    assert api.store.audit_head() == head
    return error


def test_a_pipeline_corrects_a_uri_and_every_question_shows_it(api: Api) -> None:
    done = correct(api, APPLICATIONS_V2, {"uri": NEW_URI})
    correction = done["correction"]

    assert done["created"] is True and done["auditSeq"] is not None
    assert correction["changes"] == {"uri": NEW_URI}
    assert correction["previous"] == {"uri": OLD_URI}
    assert done["node"]["props"]["uri"] == NEW_URI
    assert done["node"]["correctedBy"] == [correction["id"]]
    node = api.data(NODE, {"id": APPLICATIONS_V2})["node"]
    assert node["uri"] == NEW_URI and node["correctedBy"] == [correction["id"]]
    now = api.data(PROVENANCE, {"asOf": correction["recordedAt"]})["trainingProvenance"]
    (dataset,) = [d for d in now["datasets"] if d["id"] == APPLICATIONS_V2]
    assert dataset["uri"] == NEW_URI and dataset["correctedBy"] == [correction["id"]]


def test_a_page_of_nodes_shows_them_corrected(api: Api) -> None:
    done = correct(api, APPLICATIONS_V2, {"uri": NEW_URI})
    query = '{ nodes(kind: "DatasetVersion") { nodes { id correctedBy props } } }'

    page = {n["id"]: n for n in api.data(query)["nodes"]["nodes"]}

    assert page[APPLICATIONS_V2]["props"]["uri"] == NEW_URI
    assert page[APPLICATIONS_V2]["correctedBy"] == [done["correction"]["id"]]
    assert page["dataset:applications@v1"]["correctedBy"] == []


def test_a_question_as_of_before_the_correction_answers_as_the_graph_stood(api: Api) -> None:
    correct(api, APPLICATIONS_V2, {"uri": NEW_URI})

    then = api.data(PROVENANCE, {"asOf": "2024-01-24T00:00:00Z"})["trainingProvenance"]
    (dataset,) = [d for d in then["datasets"] if d["id"] == APPLICATIONS_V2]
    assert dataset["uri"] == OLD_URI and dataset["correctedBy"] == []


def test_corrections_lists_who_when_why_and_what_oldest_first(api: Api) -> None:
    first = correct(api, APPLICATIONS_V2, {"uri": "s3://first/"})["correction"]
    second = correct(api, APPLICATIONS_V2, {"uri": NEW_URI})["correction"]

    listed = api.data(CORRECTIONS, {"node": APPLICATIONS_V2})["corrections"]

    assert [c["id"] for c in listed] == [first["id"], second["id"]]
    assert all(c["by"] == "pipeline:credit_training" for c in listed)
    assert all(c["reason"] == "registered by mistake" for c in listed)
    assert listed[1]["previous"] == {"uri": "s3://first/"}
    assert all(c["recordedAt"] == c["validFrom"] for c in listed)
    assert api.data(CORRECTIONS, {"node": "dataset:credit_bureau@v1"})["corrections"] == []


def test_corrections_of_a_node_that_is_not_registered_is_not_found(api: Api) -> None:
    (error,) = api.errors(CORRECTIONS, {"node": "dataset:applications@v9"})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["field"] == "node"


def test_the_audit_actor_is_the_token_principal_and_the_chain_verifies(api: Api) -> None:
    done = correct(api, APPLICATIONS_V2, {"uri": NEW_URI}, role=Role.ADMIN)

    head = api.store.audit_head()
    assert head is not None and head.seq == done["auditSeq"]
    assert head.actor == done["correction"]["by"] == DEMO_ACTOR
    assert verify(api.store).ok


def test_repeating_a_correction_is_a_noop(api: Api) -> None:
    first = correct(api, APPLICATIONS_V2, {"uri": NEW_URI})
    again = correct(api, APPLICATIONS_V2, {"uri": NEW_URI})

    assert again["created"] is False and again["auditSeq"] is None
    assert again["correction"]["id"] == first["correction"]["id"]


def test_a_reader_cannot_correct(api: Api) -> None:
    error = refused(api, APPLICATIONS_V2, {"uri": NEW_URI}, role=Role.READER)
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_a_field_that_defines_what_was_registered_is_refused_naming_it(api: Api) -> None:
    error = refused(api, APPLICATIONS_V2, {"contentHash": "0" * 64})
    assert error["extensions"] == error["extensions"] | {
        "code": "INVALID",
        "field": "changes.contentHash",
    }
    assert "register a new version instead" in error["message"]


def test_fields_are_spelled_as_the_api_spells_them(api: Api) -> None:
    run = "run:lending_approval_v12"
    done = correct(api, run, {"recordsUsed": 401_000})
    assert done["correction"]["changes"] == {"recordsUsed": 401_000}
    assert done["node"]["props"]["records_used"] == 401_000

    too_many = refused(api, run, {"recordsUsed": 600_000})
    assert too_many["extensions"]["field"] == "changes.recordsUsed"
    snake = refused(api, run, {"records_used": 402_000})
    assert snake["extensions"]["code"] == "INVALID"
    assert "recordsUsed" in snake["message"]


@pytest.fixture
def canary(api: Api) -> str:
    """A canary deployment that has served v12 since production started serving it."""
    Registry(api.store, api.records, actor=DEMO_ACTOR).backfill_deploy(
        {
            "deployment": CANARY,
            "model_version": "model:lending_approval@v12",
            "at": "2024-01-22T09:00:00Z",
            "environment": "canary",
            "reason": "canary release of v12",
        }
    )
    return CANARY


def test_a_reattributed_batch_shows_its_new_deployment_in_impact_and_upstream_changes(
    api: Api, canary: str
) -> None:
    done = correct(api, JAN23, {"deployment": canary})

    now = api.data(IMPACT, {"node": JAN23})["impact"]
    assert {n["id"] for n in now["nodes"]} == {JAN23, CANARY}
    then = api.data(IMPACT, {"node": JAN23, "asOf": BEFORE})["impact"]
    assert {n["id"] for n in then["nodes"]} == {JAN23, PRODUCTION}

    changes = api.data(UPSTREAM, {"node": JAN23, "since": "2024-01-22T00:00:00Z"})
    listed = changes["upstreamChanges"]["changes"]
    assert listed[0]["what"] == "CORRECTED"
    assert listed[0]["correction"] == {
        "id": done["correction"]["id"],
        "by": "pipeline:credit_training",
        "reason": "registered by mistake",
    }
    assert {c["node"]["id"] for c in listed if c["edge"]} == {CANARY}


def test_a_batch_cannot_be_reattributed_to_a_deployment_that_did_not_serve_its_version(
    api: Api, canary: str
) -> None:
    v13_batch = "batch:lending_approval_2024_01_25_1000"
    error = refused(api, v13_batch, {"deployment": canary})
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["field"] == "changes.deployment"
    assert error["message"].startswith(f"{canary} served model:lending_approval@v12")


def test_a_batch_cannot_be_reattributed_to_a_deployment_that_is_not_registered(
    api: Api,
) -> None:
    error = refused(api, JAN23, {"deployment": "deployment:lending_approval_shadow"})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["field"] == "changes.deployment"
