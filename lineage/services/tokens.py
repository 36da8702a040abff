"""API tokens: bearer credentials mapped to a principal and roles, stored hashed in the graph.

A token reads ``lin_<token_id>_<secret>``. The store keeps a Credential node
``credential:<token_id>`` holding the SHA-256 of the whole token (never the token itself), the
principal and the roles, with an edge ``credential -ACTED_ON_BEHALF_OF-> principal``. Lookup goes
by ID and the hashes are compared in constant time. Creating and revoking a token are audited
writes like every other, so both backends store tokens through the GraphStore protocol alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from lineage.errors import InvalidError, NotFoundError, shown
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import make_id, parse_id, require_kind
from lineage.model.times import to_text, utcnow
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.store.base import GraphStore, iter_all_nodes

TOKEN_PREFIX = "lin"
_TOKEN = re.compile(rf"^{TOKEN_PREFIX}_(?P<id>[0-9a-f]{{16}})_(?P<secret>[A-Za-z0-9_-]{{43}})$")
_TOKEN_ID = re.compile(r"^[0-9a-f]{16}$")
# VerifiedTokens: how long a verified token is taken on trust (see its docstring).
VERIFIED_TTL = 2.0


class Role(StrEnum):
    """What a principal may do through the API."""

    READER = "reader"  # ask questions
    PIPELINE = "pipeline"  # register provenance
    APPROVER = "approver"  # approve or block model versions
    OPERATOR = "operator"  # deploy, roll back, run jobs
    COMPLIANCE = "compliance"  # export evidence, read credentials
    ADMIN = "admin"  # everything
    ROUTER = "router"  # read the routing document (serving infrastructure polls it)

    @classmethod
    def parse(cls, value: str, field: str = "role") -> Role:
        """A role by name, case-insensitively; INVALID naming the known roles otherwise."""
        for role in cls:
            if value.strip().lower() == role.value:
                return role
        known = ", ".join(r.value for r in cls)
        raise InvalidError(f"unknown role {shown(value)}; roles: {known}", field=field)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a person or pipeline ID, the roles granted, and the credential used."""

    id: str
    roles: frozenset[Role]
    credential: str | None = None

    def has_any(self, roles: Iterable[Role]) -> bool:
        """Whether the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: ``token`` is shown once and never stored."""

    token: str
    credential: Node


def token_hash(token: str) -> str:
    """What the store keeps of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def credential_id(value: str) -> str:
    """The credential node ID named by a token, a bare token ID or a credential ID."""
    value = value.strip()
    match = _TOKEN.match(value)
    if match is not None:
        return make_id(NodeKind.CREDENTIAL, match["id"])
    if _TOKEN_ID.match(value):
        return make_id(NodeKind.CREDENTIAL, value)
    require_kind(value, "credential", NodeKind.CREDENTIAL)
    return value


def create_token(
    store: GraphStore,
    principal: str,
    roles: Sequence[Role | str],
    *,
    actor: str,
    label: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Issue a token for a registered person or pipeline; the write is audited as ``actor``.

    ``actor`` must be a registered, current agent too (INVALID otherwise).
    """
    require_kind(principal, "principal", NodeKind.PERSON, NodeKind.PIPELINE)
    parse_id(actor, "actor")
    granted = sorted({r if isinstance(r, Role) else Role.parse(r, "roles") for r in roles})
    if not granted:
        raise InvalidError("a token needs at least one role", field="roles")
    if label is not None and not 0 < len(label) <= 200:
        raise InvalidError("a label has 1 to 200 characters", field="label")
    at = now or utcnow()
    token_id = secrets.token_hex(8)
    token = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    props: dict[str, object] = {
        "token_hash": token_hash(token),
        "principal": principal,
        "roles": [r.value for r in granted],
        "created_at": to_text(at),
    }
    if label:
        props["label"] = label
    node = Node(make_id(NodeKind.CREDENTIAL, token_id), NodeKind.CREDENTIAL, at, props)
    edge = Edge(node.id, EdgeKind.ACTED_ON_BEHALF_OF, principal)
    with store.transaction():
        require_agent(store, actor, at)
        agent = store.get_nodes([principal]).get(principal)
        if agent is None:
            raise NotFoundError(f"{principal} is not registered", field="principal")
        if agent.valid_to is not None and agent.valid_to <= at:
            raise InvalidError(f"{principal} left on {to_text(agent.valid_to)}", field="principal")
        store.upsert_nodes([node])
        store.upsert_edges([edge])
        append_event(
            store,
            actor=actor,
            action="create_token",
            reason=f"token for {principal}",
            nodes=[node],
            edges=[edge],
            payload={"credential": node.id, "principal": principal, "roles": props["roles"]},
            at=at,
        )
    return IssuedToken(token=token, credential=node)


