"""The feature schema over time: retiring a feature, and which versions it leaves unservable.

A feature is retired as a person leaves: its Feature node's validity ends (``valid_to``), in an
audited write, and nothing else about it changes. A model version needs the features of the
snapshot it was trained on; one whose features are not all valid at an instant cannot be given
traffic then (deploy, rollback, a traffic share, the kill switch turned off).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import require_kind
from lineage.model.times import require_aware, to_text, utcnow
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent, when
from lineage.store.base import GraphStore

MAX_REASON = 2_000


@dataclass(frozen=True, slots=True)
class Retirement:
    """What retiring did: ``created`` is False when the feature had already been retired."""

    feature: Node
    created: bool
    audit_seq: int | None = None


class Features:
    """Changes to the feature schema, on behalf of one actor (audited as every write)."""

    def __init__(self, store: GraphStore, actor: str) -> None:
        self.store = store
        self.actor = actor

    def retire_feature(self, feature: str, reason: str, at: datetime | None = None) -> Retirement:
        """End the feature's validity at ``at`` (default now, the server's clock): from then on
        no version trained on a snapshot holding it can be given traffic. Versions serving it
        keep serving (as a person who left keeps a role until it is handed over): the
        ``featureImpact`` question lists them. Retiring a retired feature is a no-op.

        INVALID for a malformed ID, an empty reason, or ``at`` before the feature existed;
        NOT_FOUND when the feature is not registered.
        """
        feature_id = feature if ":" in feature else f"feature:{feature}"
        require_kind(feature_id, "feature", NodeKind.FEATURE)
        why = reason.strip() if isinstance(reason, str) else ""
        if not why or len(why) > MAX_REASON:
            raise InvalidError(f"say why, in 1 to {MAX_REASON:,} characters", field="reason")
        instant = require_aware(at, "at") if at is not None else utcnow()
        with self.store.transaction():
            require_agent(self.store, self.actor, utcnow())
            node = self.store.get_nodes([feature_id]).get(feature_id)
            if node is None:
                raise NotFoundError(f"{feature_id} is not registered", field="feature")
            if node.valid_to is not None:
                return Retirement(feature=node, created=False)
            if instant <= node.valid_from:
                raise InvalidError(
                    f"{feature_id} came into use at {when(node.valid_from)}; it cannot be "
                    "retired before",
                    field="at",
                )
            retired = Node(node.id, node.kind, node.valid_from, node.props, valid_to=instant)
            self.store.upsert_nodes([retired])
            event = append_event(
                self.store,
                actor=self.actor,
                action="retire_feature",
                reason=why,
                nodes=[retired],
                payload={"feature": feature_id, "at": to_text(instant)},
            )
        stored = self.store.get_nodes([feature_id])[feature_id]
        return Retirement(feature=stored, created=True, audit_seq=event.seq)


def retired_features(store: GraphStore, version: Node, at: datetime) -> list[str]:
    """The features ``version`` was trained with that are not valid at ``at`` (retired by
    then, or missing from the store), sorted."""
    snapshot_id = version.props.get("snapshot")
    if not isinstance(snapshot_id, str):
        return []
    snapshot = store.get_nodes([snapshot_id]).get(snapshot_id)
    if snapshot is None:
        return [snapshot_id]
    names = snapshot.props.get("features", [])
    wanted = [f if f.startswith("feature:") else f"feature:{f}" for f in names]
    found = store.get_nodes(wanted)
    return sorted(f for f in wanted if f not in found or not _valid(found[f], at))


def _valid(node: Node, at: datetime) -> bool:
    return node.valid_to is None or at < node.valid_to


def retirement_text(store: GraphStore, missing: list[str]) -> str:
    """How a refusal names the retired features: each with when it was retired."""
    nodes = store.get_nodes(missing)
    parts = []
    for feature in missing:
        node = nodes.get(feature)
        ended = node.valid_to if node is not None else None
        parts.append(f"{feature} (retired {when(ended)})" if ended else f"{feature} (not found)")
    return ", ".join(parts)
