"""How failures reach clients: every GraphQL error carries ``extensions.code``.

Domain errors keep their :class:`lineage.errors.ErrorCode` (``NOT_FOUND``, ``CONFLICT``,
``INVALID`` with ``extensions.field``, ``FORBIDDEN``, ``UNAVAILABLE``); the API adds its own
codes for what only it can detect. An unexpected exception becomes ``INTERNAL`` with the request
ID to quote, and its traceback goes to the log, never to the client.

A value the schema refuses is ``INVALID`` naming the field, the same whether it was written inline
(caught while validating the document, :class:`InputValueRule`) or passed as a variable (caught
while coercing variables): a scalar says what is wrong by raising ValueError, so any other
exception out of a scalar is a bug and stays ``INTERNAL``.
"""

from __future__ import annotations

import re
from contextlib import suppress
from typing import Any

from graphene.utils.str_converters import to_camel_case
from graphql import (
    ArgumentNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectValueNode,
    ValidationContext,
    ValueNode,
    ValuesOfCorrectTypeRule,
    VariableDefinitionNode,
    print_ast,
)

from lineage.errors import ErrorCode, LineageError
from lineage.graphql.limits import TIMEOUT, BudgetExceeded

UNAUTHENTICATED = "UNAUTHENTICATED"
BAD_REQUEST = "BAD_REQUEST"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL = "INTERNAL"
SHOWN_LITERAL = 80  # characters of an inline value an error message may echo
_ARGUMENT = re.compile(r"Argument '(\w+)' ")


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
    if isinstance(original, GraphQLError):
        # Coercing a variable wraps what the scalar raised: ValueError is the scalar refusing
        # the value, anything else a bug in the scalar.
        cause = original.original_error
        return cause is not None and not isinstance(cause, ValueError | LineageError)
    return original is not None and not isinstance(original, LineageError | BudgetExceeded)


def shorten_literal(message: str, node: Node | None) -> str:
    """``message`` with the inline value graphql-core printed into it shortened, so a
    5,000-character literal is not echoed whole."""
    if not isinstance(node, ValueNode):
        return message
    forms = {print_ast(node)}
    with suppress(TypeError):  # graphql-core 3.2.14 prints values in errors at most 100 deep
        forms.add(print_ast(node, 100))
    for printed in forms:
        if len(printed) > SHOWN_LITERAL and printed in message:
            short = f"{printed[:SHOWN_LITERAL]}… ({len(printed)} characters)"
            return message.replace(printed, short)
    return message


def argument_refused(error: GraphQLError) -> str | None:
    """The argument, when ``error`` is graphql-core refusing an argument's value during
    execution: a literal holding variables (``statistics: {a: $x}``) is only checked once
    their values are known, and what the scalar said is lost there."""
    located = error.original_error
    if (
        error.nodes
        and isinstance(error.nodes[0], ValueNode)
        and isinstance(located, GraphQLError)
        and located.original_error is None
    ):
        match = _ARGUMENT.match(error.message)
        return match[1] if match else None
    return None


def cause_of(error: GraphQLError) -> BaseException | None:
    """The exception behind an error, through the GraphQLErrors that wrap it (for the log)."""
    cause: BaseException | None = error.original_error
    while isinstance(cause, GraphQLError) and cause.original_error is not None:
        cause = cause.original_error
    return cause


class InputValueRule(ValuesOfCorrectTypeRule):
    """graphql-core's check that inline values fit their types, reporting what it refuses as
    ``INVALID`` naming the argument and the path into it (``input.createdAt``,
    ``input.records.1``), as a variable with the same value is reported."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._fields: dict[int, str] = {}  # id of a value node (or object field) -> its path
        self._checking: ValueNode | None = None

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        """Name every value inside the argument before the rule visits them."""
        self._name_values(node.value, node.name.value)

    def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> None:
        """A default value is named after its variable."""
        if node.default_value is not None:
            self._name_values(node.default_value, node.variable.name.value)

    def _name_values(self, value: ValueNode, field: str) -> None:
        stack: list[tuple[Node, str]] = [(value, field)]
        while stack:
            node, path = stack.pop()
            self._fields[id(node)] = path
            if isinstance(node, ObjectValueNode):
                for item in node.fields:
                    self._fields[id(item)] = f"{path}.{item.name.value}"
                    stack.append((item.value, f"{path}.{item.name.value}"))
            elif isinstance(node, ListValueNode):
                stack.extend((item, f"{path}.{i}") for i, item in enumerate(node.values))

    def is_valid_value_node(self, node: ValueNode) -> None:
        """Remember the value being checked, for errors raised without their node."""
        self._checking = node
        super().is_valid_value_node(node)

    def report_error(self, error: GraphQLError) -> None:
        """Report a refused value as INVALID naming its field; a bug in a scalar as it is."""
        if error.original_error is not None and not isinstance(error.original_error, ValueError):
            super().report_error(error)
            return
        node = error.nodes[0] if error.nodes else self._checking
        field = self._fields.get(id(node)) if node is not None else None
        extensions: dict[str, Any] = {"code": ErrorCode.INVALID.value}
        if field is not None:
            extensions["field"] = field
        message = shorten_literal(error.message, node)
        super().report_error(GraphQLError(message, error.nodes, extensions=extensions))


def variable_field(error: GraphQLError, variable: str) -> str:
    """The field a variable coercion error is about: the variable, then the path into it that
    graphql-core writes into the message (``Variable '$input' got invalid value ... at
    'input.records[1]'; ...``), in the API's spelling (``input.records.1``)."""
    cause = error.original_error
    if not isinstance(cause, GraphQLError) or not error.message.endswith(f"; {cause.message}"):
        return variable
    head = error.message[: -len(cause.message) - 2]
    match = re.search(rf" at '{re.escape(variable)}((?:\.\w+|\[\d+\])+)'$", head)
    if match is None:
        return variable
    return variable + re.sub(r"\[(\d+)\]", r".\1", match[1])


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
    if argument_refused(error) is not None:
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
        extensions.setdefault("field", variable_field(error, error.nodes[0].variable.name.value))
    elif (argument := argument_refused(error)) is not None:
        extensions.setdefault("field", argument)
        formatted["message"] = shorten_literal(
            error.message, error.nodes[0] if error.nodes else None
        )
    formatted["extensions"] = extensions
    return formatted
