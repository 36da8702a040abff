"""Governance over GraphQL: bad input is a clear error with its code and field, and writes
nothing (the audit chain's length is unchanged); roles are enforced; a deploy that is refused
lists every unmet condition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from lineage.services.governance.deployment import Deployments
from lineage.services.scenario import DEPLOYMENT, MODEL
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

APPROVE = """
mutation Approve($version: ID!, $role: String!) {
  approve(version: $version, role: $role, reason: "gates passed") { approval { id } }
}
"""
DEPLOY = """
mutation Deploy($version: ID!) {
  deploy(version: $version, deployment: "deployment:lending_approval_production",
         reason: "release") { created after { current } }
}
"""
ROLLBACK = """
mutation Rollback($to: ID) {
  rollback(deployment: "deployment:lending_approval_production", reason: "bad", toVersion: $to) {
    created after { current }
  }
}
"""
TRAFFIC = """
mutation Traffic($weights: JSON!) {
  setTraffic(deployment: "deployment:lending_approval_production", weights: $weights,
             reason: "canary") { created after { weights } }
}
"""
RC1, V10, V11, V12, V13 = (f"{MODEL}@{v}" for v in ("v12-rc1", "v10", "v11", "v12", "v13"))


def head(api: Api) -> int:
    event = api.store.audit_head()
    return event.seq if event else 0


def refused(
    api: Api, query: str, variables: dict[str, Any], role: Role
) -> dict[str, Any]:
    before = head(api)
    (error,) = api.errors(query, variables, role=role)
    assert head(api) == before, "a refused request wrote something"
    return dict(error["extensions"]) | {"message": error["message"]}


@pytest.mark.parametrize(
    ("query", "variables", "role", "code", "field"),
    [
        # approving as a principal without the approver role
        (APPROVE, {"version": V13, "role": "owner"}, Role.READER, "FORBIDDEN", None),
        # the risk approver's token signing as owner: it does not hold that role for the model
        (APPROVE, {"version": V13, "role": "owner"}, Role.APPROVER, "FORBIDDEN", "role"),
        # approving twice: v12 is approved by the risk approver already
        (APPROVE, {"version": V12, "role": "risk_approver"}, Role.APPROVER, "CONFLICT", "version"),
        (APPROVE, {"version": f"{MODEL}@v99", "role": "owner"}, Role.APPROVER, "NOT_FOUND", None),
        (DEPLOY, {"version": f"{MODEL}@v99"}, Role.OPERATOR, "NOT_FOUND", "version"),
        (DEPLOY, {"version": V13}, Role.PIPELINE, "FORBIDDEN", None),
        (ROLLBACK, {"to": f"{MODEL}@v12-rc1"}, Role.OPERATOR, "INVALID", "toVersion"),
        (TRAFFIC, {"weights": {V12: 60, V11: 30}}, Role.OPERATOR, "INVALID", "weights"),
        (TRAFFIC, {"weights": {V12: 50, RC1: 50}}, Role.OPERATOR, "INVALID", "weights"),
    ],
)
def test_bad_governance_input_is_refused_naming_the_field_and_writes_nothing(
    api: Api,
    query: str,
    variables: dict[str, Any],
    role: Role,
    code: str,
    field: str | None,
) -> None:
    error = refused(api, query, variables, role)
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error


def test_deploying_the_blocked_candidate_lists_every_unmet_condition(api: Api) -> None:
    error = refused(api, DEPLOY, {"version": RC1}, Role.OPERATOR)
    assert error["code"] == "FORBIDDEN"
    codes = {u["code"] for u in error["details"]["unmet"]}
    assert {"RISK_GATE_FAILED", "BLOCKED", "APPROVAL_MISSING"} <= codes
    assert "disparate impact 0.70" in error["message"]


def test_the_owner_cannot_approve_as_risk_approver(api: Api) -> None:
    # The owner holds an approver token too; separation of duties refuses the second role.
    from lineage.services.tokens import create_token

    owner = create_token(
        api.store, "person:head_of_lending", [Role.APPROVER], actor="pipeline:lineage_demo"
    ).token
    before = head(api)
    body = api.post(APPROVE, {"version": V13, "role": "risk_approver"}, token=owner).json()
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and error["extensions"]["field"] == "role"
    assert head(api) == before


def test_rolling_back_to_a_version_needing_a_retired_feature_is_a_conflict(api: Api) -> None:
    Deployments(api.store, api.records, "person:credit_ml_lead").retire_feature(
        "feature:age", "age is a protected attribute's proxy: removed from the schema"
    )
    error = refused(api, ROLLBACK, {"to": V11}, Role.OPERATOR)
    assert error["code"] == "CONFLICT" and error["field"] == "toVersion"
    assert "feature:age" in error["message"]


def test_a_rollback_and_the_traffic_change_are_one_audited_write_each(api: Api) -> None:
    before = head(api)
    split = {V12: 90, V11: 10}  # a canary on the warm standby
    changed = api.data(TRAFFIC, {"weights": split}, role=Role.OPERATOR)["setTraffic"]
    assert changed["after"]["weights"] == split
    done = api.data(ROLLBACK, {"to": None}, role=Role.OPERATOR)["rollback"]
    assert done["created"] and done["after"]["current"] == V11
    assert head(api) == before + 2


def test_a_router_token_cannot_use_graphql(api: Api) -> None:
    from lineage.services.tokens import create_token

    router = create_token(
        api.store, "pipeline:lending_inference", [Role.ROUTER], actor="pipeline:lineage_demo"
    ).token
    response = api.post("{ viewer { roles } }", token=router)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_backfilling_history_is_for_the_admin_alone(api: Api) -> None:
    query = """
    mutation { backfillDeployment(deployment: "deployment:lending_approval_staging",
      version: "model:lending_approval@v12", at: "2024-01-23T00:00:00Z", reason: "history") {
        created deployment { id } } }
    """
    assert refused(api, query, {}, Role.OPERATOR)["code"] == "FORBIDDEN"
    done = api.data(query, role=Role.ADMIN)["backfillDeployment"]
    assert done["created"] and done["deployment"]["id"] == "deployment:lending_approval_staging"
    assert done["deployment"]["id"] != DEPLOYMENT