def revoke_token(
    store: GraphStore, credential: str, *, actor: str, now: datetime | None = None
) -> Node:
    """Revoke a token (by token, token ID or credential ID); revoking twice is a no-op.

    ``actor`` must be a registered, current agent (INVALID otherwise).
    """
    node_id = credential_id(credential)
    parse_id(actor, "actor")
    at = now or utcnow()
    with store.transaction():
        require_agent(store, actor, at)
        node = store.get_nodes([node_id]).get(node_id)
        if node is None:
            raise NotFoundError(f"{node_id} does not exist", field="credential")
        if node.valid_to is not None:
            return node
        # valid_to must follow valid_from even if the clock stepped back since creation.
        ended = max(at, node.valid_from + timedelta(microseconds=1))
        revoked = Node(
            node.id,
            node.kind,
            node.valid_from,
            node.props | {"revoked_at": to_text(ended)},
            valid_to=ended,
        )
        store.upsert_nodes([revoked])
        append_event(
            store,
            actor=actor,
            action="revoke_token",
            reason=f"revoke token of {node.props.get('principal')}",
            nodes=[revoked],
            payload={"credential": node.id},
            at=at,
        )
    return store.get_nodes([node_id])[node_id]


def authenticate(store: GraphStore, token: str, now: datetime | None = None) -> Principal | None:
    """The principal a token stands for, or None if it is malformed, unknown or revoked.

    A token whose principal has left (its node closed by ``valid_to``) no longer works either.
    """
    found = authenticate_until(store, token, now or utcnow())
    return found[0] if found is not None else None


class VerifiedTokens:
    """Tokens of one store verified a moment ago, taken on trust for ``ttl`` seconds, so that a
    busy client (an OpenLineage emitter sends hundreds of requests a second) does not cost two
    store reads per request. The app holds one (its state), for its store.

    A revocation or a principal leaving takes effect within ``ttl`` seconds (at once through
    :meth:`forget`); a credential or principal whose ``valid_to`` was already set when the token
    was verified stops working at that instant, as with :func:`authenticate`. Keyed by the
    token's SHA-256: the token itself is not kept.
    """

    def __init__(self, store: GraphStore, ttl: float = VERIFIED_TTL, most: int = 1024) -> None:
        self.store = store
        self.ttl = ttl
        self.most = most
        # token hash -> (principal, monotonic time the trust ends, when the credential ends)
        self._trusted: dict[str, tuple[Principal, float, datetime | None]] = {}
        self._lock = threading.Lock()
        self._forgotten = 0  # how many times forget ran: a check that spans one keeps nothing

    def recall(self, token: str) -> Principal | None:
        """The token's principal if it was verified less than ``ttl`` seconds ago and is not
        forgotten or past a known end; None otherwise (then :meth:`verify`). Reads nothing."""
        entry = self._trusted.get(token_hash(token))
        if entry is None:
            return None
        principal, due, ends = entry
        if time.monotonic() >= due or (ends is not None and utcnow() >= ends):
            return None
        return principal

    def verify(self, token: str) -> Principal | None:
        """:meth:`recall`, else :func:`authenticate` against the store, remembering a success."""
        principal = self.recall(token)
        if principal is not None:
            return principal
        digest = token_hash(token)
        generation = self._forgotten
        found = authenticate_until(self.store, token, utcnow())
        with self._lock:
            self._trusted.pop(digest, None)
            # A revocation forgotten while this check read may not be in what it read.
            if found is not None and generation == self._forgotten:
                now = time.monotonic()
                for key in [k for k, v in self._trusted.items() if v[1] <= now]:
                    del self._trusted[key]
                if len(self._trusted) >= self.most:
                    self._trusted.clear()
                self._trusted[digest] = (found[0], now + self.ttl, found[1])
        return found[0] if found is not None else None

    def forget(self, credential: str) -> None:
        """Trust no token of ``credential`` any more (a revocation made in this process)."""
        with self._lock:
            self._forgotten += 1
            for key in [k for k, v in self._trusted.items() if v[0].credential == credential]:
                del self._trusted[key]


def authenticate_until(
    store: GraphStore, token: str, at: datetime
) -> tuple[Principal, datetime | None] | None:
    """:func:`authenticate` at ``at``, with when the credential or its principal ends as
    recorded now (None: open), for callers that keep a verified token for a while."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    node_id = make_id(NodeKind.CREDENTIAL, match["id"])
    node = store.get_nodes([node_id]).get(node_id)
    if node is None or node.kind is not NodeKind.CREDENTIAL:
        return None
    stored = node.props.get("token_hash")
    if not isinstance(stored, str) or not hmac.compare_digest(stored, token_hash(token)):
        return None
    if node.valid_to is not None and node.valid_to <= at:
        return None
    principal = str(node.props.get("principal"))
    agent = store.get_nodes([principal]).get(principal)
    if agent is None or (agent.valid_to is not None and agent.valid_to <= at):
        return None
    roles = frozenset(Role(r) for r in node.props.get("roles", []) if r in Role._value2member_map_)
    ends = [t for t in (node.valid_to, agent.valid_to) if t is not None]
    return Principal(id=principal, roles=roles, credential=node_id), min(ends, default=None)


def list_tokens(store: GraphStore, principal: str | None = None) -> list[Node]:
    """Every credential (of ``principal``), oldest first; revoked ones carry ``revoked_at``."""
    props = {"principal": principal} if principal else None
    return list(iter_all_nodes(store, NodeKind.CREDENTIAL, props))
