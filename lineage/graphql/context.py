"""What every resolver gets as ``info.context``: the store, the caller and the request's limits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lineage.errors import ForbiddenError
from lineage.graphql.cost import AnswerBudget, CostExceeded, answer_size
from lineage.graphql.limits import Deadline, Limits
from lineage.services.batch_hooks import BatchHook
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Principal, Role
from lineage.settings import Settings
from lineage.store.base import GraphStore

T = TypeVar("T")

# Who may do what over the API: each resolver that changes something requires one of these.
WRITERS = frozenset({Role.PIPELINE, Role.ADMIN})  # registrations and their uploads
OPERATORS = frozenset({Role.OPERATOR, Role.ADMIN})  # deployments and incidents
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One request's view of the service."""

    store: GraphStore
    records: RecordStore
    principal: Principal
    limits: Limits
    deadline: Deadline
    request_id: str = "-"
    budget: AnswerBudget | None = None
    after_batch: tuple[BatchHook, ...] = ()  # run after registerInferenceBatch commits
    settings: Settings = field(default_factory=Settings)  # the app's (exports dir, keys)

    def charge(self, answer: T, what: str) -> T:
        """Count the nodes of ``answer`` against the request's budget and return it;
        QUERY_TOO_COMPLEX once the budget is spent (see lineage.graphql.cost)."""
        if self.budget is not None:
            try:
                self.budget.charge(answer_size(answer), what)
            except CostExceeded as exc:
                raise exc.as_graphql_error() from None
        return answer

    def require(self, roles: Iterable[Role], action: str) -> None:
        """FORBIDDEN unless the caller holds one of ``roles``."""
        wanted = sorted(roles)
        if self.principal.has_any(wanted):
            return
        held = ", ".join(sorted(r.value for r in self.principal.roles)) or "no role"
        needed = " or ".join(r.value for r in wanted)
        raise ForbiddenError(
            f"{self.principal.id} ({held}) may not {action}; it needs the {needed} role",
            details={"principal": self.principal.id, "required": [r.value for r in wanted]},
        )


def context_of(info: Any) -> RequestContext:
    """The request context of a resolver call; stops the request once its time is spent.

    A mutation field reached after the deadline is not attempted at all, and says so: the
    request's writes are never left running past the answer.
    """
    context = info.context
    if not isinstance(context, RequestContext):
        raise TypeError("the schema must be executed with a RequestContext")
    writing = info.operation.operation.value == "mutation" and len(info.path.as_list()) == 1
    context.deadline.check(writing=writing)
    return context
