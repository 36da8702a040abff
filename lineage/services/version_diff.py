"""What differs between two model versions: the side-by-side an investigator asks for first.

Both versions are read as the graph recorded them at one instant (``as_of``, default now): the
training provenance (the dataset versions and hashes the run bound, the feature snapshot, the
code commit, the parameters, the split), the latest evaluation's metrics, both gates computed
from the evidence known then, the owner's and the risk approver's latest sign-offs, and the
deployments that served each. Every compared fact is one row of (aspect, field, a, b, same).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from lineage.errors import InvalidError, LineageError
from lineage.model.graph import EdgeKind, Node, NodeKind
from lineage.model.times import require_aware, utcnow
from lineage.services.answers import DiffRow, VersionDiff
from lineage.services.governance.evidence import Evidence, read_evidence
from lineage.services.governance.gates import report_of
from lineage.services.names import resolve
from lineage.store.base import EdgeQuery, GraphStore, iter_edges

ASPECTS = (
    "data",
    "snapshot",
    "code",
    "parameters",
    "training",
    "metrics",
    "gates",
    "approvals",
    "deployments",
)
SIGN_OFF_ROLES = ("owner", "risk_approver")
_SNAPSHOT_FIELDS = ("id", "content_hash", "features", "sources", "computed_by")
_TRAINING_FIELDS = (
    "split",
    "seed",
    "records_available",
    "records_used",
    "triggered_by",
    "reason",
    "started_at",
    "ended_at",
)


def version_diff(
    store: GraphStore, a: str, b: str, as_of: datetime | None = None
) -> VersionDiff:
    """Rows comparing model versions ``a`` and ``b`` as recorded at ``as_of`` (default: now).

    ``a`` and ``b`` are ModelVersion IDs, or short names (``lending_approval@v12``). INVALID
    when they are the same version; NOT_FOUND (naming ``a`` or ``b``) when one was not
    registered by ``as_of``. Rows come grouped by aspect in :data:`ASPECTS` order.
    """
    first = str(resolve(a, "a", NodeKind.MODEL_VERSION))
    second = str(resolve(b, "b", NodeKind.MODEL_VERSION))
    if first == second:
        raise InvalidError(f"compares {first} with itself; give two versions", field="b")
    at = require_aware(as_of, "as_of") if as_of is not None else utcnow()
    left, right = _evidence(store, first, at, "a"), _evidence(store, second, at, "b")
    rows: list[DiffRow] = []
    for aspect, facts_a, facts_b in _aspects(store, left, right, at):
        for name in dict.fromkeys([*facts_a, *facts_b]):
            value_a, value_b = facts_a.get(name), facts_b.get(name)
            rows.append(DiffRow(aspect, name, value_a, value_b, value_a == value_b))
    return VersionDiff(
        a=left.version,
        b=right.version,
        rows=rows,
        as_of=at,
        truncated=left.truncated or right.truncated,
    )


def _evidence(store: GraphStore, version: str, at: datetime, field: str) -> Evidence:
    try:
        return read_evidence(store, version, at)
    except LineageError as exc:
        if exc.field == "version":
            exc.field = field
        raise


def _aspects(
    store: GraphStore, a: Evidence, b: Evidence, at: datetime
) -> Iterable[tuple[str, dict[str, Any], dict[str, Any]]]:
    yield "data", _data(a), _data(b)
    yield "snapshot", _snapshot(a), _snapshot(b)
    yield "code", _code(a), _code(b)
    yield "parameters", _props(a.run, "parameters"), _props(b.run, "parameters")
    yield "training", _training(a), _training(b)
    yield "metrics", _metrics(a), _metrics(b)
    yield "gates", _gates(a), _gates(b)
    yield "approvals", _approvals(a), _approvals(b)
    yield "deployments", _served(store, a.version, at), _served(store, b.version, at)


def _data(ev: Evidence) -> dict[str, Any]:
    """Each dataset the run bound (by exact hash), keyed by the Dataset it versions."""
    bound = ev.run.props.get("datasets", {}) if ev.run is not None else {}
    found: dict[str, Any] = {}
    for version, digest in sorted(bound.items()) if isinstance(bound, Mapping) else []:
        found[str(version).partition("@")[0]] = {"id": version, "content_hash": digest}
    return found


def _snapshot(ev: Evidence) -> dict[str, Any]:
    if ev.snapshot is None:
        return {}
    props = ev.snapshot.props | {"id": ev.snapshot.id}
    return {name: props.get(name) for name in _SNAPSHOT_FIELDS if props.get(name) is not None}


def _code(ev: Evidence) -> dict[str, Any]:
    run = ev.run.props if ev.run is not None else {}
    return {
        name: run[name] for name in ("code_commit", "artifact_hash") if run.get(name) is not None
    }


def _props(node: Node | None, name: str) -> dict[str, Any]:
    value = node.props.get(name) if node is not None else None
    return dict(value) if isinstance(value, Mapping) else {}


def _training(ev: Evidence) -> dict[str, Any]:
    run = (ev.run.props | {"started_at": _time(ev.run.valid_from)}) if ev.run else {}
    return {name: run[name] for name in _TRAINING_FIELDS if run.get(name) is not None}


def _metrics(ev: Evidence) -> dict[str, Any]:
    """The metrics (and notes) of the latest evaluation known then."""
    if not ev.evaluations:
        return {}
    latest = ev.evaluations[-1]
    found = _props(latest, "metrics")
    if latest.props.get("notes") is not None:
        found["notes"] = latest.props["notes"]
    return found


def _gates(ev: Evidence) -> dict[str, Any]:
    """Each gate's verdict and the value of each of its checks, from the evidence known then."""
    report = report_of(ev)
    found: dict[str, Any] = {}
    for result in report.results:
        found[result.gate] = result.verdict.value
        for check in result.checks:
            found[f"{result.gate}.{check.name}"] = (
                check.value if check.value is not None else check.passed
            )
    return found


def _approvals(ev: Evidence) -> dict[str, Any]:
    """The latest sign-off known then in each role: decision and who."""
    found: dict[str, Any] = {}
    for node in ev.sign_offs:  # oldest first: a later sign-off supersedes
        role = node.props.get("role")
        if role in SIGN_OFF_ROLES:
            found[str(role)] = {
                "decision": node.props.get("decision"),
                "approver": node.props.get("approver"),
                "at": _time(node.valid_from),
            }
    return found


def _served(store: GraphStore, version: Node, at: datetime) -> dict[str, Any]:
    """Each deployment that served the version by ``at``: when it first did, and when it last
    stopped (None while it still serves then)."""
    query = EdgeQuery(dst=version.id, kinds=frozenset({EdgeKind.SERVED}))
    windows: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for edge in iter_edges(store, query):
        if edge.valid_from is not None and edge.valid_from <= at:
            end = edge.valid_to if edge.valid_to is not None and edge.valid_to <= at else None
            windows.setdefault(edge.src, []).append((edge.valid_from, end))
    found: dict[str, Any] = {}
    for deployment, spans in sorted(windows.items()):
        ends = [end for _, end in spans]
        last = None if None in ends else max(e for e in ends if e is not None)
        found[deployment] = {
            "from": _time(min(start for start, _ in spans)),
            "until": _time(last) if last is not None else None,
        }
    return found


def _time(value: datetime) -> str:
    """An instant as the API prints one (``2024-01-25T10:00:00Z``)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
