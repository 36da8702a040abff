"""Events of one run that arrive at once: each reads, merges and writes the run, and none of
them loses another's update (the transaction scope is serialised on every store)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from lineage.openlineage.events import event_hash
from lineage.services.audit import verify
from lineage.store import GraphStore
from tests.openlineage.support import Event, Send, event

RUN = "pipelinerun:01940f41-12ab-7cde-8f01-23456789abc1"  # the Spark fixtures' run


def _events_of_one_run() -> list[Event]:
    running = [
        event("spark_start", eventType="RUNNING", eventTime=f"2024-01-20T05:1{i}:00.000Z")
        for i in range(1, 4)
    ]
    other = event("spark_start", eventType="OTHER", eventTime="2024-01-20T05:20:00.000Z")
    return [event("spark_start"), *running, event("spark_complete"), other]


def test_events_of_one_run_sent_at_once_are_all_merged_into_it(
    world: GraphStore, send: Send
) -> None:
    events = _events_of_one_run()
    start = threading.Barrier(len(events))

    def sending(value: Event) -> None:
        start.wait(timeout=30)  # all read-merge-writes begin together
        send(value)

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        for done in [pool.submit(sending, e) for e in events]:
            done.result(timeout=60)
    run = world.get_nodes([RUN])[RUN]
    recorded = {e["hash"] for e in run.props["events"]}
    assert recorded == {event_hash(e) for e in events}
    assert run.props["state"] == "COMPLETE"  # an OTHER after it does not reopen the run
    assert verify(world).ok
