"""Our own small ASGI endpoints: GraphQL over HTTP, and the records upload.

``POST /graphql`` takes ``{"query", "variables", "operationName"}`` as JSON and answers JSON;
``GET /graphql`` serves GraphiQL. Every failure, whatever its status, has the same body shape
``{"errors": [{"message", "extensions": {"code", ...}}]}``, and the status follows the rules of
the GraphQL-over-HTTP specification for ``application/graphql-response+json`` (the answer's
media type when the client accepts it, else ``application/json``, with the same statuses):

* 400 the request is not a GraphQL request (not JSON, no ``query``, nested past 64 levels), its
  document does not parse or validate, its variables do not coerce, or its worst-case answer is
  past the node budget (``QUERY_TOO_COMPLEX``): nothing ran;
* 401 no valid token; 413 the body is too large; 415 the body is not JSON;
* 503 ``UNAVAILABLE``: the store cannot be reached to check the token, or the server is at its
  in-flight capacity (with ``Retry-After``): nothing ran;
* 200 the operation ran: ``data`` holds what succeeded and ``errors`` what did not, each with
  its code (``FORBIDDEN``, ``CONFLICT``, ``UNAVAILABLE``, ``TIMEOUT`` ...);
* 500 ``INTERNAL``: a bug, with the request ID to quote (lineage.graphql.app).

Writes are never abandoned: a mutation runs to its end and its answer says exactly what was
committed (the store gives up waiting for a lock before the time budget ends, with nothing
written); a query past the time budget is answered ``TIMEOUT`` and its worker stops at its next
field.
"""

from __future__ import annotations

import json
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
import structlog
from graphql import OperationDefinitionNode, OperationType, get_operation_ast
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from lineage.errors import ErrorCode, LineageError
from lineage.graphql.admission import Busy, NodeAllowance
from lineage.graphql.auth import CHALLENGE, principal_of
from lineage.graphql.context import WRITERS, RequestContext
from lineage.graphql.cost import AnswerBudget, CostExceeded, check_static_cost, static_cost
from lineage.graphql.errors import BAD_REQUEST, UNAUTHENTICATED, error_body
from lineage.graphql.execution import BadRequest, GraphQLRequest, Outcome, run
from lineage.graphql.graphiql import GRAPHIQL_HTML
from lineage.graphql.limits import QUERY_TOO_COMPLEX, TIMEOUT, BudgetExceeded, Deadline, Limits
from lineage.graphql.observability import Metrics, request_id_of
from lineage.model.canonical import json_depth
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Role
from lineage.settings import Settings

log = structlog.get_logger("lineage.api")

GRAPHQL_RESPONSE = "application/graphql-response+json"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
MAX_BODY_DEPTH = 64  # JSON nesting of a request body; registrations' own JSON values allow 32
BUSY_RETRY_AFTER = "1"
ROUTING_ONLY = frozenset({Role.ROUTER})  # serving infrastructure: the routing endpoint alone


def encode(body: Any) -> bytes:
    """An answer's bytes, by orjson: an ``impact`` answer runs to hundreds of kilobytes, which
    the standard library's encoder took about 3 ms to write, ten times orjson's time. What
    orjson refuses (an integer past 64 bits in a ``props`` object) goes through the standard
    library's encoder."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")


class TooLarge(Exception):
    """The request body is larger than the route allows."""


def media_type_for(request: Request) -> str:
    """``application/graphql-response+json`` when the client lists it, else JSON."""
    accept = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else "application/json"


def failure(
    message: str,
    code: str,
    status: int,
    *,
    media_type: str = "application/json",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """An error answer in the one shape every route uses."""
    return JSONResponse(
        error_body(message, code, **extensions),
        status_code=status,
        headers=headers,
        media_type=media_type,
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or :class:`TooLarge` as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int, media_type: str = "application/json") -> JSONResponse:
    """413 in the error shape."""
    return failure(
        f"the request body is larger than the limit of {limit:,} bytes",
        PAYLOAD_TOO_LARGE,
        413,
        media_type=media_type,
        limit=limit,
    )


def decode_json(raw: bytes, what: str = "the body") -> Any:
    """Decode a JSON document; :class:`BadRequest` saying why it is refused."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(f"{what} nests more than {MAX_BODY_DEPTH} levels deep") from None
    if json_depth(value) > MAX_BODY_DEPTH:
        raise BadRequest(f"{what} nests more than {MAX_BODY_DEPTH} levels deep")
    return value


