"""The Starlette application: ``/graphql``, ``/records``, ``/healthz``, ``/readyz``, ``/metrics``,
and the routing document at ``/api/v1/routing/{deployment}``.

:func:`create_app` takes an open store (app state, no module-level singletons), so tests and
benchmarks build one in process; :func:`create_app_from_settings` opens and closes the store
itself, for ``uvicorn --factory lineage.graphql.app:create_app_from_settings``.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lineage.errors import LineageError
from lineage.graphql.admission import NodeAllowance
from lineage.graphql.endpoint import GraphQLEndpoint, RecordsEndpoint
from lineage.graphql.errors import INTERNAL, error_body
from lineage.graphql.execution import DocumentCache
from lineage.graphql.exports import DOWNLOAD_PATH, download
from lineage.graphql.limits import Limits
from lineage.graphql.observability import (
    REQUEST_ID_HEADER,
    Metrics,
    RequestLogMiddleware,
    configure_logging,
    request_id_of,
)
from lineage.graphql.schema import graphql_schema
from lineage.openlineage.endpoint import (
    BATCH_PATH,
    LINEAGE_PATH,
    LineageEndpoint,
    OpenLineageConfig,
)
from lineage.routing.endpoint import ROUTING_PATH, RoutingEndpoint
from lineage.services.batch_hooks import BatchHook
from lineage.services.record_store import RecordStore
from lineage.services.tokens import VerifiedTokens
from lineage.settings import Settings
from lineage.store import GraphStore, open_store
from lineage.web import ui_mount

if TYPE_CHECKING:
    from lineage.jobs.scheduler import JobScheduler


async def healthz(_request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


log = structlog.get_logger("lineage.api")


async def readyz(request: Request) -> Response:
    """Ready when a write can succeed now: the store commits a probe write and the record store
    takes a file. 503 with the reason otherwise (a full disk, a read-only file, the database
    down), and 200 again once the fault is gone, without a restart."""
    state = request.app.state

    def probe() -> None:
        state.store.ping(write=True)
        state.records.probe()

    try:
        await run_in_threadpool(probe)
    except LineageError as exc:
        state.metrics.store_errors.labels("readyz").inc()
        return JSONResponse({"status": "unavailable", "reason": exc.message}, status_code=503)
    except Exception as exc:  # a driver error a backend failed to translate is still "not ready"
        state.metrics.store_errors.labels("readyz").inc()
        reason = f"{type(exc).__name__}: {exc}"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "store": state.store.uri})


async def internal_error(request: Request, exc: Exception) -> Response:
    """An exception no handler expected: 500 in the API's error shape, with the request ID to
    quote; the traceback goes to the log (without local variables, see observability)."""
    request_id = request_id_of(request.scope)
    log.error("unhandled exception", path=request.url.path, exc_info=exc)
    message = f"internal error; the server log has the details under request id {request_id}"
    return JSONResponse(
        error_body(message, INTERNAL, requestId=request_id),
        status_code=500,
        # Sent by the outermost middleware, past the one that adds the header to answers.
        headers={REQUEST_ID_HEADER: request_id},
    )


async def metrics(request: Request) -> Response:
    """Prometheus exposition of this app's metrics."""
    collected: Metrics = request.app.state.metrics
    return Response(collected.render(), media_type=collected.content_type)


@asynccontextmanager
async def serving(_app: Starlette) -> AsyncIterator[None]:
    """The server's lifespan: freeze what startup built in the cyclic garbage collector.

    The schema, the modules and the caches live as long as the server, yet every full collection
    traversed all of them again; a large answer allocates enough to trigger one, which put about
    20 ms on the p95 of ``impact`` (bench/README.md). Frozen objects are still freed by reference
    counting; collecting first keeps garbage from being frozen with them.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def with_jobs(jobs: JobScheduler) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The server's lifespan with the scheduled jobs started with it and stopped (running
    jobs finishing first) at shutdown (``lineage serve --with-jobs``)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        jobs.start()
        try:
            async with serving(app):
                yield
        finally:
            await run_in_threadpool(jobs.shutdown)

    return lifespan


def create_app(
    store: GraphStore,
    records: RecordStore,
    settings: Settings | None = None,
    jobs: JobScheduler | None = None,
    after_batch: Sequence[BatchHook] | None = None,
) -> Starlette:
    """The API over an open store; the caller keeps ownership of the store and closes it.
    ``jobs``, when given, run in this process from startup to shutdown.

    ``after_batch`` runs after each ``registerInferenceBatch`` commits (see
    :mod:`lineage.services.batch_hooks`); by default the monitors of ``jobs/monitors.toml``
    (``$LINEAGE_JOBS_DIR``), or none when there is no such file. A malformed file is refused."""
    settings = settings or Settings()
    collected = Metrics()
    app = Starlette(
        routes=[
            # Body sizes are checked by the endpoints, which answer 413 in the error shape.
            Route("/graphql", GraphQLEndpoint),
            Route("/records", RecordsEndpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route(ROUTING_PATH, RoutingEndpoint()),  # owns its cache: one per app
            # OpenLineage events (lineage.openlineage), at the path Marquez serves.
            Route(LINEAGE_PATH, LineageEndpoint()),
            Route(BATCH_PATH, LineageEndpoint(batch=True)),
            Route(DOWNLOAD_PATH, download),  # evidence bundles (lineage/graphql/exports.py)
            ui_mount(),  # the investigator's pages (lineage.web)
        ],
        middleware=[Middleware(RequestLogMiddleware, metrics=collected)],
        exception_handlers={Exception: internal_error},
        lifespan=serving if jobs is None else with_jobs(jobs),
    )
    app.state.store = store
    app.state.verified_tokens = VerifiedTokens(store)  # one process's token trust (auth.py)
    app.state.records = records
    app.state.settings = settings
    app.state.limits = limits = Limits.from_settings(settings)
    app.state.metrics = collected
    app.state.documents = DocumentCache(graphql_schema(), limits)
    app.state.allowance = NodeAllowance(settings.max_nodes_in_flight)
    app.state.after_batch = tuple(monitors_hooks() if after_batch is None else after_batch)
    # Training rules and limits from LINEAGE_OPENLINEAGE_*; tests may replace it.
    app.state.openlineage = OpenLineageConfig()
    return app


def monitors_hooks() -> list[BatchHook]:
    """The monitors as a batch hook, when the jobs folder holds their configuration."""
    from lineage.jobs.monitors import MONITORS_FILE, default_jobs_dir, hook_from

    jobs = default_jobs_dir()
    if not (jobs / MONITORS_FILE).is_file():
        log.warning("no monitors configuration", looked_in=str(jobs))
        return []
    return [hook_from(jobs)]


def create_app_from_settings(settings: Settings | None = None) -> Starlette:
    """The API over the store the settings name, opened at startup and closed at shutdown."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    store = open_store(settings.store, lock_timeout=settings.lock_timeout_seconds)
    app = create_app(store, RecordStore(settings.records_dir), settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with serving(app):
                yield
        finally:
            store.close()

    app.router.lifespan_context = lifespan
    return app
