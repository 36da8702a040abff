"""What a request may cost: a budget of nodes across every field of one request.

An answer's size, and the server's memory while building it, grow with the nodes (and
individual decisions) it holds. Two checks bound it:

* before any work, :func:`static_cost` adds up what each root field can return at most
  (:data:`FIELD_COST`; ``impact`` by its node budget, ``nodes`` by its page size). A request
  whose worst case exceeds the budget is refused with ``QUERY_TOO_COMPLEX`` and nothing runs:
  sixty aliases of ``impact`` are refused, not answered with 27 MB;
* while it runs, :class:`AnswerBudget` counts what each field actually returns (nested
  ``records`` pages included, whose number cannot be known in advance) and refuses the field
  that would cross the budget, with the same code: an error, never a silently shortened list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_operation_ast,
)

from lineage.graphql.limits import DEFAULT_PAGE_SIZE, QUERY_TOO_COMPLEX
from lineage.model.graph import Subgraph
from lineage.services import answers
from lineage.store.base import MAX_NODES

IMPACT_NODE_BUDGET = 1_000  # the node budget of one `impact` walk
# A question whose walk may return up to the store's node budget.
WIDE = MAX_NODES
# What each root field of Query can answer with at most, in nodes. Fields not listed cost 1.
FIELD_COST: dict[str, int] = {
    "impact": IMPACT_NODE_BUDGET,
    "trainingProvenance": IMPACT_NODE_BUDGET,
    "modelsUsingDataset": WIDE,
    "featureImpact": WIDE,
    "upstreamChanges": WIDE,
    "decisions": WIDE,
    "viewer": 0,
    "__schema": 0,
    "__type": 0,
    "__typename": 0,
}


class CostExceeded(Exception):
    """The request, or the field being answered, would exceed the request's node budget."""

    def __init__(self, message: str, cost: int, limit: int) -> None:
        super().__init__(message)
        self.cost = cost
        self.limit = limit

    def as_graphql_error(self) -> GraphQLError:
        """The error as the API reports it."""
        return GraphQLError(
            str(self),
            extensions={"code": QUERY_TOO_COMPLEX, "cost": self.cost, "limit": self.limit},
        )


@dataclass(frozen=True, slots=True)
class Cost:
    """A request's worst case in nodes, and whether any part of it is only known at run time
    (a question whose nested lists can grow, such as ``decisions`` with ``records``)."""

    nodes: int
    open_ended: bool


def static_cost(
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    max_page_size: int,
) -> Cost:
    """The worst case of the operation's root fields (through fragments), before running it."""
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return Cost(0, False)
    if operation.operation is not OperationType.QUERY:
        return Cost(len(_root_fields(operation.selection_set, document)), False)
    total, open_ended = 0, False
    for node in _root_fields(operation.selection_set, document):
        name = node.name.value
        if name == "nodes":
            first = _int_argument(node, "first", variables)
            total += min(first if first is not None else DEFAULT_PAGE_SIZE, max_page_size)
            continue
        cost = FIELD_COST.get(name, 1)
        open_ended = open_ended or cost >= WIDE
        total += cost
    return Cost(total, open_ended)


def check_static_cost(cost: Cost, limit: int) -> None:
    """Raise :class:`CostExceeded` when the worst case is past the budget."""
    if cost.nodes > limit:
        raise CostExceeded(
            f"this request can return up to {cost.nodes:,} nodes, more than the limit of "
            f"{limit:,} per request; split it into several requests (fewer aliases or fields)",
            cost.nodes,
            limit,
        )


@dataclass(slots=True)
class AnswerBudget:
    """The nodes one request may still return; fields charge what they actually return."""

    limit: int
    spent: int = field(default=0)

    def charge(self, count: int, what: str) -> None:
        """Count ``count`` more nodes for ``what``; CostExceeded if that crosses the budget."""
        if self.spent + count > self.limit:
            raise CostExceeded(
                f"{what} returns {count:,} nodes, and with the {self.spent:,} already returned "
                f"by this request that exceeds the limit of {self.limit:,} per request; ask "
                "for it in a request of its own, or narrow it",
                self.spent + count,
                self.limit,
            )
        self.spent += count


def _root_fields(selection_set: SelectionSetNode, document: DocumentNode) -> list[FieldNode]:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found: list[FieldNode] = []
    pending = [selection_set]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return found


def _int_argument(node: FieldNode, name: str, variables: dict[str, Any] | None) -> int | None:
    for argument in node.arguments:
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = (variables or {}).get(value.name.value)
            return given if isinstance(given, int) and not isinstance(given, bool) else None
    return None


def answer_size(answer: object) -> int:
    """How many nodes an investigation answer holds (what it charges against the budget)."""
    if isinstance(answer, list):
        return len(answer)
    if isinstance(answer, Subgraph):
        return len(answer.nodes)
    if isinstance(answer, answers.ModelsUsingDataset):
        return sum(len(use.path) for use in answer.uses)
    if isinstance(answer, answers.TrainingProvenance):
        listed = (
            answer.features,
            answer.datasets,
            answer.evaluations,
            answer.approvals,
            answer.risk_assessments,
            answer.gate_results,
        )
        return 4 + sum(len(nodes) for nodes in listed) + len(answer.accountable)
    if isinstance(answer, answers.FeatureImpact):
        people = sum(len(found) for found in answer.accountable.values())
        return 1 + len(answer.snapshots) + len(answer.model_versions) + len(answer.serving) + people
    if isinstance(answer, answers.Decisions):
        return sum(3 + len(batch.datasets) for batch in answer.batches)
    if isinstance(answer, answers.UpstreamChanges):
        return len(answer.changes)
    if isinstance(answer, answers.RecordPage):
        return len(answer.records)
    return 1
