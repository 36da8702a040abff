"""How a question names a node: a full ID, or a short name where it is unambiguous.

Every question accepts a full ID (``model:lending_approval@v12``). Where the question expects
certain kinds, a bare name is taken to be of the first of them (``lending_approval`` is
``model:lending_approval`` to ``trainingProvenance``). Where any kind will do (``node``,
``impact``, ``upstreamChanges``), a bare name is looked up under every ID prefix at once (one
``get_nodes``): the one registered node is the answer; none is NOT_FOUND; several is INVALID
listing the candidates, so the caller can pick.

:func:`not_found` is the single place a question raises NOT_FOUND for an ID nobody registered:
a suggestions hook ("did you mean") has one home.
"""

from __future__ import annotations

from datetime import datetime

from lineage.errors import InvalidError, NotFoundError, shown
from lineage.model.graph import NodeKind, Subgraph
from lineage.model.ids import PREFIX_OF, PREFIXES, NodeId, parse_id, require_kind
from lineage.services.corrected import CorrectedReads
from lineage.services.search import with_suggestions
from lineage.store.base import GraphStore, TraversalSpec

# A bare name resolves to nodes a reader may see: credentials are looked up by full ID only.
_HIDDEN_FROM_NAMES = frozenset({NodeKind.CREDENTIAL})


def not_found(node_id: str, field: str, at: datetime | None = None) -> NotFoundError:
    """The NOT_FOUND error for ``node_id``, not registered (by ``at`` when given). A bare
    name (no ``kind:`` prefix) is one no kind has a node of."""
    if ":" not in node_id:
        return NotFoundError(
            f"no node is named {shown(node_id)}; give a full ID such as model:{node_id} "
            f"(kinds: {', '.join(sorted(PREFIXES))})",
            field=field,
        )
    when = f" by {at.isoformat()}" if at is not None else ""
    return NotFoundError(f"{node_id} was not registered{when}", field=field)


def resolve(value: str, field: str, *kinds: NodeKind) -> NodeId:
    """A full ID of one of ``kinds``, or a bare name taken to be of the first of them.

    INVALID naming ``field`` for an empty value, a malformed ID or one of another kind. The
    node is not looked up: the question's own walk finds out whether it exists.
    """
    if not isinstance(value, str) or not value:
        raise InvalidError("must be a name or an ID", field=field)
    text = value if ":" in value else f"{PREFIX_OF[kinds[0]]}:{value}"
    return require_kind(text, field, *kinds)


def candidates(value: str) -> list[str]:
    """Every ID a bare name (``lending_approval``, ``applications@v2``) could stand for."""
    versioned = "@" in value
    found = []
    for prefix, (plain, with_version) in PREFIXES.items():
        kind = with_version if versioned else plain
        if kind is not None and kind not in _HIDDEN_FROM_NAMES:
            found.append(f"{prefix}:{value}")
    return found


def resolve_any(store: GraphStore, value: str, field: str) -> str:
    """The ID a full ID or a bare name of any kind stands for.

    A full ID is returned as given (validated, not looked up). A bare name costs one
    ``get_nodes``: NOT_FOUND when no kind has a node of that name, INVALID listing the IDs
    when several do.
    """
    if not isinstance(value, str) or not value:
        raise InvalidError("must be a name or an ID", field=field)
    if ":" in value:
        return str(parse_id(value, field))
    ids = candidates(value)
    valid = []
    for node_id in ids:
        try:
            valid.append(str(parse_id(node_id, field)))
        except InvalidError:
            continue  # a name no ID may carry: reported below as malformed
    if not valid:
        parse_id(f"dataset:{value}", field)  # raises the malformed-name message
    found = sorted(store.get_nodes(valid))
    if not found:
        raise with_suggestions(store, not_found(value, field), value)
    if len(found) > 1:
        raise InvalidError(
            f"{shown(value)} names {len(found)} nodes: {', '.join(found)}; give one of these IDs",
            field=field,
            details={"candidates": found},
        )
    return found[0]


def walk(
    reads: CorrectedReads, spec: TraversalSpec, field: str, *, exact: bool = False
) -> Subgraph:
    """Traverse (corrected), reporting a missing start node against the caller's argument."""
    try:
        return reads.traverse(spec, exact=exact)
    except NotFoundError as exc:
        missing = not_found(spec.start, field, spec.as_of)
        raise with_suggestions(reads.store, missing, spec.start) from exc
