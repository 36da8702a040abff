"""Signing in to /ui: a bearer token kept in a browser-session cookie, checked on every page.

The login form takes a token and sets it as a cookie without expiry (gone when the browser
session ends), ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
sends it, which also protects the forms that POST) and ``Secure`` when served over https. The
server keeps no session: each page checks the token with the API's own token service, so a
revoked token or a principal who left is signed out at the next click.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from lineage.errors import LineageError
from lineage.services.tokens import Principal, Role, authenticate

COOKIE = "lineage_ui"
COOKIE_PATH = "/ui"
ROUTING_ONLY = frozenset({Role.ROUTER})
INVALID_TOKEN = "the token is not valid (unknown, revoked, or its principal has left)"


class LoginRequired(Exception):
    """The page needs a signed-in caller; ``redirect`` goes to the login form."""

    def __init__(self, request: Request, reason: str = "") -> None:
        super().__init__(reason)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/ui/login?next={_quoted(target)}"
        if reason:
            location += "&expired=1"
        self.redirect: Response = RedirectResponse(location, status_code=303)
        if reason:
            self.redirect.delete_cookie(COOKIE, path=COOKIE_PATH)


def _quoted(path: str) -> str:
    return quote(path, safe="/:@")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path under /ui, never another site."""
    if value and value.startswith("/ui") and not value.startswith("//"):
        return value
    return "/ui/"


async def check_token(request: Request, token: str) -> tuple[Principal | None, str]:
    """The token's principal, or None and why it is refused (as /graphql refuses it)."""
    principal = await run_in_threadpool(authenticate, request.app.state.store, token.strip())
    if principal is None:
        return None, INVALID_TOKEN
    if principal.roles <= ROUTING_ONLY:
        return None, f"{principal.id} holds only the router role, which cannot read pages"
    return principal, ""


async def viewer(request: Request) -> Principal:
    """The signed-in caller; anonymous (a reader) without a cookie when the server allows it.

    :class:`LoginRequired` without a usable token; a store that cannot be asked raises its
    UNAVAILABLE error (never a reason to let the request through).
    """
    token = request.cookies.get(COOKIE)
    if not token:
        if request.app.state.settings.allow_anonymous:
            # The API's anonymous reader; imported here because lineage.graphql mounts us.
            from lineage.graphql.auth import ANONYMOUS

            return ANONYMOUS
        raise LoginRequired(request)
    principal, reason = await check_token(request, token)
    if principal is None:
        raise LoginRequired(request, reason)
    return principal


def set_session(response: Response, request: Request, token: str) -> None:
    """Keep the token in a browser-session cookie (see the module docstring)."""
    response.set_cookie(
        COOKIE,
        token.strip(),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def login_attempt(form: dict[str, str], request: Request) -> tuple[Principal | None, str]:
    """Check the login form's token: the principal, or None and the reason."""
    token = form.get("token", "")
    if not token.strip():
        return None, "token: paste an API token (lin_...)"
    try:
        principal, reason = await check_token(request, token)
    except LineageError as exc:
        return None, f"cannot check the token now: {exc.message}"
    if principal is None:
        return None, f"token: {reason}"
    return principal, ""