async def authenticated(request: Request, media_type: str) -> tuple[Any, Response | None]:
    """The caller, or the response refusing the request: 401 without a valid token, 503 when
    the store cannot be asked (it is never a reason to let a request through)."""
    state = request.app.state
    try:
        principal, reason = await principal_of(
            request, state.verified_tokens, state.settings.allow_anonymous
        )
    except LineageError as exc:
        state.metrics.store_errors.labels("auth").inc()
        return None, failure(
            f"cannot check the token now: {exc.message}",
            exc.code.value,
            503 if exc.code is ErrorCode.UNAVAILABLE else 400,
            media_type=media_type,
            headers={"Retry-After": BUSY_RETRY_AFTER},
        )
    if principal is None:
        return None, failure(reason, UNAUTHENTICATED, 401, media_type=media_type, headers=CHALLENGE)
    return principal, None


class GraphQLEndpoint(HTTPEndpoint):
    """``/graphql``: GraphiQL on GET, operations on POST."""

    async def get(self, request: Request) -> Response:
        """The GraphiQL page (static; it needs a token only to run operations)."""
        return HTMLResponse(GRAPHIQL_HTML)

    async def post(self, request: Request) -> Response:
        """Run one GraphQL operation for the token's principal, within the request's limits."""
        state = request.app.state
        settings: Settings = state.settings
        metrics: Metrics = state.metrics
        media_type = media_type_for(request)
        principal, refused = await authenticated(request, media_type)
        if refused is not None:
            return refused
        if principal.roles <= ROUTING_ONLY:
            return failure(
                f"{principal.id} holds only the router role, which reads "
                "/api/v1/routing/{deployment} and nothing else",
                ErrorCode.FORBIDDEN.value,
                403,
                media_type=media_type,
            )
        if "json" not in request.headers.get("content-type", ""):
            return failure(
                "send the operation as JSON (Content-Type: application/json)",
                BAD_REQUEST,
                415,
                media_type=media_type,
            )
        try:
            raw = await read_body(request, settings.max_body_bytes)
            graphql_request = GraphQLRequest.from_json(decode_json(raw))
        except TooLarge:
            return too_large(settings.max_body_bytes, media_type)
        except BadRequest as exc:
            return failure(str(exc), BAD_REQUEST, 400, media_type=media_type)
        limits: Limits = state.limits
        context = RequestContext(
            store=state.store,
            records=state.records,
            principal=principal,
            limits=limits,
            deadline=Deadline.start(limits.time_budget_seconds),
            request_id=request_id_of(request.scope),
            budget=AnswerBudget(limits.max_nodes_per_request),
            after_batch=state.after_batch,
            settings=state.settings,
        )
        started = time.perf_counter()
        plan = await anyio.to_thread.run_sync(_plan, state.documents, graphql_request, limits)
        if isinstance(plan, CostExceeded):
            metrics.observe_operation("unknown", time.perf_counter() - started, [QUERY_TOO_COMPLEX])
            return failure(
                str(plan),
                QUERY_TOO_COMPLEX,
                400,
                media_type=media_type,
                cost=plan.cost,
                limit=plan.limit,
            )
        writes, weight = plan
        allowance: NodeAllowance = state.allowance
        try:
            held = await allowance.acquire(weight, limits.time_budget_seconds)
        except Busy:
            metrics.store_errors.labels("capacity").inc()
            return failure(
                "the server is answering as much as it may hold at once; nothing was done. "
                "Retry shortly",
                ErrorCode.UNAVAILABLE.value,
                503,
                media_type=media_type,
                headers={"Retry-After": BUSY_RETRY_AFTER},
            )
        outcome, body = await _execute(
            _Work(state.documents, graphql_request, context, allowance, held), writes
        )
        response = Response(body, status_code=outcome.status, media_type=media_type)
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
        return response


