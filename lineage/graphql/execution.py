"""One GraphQL request from decoded JSON to a response body: parse, validate, execute, format.

Runs synchronously (the stores are synchronous); the endpoint calls it in a worker thread under
the time budget.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import structlog
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    ValuesOfCorrectTypeRule,
    execute_sync,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from lineage.errors import ErrorCode
from lineage.graphql.context import RequestContext
from lineage.graphql.errors import (
    INTERNAL,
    PARSE_FAILED,
    VALIDATION_FAILED,
    InputValueRule,
    cause_of,
    format_error,
    is_internal,
)
from lineage.graphql.leaves import LeafBatchingContext
from lineage.graphql.limits import QUERY_TOO_COMPLEX, Limits, depth_limit_rule

log = structlog.get_logger("lineage.api")
MAX_CACHED_QUERY = 64 * 1024  # characters; longer documents are prepared every time


class BadRequest(Exception):
    """The HTTP body is not a GraphQL request."""


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The parts of a GraphQL-over-HTTP request body."""

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None

    @classmethod
    def from_json(cls, body: Any) -> GraphQLRequest:
        """Check the decoded body's shape; :class:`BadRequest` saying what is wrong otherwise."""
        if isinstance(body, list):
            raise BadRequest("batched requests are not supported: send one operation per request")
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object with a `query`")
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise BadRequest("`query` must be a non-empty string")
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise BadRequest("`variables` must be a JSON object")
        name = body.get("operationName")
        if name is not None and not isinstance(name, str):
            raise BadRequest("`operationName` must be a string")
        return cls(query=query, variables=variables, operation_name=name or None)


@dataclass(slots=True)
class Outcome:
    """What to answer: the HTTP status, the body, and labels for logs and metrics."""

    status: int
    body: dict[str, Any]
    operation: str = "unknown"
    error_codes: list[str] = field(default_factory=list)


def operation_label(document: DocumentNode, operation_name: str | None) -> str:
    """A bounded label for metrics: the operation type and its root fields, e.g.
    ``query:trainingProvenance``."""
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return "unknown"
    fields = sorted(
        {s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)}
    )
    return f"{operation.operation.value}:{'+'.join(fields) or '-'}"


def _log_bug(message: str, error: GraphQLError) -> None:
    cause = cause_of(error)
    log.error(message, path=error.path, error=repr(cause), exc_info=cause)


def _failed(
    errors: list[GraphQLError], default_code: str, context: RequestContext, label: str = "unknown"
) -> Outcome:
    for error in errors:
        if is_internal(error):
            _log_bug("validation failed", error)
    formatted = [
        format_error(e, default_code=default_code, request_id=context.request_id) for e in errors
    ]
    codes = [f["extensions"]["code"] for f in formatted]
    return Outcome(status=400, body={"errors": formatted}, operation=label, error_codes=codes)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A query parsed and validated, or the errors that stopped it."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()
    default_code: str = VALIDATION_FAILED


class DocumentCache:
    """Parsed and validated documents by query text, least recently used out.

    Clients send the same few operations again and again, and parsing plus validating costs
    more than answering most questions; a document's validity depends only on its text, the
    schema and the limits, which are fixed for an app.
    """

    def __init__(self, schema: GraphQLSchema, limits: Limits, size: int = 256) -> None:
        self.schema = schema
        self.limits = limits
        self.size = size
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._lock = threading.Lock()
        # Inline values graphql-core refuses are reported as INVALID naming the field.
        rules = [InputValueRule if r is ValuesOfCorrectTypeRule else r for r in specified_rules]
        self._rules = (*rules, depth_limit_rule(limits.max_query_depth))

    def prepare(self, query: str) -> Prepared:
        """The prepared form of ``query``, from the cache when it was seen before."""
        with self._lock:
            cached = self._entries.get(query)
            if cached is not None:
                self._entries.move_to_end(query)
                return cached
        prepared = self._prepare(query)
        if len(query) > MAX_CACHED_QUERY:
            return prepared
        with self._lock:
            self._entries[query] = prepared
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        tokens = self.limits.max_query_tokens
        try:
            document = parse(query, max_lexical_tokens=tokens, max_comments=tokens)
        except GraphQLError as exc:
            code = QUERY_TOO_COMPLEX if "contains more than" in exc.message else PARSE_FAILED
            return Prepared(document=None, errors=(exc,), default_code=code)
        errors = validate(self.schema, document, self._rules)
        if errors:
            return Prepared(document=document, errors=tuple(errors))
        return Prepared(document=document)


def run(documents: DocumentCache, request: GraphQLRequest, context: RequestContext) -> Outcome:
    """Parse, validate (both cached) and execute one request under the context's limits."""
    prepared = documents.prepare(request.query)
    if prepared.document is None:
        return _failed(list(prepared.errors), prepared.default_code, context)
    document = prepared.document
    label = operation_label(document, request.operation_name)
    if prepared.errors:
        return _failed(list(prepared.errors), prepared.default_code, context, label)
    result: ExecutionResult = execute_sync(
        documents.schema,
        document,
        variable_values=request.variables,
        operation_name=request.operation_name,
        context_value=context,
        execution_context_class=LeafBatchingContext,
    )
    body: dict[str, Any] = {"data": result.data}
    codes: list[str] = []
    if result.errors:
        formatted = []
        for error in result.errors:
            if is_internal(error):
                _log_bug("resolver failed", error)
            formatted.append(
                format_error(error, default_code=INTERNAL, request_id=context.request_id)
            )
        codes = [f["extensions"]["code"] for f in formatted]
        body = {"errors": formatted, "data": result.data}
        if result.data is None and all(c == ErrorCode.INVALID.value for c in codes):
            # Variables that do not coerce: the request was refused before execution.
            return Outcome(status=400, body=body, operation=label, error_codes=codes)
    return Outcome(status=200, body=body, operation=label, error_codes=codes)
