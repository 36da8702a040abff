"""``GET /api/v1/routing/{deployment}``: the routing document, with an ETag.

Serving infrastructure polls it (a rollback must reach it well within a second), so the common
request, nothing changed, costs one indexed read: the audit head. Every write to the store
appends an audit event, so a document computed at head ``n`` stays right while the head is
``n``; it is recomputed after any write, and its ETag changes only when the document does (see
:mod:`lineage.services.governance.routing`). A deployment change cannot be dated in the future,
so no change takes effect without a write. The caller's token is checked on every request, its
outcome kept under the same rule (revoking a token or marking a person as left is a write),
until the credential or its principal reaches a recorded end.

Answers: 200 with the document and ``ETag``; 304 without a body when ``If-None-Match`` names
the current ETag; 401 without a valid token; 403 for a token without the ``router``,
``operator`` or ``admin`` role; 400 ``INVALID`` for a malformed deployment ID; 404
``NOT_FOUND`` for an unknown deployment; 503 ``UNAVAILABLE`` when the store cannot be read.
Errors have the body shape of ``/graphql``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lineage.errors import ErrorCode, LineageError
from lineage.graphql.auth import ANONYMOUS, CHALLENGE, bearer_token
from lineage.graphql.endpoint import BUSY_RETRY_AFTER, failure
from lineage.graphql.errors import BAD_REQUEST, UNAUTHENTICATED
from lineage.model.graph import NodeKind
from lineage.model.ids import require_kind
from lineage.model.times import utcnow
from lineage.services.governance.routing import RoutingDocument, routing
from lineage.services.tokens import Principal, Role, authenticate_until
from lineage.store.base import GraphStore

ROUTING_PATH = "/api/v1/routing/{deployment}"
ROUTING_READERS = frozenset({Role.ROUTER, Role.OPERATOR, Role.ADMIN})
MAX_CACHED = 10_000  # documents, and callers: past it a cache starts again empty
CACHE_CONTROL = "no-cache"  # a client may keep the document, but must revalidate it
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Caller:
    """A token's outcome at audit head ``seq``: who (None: refused) and until when."""

    seq: int
    principal: Principal | None
    until: datetime | None


@dataclass(frozen=True, slots=True)
class _Answer:
    """What the worker thread found: who called, and the document if they may read it."""

    principal: Principal | None
    document: RoutingDocument | None = None


class RoutingCache:
    """Routing documents per deployment and callers per token, each valid at one audit head.

    Owned by the app's route (no module-level state). Tokens are keyed by their SHA-256, so no
    credential is held in it.
    """

    def __init__(self, max_entries: int = MAX_CACHED) -> None:
        self.max_entries = max_entries
        self._documents: dict[str, tuple[int, RoutingDocument]] = {}
        self._callers: dict[str, _Caller] = {}

    def answer(
        self, store: GraphStore, token: str | None, deployment: str, anonymous: bool
    ) -> _Answer:
        """Authenticate, then (for a reader of routing) the document; in a worker thread."""
        head = store.audit_head()
        seq = head.seq if head is not None else 0
        now = utcnow()
        if token is None:
            principal = ANONYMOUS if anonymous else None
        else:
            principal = self._principal(store, token, seq, now)
        if principal is None or not principal.has_any(ROUTING_READERS):
            return _Answer(principal)
        cached = self._documents.get(deployment)
        if cached is not None and cached[0] == seq:
            return _Answer(principal, cached[1])
        # Computed after the head was read, so it is at least as new as the head it is kept
        # under: a write in between only makes the next request recompute.
        document = routing(store, deployment, now)
        self._keep(self._documents, deployment, (seq, document))
        return _Answer(principal, document)

    def _principal(
        self, store: GraphStore, token: str, seq: int, now: datetime
    ) -> Principal | None:
        key = hashlib.sha256(token.encode("utf-8")).hexdigest()
        known = self._callers.get(key)
        if known is not None and known.seq == seq and (known.until is None or now < known.until):
            return known.principal
        found = authenticate_until(store, token, now)
        principal, until = found if found is not None else (None, None)
        self._keep(self._callers, key, _Caller(seq, principal, until))
        return principal

    def _keep(self, cache: dict[str, T], key: str, value: T) -> None:
        if len(cache) >= self.max_entries and key not in cache:
            cache.clear()
        cache[key] = value


class RoutingEndpoint:
    """The ASGI endpoint of :data:`ROUTING_PATH`; holds the app's :class:`RoutingCache`."""

    def __init__(self) -> None:
        self.cache = RoutingCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """Authenticate, find the document, answer it (or 304, or an error)."""
        if request.method not in ("GET", "HEAD"):
            return failure(
                "the routing document is read with GET",
                BAD_REQUEST,
                405,
                headers={"Allow": "GET, HEAD"},
            )
        state = request.app.state
        name = request.path_params["deployment"]
        deployment = name if ":" in name else f"deployment:{name}"
        try:
            require_kind(deployment, "deployment", NodeKind.DEPLOYMENT)
        except LineageError as exc:
            return failure(exc.message, exc.code.value, 400, field="deployment")
        token = bearer_token(request)
        try:
            found = await run_in_threadpool(
                self.cache.answer, state.store, token, deployment, state.settings.allow_anonymous
            )
        except LineageError as exc:
            return _refusal(exc)
        if found.principal is None:
            reason = (
                "an `Authorization: Bearer <token>` header is required"
                if token is None
                else "the token is not valid (unknown, revoked, or its principal has left)"
            )
            return failure(reason, UNAUTHENTICATED, 401, headers=CHALLENGE)
        document = found.document
        if document is None:
            held = ", ".join(sorted(r.value for r in found.principal.roles)) or "no role"
            return failure(
                f"{found.principal.id} ({held}) may not read routing; it needs the router, "
                "operator or admin role",
                ErrorCode.FORBIDDEN.value,
                403,
            )
        headers = {"ETag": f'"{document.etag}"', "Cache-Control": CACHE_CONTROL}
        if _matches(request.headers.get("if-none-match"), document.etag):
            return Response(status_code=304, headers=headers)
        return Response(document.body, media_type="application/json", headers=headers)


def _refusal(exc: LineageError) -> Response:
    if exc.code is ErrorCode.NOT_FOUND:
        return failure(exc.message, exc.code.value, 404, field=exc.field or "deployment")
    if exc.code is ErrorCode.UNAVAILABLE:
        return failure(
            f"cannot read the routing now: {exc.message}",
            exc.code.value,
            503,
            headers={"Retry-After": BUSY_RETRY_AFTER},
        )
    return failure(exc.message, exc.code.value, 400, field=exc.field or "deployment")


def _matches(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 asks) or is *."""
    if not header:
        return False
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.removeprefix("W/") == f'"{etag}"':
            return True
    return False
