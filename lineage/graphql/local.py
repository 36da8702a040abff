"""GraphQL in process: the command line's way to ask a local store the questions the API answers.

``lineage show``, ``impact``, ``decisions``, ``query`` ... are GraphQL operations. With
``--store`` they run here, against the same schema, the same validation, limits and node
budget as ``POST /graphql`` (lineage.graphql.endpoint), as a local reader; with ``--url`` the
same document goes to a server (lineage.client). There is one implementation of each question.
"""

from __future__ import annotations

import uuid
from typing import Any

from lineage.graphql.context import RequestContext
from lineage.graphql.cost import AnswerBudget, CostExceeded, check_static_cost, static_cost
from lineage.graphql.execution import DocumentCache, GraphQLRequest, run
from lineage.graphql.limits import QUERY_TOO_COMPLEX, Deadline, Limits
from lineage.graphql.schema import graphql_schema
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Principal, Role
from lineage.settings import Settings
from lineage.store.base import GraphStore

# Whoever reads the store's file directly could read everything; as a GraphQL caller it is a
# reader, so a local question sees exactly what a reader's token sees over HTTP.
LOCAL_READER = Principal(id="pipeline:lineage_cli", roles=frozenset({Role.READER}))


class LocalExecutor:
    """Runs GraphQL operations against an open store, as the endpoint does for one request."""

    def __init__(
        self,
        store: GraphStore,
        records: RecordStore,
        settings: Settings | None = None,
        principal: Principal = LOCAL_READER,
    ) -> None:
        self.store = store
        self.records = records
        self.settings = settings or Settings()
        self.limits = Limits.from_settings(self.settings)
        self.principal = principal
        self._documents = DocumentCache(graphql_schema(), self.limits)

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """The answer body as the API would send it: ``data`` and, when something failed,
        ``errors`` each with ``extensions.code``."""
        request = GraphQLRequest(query=query, variables=variables, operation_name=operation_name)
        refused = self._refuse_costly(request)
        if refused is not None:
            return refused
        context = RequestContext(
            store=self.store,
            records=self.records,
            principal=self.principal,
            limits=self.limits,
            deadline=Deadline.start(self.limits.time_budget_seconds),
            request_id=f"cli-{uuid.uuid4().hex[:12]}",
            budget=AnswerBudget(self.limits.max_nodes_per_request),
            settings=self.settings,
        )
        return run(self._documents, request, context).body

    def _refuse_costly(self, request: GraphQLRequest) -> dict[str, Any] | None:
        """The endpoint's check of the worst case before anything runs (lineage.graphql.cost)."""
        prepared = self._documents.prepare(request.query)
        if prepared.document is None or prepared.errors:
            return None  # run() answers the parse or validation errors
        cost = static_cost(
            prepared.document,
            request.operation_name,
            request.variables,
            self.limits.max_page_size,
        )
        try:
            check_static_cost(cost, self.limits.max_nodes_per_request)
        except CostExceeded as exc:
            return {
                "errors": [
                    {
                        "message": str(exc),
                        "extensions": {
                            "code": QUERY_TOO_COMPLEX,
                            "cost": exc.cost,
                            "limit": exc.limit,
                        },
                    }
                ]
            }
        return None
