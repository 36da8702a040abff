"""Our own small ASGI endpoints: GraphQL over HTTP, and the records upload.

``POST /graphql`` takes ``{"query", "variables", "operationName"}`` as JSON and answers JSON;
``GET /graphql`` serves GraphiQL. Status codes: 401 without a valid token, 400 for a body that is
not a GraphQL request or an operation that does not parse or validate, 413 past the size limit,
otherwise 200 with ``data`` and ``errors`` (each error with ``extensions.code``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import orjson
import structlog
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from lineage.errors import ErrorCode, LineageError
from lineage.graphql.auth import CHALLENGE, principal_of
from lineage.graphql.context import RequestContext
from lineage.graphql.errors import BAD_REQUEST, UNAUTHENTICATED, error_body
from lineage.graphql.execution import BadRequest, GraphQLRequest, Outcome, run
from lineage.graphql.graphiql import GRAPHIQL_HTML
from lineage.graphql.limits import TIMEOUT, BudgetExceeded, Deadline, Limits
from lineage.graphql.mutations import WRITERS
from lineage.graphql.observability import Metrics, request_id_of
from lineage.services.record_store import RecordStore
from lineage.settings import Settings
from lineage.store.base import GraphStore

log = structlog.get_logger("lineage.api")


class AnswerResponse(JSONResponse):
    """A GraphQL answer, encoded by orjson: an ``impact`` answer runs to hundreds of kilobytes,
    which the standard library's encoder took about 3 ms to write, ten times orjson's time."""

    def render(self, content: Any) -> bytes:
        """The body bytes; what orjson refuses (an integer past 64 bits in a ``props`` object)
        goes through the standard library's encoder."""
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            return super().render(content)


def _unauthenticated(reason: str) -> JSONResponse:
    return JSONResponse(error_body(reason, UNAUTHENTICATED), status_code=401, headers=CHALLENGE)


def _decode_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


class GraphQLEndpoint(HTTPEndpoint):
    """``/graphql``: GraphiQL on GET, operations on POST."""

    async def get(self, request: Request) -> Response:
        """The GraphiQL page (static; it needs a token only to run operations)."""
        return HTMLResponse(GRAPHIQL_HTML)

    async def post(self, request: Request) -> Response:
        """Run one GraphQL operation for the token's principal, within the time budget."""
        state = request.app.state
        store: GraphStore = state.store
        settings: Settings = state.settings
        metrics: Metrics = state.metrics
        principal, reason = await principal_of(request, store, settings.allow_anonymous)
        if principal is None:
            return _unauthenticated(reason)
        if "json" not in request.headers.get("content-type", ""):
            return JSONResponse(
                error_body(
                    "send the operation as JSON (Content-Type: application/json)", BAD_REQUEST
                ),
                status_code=415,
            )
        try:
            graphql_request = GraphQLRequest.from_json(_decode_json(await request.body()))
        except BadRequest as exc:
            return JSONResponse(error_body(str(exc), BAD_REQUEST), status_code=400)
        limits: Limits = state.limits
        context = RequestContext(
            store=store,
            records=state.records,
            principal=principal,
            limits=limits,
            deadline=Deadline.start(limits.time_budget_seconds),
            request_id=request_id_of(request.scope),
        )
        started = time.perf_counter()
        outcome: Outcome | None = None
        with anyio.move_on_after(limits.time_budget_seconds):
            # Abandoning the worker is safe: the deadline stops it at its next resolver.
            outcome = await anyio.to_thread.run_sync(
                run, state.documents, graphql_request, context, abandon_on_cancel=True
            )
        if outcome is None:
            message = str(BudgetExceeded(limits.time_budget_seconds))
            outcome = Outcome(
                status=200,
                body=error_body(message, TIMEOUT) | {"data": None},
                error_codes=[TIMEOUT],
            )
        elapsed = time.perf_counter() - started
        metrics.observe_operation(outcome.operation, elapsed, outcome.error_codes)
        log.info(
            "graphql",
            operation=outcome.operation,
            operation_name=graphql_request.operation_name,
            principal=principal.id,
            duration_ms=round(elapsed * 1000, 2),
            errors=outcome.error_codes or None,
        )
        return AnswerResponse(outcome.body, status_code=outcome.status)


def _parse_records_file(raw: bytes) -> int:
    """How many decisions a JSON Lines body holds; INVALID naming the first bad line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"records must be UTF-8 JSON Lines: {exc}") from None
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"line {number} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise BadRequest(f"line {number} is not a JSON object")
        count += 1
    if count == 0:
        raise BadRequest("the records file holds no decisions")
    return count


class RecordsEndpoint(HTTPEndpoint):
    """``POST /records``: upload a decisions file (JSON Lines) to the content-addressed store.

    Answers ``{"recordsHash", "recordCount"}``; pass the hash as ``recordsHash`` to
    ``registerInferenceBatch``. The bytes are stored as sent, so the hash is the one a pipeline
    computes with ``sha256sum`` or ``lineage hash``.
    """

    async def post(self, request: Request) -> Response:
        """Store the body; needs the pipeline or admin role."""
        state = request.app.state
        principal, reason = await principal_of(request, state.store, state.settings.allow_anonymous)
        if principal is None:
            return _unauthenticated(reason)
        if not principal.has_any(WRITERS):
            return JSONResponse(
                error_body(
                    f"{principal.id} may not upload records; it needs the pipeline or admin role",
                    ErrorCode.FORBIDDEN.value,
                ),
                status_code=403,
            )
        raw = await request.body()
        records: RecordStore = state.records
        try:
            count = _parse_records_file(raw)
            digest = await anyio.to_thread.run_sync(records.put, raw)
        except BadRequest as exc:
            return JSONResponse(
                error_body(str(exc), ErrorCode.INVALID.value, field="records"), status_code=400
            )
        except LineageError as exc:
            return JSONResponse(error_body(exc.message, exc.code.value), status_code=503)
        return JSONResponse({"recordsHash": digest, "recordCount": count}, status_code=201)
