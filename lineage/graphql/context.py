"""What every resolver gets as ``info.context``: the store, the caller and the request's limits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lineage.errors import ForbiddenError
from lineage.graphql.limits import Deadline, Limits
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Principal, Role
from lineage.store.base import GraphStore


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One request's view of the service."""

    store: GraphStore
    records: RecordStore
    principal: Principal
    limits: Limits
    deadline: Deadline
    request_id: str = "-"

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
    """The request context of a resolver call; stops the request once its time is spent."""
    context = info.context
    if not isinstance(context, RequestContext):
        raise TypeError("the schema must be executed with a RequestContext")
    context.deadline.check()
    return context
