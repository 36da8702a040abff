"""What served when, and the routing document serving infrastructure polls.

:func:`serving` answers, for one deployment or every deployment of a model, what held at an
instant: the versions receiving traffic and their weights, the standby and backup, the kill
switch and the fallback rules. :func:`routing` is the same at ``now`` as a plain JSON document
with an ETag (the SHA-256 of its canonical JSON), which changes exactly when the document does:
it carries no clock and no audit position, so an unrelated write leaves it as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.errors import NotFoundError
from lineage.model.canonical import canonical_json, sha256_text
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import require_kind
from lineage.model.times import require_aware, to_text
from lineage.services.governance import slots
from lineage.store.base import GraphStore, iter_all_nodes

ROUTING_FORMAT = 1  # bumped when the document's shape changes


@dataclass(frozen=True, slots=True)
class Share:
    """A version in a slot: its share of the traffic (0 standing by) and since when it held
    that share and slot."""

    version: Node
    slot: str
    weight: int
    since: datetime | None


@dataclass(frozen=True, slots=True)
class DeploymentServing:
    """One deployment at ``as_of``.

    ``traffic`` are the versions receiving traffic, largest share first (empty while the kill
    switch routes to the rules); ``current``, ``standby`` and ``backup`` the slots (a slot
    under the kill switch keeps, as ``weight``, the share it gets back). ``changed_at`` is the
    last change at or before ``as_of``.
    """

    deployment: Node
    as_of: datetime
    traffic: list[Share] = field(default_factory=list)
    current: Share | None = None
    standby: Share | None = None
    backup: Share | None = None
    kill_switch: bool = False
    kill_switch_since: datetime | None = None
    rules: Node | None = None
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ServingAnswer:
    """What served at ``as_of``: one entry per deployment that existed then, by ID."""

    as_of: datetime
    deployments: list[DeploymentServing]


@dataclass(frozen=True, slots=True)
class RoutingDocument:
    """The routing document of a deployment: ``document`` (JSON-able), its canonical JSON
    ``body`` and ``etag`` (hex SHA-256 of ``body``; the HTTP header quotes it)."""

    document: dict[str, Any]
    body: bytes
    etag: str


def serving(store: GraphStore, deployment_or_model: str, as_of: datetime) -> ServingAnswer:
    """What served at ``as_of``: for a deployment (``deployment:...``) that one, for a model
    (``model:...`` or a bare name) each of its deployments.

    INVALID for a malformed ID or a naive instant; NOT_FOUND naming ``deployment`` or
    ``model`` when it is not registered.
    """
    at = require_aware(as_of, "as_of")
    text = deployment_or_model
    if isinstance(text, str) and ":" not in text:
        text = f"model:{text}"
    parsed = require_kind(text, "deployment", NodeKind.DEPLOYMENT, NodeKind.MODEL)
    if parsed.kind is NodeKind.DEPLOYMENT:
        node = store.get_nodes([text]).get(text)
        if node is None:
            raise NotFoundError(f"{text} is not registered", field="deployment")
        deployments = [node]
    else:
        if not store.get_nodes([text]):
            raise NotFoundError(f"{text} is not registered", field="model")
        deployments = _deployments_of(store, text)
    found = [
        _at(store, node, slots.history(store, node.id), at)
        for node in sorted(deployments, key=lambda n: n.id)
        if node.valid_from <= at
    ]
    return ServingAnswer(as_of=at, deployments=found)


def routing(store: GraphStore, deployment: str, now: datetime) -> RoutingDocument:
    """The routing document of ``deployment`` at ``now`` (reads only the edges holding then).

    NOT_FOUND (``deployment``) when it is not registered.
    """
    at = require_aware(now, "now")
    deployment_id = deployment if ":" in deployment else f"deployment:{deployment}"
    require_kind(deployment_id, "deployment", NodeKind.DEPLOYMENT)
    node = store.get_nodes([deployment_id]).get(deployment_id)
    if node is None:
        raise NotFoundError(f"{deployment_id} is not registered", field="deployment")
    state = _at(store, node, slots.current_edges(store, deployment_id, at), at)
    document = routing_document(state)
    body = canonical_json(document).encode("utf-8")
    return RoutingDocument(document=document, body=body, etag=sha256_text(body.decode("utf-8")))


def routing_document(state: DeploymentServing) -> dict[str, Any]:
    """The JSON serving infrastructure reads (see the README's routing section)."""
    rules = state.rules
    return {
        "format": ROUTING_FORMAT,
        "deployment": state.deployment.id,
        "model": state.deployment.props.get("model"),
        "environment": state.deployment.props.get("environment"),
        "route_to": "rules" if state.kill_switch else "model",
        "traffic": [_share_json(s) for s in state.traffic],
        "current": _share_json(state.current),
        "standby": _share_json(state.standby),
        "backup": _share_json(state.backup),
        "kill_switch": {
            "on": state.kill_switch,
            "since": to_text(state.kill_switch_since) if state.kill_switch_since else None,
        },
        "fallback_rules": None
        if rules is None
        else {
            "id": rules.id,
            "content_hash": rules.props.get("content_hash"),
            "rules": rules.props.get("rules"),
            "default_decision": rules.props.get("default_decision"),
        },
        "changed_at": to_text(state.changed_at) if state.changed_at else None,
    }


def _share_json(share: Share | None) -> dict[str, Any] | None:
    if share is None:
        return None
    return {
        "version": share.version.id,
        "slot": share.slot,
        "weight": share.weight,
        "snapshot": share.version.props.get("snapshot"),
        "since": to_text(share.since) if share.since else None,
    }


def _at(store: GraphStore, deployment: Node, edges: list[Edge], at: datetime) -> DeploymentServing:
    """A deployment's serving state at ``at`` from its edges (all of them, or those holding)."""
    holding = [e for e in edges if e.valid_at(at) and e.kind in slots.STATE_EDGES]
    state = slots.state_at(holding, at)
    wanted = [*state.versions(), *([state.rules] if state.rules else [])]
    nodes = store.get_nodes(wanted)
    since: dict[str, datetime | None] = {}
    for edge in holding:
        if edge.kind in slots.SLOT_EDGES:
            since.setdefault(edge.dst, edge.valid_from)
    shares: dict[str, Share] = {}
    for version in state.versions():
        if version in nodes:
            slot = state.slot_of(version) or "current"
            weight = state.weights.get(version, 0)
            shares[version] = Share(nodes[version], slot, weight, since.get(version))
    traffic = [shares[v] for v in state.traffic() if v in shares]
    traffic.sort(key=lambda s: (-s.weight, s.version.id))
    fell_back = [e.valid_from for e in holding if e.kind is EdgeKind.FELL_BACK_TO]
    return DeploymentServing(
        deployment=deployment,
        as_of=at,
        traffic=traffic,
        current=shares.get(state.current) if state.current else None,
        standby=shares.get(state.standby) if state.standby else None,
        backup=shares.get(state.backup) if state.backup else None,
        kill_switch=state.kill_switch,
        kill_switch_since=fell_back[0] if fell_back else None,
        rules=nodes.get(state.rules) if state.rules else None,
        changed_at=slots.last_change(e for e in edges if e.valid_from and e.valid_from <= at),
    )


def _deployments_of(store: GraphStore, model: str) -> list[Node]:
    return list(iter_all_nodes(store, NodeKind.DEPLOYMENT, {"model": model}))
