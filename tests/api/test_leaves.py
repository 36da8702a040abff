"""The fast leaf-completion path gives exactly graphql-core's answers and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphql import ExecutionContext, ExecutionResult, execute_sync, parse

from lineage.graphql.context import RequestContext
from lineage.graphql.leaves import LeafBatchingContext
from lineage.graphql.limits import Deadline, Limits
from lineage.graphql.schema import graphql_schema
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Principal, Role
from lineage.settings import Settings
from lineage.store import GraphStore

QUERIES = Path(__file__).resolve().parents[2] / "graphql" / "queries"
# The saved queries; mutations write, and are run by test_saved_queries.py.
SAVED = sorted(
    p.stem for p in QUERIES.glob("*.graphql") if "\nmutation " not in f"\n{p.read_text()}"
)
BROKEN = """query { node(id: "not an id") { id kind }
  impact(node: "model:lending_approval@v12", direction: UPSTREAM, maxDepth: 2) {
    truncated nodes { id kind validFrom } edges { src kind } } }"""


def run(
    store: GraphStore,
    records: RecordStore,
    query: str,
    variables: dict[str, Any],
    context_class: type[ExecutionContext],
) -> ExecutionResult:
    context = RequestContext(
        store=store,
        records=records,
        principal=Principal("person:oncall_ml_engineer", frozenset({Role.READER})),
        limits=Limits.from_settings(Settings()),
        deadline=Deadline.start(60),
    )
    return execute_sync(
        graphql_schema(),
        parse(query),
        variable_values=variables,
        context_value=context,
        execution_context_class=context_class,
    )


@pytest.mark.parametrize("name", [*SAVED, "broken"])
def test_fast_leaves_answer_exactly_as_graphql_core_does(
    name: str, scenario_store: GraphStore, records: RecordStore
) -> None:
    if name == "broken":
        query, variables = BROKEN, {}
    else:
        query = (QUERIES / f"{name}.graphql").read_text()
        variables = json.loads((QUERIES / f"{name}.variables.json").read_text())
    plain = run(scenario_store, records, query, variables, ExecutionContext)
    fast = run(scenario_store, records, query, variables, LeafBatchingContext)
    assert fast.data == plain.data
    assert [e.formatted for e in fast.errors or []] == [e.formatted for e in plain.errors or []]
    if name != "broken":
        assert plain.data and not plain.errors
