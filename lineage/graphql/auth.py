"""Who is calling: the bearer token of an HTTP request, resolved to a principal and roles."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from lineage.services.tokens import Principal, Role, VerifiedTokens

ANONYMOUS = Principal(id="person:anonymous", roles=frozenset({Role.READER}))
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="lineage"'}


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def principal_of(
    request: Request, tokens: VerifiedTokens, allow_anonymous: bool
) -> tuple[Principal | None, str]:
    """The caller, or None and the reason to give with a 401.

    Without a token the caller is anonymous (a reader) only when the server allows it; a token
    that is present but wrong is refused even then, so a typo never silently drops privileges.
    """
    token = bearer_token(request)
    if token is None:
        if allow_anonymous:
            return ANONYMOUS, ""
        return None, "an `Authorization: Bearer <token>` header is required"
    # A token verified a moment ago is answered here; only the others cost a worker thread.
    principal = tokens.recall(token)
    if principal is None:
        principal = await run_in_threadpool(tokens.verify, token)
    if principal is None:
        return None, "the token is not valid (unknown, revoked, or its principal has left)"
    return principal, ""
