"""A deployment's slots and traffic, as temporal edges: read them at an instant, plan a change.

A deployment keeps up to three versions in slots, ``current``, ``standby`` (warm: the previous
current) and ``backup`` (cold: the previous standby), shares traffic among them by integer
weights adding up to 100, may route around every model to its fallback rules (the kill
switch), and knows those rules. All of it is edges from the deployment, each with a validity
window, so any instant can be asked what served:

- ``SERVED`` (deployment -> version, props ``slot``, ``weight`` 1..100): exactly the versions
  receiving traffic. Every reader of SERVED keeps meaning "was serving".
- ``STANDS_BY`` (deployment -> version, props ``slot``): a version in a slot without traffic.
  ``slot`` is ``standby`` or ``backup``; while the kill switch is on no version receives
  traffic, so every slot stands by, the current one included, and ``weight`` keeps the share
  the version gets back when the switch is turned off.
- ``HAS_FALLBACK`` (deployment -> rules): the decision rules the deployment falls back to.
- ``FELL_BACK_TO`` (deployment -> rules): open while the kill switch is on.
- ``ROLLED_BACK_FOR`` (deployment -> incident): a rollback made because of an incident (not a
  state: it starts at the rollback and stays).

A change closes (``valid_to = at``) the open edges that no longer hold and opens the new ones
at ``at``; an edge whose slot and weight are unchanged stays open, so it keeps the reason it
was opened with. SERVED edges written before slots existed (no ``slot`` prop) read as the
current version with all the traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.model.graph import Edge, EdgeKind
from lineage.store.base import EdgeQuery, GraphStore, iter_edges

SLOTS = ("current", "standby", "backup")
FULL = 100  # the traffic weights of a deployment add up to this
SLOT_EDGES = frozenset({EdgeKind.SERVED, EdgeKind.STANDS_BY})
RULE_EDGES = frozenset({EdgeKind.HAS_FALLBACK, EdgeKind.FELL_BACK_TO})
STATE_EDGES = SLOT_EDGES | RULE_EDGES
HISTORY_EDGES = STATE_EDGES | {EdgeKind.ROLLED_BACK_FOR}
_SIGNATURE_PROPS = ("slot", "weight")


@dataclass(frozen=True, slots=True)
class Slots:
    """What a deployment holds at an instant.

    ``weights`` is the share of traffic each slot version is given (those at 0 left out); while
    ``kill_switch`` is on, no version receives it (see :meth:`traffic`) and ``weights`` is what
    returns when the switch is turned off.
    """

    current: str | None = None
    standby: str | None = None
    backup: str | None = None
    weights: Mapping[str, int] = field(default_factory=dict)
    kill_switch: bool = False
    rules: str | None = None

    def versions(self) -> list[str]:
        """The versions in slots, current first."""
        return [v for v in (self.current, self.standby, self.backup) if v is not None]

    def slot_of(self, version: str) -> str | None:
        """The slot ``version`` is in, or None."""
        for name, held in zip(SLOTS, (self.current, self.standby, self.backup), strict=True):
            if held == version:
                return name
        return None

    def traffic(self) -> dict[str, int]:
        """The versions receiving traffic now and their weights (none under the kill switch)."""
        if self.kill_switch:
            return {}
        return {v: w for v, w in self.weights.items() if w > 0}

    @classmethod
    def ordered(
        cls,
        versions: Iterable[str],
        weights: Mapping[str, int],
        kill_switch: bool,
        rules: str | None,
    ) -> Slots:
        """Slots filled in order from ``versions`` (duplicates dropped, at most three kept)."""
        kept: list[str] = []
        for version in versions:
            if version not in kept:
                kept.append(version)
        kept = kept[: len(SLOTS)]
        padded = [*kept, None, None, None]
        return cls(
            current=padded[0],
            standby=padded[1],
            backup=padded[2],
            weights={v: w for v, w in weights.items() if v in kept and w > 0},
            kill_switch=kill_switch,
            rules=rules,
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """The edges a change closes (already carrying ``valid_to``) and opens."""

    closing: list[Edge]
    opening: list[Edge]

    @property
    def edges(self) -> list[Edge]:
        """Everything to write."""
        return [*self.closing, *self.opening]

    def served_ending(self, after: Slots) -> list[Edge]:
        """The SERVED edges of versions that stop receiving traffic (not those whose weight
        only changes): the windows whose batches the change could cut."""
        still = after.traffic()
        return [e for e in self.closing if e.kind is EdgeKind.SERVED and e.dst not in still]


def history(store: GraphStore, deployment: str) -> list[Edge]:
    """Every slot, rules and rollback edge of a deployment, open and closed."""
    return list(_edges(store, deployment, None))


def current_edges(store: GraphStore, deployment: str, at: datetime) -> list[Edge]:
    """The slot and rules edges holding at ``at``."""
    return [e for e in _edges(store, deployment, at) if e.kind in STATE_EDGES]


def _edges(store: GraphStore, deployment: str, at: datetime | None) -> Iterator[Edge]:
    return iter_edges(store, EdgeQuery(src=deployment, kinds=HISTORY_EDGES, as_of=at))


def last_change(edges: Iterable[Edge]) -> datetime | None:
    """The instant of the latest change the edges record."""
    return max((e.valid_from for e in edges if e.valid_from is not None), default=None)


def state_at(edges: Iterable[Edge], at: datetime) -> Slots:
    """The slots, weights, kill switch and rules that held at ``at``."""
    held: dict[str, str] = {}
    weights: dict[str, int] = {}
    kill_switch = False
    rules: str | None = None
    # Newest first, so that of two edges claiming one slot (written behind the service's back)
    # the latest wins.
    valid = sorted((e for e in edges if e.valid_at(at)), key=_newest_first)
    for edge in valid:
        if edge.kind in SLOT_EDGES:
            default = "current" if edge.kind is EdgeKind.SERVED else "standby"
            slot = str(edge.props.get("slot", default))
            if slot not in SLOTS or slot in held:
                continue
            held[slot] = edge.dst
            weight = edge.props.get("weight", FULL if edge.kind is EdgeKind.SERVED else 0)
            if isinstance(weight, int) and weight > 0:
                weights[edge.dst] = weight
        elif edge.kind is EdgeKind.HAS_FALLBACK:
            rules = edge.dst
        elif edge.kind is EdgeKind.FELL_BACK_TO:
            kill_switch = True
    return Slots(
        current=held.get("current"),
        standby=held.get("standby"),
        backup=held.get("backup"),
        weights=weights,
        kill_switch=kill_switch,
        rules=rules,
    )


def latest_state(edges: Iterable[Edge]) -> Slots:
    """What the open edges hold: the state after the last recorded change."""
    held = [e for e in edges if e.valid_to is None]
    last = last_change(held)
    return state_at(held, last) if last is not None else Slots()


def _newest_first(edge: Edge) -> tuple[float, str]:
    return (-(edge.valid_from.timestamp() if edge.valid_from else 0.0), edge.key)


def desired(after: Slots) -> list[tuple[EdgeKind, str, dict[str, Any]]]:
    """The open edges (kind, target, slot props) that express ``after``."""
    found: list[tuple[EdgeKind, str, dict[str, Any]]] = []
    for slot, version in zip(SLOTS, (after.current, after.standby, after.backup), strict=True):
        if version is None:
            continue
        weight = after.weights.get(version, 0)
        if weight > 0 and not after.kill_switch:
            found.append((EdgeKind.SERVED, version, {"slot": slot, "weight": weight}))
        elif weight > 0:
            found.append((EdgeKind.STANDS_BY, version, {"slot": slot, "weight": weight}))
        else:
            found.append((EdgeKind.STANDS_BY, version, {"slot": slot}))
    if after.rules is not None:
        found.append((EdgeKind.HAS_FALLBACK, after.rules, {}))
        if after.kill_switch:
            found.append((EdgeKind.FELL_BACK_TO, after.rules, {}))
    return found


def plan(
    deployment: str,
    open_edges: Iterable[Edge],
    after: Slots,
    at: datetime,
    meta: Mapping[str, Any],
) -> Plan:
    """Close the open state edges that ``after`` no longer holds and open the ones it adds.

    ``meta`` (the change, its reason, who made it) goes on every edge opened.
    """
    wanted = desired(after)
    closing: list[Edge] = []
    for edge in sorted(open_edges, key=lambda e: e.key):
        if edge.kind not in STATE_EDGES or edge.valid_to is not None:
            continue
        signature = (edge.kind, edge.dst, _signature_props(edge))
        if signature in wanted:
            wanted.remove(signature)
            continue
        closing.append(Edge(edge.src, edge.kind, edge.dst, edge.props, edge.valid_from, at))
    opening = [
        Edge(deployment, kind, target, {**props, **meta}, valid_from=at)
        for kind, target, props in wanted
    ]
    return Plan(closing=closing, opening=opening)


def _signature_props(edge: Edge) -> dict[str, Any]:
    return {k: edge.props[k] for k in _SIGNATURE_PROPS if k in edge.props}
