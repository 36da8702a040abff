"""Limits on one request: how deep and how long a query may be, page sizes, the time budget.

A request that would exceed a limit gets a clear error naming it, never a hang or a silently
partial answer: traversal depth is clamped and the answer says ``truncated``, pages are capped and
say whether more follow, and the time budget ends the request with ``TIMEOUT``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from graphql import (
    SKIP,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VisitorAction,
)

from lineage.errors import InvalidError
from lineage.settings import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
TIMEOUT = "TIMEOUT"
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits one request runs under."""

    max_query_depth: int = 10
    max_query_tokens: int = 2_000
    max_page_size: int = 500
    time_budget_seconds: float = 10.0
    max_nodes_per_request: int = 20_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits configured by ``LINEAGE_*`` settings."""
        return cls(
            max_query_depth=settings.max_query_depth,
            max_query_tokens=settings.max_query_tokens,
            max_page_size=settings.max_page_size,
            time_budget_seconds=settings.time_budget_seconds,
            max_nodes_per_request=settings.max_nodes_per_request,
        )

    def page_size(self, first: int | None, field: str = "first") -> int:
        """The page size to use: INVALID below 1, capped at ``max_page_size``."""
        if first is None:
            return min(DEFAULT_PAGE_SIZE, self.max_page_size)
        if first < 1:
            raise InvalidError("must be at least 1", field=field)
        return min(first, self.max_page_size)


class BudgetExceeded(Exception):
    """The request ran past its time budget."""

    def __init__(self, budget: float, message: str | None = None) -> None:
        super().__init__(
            message
            or f"the request exceeded its time budget of {budget:g}s; narrow it "
            "(a smaller maxDepth, fewer kinds, a shorter window, smaller pages) and retry"
        )
        self.budget = budget


class WriteNotStarted(BudgetExceeded):
    """A mutation field reached after the time budget was spent: it was not attempted."""

    def __init__(self, budget: float) -> None:
        super().__init__(
            budget,
            f"the request's time budget of {budget:g}s ran out before this write started: "
            "nothing was written for it; send it again",
        )


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a request's time budget runs out, on the monotonic clock."""

    budget: float
    at: float

    @classmethod
    def start(cls, budget: float) -> Deadline:
        """A deadline ``budget`` seconds from now."""
        return cls(budget=budget, at=time.monotonic() + budget)

    def check(self, writing: bool = False) -> None:
        """Raise :class:`BudgetExceeded` once the budget is spent (:class:`WriteNotStarted`
        before a write)."""
        if time.monotonic() > self.at:
            raise WriteNotStarted(self.budget) if writing else BudgetExceeded(self.budget)


def selection_depth(
    selection_set: SelectionSetNode | None,
    context: ValidationContext,
    memo: dict[str, int],
    path: frozenset[str] = frozenset(),
) -> int:
    """How many fields deep a selection set nests, through fragments.

    Introspection fields (``__schema``, ``__type``, ``__typename``) do not count: GraphiQL's
    introspection query is deep by nature and answers from the schema, not the store.
    """
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            depth = 1 + selection_depth(selection.selection_set, context, memo, path)
        elif isinstance(selection, InlineFragmentNode):
            depth = selection_depth(selection.selection_set, context, memo, path)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in path:  # a cycle: NoFragmentCyclesRule reports it
                continue
            if name not in memo:
                fragment = context.get_fragment(name)
                memo[name] = (
                    selection_depth(fragment.selection_set, context, memo, path | {name})
                    if fragment is not None
                    else 0
                )
            depth = memo[name]
        else:  # pragma: no cover - the grammar has no other selections
            continue
        deepest = max(deepest, depth)
    return deepest


def depth_limit_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing operations nested deeper than ``max_depth`` fields."""

    class DepthLimitRule(ValidationRule):
        """Refuse operations nested deeper than the configured limit."""

        def enter_operation_definition(
            self, node: OperationDefinitionNode, *_args: Any
        ) -> VisitorAction:
            depth = selection_depth(node.selection_set, self.context, {})
            if depth > max_depth:
                name = node.name.value if node.name else "(anonymous)"
                self.report_error(
                    GraphQLError(
                        f"operation {name} nests {depth} fields deep; the limit is {max_depth}",
                        node,
                        extensions={"code": QUERY_TOO_COMPLEX, "depth": depth, "limit": max_depth},
                    )
                )
            return SKIP

    return DepthLimitRule
