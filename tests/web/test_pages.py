"""The /ui pages in process: signing in, each question's page, errors as pages, and that no
page refers to anything outside the server."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.testclient import TestClient

from lineage.graphql.app import create_app
from lineage.settings import Settings

if TYPE_CHECKING:
    from conftest import Site

V12 = "model:lending_approval@v12"
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def test_pages_need_a_signed_in_token_and_send_you_back_after_login(client: TestClient) -> None:
    response = client.get("/ui/node/feature:income")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=/ui/node/feature:income"


def test_with_anonymous_reads_allowed_pages_open_without_signing_in(site: Site) -> None:
    app = create_app(site.store, site.records, Settings(allow_anonymous=True), after_batch=[])
    with TestClient(app, follow_redirects=False) as anonymous:
        page = anonymous.get("/ui/node/feature:income")
    assert page.status_code == 200 and "person:anonymous" in page.text


def test_login_keeps_the_token_in_a_strict_httponly_session_cookie(
    client: TestClient, site: Site
) -> None:
    response = client.post(
        "/ui/login", data={"token": site.reader, "next": "/ui/node/feature:income"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/node/feature:income"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
    assert "expires" not in cookie and "max-age" not in cookie  # gone with the browser session
    assert "secure" not in cookie  # plain http here; set when served over https
    assert client.get("/ui/node/feature:income").status_code == 200


def test_a_wrong_token_is_refused_with_the_reason_and_no_cookie(client: TestClient) -> None:
    response = client.post("/ui/login", data={"token": "lin_0123456789abcdef_" + "x" * 43})
    assert response.status_code == 401
    assert "the token is not valid" in response.text
    assert "set-cookie" not in response.headers


def test_a_router_only_token_cannot_read_pages(client: TestClient, site: Site) -> None:
    response = client.post("/ui/login", data={"token": site.router})
    assert response.status_code == 401
    assert "router role" in response.text


def test_the_login_only_returns_to_pages_of_this_site(client: TestClient, site: Site) -> None:
    response = client.post("/ui/login", data={"token": site.reader, "next": "//evil.example/"})
    assert response.headers["location"] == "/ui/"


def test_logout_forgets_the_token(reader: TestClient) -> None:
    response = reader.post("/ui/logout")
    assert response.status_code == 303
    assert reader.get("/ui/").status_code == 303


def test_search_lists_the_feature(reader: TestClient) -> None:
    page = reader.get("/ui/search", params={"q": "income"})
    assert page.status_code == 200
    assert 'href="/ui/node/feature:income"' in page.text


def test_the_node_page_shows_validity_owners_and_the_drawn_neighbourhood(
    reader: TestClient,
) -> None:
    page = reader.get(f"/ui/node/{V12}")
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and 'role="img"' in text
    assert 'href="/ui/node/run:lending_approval_v12"' in text  # the run it was trained by
    assert "person:head_of_lending" in text  # the model's owner now
    assert "abc123def456" in text  # its properties
    assert "valid from" in text


def test_a_short_name_opens_its_node(reader: TestClient) -> None:
    page = reader.get("/ui/node/income")
    assert page.status_code == 200 and "feature:income" in page.text


def test_the_model_page_answers_what_served_at_an_instant(reader: TestClient) -> None:
    at_1130 = reader.get("/ui/model/lending_approval", params={"as_of": "2024-01-25T11:30Z"})
    at_1150 = reader.get("/ui/model/lending_approval", params={"as_of": "2024-01-25T11:50Z"})
    served = re.compile(r'class="served-version">([^<]+)<')
    assert served.findall(at_1130.text) == ["lending_approval@v13"]
    assert served.findall(at_1150.text) == ["lending_approval@v12"]
    assert "Evaluations side by side" in at_1130.text and "0.92" in at_1130.text  # the rc


def test_the_decisions_page_finds_one_subjects_decision(reader: TestClient) -> None:
    page = reader.get(
        "/ui/decisions",
        params={
            "model": "lending_approval",
            "from": "2024-01-25",
            "snapshot": "credit_model_training_2024_01_20",
            "subject": "john_doe_12345",
        },
    )
    assert page.status_code == 200
    assert "john_doe_12345" in page.text and "APPROVED" in page.text and "0.87" in page.text
    assert "1 of 1 decisions shown" in page.text


def test_the_changes_page_lists_the_deployment_of_v13_before_the_incident(
    reader: TestClient,
) -> None:
    page = reader.get(
        "/ui/changes",
        params={
            "node": "model:lending_approval",
            "since": "2024-01-20",
            "until": "2024-01-25T11:29Z",
        },
    )
    assert page.status_code == 200
    assert "model:lending_approval@v13" in page.text
    assert "incident:lending_approval_2024_01_25" not in page.text  # registered at 11:30


def test_a_missing_node_is_a_not_found_page_with_suggestions(reader: TestClient) -> None:
    page = reader.get("/ui/node/feature:incom")
    assert page.status_code == 404
    assert "NOT_FOUND" in page.text and "Did you mean" in page.text
    assert 'href="/ui/node/feature:income"' in page.text


def test_a_malformed_instant_names_the_field(reader: TestClient) -> None:
    page = reader.get(
        "/ui/decisions", params={"model": "lending_approval", "from": "yesterday"}
    )
    assert page.status_code == 400
    assert "INVALID" in page.text and "<code>from</code>" in page.text


def test_credentials_are_not_shown_to_a_reader(reader: TestClient, site: Site) -> None:
    page = reader.get("/ui/node/person:oncall_ml_engineer")
    assert page.status_code == 200 and "credential:" not in page.text
    credential = "credential:" + site.reader.split("_")[1]
    assert reader.get(f"/ui/node/{credential}").status_code == 403


def test_the_query_page_runs_a_saved_operation_with_the_session_token(reader: TestClient) -> None:
    form = reader.get("/ui/query", params={"op": "node"})
    assert form.status_code == 200 and "<textarea" in form.text
    answer = reader.post(
        "/ui/query",
        data={"query": "{ viewer { principal roles } }", "variables": "{}"},
    )
    assert answer.status_code == 200
    assert "person:oncall_ml_engineer" in answer.text and "HTTP 200" in answer.text


def test_no_page_loads_anything_from_another_host(reader: TestClient) -> None:
    for path in [
        "/ui/",
        "/ui/login",
        "/ui/search?q=lending",
        f"/ui/node/{V12}",
        "/ui/model/lending_approval?as_of=2024-01-25T11:30Z",
        "/ui/decisions?model=lending_approval&from=2024-01-25",
        "/ui/changes?node=model:lending_approval&since=2024-01-01",
        "/ui/incidents",
        "/ui/query",
    ]:
        page = reader.get(path)
        assert page.status_code == 200, path
        assert not EXTERNAL.search(page.text), path


def test_graphiql_is_pinned_with_integrity_and_points_to_the_offline_pages(
    client: TestClient,
) -> None:
    page = client.get("/graphql").text
    scripts = re.findall(r"<script src=\"([^\"]+)\" integrity=\"(sha384-[^\"]+)\"", page)
    assert [url.rsplit("/", 1)[-1] for url, _ in scripts] == [
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
    ]
    assert all("@3." in url or "@18." in url for url, _ in scripts)  # exact versions
    assert 'href="/ui"' in page and 'href="/ui/query"' in page
    assert "onerror=" in page


def test_pages_tell_the_browser_to_load_nothing_from_elsewhere(reader: TestClient) -> None:
    page = reader.get("/ui/node/feature:income")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
