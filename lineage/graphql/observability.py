"""Request IDs, structured JSON logs and Prometheus metrics for the API.

Metrics live in a registry per app (no process-wide collectors), so several apps, as in tests,
never collide.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any, TextIO

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import EventDict

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
KNOWN_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics", "/records"})

log = structlog.get_logger("lineage.api")


class Metrics:
    """The API's Prometheus collectors."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "lineage_http_requests_total",
            "HTTP requests by path, method and status.",
            ["path", "method", "status"],
            registry=self.registry,
        )
        self.operations = Counter(
            "lineage_graphql_operations_total",
            "GraphQL operations by operation (type and root fields) and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lineage_graphql_operation_seconds",
            "GraphQL operation latency by operation.",
            ["operation"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.errors = Counter(
            "lineage_graphql_errors_total",
            "GraphQL errors by extensions.code.",
            ["code"],
            registry=self.registry,
        )
        self.store_errors = Counter(
            "lineage_store_errors_total",
            "Times the store could not be reached (UNAVAILABLE), by where it was noticed.",
            ["where"],
            registry=self.registry,
        )

    def observe_operation(self, operation: str, seconds: float, codes: list[str]) -> None:
        """Count one GraphQL operation and its errors."""
        self.operations.labels(operation, "error" if codes else "ok").inc()
        self.latency.labels(operation).observe(seconds)
        for code in codes:
            self.errors.labels(code).inc()
            if code == "UNAVAILABLE":
                self.store_errors.labels("graphql").inc()

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


def request_id_of(scope: Scope) -> str:
    """The request ID the middleware assigned."""
    state: dict[str, Any] = scope.get("state", {})
    return str(state.get("request_id", "-"))


class RequestLogMiddleware:
    """Give every request an ID (kept from ``X-Request-ID`` when sane), log it, count it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = (
            dict(scope.get("headers", [])).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        )
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
                self.metrics.http_requests.labels(path, scope["method"], str(status)).inc()
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )


REDACTED = "[REDACTED]"
# A token this service issues (lin_<16 hex>_<43 urlsafe>, matched whatever the length of the
# secret, so a cut-off one goes too), and whatever follows "Bearer" (anyone's credential).
_TOKEN = re.compile(r"lin_[0-9a-f]{16}_[A-Za-z0-9_\-]+")
_BEARER = re.compile(r"(bearer\s+)[^\s'\",;]+", re.IGNORECASE)


def redact_text(text: str) -> str:
    """``text`` with every bearer token and ``Bearer`` credential replaced by ``[REDACTED]``."""
    return _BEARER.sub(rf"\1{REDACTED}", _TOKEN.sub(REDACTED, text))


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    # Anything else is rendered as JSONRenderer would (its __structlog__, else its repr),
    # which may hold a credential.
    structured = getattr(value, "__structlog__", None)
    return _redacted(structured()) if callable(structured) else redact_text(repr(value))


def redact_secrets(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: no credential in any value, exception text included (so it runs
    after the exception is rendered)."""
    return {key: _redacted(value) for key, value in event_dict.items()}


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """JSON logs on stderr (or ``stream``) for structlog and the standard library (uvicorn
    included). Tracebacks are rendered without local variables, and every credential is
    redacted: no token reaches the log, even in the locals of a failing request's frames."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    tracebacks = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.ExceptionRenderer(tracebacks),
                redact_secrets,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
