"""The investigator's web view at ``/ui``: server-rendered pages over the services.

Starlette routes and Jinja2 templates, the provenance graph drawn on the server as inline SVG
(lineage.drawing), styles served from ``/ui/static``: nothing is loaded from the internet and
no script is needed. Signing in keeps the API token in a browser-session cookie
(lineage.web.session). Pages call the same services the GraphQL API calls.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lineage.services.tokens import Principal
from lineage.web.auth_pages import login, login_form, logout
from lineage.web.model_page import model_page
from lineage.web.node_page import node_page
from lineage.web.query_page import query_form, run_query
from lineage.web.question_pages import changes_page, decisions_page, incidents_page
from lineage.web.rendering import page, render
from lineage.web.search_page import search_page

STATIC = Path(__file__).parent / "static"


@page()
async def home(request: Request, principal: Principal) -> Response:
    """The start page: the search box and the investigators' questions."""
    return render(request, "home.html", principal)


def ui_mount() -> Mount:
    """Everything under ``/ui``, for the API app to mount."""
    return Mount(
        "/ui",
        routes=[
            Route("/", home, name="ui_home"),
            Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/search", search_page),
            Route("/node/{id:path}", node_page),
            Route("/model/{name:path}", model_page),
            Route("/decisions", decisions_page),
            Route("/changes", changes_page),
            Route("/incidents", incidents_page),
            Route("/query", query_form, methods=["GET"]),
            Route("/query", run_query, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="ui_static"),
        ],
    )


__all__ = ["ui_mount"]
