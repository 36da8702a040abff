"""The page of a model: its versions with their gates and sign-offs, the serving history as a
timeline, the evaluations side by side, and what served at a chosen instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from lineage.errors import InvalidError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import utcnow
from lineage.services.answers import Attribution
from lineage.services.governance.accountability import holders
from lineage.services.governance.evidence import read_evidence
from lineage.services.governance.readiness import Readiness, deployable
from lineage.services.governance.routing import ServingAnswer, serving
from lineage.services.names import not_found, resolve
from lineage.services.tokens import Principal
from lineage.store.base import EdgeQuery, GraphStore, edge_pages
from lineage.web.node_page import suggest_ids
from lineage.web.rendering import optional_instant, page, render

MAX_VERSIONS = 30  # the newest; older ones stay reachable from their node pages
SERVING_KINDS = frozenset({EdgeKind.SERVED, EdgeKind.STANDS_BY})


@dataclass(frozen=True, slots=True)
class VersionRow:
    """A version, its readiness now and its evaluations' metrics."""

    version: Node
    readiness: Readiness
    metrics: dict[str, object]
    evaluations: list[Node]


@dataclass(frozen=True, slots=True)
class Stint:
    """A version in a deployment's slot over an interval, placed on the timeline (percent)."""

    edge: Edge
    left: float
    width: float


@dataclass(frozen=True, slots=True)
class ModelView:
    """What the model page shows."""

    model: Node
    owners: list[Attribution]
    versions: list[VersionRow]
    older: int
    metric_names: list[str]
    stints: list[Stint]
    timeline_from: datetime | None
    timeline_to: datetime | None
    served: ServingAnswer | None


def model_view(store: GraphStore, value: str, as_of: datetime | None) -> ModelView:
    """Everything the model page shows for ``value`` (a model name or Model ID)."""
    model_id = str(resolve(value, "model", NodeKind.MODEL))
    model = store.get_nodes([model_id]).get(model_id)
    if model is None or model.kind is not NodeKind.MODEL:
        raise not_found(model_id, "model")
    now = utcnow()
    ids = [
        e.src
        for page_ in edge_pages(
            store, EdgeQuery(dst=model_id, kinds=frozenset({EdgeKind.SPECIALIZATION_OF}))
        )
        for e in page_
    ]
    found = store.get_nodes(ids)
    versions = sorted(
        (n for n in found.values() if n.kind is NodeKind.MODEL_VERSION),
        key=lambda n: (n.valid_from, n.id),
    )
    shown = versions[-MAX_VERSIONS:]
    rows = [_version_row(store, v, now) for v in shown]
    names = sorted({name for row in rows for name in row.metrics})
    edges = sorted(
        (
            e
            for v in shown
            for page_ in edge_pages(store, EdgeQuery(dst=v.id, kinds=SERVING_KINDS))
            for e in page_
        ),
        key=lambda e: (e.valid_from or now, e.src, e.dst),
    )
    # The scale ends a little after the last change: an open stint runs to the right edge
    # ("now"), which may be years later and would squash the history into a corner.
    marks = [t for e in edges for t in (e.valid_from, e.valid_to) if t is not None]
    lo = min(marks) if marks else None
    hi = None
    if lo is not None:
        last = max(marks)
        hi = min(now, last + max((last - lo) * 0.08, timedelta(hours=1)))
    return ModelView(
        model=model,
        owners=holders(store, model_id, now),
        versions=list(reversed(rows)),
        older=len(versions) - len(shown),
        metric_names=names,
        stints=[_stint(e, lo, hi) for e in edges] if lo and hi else [],
        timeline_from=lo,
        timeline_to=hi,
        served=serving(store, model_id, as_of) if as_of is not None else None,
    )


def _version_row(store: GraphStore, version: Node, now: datetime) -> VersionRow:
    evidence = read_evidence(store, version.id, now)
    metrics: dict[str, object] = {}
    for evaluation in evidence.evaluations:  # oldest first: a re-evaluation's numbers win
        values = evaluation.props.get("metrics", {})
        if isinstance(values, dict):
            metrics.update(values)
    return VersionRow(version, deployable(store, version.id, now), metrics, evidence.evaluations)


def _stint(edge: Edge, lo: datetime, hi: datetime) -> Stint:
    span = max((hi - lo).total_seconds(), 1.0)
    start = edge.valid_from or lo
    end = min(edge.valid_to or hi, hi)
    left = (start - lo).total_seconds() / span * 100
    width = max((end - start).total_seconds() / span * 100, 0.6)
    return Stint(edge, round(left, 2), round(min(width, 100 - left), 2))


@page(suggest_ids)
async def model_page(request: Request, principal: Principal) -> Response:
    """``/ui/model/{name}``; ``?as_of=`` adds what served at that instant."""
    as_of = optional_instant(request.query_params, "as_of")
    name = request.path_params["name"]
    if not name:
        raise InvalidError("name a model", field="model")
    view = await run_in_threadpool(model_view, request.app.state.store, name, as_of)
    return render(request, "model.html", principal, view=view, as_of=as_of)
