"""Opaque page cursors shared by the backends.

A cursor is the sort key of the last item of a page, as base64 of a JSON list. It comes back
from clients, so decoding trusts nothing: the length, the JSON, its nesting, the number of
elements and the type of each are checked, and anything else is INVALID naming the field.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from lineage.errors import InvalidError

# Every cursor this service makes is under 200 characters (an ID and an instant, or an edge's
# two IDs, kind and instant); the cap bounds the work a forged one can cause.
MAX_CURSOR_LENGTH = 512


def encode_cursor(position: list[Any]) -> str:
    """Encode the sort key of the last item of a page."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _is(value: Any, kind: type) -> bool:
    # JSON true/false decode to bool, which Python counts as an int.
    return isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)


def decode_cursor(cursor: str, types: Sequence[type], field: str = "after") -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor` from a position of ``types`` (one per
    element, e.g. ``(str, int)``); INVALID naming ``field`` if it was not."""
    refused = InvalidError("not a cursor returned by this service", field=field)
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
        raise refused
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, RecursionError):
        raise refused from None
    if not isinstance(value, list) or len(value) != len(types):
        raise refused
    if not all(_is(part, kind) for part, kind in zip(value, types, strict=True)):
        raise refused
    return value
