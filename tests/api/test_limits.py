"""Limits: query depth and size, traversal depth clamped with truncated, capped pages, and a
time budget that ends a slow request with a clear error."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from graphql import get_introspection_query

from lineage.errors import UnavailableError
from lineage.graphql.context import RequestContext
from lineage.graphql.execution import DocumentCache, GraphQLRequest, run
from lineage.graphql.limits import Deadline, Limits
from lineage.graphql.schema import graphql_schema
from lineage.services import investigation
from lineage.services.tokens import Principal, Role
from lineage.store.base import MAX_DEPTH

if TYPE_CHECKING:
    from conftest import Api, ApiFactory

DEEP = """
query Deep {
  trainingProvenance(model: "lending_approval", asOf: "2024-01-24T00:00:00Z") {
    accountable { agent { id } }
  }
}
"""
IMPACT = """
query Impact($maxDepth: Int) {
  impact(node: "dataset:applications@v2", direction: DOWNSTREAM, maxDepth: $maxDepth) {
    truncated maxDepth nodes { id }
  }
}
"""


def test_an_operation_deeper_than_the_limit_is_refused(make_api: ApiFactory) -> None:
    api = make_api(max_query_depth=3)
    response = api.post(DEEP)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "depth": 4, "limit": 3}
    assert make_api(max_query_depth=4).post(DEEP).status_code == 200
    assert "Deep" in error["message"]


def test_fragments_count_towards_depth(make_api: ApiFactory) -> None:
    api = make_api(max_query_depth=2)
    query = """
    query Deep { ...Q }
    fragment Q on Query {
      trainingProvenance(model: "lending_approval", asOf: "2024-01-24T00:00:00Z") { ...A }
    }
    fragment A on TrainingProvenance { accountable { role } }
    """
    assert api.post(query).json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_introspection_is_on_and_not_held_to_the_depth_limit(make_api: ApiFactory) -> None:
    api = make_api(max_query_depth=2)
    data = api.data(get_introspection_query(descriptions=True))
    assert data["__schema"]["queryType"]["name"] == "Query"


def test_a_document_with_too_many_tokens_is_refused(make_api: ApiFactory) -> None:
    api = make_api(max_query_tokens=100)
    query = "{ viewer { " + "principal " * 200 + "} }"
    response = api.post(query)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_a_body_past_the_size_limit_is_413(make_api: ApiFactory) -> None:
    api = make_api(max_body_bytes=1024)
    response = api.post("{ viewer { roles } }" + " " * 2000)
    assert response.status_code == 413


def test_max_depth_is_clamped_and_reported(api: Api) -> None:
    answer = api.data(IMPACT, {"maxDepth": 1000})["impact"]
    assert answer["maxDepth"] == MAX_DEPTH and answer["truncated"] is False


def test_a_walk_cut_short_by_max_depth_says_truncated(api: Api) -> None:
    shallow = api.data(IMPACT, {"maxDepth": 1})["impact"]
    deep = api.data(IMPACT, {"maxDepth": 6})["impact"]
    assert shallow["truncated"] is True and shallow["maxDepth"] == 1
    assert len(shallow["nodes"]) < len(deep["nodes"])


def test_max_depth_below_one_is_invalid(api: Api) -> None:
    (error,) = api.errors(IMPACT, {"maxDepth": 0})
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == "maxDepth"


def test_pages_are_capped_and_the_cursor_walks_the_rest(make_api: ApiFactory) -> None:
    api = make_api(max_page_size=2)
    query = """
    query Page($after: String) {
      nodes(kind: "DatasetVersion", first: 100, after: $after) {
        hasNextPage endCursor nodes { id }
      }
    }
    """
    seen: list[str] = []
    after = None
    while True:
        page = api.data(query, {"after": after})["nodes"]
        assert len(page["nodes"]) <= 2
        seen += [n["id"] for n in page["nodes"]]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert len(seen) == len(set(seen)) == 5


def test_a_page_size_below_one_is_invalid(api: Api) -> None:
    (error,) = api.errors('{ nodes(kind: "Person", first: 0) { hasNextPage } }')
    assert error["extensions"] == {"code": "INVALID", "field": "first"}


def test_records_pages_are_capped_too(make_api: ApiFactory) -> None:
    api = make_api(max_page_size=5)
    query = """
    { decisions(model: "lending_approval", from: "2024-01-25T00:00:00Z",
                to: "2024-01-25T10:00:00Z") {
        batches { records(first: 1000) { total hasNextPage decisions } } } }
    """
    (batch,) = api.data(query)["decisions"]["batches"]
    assert len(batch["records"]["decisions"]) == 5
    assert batch["records"]["hasNextPage"] is True and batch["records"]["total"] == 24


def test_a_request_past_its_time_budget_ends_with_timeout(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(*_args: Any, **_kwargs: Any) -> Any:
        time.sleep(1.5)
        raise UnavailableError("too late: the request has been answered already")

    monkeypatch.setattr(investigation, "training_provenance", slow)
    api = make_api(time_budget_seconds=0.2)
    started = time.monotonic()
    response = api.post(DEEP)
    assert time.monotonic() - started < 1.2
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "time budget" in error["message"]


def test_resolvers_stop_once_the_budget_is_spent(api: Api) -> None:
    spent = Deadline(budget=0.5, at=time.monotonic() - 1)
    context = RequestContext(
        store=api.store,
        records=api.records,
        principal=Principal("person:oncall_ml_engineer", frozenset({Role.READER})),
        limits=Limits(),
        deadline=spent,
    )
    documents = DocumentCache(graphql_schema(), Limits())
    outcome = run(documents, GraphQLRequest(query="{ viewer { roles } }"), context)
    assert outcome.error_codes == ["TIMEOUT"]
    assert outcome.body["data"] is None
