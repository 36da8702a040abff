"""The page of one node: its facts, who answers for it, its corrections, its neighbourhood."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from lineage.errors import ForbiddenError, InvalidError
from lineage.model.graph import EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.model.times import utcnow
from lineage.services.answers import Attribution
from lineage.services.corrected import CorrectedReads, history
from lineage.services.governance.accountability import holders
from lineage.services.names import not_found, resolve_any
from lineage.services.tokens import Principal, Role
from lineage.store.base import EdgeQuery, GraphStore
from lineage.web.neighbourhood import Neighbourhood, neighbourhood
from lineage.web.rendering import node_href, page, render

CREDENTIAL_READERS = frozenset({Role.ADMIN, Role.COMPLIANCE})  # as the API's ``node`` field


@dataclass(frozen=True, slots=True)
class NodeView:
    """What the node page shows."""

    node: Node
    properties: list[tuple[str, str, str | None]]  # name, value as text, link to a node
    owners: list[Attribution]
    owners_of: str | None  # the model whose owners these are, when not the node itself
    attributed: list[tuple[str, Node]]  # a non-model node's current attributions
    corrections: list[Node]
    around: Neighbourhood
    model: str | None  # the model page to link to


def model_of(node: Node) -> str | None:
    """The Model ID of a Model or ModelVersion node."""
    if node.kind is NodeKind.MODEL:
        return node.id
    if node.kind is NodeKind.MODEL_VERSION:
        return node.id.split("@", 1)[0]
    return None


def id_in(value: Any) -> str | None:
    """``value`` when it is a node ID (a property naming another node), else None."""
    if not isinstance(value, str) or ":" not in value or len(value) > 220:
        return None
    try:
        return str(parse_id(value, "value"))
    except InvalidError:
        return None


def show_value(value: Any) -> str:
    """A property value as text: strings as they are, the rest as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def node_view(store: GraphStore, value: str, principal: Principal) -> NodeView:
    """Everything the node page shows about ``value`` (an ID or an unambiguous short name)."""
    node_id = resolve_any(store, value, "id")
    if parse_id(node_id, "id").kind is NodeKind.CREDENTIAL and not principal.has_any(
        CREDENTIAL_READERS
    ):
        raise ForbiddenError(f"{principal.id} may not read credentials", field="id")
    node = CorrectedReads(store).get_nodes([node_id]).get(node_id)
    if node is None:
        raise not_found(node_id, "id")
    now = utcnow()
    model = model_of(node)
    owners = holders(store, model, now) if model is not None else []
    attributed: list[tuple[str, Node]] = []
    if model is None:
        edges = store.find_edges(
            EdgeQuery(src=node_id, kinds=frozenset({EdgeKind.WAS_ATTRIBUTED_TO}), as_of=now)
        ).items
        agents = store.get_nodes(sorted({e.dst for e in edges}))
        attributed = [
            (str(e.props.get("role", "attributed")), agents[e.dst])
            for e in edges
            if e.dst in agents
        ]
    return NodeView(
        node=node,
        properties=[(k, show_value(v), id_in(v)) for k, v in sorted(node.props.items())],
        owners=owners,
        owners_of=model if model != node.id else None,
        attributed=attributed,
        corrections=history(store, node_id),
        around=neighbourhood(
            store,
            node_id,
            node_href,
            show_credentials=principal.has_any(CREDENTIAL_READERS),
        ),
        model=model,
    )


async def suggest_ids(request: Request, _message: str) -> list[str]:
    """IDs like the one asked for, from the search service when there is one."""
    from lineage.web.search_page import suggestions

    params = request.path_params
    wanted = str(params.get("id") or request.query_params.get("node", ""))
    if params.get("name"):  # a model page
        name = str(params["name"])
        wanted = name if ":" in name else f"model:{name}"
    return await suggestions(request, wanted)


@page(suggest_ids)
async def node_page(request: Request, principal: Principal) -> Response:
    """``/ui/node/{id}``."""
    view = await run_in_threadpool(
        node_view, request.app.state.store, request.path_params["id"], principal
    )
    return render(request, "node.html", principal, view=view, now=utcnow())
