"""How facts from events that arrive more than once, and in any order, become one node.

Delivery is at least once and unordered, so every node an event touches is rebuilt as a function
of the *set* of events seen, never of their order:

- a facet (of a run, a job, a dataset) carries a stamp, the event's time then its hash; a newer
  stamp replaces an older one, whichever arrives first (:func:`merge_facets`);
- a run keeps the list of its events (type, time, hash, producer, schema URL), sorted; its
  state, start and end are read from that list (:func:`run_state`);
- facts about an entity (a dataset version, a model version, a snapshot) may be completed by a
  later event but never contradicted: a key both sides give must agree, else CONFLICT
  (:func:`merge_facts`), lists are united.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from lineage.errors import ConflictError
from lineage.model.graph import Node
from lineage.model.times import from_text, to_text
from lineage.openlineage.events import TERMINAL

# A streaming job sends RUNNING events for as long as it lives: a run keeps its first START, its
# terminal events and the latest others up to this many, and counts what it let go.
MAX_RUN_EVENTS = 500
FACETS = "facets"
STAMPS = "facet_stamps"
_TYPE_ORDER = {"START": 0, "RUNNING": 1, "OTHER": 2, "COMPLETE": 3, "FAIL": 3, "ABORT": 3}


def stamp(at: datetime, event_hash: str) -> str:
    """The stamp of an event: its time in fixed-width text, then its hash (lexical = order)."""
    return f"{to_text(at)}|{event_hash}"


def merge_facets(
    props: Mapping[str, Any], facets: Mapping[str, Any], at: str, prefix: str = ""
) -> dict[str, Any]:
    """``props`` with each of ``facets`` (keys prefixed) where its stamp ``at`` is newer."""
    merged = dict(props.get(prefix + FACETS) or {})
    stamps = dict(props.get(prefix + STAMPS) or {})
    for key, value in facets.items():
        if stamps.get(key, "") < at:
            merged[key] = value
            stamps[key] = at
    return dict(props) | {prefix + FACETS: merged, prefix + STAMPS: stamps}


def merge_facts(
    existing: Node | None, new: Node, lists: Collection[str] = ()
) -> Node:
    """``new`` completed by what ``existing`` already says; CONFLICT naming the fields where
    the two disagree. ``valid_from`` is the earlier of the two: an entity existed from the
    first time anyone saw it."""
    if existing is None:
        return new
    merged = dict(existing.props)
    differs = []
    added = False
    for key, value in new.props.items():
        old = merged.get(key)
        if key in lists and isinstance(old, list) and isinstance(value, list):
            united = sorted(set(old) | set(value))
            added = added or united != old
            merged[key] = united
        elif key not in merged:
            merged[key] = value
            added = True
        elif old != value:
            differs.append(key)
    if differs:
        raise ConflictError(
            f"{new.id} is already registered with other facts (differs in: "
            f"{', '.join(sorted(differs))}). Registered provenance is immutable: the same "
            "version cannot say two different things; give the new state a new version",
            field=sorted(differs)[0],
            details={
                "id": new.id,
                "fields": sorted(differs),
                "registered": {k: existing.props.get(k) for k in sorted(differs)},
                "given": {k: new.props.get(k) for k in sorted(differs)},
            },
        )
    start = min(existing.valid_from, new.valid_from)
    if not added and start == existing.valid_from:
        # What the code below would build is ``existing`` again: keeping the node read spares
        # encoding and hashing it to find it unchanged (WritePlan.changed).
        return existing
    return Node(new.id, new.kind, start, merged, existing.valid_to, existing.recorded_at)


def add_event(props: Mapping[str, Any], entry: dict[str, str]) -> dict[str, Any] | None:
    """``props`` with one more run event, or None when the event is already recorded."""
    events: list[dict[str, str]] = list(props.get("events") or [])
    if any(e.get("hash") == entry["hash"] for e in events):
        return None
    events.append(entry)
    events.sort(key=lambda e: (e["time"], _TYPE_ORDER.get(e["type"], 2), e["hash"]))
    dropped = int(props.get("events_dropped", 0))
    if len(events) > MAX_RUN_EVENTS:
        first_start = next((e for e in events if e["type"] == "START"), None)
        kept = [e for e in events if e is first_start or e["type"] in TERMINAL]
        others = [e for e in events if e is not first_start and e["type"] not in TERMINAL]
        room = max(MAX_RUN_EVENTS - len(kept), 0)
        kept += others[len(others) - room :] if room else []
        dropped += len(events) - len(kept)
        kept.sort(key=lambda e: (e["time"], _TYPE_ORDER.get(e["type"], 2), e["hash"]))
        events = kept
    found = dict(props) | {"events": events}
    if dropped:
        found["events_dropped"] = dropped
    return found


def run_state(events: list[dict[str, str]]) -> dict[str, Any]:
    """State, start and end of a run from its events.

    The state is the latest terminal event's type (COMPLETE, FAIL, ABORT) when one arrived,
    else RUNNING, START or OTHER by what did; UNKNOWN for a run known only as a parent. A run
    that ended before its START arrived is still ended: the order of arrival says nothing.
    """
    kinds = [e["type"] for e in events]
    terminal = [e for e in events if e["type"] in TERMINAL]
    starts = [e for e in events if e["type"] == "START"]
    if terminal:
        state = terminal[-1]["type"]
    elif "RUNNING" in kinds:
        state = "RUNNING"
    elif starts:
        state = "START"
    elif events:
        state = "OTHER"
    else:
        state = "UNKNOWN"
    found: dict[str, Any] = {"state": state}
    if starts:
        found["started_at"] = starts[0]["time"]
    if terminal:
        found["ended_at"] = terminal[-1]["time"]
    return found


def run_start(events: list[dict[str, str]], fallback: datetime) -> datetime:
    """When a run began as far as its events tell: its START, else its first event."""
    starts = [e["time"] for e in events if e["type"] == "START"]
    if starts:
        return from_text(starts[0])
    if events:
        return from_text(events[0]["time"])
    return fallback
