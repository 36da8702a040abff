"""The work of one request is bounded by what it returns, and the work of all requests in flight
by the server's capacity: refused before any work where the worst case is known, refused per
field where it is only known while answering, and busy (503, nothing done) past capacity."""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from lineage.graphql.admission import Busy, NodeAllowance
from lineage.graphql.context import RequestContext
from lineage.graphql.cost import AnswerBudget
from lineage.graphql.execution import DocumentCache, GraphQLRequest, run
from lineage.graphql.limits import Deadline, Limits
from lineage.graphql.schema import graphql_schema
from lineage.services import investigation
from lineage.services.tokens import Principal, Role

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

if TYPE_CHECKING:
    from conftest import Api, ApiFactory

IMPACT = 'impact(node: "dataset:applications@v2", direction: DOWNSTREAM) { nodes { id } }'
DECISIONS = """
{ decisions(model: "lending_approval", from: "2024-01-22T00:00:00Z", to: "2024-01-27T00:00:00Z")
  { batches { batch { id } records(first: 20) { decisions } } } }
"""


def aliases(count: int, field: str) -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def test_sixty_impact_aliases_are_refused_before_any_work(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    walks: list[Any] = []
    real = investigation.impact
    monkeypatch.setattr(investigation, "impact", lambda *a, **k: walks.append(a) or real(*a, **k))

    response = api.post(aliases(60, IMPACT))

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 60_000, "limit": 20_000}
    assert "60,000" in error["message"] and "20,000" in error["message"]
    assert walks == []


def test_requests_within_the_node_budget_are_answered(api: Api) -> None:
    data = api.data(aliases(20, IMPACT))
    assert len(data) == 20 and all(answer["nodes"] for answer in data.values())


def test_page_sizes_count_towards_the_budget_with_variables(make_api: ApiFactory) -> None:
    api = make_api(max_nodes_per_request=1_000)
    query = (
        "query Q($n: Int) { "
        + " ".join(f'a{i}: nodes(kind: "Person", first: $n) {{ nodes {{ id }} }}' for i in range(3))
        + " }"
    )
    assert api.post(query, {"n": 400}).status_code == 400
    assert api.post(query, {"n": 300}).status_code == 200


def context(api: Api, limit: int) -> RequestContext:
    return RequestContext(
        store=api.store,
        records=api.records,
        principal=Principal("person:oncall_ml_engineer", frozenset({Role.READER})),
        limits=Limits(),
        deadline=Deadline.start(10),
        budget=AnswerBudget(limit),
    )


def test_answers_past_the_budget_while_running_are_refused_per_field(api: Api) -> None:
    documents = DocumentCache(graphql_schema(), Limits())
    whole = run(documents, GraphQLRequest(query=DECISIONS), context(api, 20_000))
    assert "errors" not in whole.body
    batches = whole.body["data"]["decisions"]["batches"]
    assert len(batches) >= 4

    # Room for the batches and three pages of twenty decisions, not for the fourth page.
    limit = sum(5 for _ in batches) + 60
    outcome = run(documents, GraphQLRequest(query=DECISIONS), context(api, limit))

    (error,) = outcome.body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["path"][-1] == "records" and error["path"][:3] == ["decisions", "batches", 3]
    # `records` is non-null, so the refusal empties the whole answer rather than shortening it.
    assert outcome.body["data"] == {"decisions": None}


def test_the_allowance_admits_in_arrival_order_and_refuses_after_the_timeout() -> None:
    order: list[str] = []

    async def scenario() -> None:
        allowance = NodeAllowance(100)

        async def request(name: str, weight: int, hold: float, timeout: float = 5) -> None:
            try:
                async with allowance.reserve(weight, timeout):
                    order.append(name)
                    await anyio.sleep(hold)
            except Busy:
                order.append(f"{name} busy")

        async with anyio.create_task_group() as group:
            group.start_soon(request, "heavy-1", 100, 0.2)
            await anyio.sleep(0.01)
            group.start_soon(request, "heavy-2", 100, 0.0)
            await anyio.sleep(0.01)
            group.start_soon(request, "light", 1, 0.0)  # waits behind heavy-2: no starving
            await anyio.sleep(0.01)
            group.start_soon(request, "impatient", 100, 0.0, 0.05)
        assert allowance.free == 100

    anyio.run(scenario)
    assert order == ["heavy-1", "impatient busy", "heavy-2", "light"]


def test_past_capacity_a_request_is_busy_with_nothing_done(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = make_api(
        max_nodes_per_request=20_000, max_nodes_in_flight=20_000, time_budget_seconds=0.5
    )
    release, running = threading.Event(), threading.Event()
    real = investigation.decisions

    def slow(*args: Any, **kwargs: Any) -> Any:
        running.set()
        release.wait(5)
        return real(*args, **kwargs)

    monkeypatch.setattr(investigation, "decisions", slow)
    headers = {"Authorization": f"Bearer {api.tokens[Role.READER]}"}
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        first: dict[str, Any] = {}

        def heavy() -> None:
            first["response"] = client.post("/graphql", json={"query": DECISIONS}, headers=headers)

        thread = threading.Thread(target=heavy)
        thread.start()
        assert running.wait(5)  # the first holds the whole capacity from here on
        refused = client.post("/graphql", json={"query": DECISIONS}, headers=headers)
        release.set()
        thread.join(10)

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    (error,) = refused.json()["errors"]
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "nothing was done" in error["message"]
    assert first["response"].status_code == 200
