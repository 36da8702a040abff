"""Opaque page cursors shared by the backends."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from lineage.errors import InvalidError


def encode_cursor(position: list[Any]) -> str:
    """Encode the sort key of the last item of a page."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int, field: str = "after") -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor`, INVALID if it was not."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise InvalidError("not a cursor returned by this service", field=field) from exc
    if not isinstance(value, list) or len(value) != size:
        raise InvalidError("not a cursor returned by this service", field=field)
    return value
