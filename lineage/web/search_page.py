"""Search: the box on every page, the results page, and "did you mean" for a missing node.
Both ask :mod:`lineage.services.search`, as the API's ``search`` field and NOT_FOUND do."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from lineage.model.graph import NodeKind
from lineage.services import search
from lineage.services.tokens import Principal
from lineage.web.node_page import CREDENTIAL_READERS
from lineage.web.rendering import node_href, page, redirect, render

RESULTS = 50


@page()
async def search_page(request: Request, principal: Principal) -> Response:
    """``/ui/search?q=&kind=``: ranked results; an exact ID goes straight to its page."""
    text = request.query_params.get("q", "").strip()
    kind = request.query_params.get("kind", "").strip() or None
    kinds = sorted(k.value for k in search.VISIBLE_KINDS)
    if not text:
        return render(request, "search.html", principal, hits=None, kind="", kinds=kinds)
    found = await run_in_threadpool(
        search.search,
        request.app.state.store,
        text,
        [kind] if kind else None,
        RESULTS,
        with_credentials=principal.has_any(CREDENTIAL_READERS),
    )
    if len(found.hits) == 1 and found.hits[0].node.id == text:
        return redirect(node_href(text))
    return render(
        request,
        "search.html",
        principal,
        hits=found.hits,
        truncated=found.truncated,
        kind=NodeKind.parse(kind, "kind").value if kind else "",
        kinds=kinds,
    )


async def suggestions(request: Request, wanted: str) -> list[str]:
    """The IDs ``wanted`` was probably meant to be, for a NOT_FOUND page."""
    if not wanted or ":" not in wanted:
        return []
    found: list[str] = await run_in_threadpool(
        search.suggestions, request.app.state.store, wanted
    )
    return found
