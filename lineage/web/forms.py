"""Reading the pages' HTML forms (``application/x-www-form-urlencoded``), bounded in size.

The forms are a token, a query and its variables: the standard library parses them, so the
server needs no multipart parser.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from lineage.errors import InvalidError

MAX_FORM_BYTES = 256 * 1024


async def form_fields(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The form's fields (the first value of each); INVALID (``form``) when it is not an
    urlencoded form or is larger than ``limit`` bytes."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidError("send the page's form (application/x-www-form-urlencoded)", field="form")
    size = 0
    chunks: list[bytes] = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InvalidError(f"the form is larger than {limit:,} bytes", field="form")
        chunks.append(chunk)
    fields: dict[str, str] = {}
    text = b"".join(chunks).decode("utf-8", "replace")
    for name, value in parse_qsl(text, keep_blank_values=True, max_num_fields=50):
        fields.setdefault(name, value)
    return fields
