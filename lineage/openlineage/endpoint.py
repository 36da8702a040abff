"""``POST /api/v1/lineage`` (the path Marquez serves) and ``POST /api/v1/lineage/batch``.

The first takes one OpenLineage 2 event (``RunEvent``, ``DatasetEvent`` or ``JobEvent``) as
JSON, gzip-compressed or not (``Content-Encoding: gzip``, as ``openlineage-python`` sends with
``compression: gzip``); the second a JSON array of them (the OpenLineage specification defines
no batch form, so this one is ours: the events are written in order in one transaction, all or
none). The caller needs a
bearer token with the ``pipeline`` or ``admin`` role (the ``openlineage-python`` client's
``api_key`` auth sends ``Authorization: Bearer <key>``).

Answers, in the error shape of ``/graphql``:

* 201 with what each event registered (:class:`lineage.openlineage.mapping.Ingested`);
* 400 ``INVALID`` naming the JSON path of the first invalid field (``run.runId``; in a batch
  ``3.run.runId``), including an event larger than the per-event limit, named by its largest
  part; nothing is written;
* 401 without a valid token, 403 without the role, 409 ``CONFLICT`` when an event contradicts
  registered provenance (nothing of the request is written), 413 for a body past the server's
  limit, 415 for a body that is not JSON, 503 ``UNAVAILABLE`` when the store cannot be written.
"""

from __future__ import annotations

import json
import time
import zlib
from contextlib import suppress
from typing import Any

import anyio
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from lineage.errors import ErrorCode, InvalidError, LineageError
from lineage.graphql.context import WRITERS
from lineage.graphql.endpoint import (
    BUSY_RETRY_AFTER,
    TooLarge,
    authenticated,
    failure,
    read_body,
    too_large,
)
from lineage.graphql.errors import BAD_REQUEST
from lineage.model.canonical import json_depth
from lineage.openlineage.events import ParsedEvent, parse
from lineage.openlineage.mapping import Ingested, OpenLineageIngest
from lineage.openlineage.schema import validate
from lineage.openlineage.training import OpenLineageSettings, TrainingJobs
from lineage.store.base import WouldWait

LINEAGE_PATH = "/api/v1/lineage"
BATCH_PATH = "/api/v1/lineage/batch"
# A single event up to this size is ingested on the event loop when it can be (see _ingested):
# one of 32 KB (three tables of 100 columns, with column lineage) takes about 2.6 ms.
INLINE_BYTES = 32 * 1024
MAX_EVENT_DEPTH = 128  # facets such as Spark's logical plan nest deeper than a GraphQL request
_STATUS = {
    ErrorCode.INVALID: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAVAILABLE: 503,
}
log = structlog.get_logger("lineage.api")


class OpenLineageConfig:
    """The endpoint's settings and training rules, kept in the app's state."""

    def __init__(self, settings: OpenLineageSettings | None = None) -> None:
        self.settings = settings or OpenLineageSettings()
        self.training = TrainingJobs.from_settings(self.settings)


