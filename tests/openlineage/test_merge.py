"""Merging events that arrive more than once and in any order: the result depends on the set."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import ConflictError
from lineage.model.graph import Node, NodeKind
from lineage.openlineage import merge

T0 = datetime(2024, 1, 20, tzinfo=UTC)


def _entry(kind: str, minutes: int, tag: str) -> dict[str, str]:
    return {"type": kind, "time": f"2024-01-20T00:{minutes:02d}:00.000000Z", "hash": tag * 64}


def test_facets_end_the_same_whatever_order_the_events_came_in() -> None:
    events = [
        ({"a": 1, "b": 1}, merge.stamp(T0, "1" * 64)),
        ({"a": 2}, merge.stamp(T0 + timedelta(minutes=1), "2" * 64)),
        ({"b": 3, "c": 3}, merge.stamp(T0 + timedelta(minutes=2), "3" * 64)),
    ]
    results = []
    for order in itertools.permutations(events):
        props: dict[str, object] = {}
        for facets, at in order:
            props = merge.merge_facets(props, facets, at)
        results.append(props)
    assert all(r == results[0] for r in results)
    assert results[0][merge.FACETS] == {"a": 2, "b": 3, "c": 3}


def test_the_state_comes_from_the_sorted_events_not_their_arrival() -> None:
    props: dict[str, object] = {}
    for entry in (_entry("COMPLETE", 9, "c"), _entry("RUNNING", 5, "r"), _entry("START", 1, "s")):
        added = merge.add_event(props, entry)
        assert added is not None
        props = added
    assert merge.add_event(props, _entry("START", 1, "s")) is None  # the same event again
    state = merge.run_state(props["events"])  # type: ignore[arg-type]
    assert state == {
        "state": "COMPLETE",
        "started_at": "2024-01-20T00:01:00.000000Z",
        "ended_at": "2024-01-20T00:09:00.000000Z",
    }
    assert merge.run_state([]) == {"state": "UNKNOWN"}


def test_a_long_lived_run_keeps_its_start_its_end_and_its_latest_events() -> None:
    props: dict[str, object] = {}
    props = merge.add_event(props, _entry("START", 0, "s")) or props
    for i in range(merge.MAX_RUN_EVENTS + 10):
        entry = {"type": "RUNNING", "time": f"2024-01-20T01:00:00.{i:06d}Z", "hash": f"{i:064x}"}
        props = merge.add_event(props, entry) or props
    events = props["events"]
    assert isinstance(events, list) and len(events) == merge.MAX_RUN_EVENTS
    assert events[0]["type"] == "START" and props["events_dropped"] == 11


def test_facts_may_be_completed_but_not_contradicted() -> None:
    seen = Node("dataset:x@v1", NodeKind.DATASET_VERSION, T0, {"version": "v1"})
    fuller = Node(
        "dataset:x@v1", NodeKind.DATASET_VERSION, T0 - timedelta(days=1),
        {"version": "v1", "record_count": 3},
    )
    merged = merge.merge_facts(seen, fuller)
    assert merged.props == {"version": "v1", "record_count": 3}
    assert merged.valid_from == T0 - timedelta(days=1)
    other = Node("dataset:x@v1", NodeKind.DATASET_VERSION, T0, {"record_count": 4})
    with pytest.raises(ConflictError) as caught:
        merge.merge_facts(merged, other)
    assert caught.value.field == "record_count"
