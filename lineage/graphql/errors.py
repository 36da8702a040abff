"""How failures reach clients: every GraphQL error carries ``extensions.code``.

Domain errors keep their :class:`lineage.errors.ErrorCode` (``NOT_FOUND``, ``CONFLICT``,
``INVALID`` with ``extensions.field``, ``FORBIDDEN``, ``UNAVAILABLE``); the API adds its own
codes for what only it can detect. An unexpected exception becomes ``INTERNAL`` with the request
ID to quote, and its traceback goes to the log, never to the client.
"""

from __future__ import annotations

from typing import Any

from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLError, VariableDefinitionNode

from lineage.errors import ErrorCode, LineageError
from lineage.graphql.limits import TIMEOUT, BudgetExceeded

UNAUTHENTICATED = "UNAUTHENTICATED"
BAD_REQUEST = "BAD_REQUEST"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL = "INTERNAL"


def camel_path(field: str) -> str:
    """A service field path in the API's spelling: ``datasets.0.content_hash`` -> camelCase."""
    return ".".join(part if part.isdigit() else to_camel_case(part) for part in field.split("."))


def _camel_details(details: dict[str, Any]) -> dict[str, Any]:
    """Details with the field paths of per-field errors in the API's spelling."""
    errors = details.get("errors")
    if not isinstance(errors, list):
        return details
    camel = [
        item | {"field": camel_path(item["field"])}
        if isinstance(item, dict) and isinstance(item.get("field"), str)
        else item
        for item in errors
    ]
    return details | {"errors": camel}


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """A GraphQL-shaped response body for an error found before execution."""
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def is_internal(error: GraphQLError) -> bool:
    """Whether the error is a bug (an exception the code did not mean to raise)."""
    original = error.original_error
    return original is not None and not isinstance(
        original, LineageError | BudgetExceeded | GraphQLError
    )


def error_code(error: GraphQLError, default: str) -> str:
    """The ``extensions.code`` of an error; ``default`` when nothing more specific applies."""
    original = error.original_error
    if isinstance(original, LineageError):
        return original.code.value
    if isinstance(original, BudgetExceeded):
        return TIMEOUT
    if is_internal(error):
        return INTERNAL
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    if error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
        return ErrorCode.INVALID.value
    return default


def format_error(error: GraphQLError, *, default_code: str, request_id: str) -> dict[str, Any]:
    """The JSON form of one error, with ``extensions.code`` and nothing internal."""
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [loc.formatted for loc in error.locations]
    if error.path:
        formatted["path"] = error.path
    extensions = dict(error.extensions or {})
    extensions["code"] = code = error_code(error, default_code)
    original = error.original_error
    if isinstance(original, LineageError):
        formatted["message"] = original.message
        if original.field:
            extensions["field"] = camel_path(original.field)
        if original.details:
            extensions["details"] = _camel_details(original.details)
    elif code == INTERNAL:
        formatted["message"] = (
            f"internal error; the server log has the details under request id {request_id}"
        )
        extensions["requestId"] = request_id
    elif error.nodes and isinstance(error.nodes[0], VariableDefinitionNode):
        extensions.setdefault("field", error.nodes[0].variable.name.value)
    formatted["extensions"] = extensions
    return formatted
