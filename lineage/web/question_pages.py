"""The question pages: decisions of a window (with lookup by subject), upstream changes as a
timeline, incidents. Each reads its form, asks the service the API asks, and renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from lineage.errors import LineageError
from lineage.model.graph import Node
from lineage.model.times import utcnow
from lineage.services import investigation, subjects
from lineage.services.answers import DecisionBatch, RecordPage, UpstreamChanges
from lineage.services.incident_signals import status_at
from lineage.services.incidents import find_incidents
from lineage.services.names import resolve_any
from lineage.services.record_store import RecordStore
from lineage.services.tokens import Principal
from lineage.store.base import GraphStore
from lineage.web.node_page import suggest_ids
from lineage.web.rendering import instant, optional_instant, page, render

RECORDS_SHOWN = 25  # per batch on the page; the rest is a click away


@dataclass(frozen=True, slots=True)
class BatchView:
    """A batch of the window and a page of its decisions."""

    entry: DecisionBatch
    records: RecordPage | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class DecisionsView:
    """The window's batches; ``subject`` when only one data subject's decisions are shown."""

    batches: list[BatchView]
    truncated: bool
    subject: str
    total: int


def decisions_view(
    store: GraphStore,
    records: RecordStore,
    model: str,
    start: datetime,
    end: datetime,
    snapshot: str | None,
    subject: str | None,
    after: dict[str, str],
) -> DecisionsView:
    """The decisions of ``model`` in [start, end), of one snapshot and subject when given."""
    if subject:
        answer = subjects.subject_decisions(store, records, model, start, end, snapshot, subject)
    else:
        answer = investigation.decisions(store, model, start, end, snapshot)
    views: list[BatchView] = []
    for entry in answer.batches:
        if isinstance(entry, subjects.SubjectBatch):
            views.append(BatchView(entry, subjects.subject_page(entry, RECORDS_SHOWN)))
            continue
        cursor = after.get(entry.batch.id)
        try:
            found = investigation.batch_records(records, entry.batch, RECORDS_SHOWN, cursor, store)
            views.append(BatchView(entry, found))
        except LineageError as exc:  # one unreadable file must not hide the other batches
            views.append(BatchView(entry, None, f"{exc.code.value}: {exc.message}"))
    total = sum(v.records.total for v in views if v.records is not None)
    return DecisionsView(views, answer.truncated, subject or "", total)


@page(suggest_ids)
async def decisions_page(request: Request, principal: Principal) -> Response:
    """``/ui/decisions?model=&from=&to=&snapshot=&subject=``: the form, and the answer once a
    model is named. ``to`` defaults to a day after ``from``."""
    params = request.query_params
    model = params.get("model", "").strip()
    form = {k: params.get(k, "") for k in ("model", "from", "to", "snapshot", "subject")}
    if not model or not params.get("from", "").strip():  # a link names the model alone
        return render(request, "decisions.html", principal, form=form, view=None)
    start = instant(params, "from")
    end = instant(params, "to", start + timedelta(days=1))
    snapshot = params.get("snapshot", "").strip() or None
    subject = params.get("subject", "").strip() or None
    after = {params.get("batch", ""): params.get("after", "")} if params.get("after") else {}
    state = request.app.state
    view = await run_in_threadpool(
        decisions_view, state.store, state.records, model, start, end, snapshot, subject, after
    )
    return render(
        request, "decisions.html", principal, form=form, view=view, start=start, end=end
    )


@dataclass(frozen=True, slots=True)
class ChangesView:
    """Upstream changes of a node, newest first."""

    node: str
    answer: UpstreamChanges


def changes_view(
    store: GraphStore, node: str, since: datetime, until: datetime | None
) -> ChangesView:
    """What changed upstream of ``node`` in [since, until]."""
    node_id = resolve_any(store, node, "node")
    return ChangesView(node_id, investigation.upstream_changes(store, node_id, since, until))


@page(suggest_ids)
async def changes_page(request: Request, principal: Principal) -> Response:
    """``/ui/changes?node=&since=&until=``: since defaults to 30 days before until (or now)."""
    params = request.query_params
    node = params.get("node", "").strip()
    form = {k: params.get(k, "") for k in ("node", "since", "until")}
    if not node:
        return render(request, "changes.html", principal, form=form, view=None)
    until = optional_instant(params, "until")
    since = instant(params, "since", (until or utcnow()) - timedelta(days=30))
    view = await run_in_threadpool(changes_view, request.app.state.store, node, since, until)
    return render(
        request, "changes.html", principal, form=form, view=view, since=since, until=until
    )


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """An incident and its status now."""

    node: Node
    status: str


@page(suggest_ids)
async def incidents_page(request: Request, principal: Principal) -> Response:
    """``/ui/incidents?status=&model=``: newest first."""
    params = request.query_params
    status = params.get("status", "").strip() or None
    model = params.get("model", "").strip() or None
    if model and ":" not in model:
        model = f"model:{model}"
    store = request.app.state.store

    def rows() -> list[IncidentRow]:
        found = find_incidents(store, status=status, model=model)
        return [IncidentRow(n, status_at(n) or "") for n in found]

    found = await run_in_threadpool(rows)
    form = {"status": status or "", "model": params.get("model", "")}
    return render(request, "incidents.html", principal, rows=found, form=form)
