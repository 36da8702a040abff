"""What every page shares: the templates, links to nodes, reading form values, error pages.

Pages are thin: each reads its parameters (a bad one is INVALID naming it), asks a service in a
worker thread, and renders a template. A :class:`LineageError` becomes an error page with its
code and reason, and the HTTP status the API gives the same code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from lineage.drawing import edge_label, node_label, short_time
from lineage.errors import ErrorCode, InvalidError, LineageError
from lineage.model.times import require_aware
from lineage.services.tokens import Principal
from lineage.web.session import LoginRequired, viewer

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATUS = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INVALID: 400,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAVAILABLE: 503,
}
# The browser itself holds the pages to this server: nothing loads from elsewhere, no other
# site frames them, and forms post only here. Inline style attributes place the timeline bars.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
Handler = Callable[[Request, Principal], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def node_href(node_id: str) -> str:
    """The page of a node: its model page for a Model, else its node page."""
    return f"/ui/node/{quote(node_id, safe=':@')}"


def ui_url(path: str, **params: object) -> str:
    """A /ui link with the non-empty ``params`` as its query string."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"/ui/{path}" + (f"?{urlencode(kept)}" if kept else "")


def when(value: datetime | None) -> str:
    """An instant as a page shows it (UTC, to the second when it has seconds)."""
    if value is None:
        return "—"
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S" if utc.second else "%Y-%m-%d %H:%M") + " UTC"


TEMPLATES.env.globals.update(
    node_href=node_href,
    ui_url=ui_url,
    label=node_label,
    short_time=short_time,
    edge_label=edge_label,
)
TEMPLATES.env.filters["when"] = when


def instant(params: Mapping[str, str], name: str, default: datetime | None = None) -> datetime:
    """A form's instant (ISO 8601; a date alone is midnight UTC; no zone is UTC), or
    ``default``; INVALID naming ``name`` when it is malformed or missing."""
    text = params.get(name, "").strip()
    if not text:
        if default is None:
            raise InvalidError("is required: give an instant such as 2024-01-25T11:30Z", field=name)
        return default
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidError(
            f"{text[:40]!r} is not an instant; give one such as 2024-01-25T11:30Z", field=name
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return require_aware(value, name)


def optional_instant(params: Mapping[str, str], name: str) -> datetime | None:
    """As :func:`instant`, None when the field is empty."""
    return instant(params, name) if params.get(name, "").strip() else None


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page: ``template`` with ``context``, the caller and the search box's query."""
    context.setdefault("q", request.query_params.get("q", ""))
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"principal": principal, **context},
        status_code=status,
        headers=SECURITY_HEADERS,
    )


def error_page(
    request: Request, principal: Principal | None, exc: LineageError, suggestions: list[str]
) -> HTMLResponse:
    """The error as a page: its code, the field and the reason, and "did you mean" links."""
    return render(
        request,
        "error.html",
        principal,
        status=STATUS.get(exc.code, 400),
        code=exc.code.value,
        field=exc.field,
        message=exc.message,
        suggestions=suggestions,
    )


Suggest = Callable[[Request, str], Awaitable[list[str]]]


def page(suggest: Suggest | None = None) -> Callable[[Handler], Endpoint]:
    """A page handler with the caller resolved (a login redirect without one) and every
    :class:`LineageError` shown as an error page; ``suggest`` offers IDs for a NOT_FOUND."""

    def decorate(handler: Handler) -> Endpoint:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                principal = await viewer(request)
            except LoginRequired as exc:
                return exc.redirect
            try:
                return await handler(request, principal)
            except LineageError as exc:
                given = exc.details.get("suggestions")
                hints = [str(h) for h in given] if isinstance(given, list) else []
                if not hints and exc.code is ErrorCode.NOT_FOUND and suggest is not None:
                    hints = await suggest(request, exc.message)
                return error_page(request, principal, exc, hints)

        return endpoint

    return decorate


def redirect(url: str) -> RedirectResponse:
    """See other (303): what a form's POST answers."""
    return RedirectResponse(url, status_code=303)
