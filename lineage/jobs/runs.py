"""Recording job runs in the graph: one ``JobRun`` node per run, written with an audit event by
the scheduler's own agent, and reading the latest runs back.

A run is a PROV Activity ``jobrun:<job>-<start, compact UTC>-<run key>``: the job, when it
started and ended, its outcome, counts, messages and (bounded) details, which scheduler process
ran it and what triggered it (``schedule`` or ``once``). It is linked ``WAS_ASSOCIATED_WITH``
to ``pipeline:lineage_scheduler``, the agent every scheduler registers on start, as the command
line registers ``pipeline:lineage_cli``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from lineage.jobs.report import Outcome, Report
from lineage.model.canonical import canonical_json
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import from_text, require_aware, to_text, utcnow
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store.base import GraphStore, NodeQuery

SCHEDULER_ACTOR = "pipeline:lineage_scheduler"
SCHEDULER_AGENT = {"id": SCHEDULER_ACTOR, "name": "lineage scheduler (scheduled jobs)"}
MAX_MESSAGES = 100
MAX_MESSAGE_CHARS = 2_000
MAX_DETAILS_BYTES = 64 * 1024  # a run's details beyond this are dropped, saying so


def register_scheduler_agent(store: GraphStore, records: RecordStore) -> None:
    """Register the scheduler's pipeline agent, the actor of every job's writes (a no-op once
    done)."""
    Registry(store, records, actor=SCHEDULER_ACTOR).register_pipeline(
        SCHEDULER_AGENT, reason="the scheduler registers itself"
    )


def compact(at: datetime) -> str:
    """An instant as a node ID may spell it: UTC, ``20240201T030000000000Z``."""
    return require_aware(at, "at").astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def run_id(job: str, started: datetime, run_key: str) -> str:
    """The JobRun ID of a run of ``job`` started at ``started``."""
    return f"jobrun:{job}-{compact(started)}-{run_key}"


def run_node(report: Report, holder: str, trigger: str, run_key: str) -> Node:
    """The JobRun node of a finished run."""
    ended = report.ended or report.started
    messages = [m[:MAX_MESSAGE_CHARS] for m in report.messages[:MAX_MESSAGES]]
    if len(report.messages) > MAX_MESSAGES:
        messages.append(f"... and {len(report.messages) - MAX_MESSAGES} more messages")
    props: dict[str, Any] = {
        "job": report.job,
        "started": to_text(report.started),
        "ended": to_text(ended),
        "duration_ms": round((ended - report.started).total_seconds() * 1000, 3),
        "outcome": report.outcome.value,
        "counts": dict(sorted(report.counts.items())),
        "messages": messages,
        "holder": holder,
        "trigger": trigger,
    }
    try:
        details = _plain_json(report.details)
    except ValueError:  # NaN or infinity: the canonical form refuses them
        details = {"dropped": "not representable as JSON"}
    if len(canonical_json(details).encode("utf-8")) > MAX_DETAILS_BYTES:
        details = {"dropped": f"larger than {MAX_DETAILS_BYTES:,} bytes"}
    if details:
        props["details"] = details
    node_id = run_id(report.job, report.started, run_key)
    return Node(node_id, NodeKind.JOB_RUN, report.started, props)


def record_run(store: GraphStore, report: Report, holder: str, trigger: str, run_key: str) -> Node:
    """Write the run's JobRun node and its link to the scheduler agent, with one audit event."""
    node = run_node(report, holder, trigger, run_key)
    edge = Edge(node.id, EdgeKind.WAS_ASSOCIATED_WITH, SCHEDULER_ACTOR, {"role": "scheduler"})
    with store.transaction():
        require_agent(store, SCHEDULER_ACTOR, utcnow())
        store.upsert_nodes([node])
        store.upsert_edges([edge])
        append_event(
            store,
            actor=SCHEDULER_ACTOR,
            action="record_job_run",
            reason=f"{report.job}: {report.outcome.value}",
            nodes=[node],
            edges=[edge],
            payload={"job": report.job, "run": node.id, "outcome": report.outcome.value},
        )
    return node


def latest_runs(store: GraphStore, job: str, limit: int = 1) -> list[Node]:
    """The newest recorded runs of ``job``, newest first."""
    query = NodeQuery(kind=NodeKind.JOB_RUN, props={"job": job}, newest_first=True, limit=limit)
    return list(store.find_nodes(query).items)


def last_run_by_job(store: GraphStore, jobs: Iterable[str]) -> dict[str, Node | None]:
    """Each job's newest recorded run, or None."""
    found: dict[str, Node | None] = {}
    for job in jobs:
        newest = latest_runs(store, job)
        found[job] = newest[0] if newest else None
    return found


def report_of(node: Node) -> Report:
    """A recorded run read back as a Report."""
    props = node.props
    ended = props.get("ended")
    return Report(
        job=str(props.get("job")),
        started=from_text(str(props.get("started"))),
        ended=from_text(ended) if isinstance(ended, str) else None,
        outcome=Outcome(str(props.get("outcome", Outcome.OK.value))),
        counts=dict(props.get("counts") or {}),
        messages=list(props.get("messages") or []),
        details=dict(props.get("details") or {}),
    )


def _plain_json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as plain JSON (instants as text, anything else unknown as its ``str``)."""

    def default(item: object) -> object:
        if isinstance(item, datetime):
            return to_text(item)
        if isinstance(item, set | frozenset | tuple):
            return sorted(item, key=str) if not isinstance(item, tuple) else list(item)
        return str(item)

    plain: dict[str, Any] = json.loads(json.dumps(value, default=default, allow_nan=False))
    return plain
