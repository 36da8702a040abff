"""``/ui/query``: a plain page to run GraphQL without GraphiQL (which needs its CDN).

A textarea, the saved operations of ``graphql/queries/`` to start from, and a Run button. The
operation goes to ``POST /graphql`` inside this process, with the session's token as its bearer
token, so it meets the same authentication, limits and error shapes as any API call. No script.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lineage.errors import InvalidError
from lineage.services.tokens import Principal
from lineage.web.forms import form_fields
from lineage.web.rendering import page, render
from lineage.web.session import COOKIE

MAX_TEXT = 100_000


def queries_dir() -> Path:
    """Where the saved operations are: ``$LINEAGE_QUERIES_DIR``, else the checkout's
    ``graphql/queries`` beside the package (as in the Docker image)."""
    default = Path(__file__).resolve().parents[2] / "graphql" / "queries"
    return Path(os.environ.get("LINEAGE_QUERIES_DIR") or default)


def saved_operations(folder: Path | None = None) -> list[str]:
    """The names of the saved operations (``NAME.graphql``), sorted."""
    folder = folder or queries_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.graphql"))


def saved_operation(name: str, folder: Path | None = None) -> tuple[str, str]:
    """The document and the variables (JSON text) of a saved operation; INVALID (``op``) for a
    name that is not one of them."""
    folder = folder or queries_dir()
    if name not in saved_operations(folder):
        raise InvalidError(f"{name[:60]!r} is not a saved operation", field="op")
    document = (folder / f"{name}.graphql").read_text(encoding="utf-8")
    variables = folder / f"{name}.variables.json"
    return document, variables.read_text(encoding="utf-8") if variables.is_file() else "{}"


async def graphql_in_process(request: Request, token: str | None, body: bytes) -> tuple[int, Any]:
    """POST ``body`` to this app's ``/graphql`` as the holder of ``token``: status and answer."""
    headers = [
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"host", request.headers.get("host", "localhost").encode("latin-1")),
    ]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode("latin-1")))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": request.url.scheme,
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": request.scope.get("client"),
        "server": request.scope.get("server"),
        "state": {},
    }
    sent = False
    status = 500
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await request.app(scope, receive, send)
    raw = b"".join(chunks)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


@page()
async def query_form(request: Request, principal: Principal) -> Response:
    """The form, filled from a saved operation when ``?op=`` names one."""
    name = request.query_params.get("op", "").strip()
    document, variables = saved_operation(name) if name else ("", "{}")
    return render(
        request,
        "query.html",
        principal,
        operations=saved_operations(),
        op=name,
        document=document,
        variables=variables,
        answer=None,
    )


@page()
async def run_query(request: Request, principal: Principal) -> Response:
    """Run the form's operation through ``/graphql`` and show the answer under the form."""
    form = await form_fields(request)
    document = form.get("query", "")
    variables_text = form.get("variables", "").strip() or "{}"
    if len(document) > MAX_TEXT or len(variables_text) > MAX_TEXT:
        raise InvalidError(f"must be at most {MAX_TEXT:,} characters", field="query")
    if not document.strip():
        raise InvalidError("write an operation, or pick a saved one", field="query")
    try:
        variables = json.loads(variables_text)
    except ValueError as exc:
        raise InvalidError(f"is not JSON: {exc}", field="variables") from None
    body = json.dumps({"query": document, "variables": variables}).encode()
    status, answer = await graphql_in_process(request, request.cookies.get(COOKIE), body)
    return render(
        request,
        "query.html",
        principal,
        operations=saved_operations(),
        op=form.get("op", ""),
        document=document,
        variables=variables_text,
        answer=json.dumps(answer, indent=2, ensure_ascii=False)
        if not isinstance(answer, str)
        else answer,
        answer_status=status,
    )