def _plan(
    documents: Any, request: GraphQLRequest, limits: Limits
) -> tuple[bool, int] | CostExceeded:
    """Before anything runs: whether the operation writes, and its weight in nodes; or why a
    request whose worst case is past the node budget is refused.

    A document that does not parse or validate gets weight 1: :func:`run` answers its errors.
    """
    prepared = documents.prepare(request.query)
    if prepared.document is None or prepared.errors:
        return False, 1
    operation = get_operation_ast(prepared.document, request.operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return False, 1
    cost = static_cost(
        prepared.document, request.operation_name, request.variables, limits.max_page_size
    )
    try:
        check_static_cost(cost, limits.max_nodes_per_request)
    except CostExceeded as exc:
        return exc
    weight = limits.max_nodes_per_request if cost.open_ended else max(1, cost.nodes)
    return operation.operation is OperationType.MUTATION, weight


@dataclass(frozen=True, slots=True)
class _Work:
    """One operation to run in a worker thread, and the allowance it holds while it runs."""

    documents: Any
    request: GraphQLRequest
    context: RequestContext
    allowance: NodeAllowance
    held: int

    def __call__(self) -> tuple[Outcome, bytes]:
        """Run and encode the answer, then give the allowance back (also when abandoned)."""
        try:
            outcome = run(self.documents, self.request, self.context)
            return outcome, encode(outcome.body)
        finally:
            with suppress(RuntimeError):  # the event loop is gone: the server is stopping
                anyio.from_thread.run_sync(self.allowance.release, self.held)


async def _execute(work: _Work, writes: bool) -> tuple[Outcome, bytes]:
    """Run the operation in a worker thread.

    A mutation is waited for to its end, whatever the time budget: abandoning it could let a
    write the client was told had failed commit afterwards. Each write's wait for the store's
    lock is bounded by the store (shorter than the time budget), and a mutation field reached
    after the budget is not attempted (lineage.graphql.context). A query is abandoned at the
    budget with TIMEOUT; its worker stops at its next field, and holds its share of the
    allowance until it does.
    """
    if writes:
        return await anyio.to_thread.run_sync(work)
    done: tuple[Outcome, bytes] | None = None
    budget = work.context.limits.time_budget_seconds
    with anyio.move_on_after(budget):
        done = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    if done is not None:
        return done
    outcome = Outcome(
        status=200,
        body=error_body(str(BudgetExceeded(budget)), TIMEOUT) | {"data": None},
        error_codes=[TIMEOUT],
    )
    return outcome, encode(outcome.body)


def _parse_records_file(raw: bytes) -> int:
    """How many decisions a JSON Lines body holds (zero is a window without decisions);
    INVALID naming the first bad line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"records must be UTF-8 JSON Lines: {exc}") from None
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value = decode_json(line.encode("utf-8"), f"line {number}")
        if not isinstance(value, dict):
            raise BadRequest(f"line {number} is not a JSON object")
        count += 1
    return count


class RecordsEndpoint(HTTPEndpoint):
    """``POST /records``: upload a decisions file (JSON Lines) to the content-addressed store.

    Answers 201 ``{"recordsHash", "recordCount"}``; pass the hash as ``recordsHash`` to
    ``registerInferenceBatch``. The bytes are stored as sent, so the hash is the one a pipeline
    computes with ``sha256sum`` or ``lineage hash``. Failures have the /graphql error shape:
    400 ``INVALID`` (field ``records``), 401, 403 ``FORBIDDEN``, 413, 503 ``UNAVAILABLE``.
    """

    async def post(self, request: Request) -> Response:
        """Store the body; needs the pipeline or admin role."""
        state = request.app.state
        principal, refused = await authenticated(request, "application/json")
        if refused is not None:
            return refused
        if not principal.has_any(WRITERS):
            return failure(
                f"{principal.id} may not upload records; it needs the pipeline or admin role",
                ErrorCode.FORBIDDEN.value,
                403,
            )
        limit: int = state.settings.max_upload_bytes
        try:
            raw = await read_body(request, limit)
        except TooLarge:
            return too_large(limit)
        records: RecordStore = state.records
        try:
            count = _parse_records_file(raw)
            digest = await anyio.to_thread.run_sync(records.put, raw)
        except BadRequest as exc:
            return failure(str(exc), ErrorCode.INVALID.value, 400, field="records")
        except LineageError as exc:
            status = 503 if exc.code is ErrorCode.UNAVAILABLE else 400
            return failure(exc.message, exc.code.value, status, field=exc.field or "records")
        return JSONResponse({"recordsHash": digest, "recordCount": count}, status_code=201)
