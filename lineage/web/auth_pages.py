"""The login and logout pages of /ui."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lineage.errors import InvalidError
from lineage.web.forms import form_fields
from lineage.web.rendering import redirect, render
from lineage.web.session import COOKIE, COOKIE_PATH, login_attempt, safe_next, set_session


async def login_form(request: Request) -> Response:
    """The form: paste a token; it is kept for this browser session only."""
    expired = request.query_params.get("expired") == "1"
    return render(
        request,
        "login.html",
        None,
        next=safe_next(request.query_params.get("next")),
        error="your session's token is no longer valid: sign in again" if expired else "",
    )


async def login(request: Request) -> Response:
    """Check the token with the API's token service and keep it in a session cookie."""
    try:
        form = await form_fields(request)
    except InvalidError as exc:
        return render(request, "login.html", None, status=400, next="/ui/", error=str(exc))
    target = safe_next(form.get("next"))
    principal, error = await login_attempt(form, request)
    if principal is None:
        return render(request, "login.html", None, status=401, next=target, error=error)
    response = redirect(target)
    set_session(response, request, form.get("token", ""))
    return response


async def logout(request: Request) -> Response:
    """Forget the token: the cookie is deleted."""
    response = redirect("/ui/login")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
