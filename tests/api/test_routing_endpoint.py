"""``GET /api/v1/routing/{deployment}``: the document with its ETag, 304 on a match, a change
visible at once, the router role, and errors in the /graphql shape."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from lineage.services.governance.deployment import Deployments
from lineage.services.scenario import DEMO_ACTOR, DEPLOYMENT
from lineage.services.tokens import Role, create_token, revoke_token
from tests.api.conftest import Api

PATH = f"/api/v1/routing/{DEPLOYMENT}"
V11, V12 = "model:lending_approval@v11", "model:lending_approval@v12"
ROUTER = "pipeline:lending_inference"  # the serving system polls as its own agent


@pytest.fixture
def router(api: Api) -> str:
    """A token with the router role alone."""
    return create_token(api.store, ROUTER, [Role.ROUTER], actor=DEMO_ACTOR).token


def get(api: Api, token: str | None, path: str = PATH, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return api.client.get(path, headers=headers)


def operator(api: Api) -> Deployments:
    return Deployments(api.store, api.records, "person:credit_ml_lead")


def test_the_router_reads_where_traffic_goes_with_an_etag(api: Api, router: str) -> None:
    response = get(api, router)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-cache"
    document = response.json()
    # After the incident's rollback v13 left the slots: v11 stands by.
    assert [(t["version"], t["weight"]) for t in document["traffic"]] == [(V12, 100)]
    assert document["standby"]["version"] == V11
    assert document["route_to"] == "model" and document["kill_switch"]["on"] is False
    digest = hashlib.sha256(response.content).hexdigest()
    assert response.headers["etag"] == f'"{digest}"'


def test_a_bare_deployment_name_is_accepted(api: Api, router: str) -> None:
    by_name = get(api, router, "/api/v1/routing/lending_approval_production")
    assert by_name.status_code == 200 and by_name.content == get(api, router).content


def test_a_matching_if_none_match_is_304_without_a_body(api: Api, router: str) -> None:
    etag = get(api, router).headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = get(api, router, **{"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b"" and again.headers["etag"] == etag
    assert get(api, router, **{"If-None-Match": '"stale"'}).status_code == 200


def test_a_rollback_shows_in_the_next_poll(api: Api, router: str) -> None:
    etag = get(api, router).headers["etag"]
    operator(api).rollback(DEPLOYMENT, "v12 misbehaves")
    after = get(api, router, **{"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert [(t["version"], t["weight"]) for t in after.json()["traffic"]] == [(V11, 100)]


def test_the_kill_switch_and_its_rules_are_in_the_document(api: Api, router: str) -> None:
    deployments = operator(api)
    deployments.register_fallback_rules(
        "rules:lending_fallback",
        "model:lending_approval",
        [{"when": {"income": {"gt": 50_000}, "credit_score": {"gt": 650}}, "decision": "APPROVE"}],
        "DECLINE",
    )
    deployments.set_fallback_rules(DEPLOYMENT, "rules:lending_fallback", "manual rules")
    deployments.set_kill_switch(DEPLOYMENT, False, "stop the model")
    document = get(api, router).json()
    assert document["route_to"] == "rules" and document["traffic"] == []
    assert document["kill_switch"]["on"] is True
    assert document["fallback_rules"]["default_decision"] == "DECLINE"


def test_an_unrelated_write_keeps_the_etag(api: Api, router: str) -> None:
    etag = get(api, router).headers["etag"]
    create_token(api.store, "person:oncall_ml_engineer", [Role.READER], actor=DEMO_ACTOR)
    assert get(api, router, **{"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
def test_operators_and_admins_may_read_it(api: Api, role: Role) -> None:
    assert get(api, api.tokens[role]).status_code == 200


@pytest.mark.parametrize("role", [Role.READER, Role.PIPELINE, Role.APPROVER, Role.COMPLIANCE])
def test_other_roles_are_forbidden(api: Api, role: Role) -> None:
    response = get(api, api.tokens[role])
    assert response.status_code == 403
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and "router" in error["message"]


def test_no_token_is_401_in_the_graphql_error_shape(api: Api) -> None:
    response = get(api, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


def test_a_revoked_token_is_refused_at_once(api: Api, router: str) -> None:
    assert get(api, router).status_code == 200
    revoke_token(api.store, router, actor=DEMO_ACTOR)
    assert get(api, router).status_code == 401


def test_an_unknown_deployment_is_404(api: Api, router: str) -> None:
    response = get(api, router, "/api/v1/routing/deployment:nowhere")
    assert response.status_code == 404
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "deployment"}


def test_a_malformed_deployment_is_400(api: Api, router: str) -> None:
    response = get(api, router, "/api/v1/routing/model:lending_approval")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "INVALID", "field": "deployment"}


def test_only_get_reads_it(api: Api, router: str) -> None:
    response = api.client.post(PATH, headers={"Authorization": f"Bearer {router}"})
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