class LineageEndpoint:
    """The ASGI endpoint of :data:`LINEAGE_PATH` (one event) or :data:`BATCH_PATH` (many)."""

    def __init__(self, batch: bool = False) -> None:
        self.batch = batch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """Authenticate, read, validate, ingest; answer 201 or the error."""
        if request.method != "POST":
            return failure(
                "OpenLineage events are sent with POST",
                BAD_REQUEST,
                405,
                headers={"Allow": "POST"},
            )
        state = request.app.state
        principal, refused = await authenticated(request, "application/json")
        if refused is not None:
            return refused
        if not principal.has_any(WRITERS):
            held = ", ".join(sorted(r.value for r in principal.roles)) or "no role"
            return failure(
                f"{principal.id} ({held}) may not send lineage; it needs the pipeline or admin "
                "role",
                ErrorCode.FORBIDDEN.value,
                403,
            )
        if "json" not in request.headers.get("content-type", "json"):
            return failure(
                "send OpenLineage events as JSON (Content-Type: application/json)",
                BAD_REQUEST,
                415,
            )
        config: OpenLineageConfig = state.openlineage
        limit: int = state.settings.max_body_bytes
        started = time.perf_counter()
        try:
            raw = _decoded(await read_body(request, limit), request, limit)
            parsed = self._parsed(raw, config.settings)
        except TooLarge:
            return too_large(limit)
        except InvalidError as exc:
            return failure(exc.message, exc.code.value, 400, field=exc.field or "$")
        try:
            ingest = OpenLineageIngest(state.store, principal.id, config.training)
            done = await _ingested(ingest, parsed, not self.batch and len(raw) <= INLINE_BYTES)
        except LineageError as exc:
            status = _STATUS.get(exc.code, 400)
            extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
            if exc.details:
                extra["details"] = exc.details
            headers = {"Retry-After": BUSY_RETRY_AFTER} if status == 503 else None
            return failure(exc.message, exc.code.value, status, headers=headers, **extra)
        if self.batch:  # the request log line says the rest
            log.info(
                "openlineage batch",
                principal=principal.id,
                events=len(done),
                duplicates=sum(1 for d in done if d.duplicate),
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        if self.batch:
            return JSONResponse({"ingested": [d.as_json() for d in done]}, status_code=201)
        return JSONResponse(done[0].as_json(), status_code=201)

    def _parsed(self, raw: bytes, settings: OpenLineageSettings) -> list[ParsedEvent]:
        body = _json(raw)
        if not self.batch:
            _check_size(body, len(raw), settings.max_event_bytes, "")
            return [parse(body, validate(body))]
        if not isinstance(body, list):
            raise InvalidError("a batch is a JSON array of OpenLineage events", field="$")
        if not body:
            raise InvalidError("a batch holds at least one event", field="$")
        if len(body) > settings.max_batch_events:
            raise InvalidError(
                f"a batch holds at most {settings.max_batch_events:,} events, not {len(body):,}",
                field="$",
            )
        events = []
        for i, event in enumerate(body):
            prefix = f"{i}."
            size = len(json.dumps(event, ensure_ascii=False).encode("utf-8"))
            _check_size(event, size, settings.max_event_bytes, prefix)
            events.append(parse(event, validate(event, prefix), prefix))
        return events


async def _ingested(
    ingest: OpenLineageIngest, events: list[ParsedEvent], inline: bool
) -> list[Ingested]:
    """The events ingested: on the event loop when ``inline`` and the store can write at once
    without waiting (an embedded store whose write lock is free), else in a worker thread.

    Measured on SQLite with four emitters: a worker thread per event cost about 0.45 ms more
    server CPU per event than the ingest itself (about 1.1 ms), the event loop and the worker
    contending for the interpreter lock; on the loop the store never waits on a lock, and an
    event of at most INLINE_BYTES holds the loop a few milliseconds. Batches, larger events,
    a busy lock and Neo4j (network I/O) take the worker thread.
    """
    if inline:
        with suppress(WouldWait):
            return ingest.ingest(events, wait=False)
    return await anyio.to_thread.run_sync(ingest.ingest, events)


def _decoded(raw: bytes, request: Request, limit: int) -> bytes:
    """The body, gunzipped when the client compressed it; TooLarge past ``limit`` bytes."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise InvalidError(f"unsupported Content-Encoding {encoding!r}; send gzip or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise InvalidError(f"the gzip body does not decompress: {exc}", field="$") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise TooLarge
    return out


def _json(raw: bytes) -> Any:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidError(f"the body is not valid JSON: {exc}", field="$") from None
    except RecursionError:
        raise InvalidError(f"the body nests past {MAX_EVENT_DEPTH} levels", field="$") from None
    if json_depth(value) > MAX_EVENT_DEPTH:
        raise InvalidError(f"the body nests past {MAX_EVENT_DEPTH} levels", field="$")
    return value


def _check_size(event: Any, size: int, limit: int, prefix: str) -> None:
    """INVALID naming the largest part of an event past the per-event ``limit``."""
    if size <= limit:
        return
    path, part = _largest(event)
    where = (prefix + path).rstrip(".") or "$"
    raise InvalidError(
        f"the event is {size:,} bytes, past the limit of {limit:,} bytes per event; its "
        f"largest part is {where} ({part:,} bytes)",
        field=where,
    )


def _largest(value: Any, path: str = "") -> tuple[str, int]:
    """The path of the largest leaf-ward member of ``value`` and its encoded size."""
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        children = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(str(i), v) for i, v in enumerate(value)]
    if not children:
        return path, size
    key, child = max(children, key=lambda kv: len(json.dumps(kv[1], ensure_ascii=False)))
    if len(json.dumps(child, ensure_ascii=False)) * 2 < size:  # no single member dominates
        return path, size
    return _largest(child, f"{path}.{key}" if path else key)
