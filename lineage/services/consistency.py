"""Contradictions refused at the door: the rules a registration must satisfy against the graph.

Registered provenance is immutable, so a contradiction that got in could never be corrected; each
rule here refuses one before anything is written. The functions read through the GraphStore
protocol only and raise a :class:`~lineage.errors.LineageError` naming the input field the client
sent and the registered fact it contradicts. :class:`~lineage.services.registry.Registry` runs
them inside its write transaction, so a concurrent change cannot slip between check and write.

- A CONFLICT is input that contradicts what is registered: a batch attributed to a deployment
  that was not serving its model version for the whole window; a batch window, training run,
  snapshot, evaluation or deployment dated before something it used existed.
- An INVALID is input that is wrong on its face: an unexplained (or a falsely claimed) skew
  between the snapshot a batch was scored with and the one its version was trained on; an actor
  that is not a registered, current agent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from lineage.errors import ConflictError, InvalidError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.records import (
    EvaluationRecord,
    FeatureSnapshotRecord,
    InferenceBatchRecord,
    TrainingRunRecord,
)
from lineage.model.times import from_text
from lineage.store.base import EdgeQuery, GraphStore, edge_pages, iter_edges

AGENT_KINDS = frozenset({NodeKind.PERSON, NodeKind.PIPELINE})
_SERVED = frozenset({EdgeKind.SERVED})
_ATTRIBUTED = frozenset({EdgeKind.WAS_ASSOCIATED_WITH})


class DatedChange(Protocol):
    """A change to a deployment at an instant (a :class:`DeploymentRecord` is one)."""

    @property
    def deployment(self) -> str:
        """The deployment changed."""

    @property
    def at(self) -> datetime:
        """When the change takes effect."""


def when(value: datetime) -> str:
    """An instant as people read it in a message: UTC, ``Z``, microseconds only if any."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


# -- immutability -----------------------------------------------------------------------------

# The field a client gives each kind's time in (the node keeps it as ``valid_from``).
TIME_FIELDS: dict[NodeKind, str] = {
    NodeKind.PERSON: "since",
    NodeKind.PIPELINE: "since",
    NodeKind.MODEL: "since",
    NodeKind.DATASET_VERSION: "created_at",
    NodeKind.FEATURE_SNAPSHOT: "created_at",
    NodeKind.TRAINING_RUN: "started_at",
    NodeKind.MODEL_VERSION: "ended_at",
    NodeKind.EVALUATION: "evaluated_at",
    NodeKind.INFERENCE_BATCH: "window_start",
    NodeKind.INCIDENT: "opened_at",
    NodeKind.DEPLOYMENT: "at",
}


def check_unchanged(old: Node, new: Node, *, compare_time: bool) -> None:
    """CONFLICT unless ``new`` is the node already registered, naming the fields that differ.

    A node without a ``content_hash`` is compared by its registration hash: the SHA-256 of the
    whole registered node, not to be confused with a batch's ``records_hash``.
    """
    fields = sorted(
        k for k in old.props.keys() | new.props.keys() if old.props.get(k) != new.props.get(k)
    )
    time_field = TIME_FIELDS.get(new.kind, "valid_from")
    if compare_time and old.valid_from != new.valid_from and time_field not in fields:
        fields.append(time_field)
    if not fields:
        return
    if "content_hash" in old.props:
        label, old_hash = "content hash", old.props["content_hash"]
        new_hash = new.props.get("content_hash") or old_hash
    else:
        comparable = new if compare_time else Node(new.id, new.kind, old.valid_from, new.props)
        label, old_hash = "registration hash", old.content_hash()
        new_hash = comparable.content_hash()
    raise ConflictError(
        f"{old.id} is already registered with {label} {old_hash}; this registration has "
        f"{new_hash} (differs in: {', '.join(fields)}). Registered provenance is immutable: "
        "register a new version instead",
        field=fields[0],
        details={
            "id": old.id,
            "hash_kind": label.replace(" ", "_"),
            "registered_hash": old_hash,
            "given_hash": new_hash,
            "fields": fields,
        },
    )


# -- agents -----------------------------------------------------------------------------------


def require_agent(
    store: GraphStore, actor: str, at: datetime, *, registering: Node | None = None
) -> None:
    """INVALID (field ``actor``) unless ``actor`` is a registered person or pipeline at ``at``.

    ``registering`` is the node being written: an agent registering itself is the bootstrap,
    the one write an agent may make before it is registered.
    """
    if registering is not None and registering.id == actor and registering.kind in AGENT_KINDS:
        return
    agent = store.get_nodes([actor]).get(actor)
    if agent is None:
        raise InvalidError(
            f"{actor} is not a registered agent: register it as a person or pipeline first "
            "(an agent may register itself)",
            field="actor",
        )
    if agent.kind not in AGENT_KINDS:
        raise InvalidError(
            f"{actor} is a {agent.kind.value}, not a person or pipeline", field="actor"
        )
    if agent.valid_to is not None and agent.valid_to <= at:
        raise InvalidError(
            f"{actor} is no longer an active agent: it left at {when(agent.valid_to)}",
            field="actor",
        )


# -- data and training ------------------------------------------------------------------------


def check_snapshot_sources(rec: FeatureSnapshotRecord, sources: Sequence[Node]) -> None:
    """CONFLICT (field ``created_at``) if the snapshot predates one of its source versions."""
    for source in sources:
        _not_before(rec.created_at, source, "created_at", "the snapshot was created")


def check_run_inputs(rec: TrainingRunRecord, snapshot: Node, datasets: Sequence[Node]) -> None:
    """CONFLICT (field ``started_at``) if the run started before its snapshot or data existed."""
    for used in (snapshot, *datasets):
        _not_before(rec.started_at, used, "started_at", "the run started")


def check_evaluation(rec: EvaluationRecord, version: Node, dataset: Node | None) -> None:
    """CONFLICT (field ``evaluated_at``) if it predates its model version or its data."""
    for used in (version, *([dataset] if dataset is not None else [])):
        _not_before(rec.evaluated_at, used, "evaluated_at", "the evaluation happened")


def check_deployment(rec: DatedChange, version: Node) -> None:
    """CONFLICT (field ``at``) if the model version is deployed before it existed."""
    _not_before(rec.at, version, "at", "the deployment starts")


def check_appends_to_history(rec: DatedChange, serving: Sequence[Edge]) -> None:
    """CONFLICT (field ``at``) unless the change comes after every one the deployment records."""
    for edge in serving:
        if edge.valid_from is not None and edge.valid_from >= rec.at:
            raise ConflictError(
                f"{rec.deployment} already records a change at {when(edge.valid_from)}, "
                "not before this one; history is append-only",
                field="at",
            )


def check_change_keeps_batches(
    store: GraphStore, rec: DatedChange, closing: Sequence[Edge]
) -> None:
    """CONFLICT (field ``at``) if the change would leave a batch already registered on the
    deployment without the version it was scored with for part of its window.

    ``closing`` are the SERVED edges of the versions that stop receiving traffic at ``at`` (a
    version whose share only changes keeps serving, so its batches are not affected). Only
    batches of those versions attributed under their serving runs (adjacent windows of one
    version counting as one) can reach past ``at``: every earlier run ended before them
    (history is append-only), so those are the ones looked at.

    The batches are found by their edge to the deployment (indexed by the deployment, so the
    cost follows this deployment's batches, not every batch registered since the run began)
    and kept when their registration named the deployment.
    """
    versions = {e.dst for e in closing}
    starts = [s for e in closing if (s := _run_start(store, rec.deployment, e)) is not None]
    if not starts:
        return
    since = min(starts)
    for batch in _batches_on(store, rec.deployment):
        if batch.valid_from < since:  # before the runs: no need to decode its properties
            continue
        end = batch.props.get("window_end")
        if batch.props.get("deployment") != rec.deployment:
            continue  # its registration named another: a correction's edge, read as before
        if batch.props.get("model_version") not in versions:
            continue
        if isinstance(end, str) and from_text(end) > rec.at:
            raise ConflictError(
                f"{batch.id} was scored by {batch.props.get('model_version')} on "
                f"{rec.deployment} from {when(batch.valid_from)} to {when(from_text(end))}; "
                f"a change at {when(rec.at)} would contradict it",
                field="at",
                details={"batch": batch.id, "window_end": end},
            )


def _batches_on(store: GraphStore, deployment: str) -> Iterator[Node]:
    """The inference batches with an edge to the deployment, page by page."""
    for edges in edge_pages(store, EdgeQuery(dst=deployment, kinds=_ATTRIBUTED)):
        ids = [e.src for e in edges if e.src.startswith("batch:")]
        found = store.get_nodes(ids)
        yield from (found[i] for i in ids if i in found)


def _run_start(store: GraphStore, deployment: str, edge: Edge) -> datetime | None:
    """When the serving run that ``edge`` ends started: a change of traffic share closes one
    window of a version and opens the next at the same instant, so a run is several windows."""
    start = edge.valid_from
    if start is None:
        return None
    windows = {e.valid_to: e.valid_from for e in _served(store, deployment) if e.dst == edge.dst}
    while (earlier := windows.get(start)) is not None:
        start = earlier
    return start


def _not_before(at: datetime, used: Node, field: str, what: str) -> None:
    if at >= used.valid_from:
        return
    # A model version comes into being when its training run ends.
    created = "its training run ended" if used.kind is NodeKind.MODEL_VERSION else "it was created"
    raise ConflictError(
        f"{what} at {when(at)}, before {used.id} existed: {created} at {when(used.valid_from)}",
        field=field,
        details={"id": used.id, "created_at": when(used.valid_from), "given": when(at)},
    )


# -- inference --------------------------------------------------------------------------------


def snapshot_skew(rec: InferenceBatchRecord, version: Node) -> dict[str, Any] | None:
    """What a batch records of a deliberate skew: the trained snapshot and the reason, or None."""
    trained = version.props.get("snapshot")
    if rec.skew_reason is None or rec.snapshot == trained:
        return None
    return {"trained_on": trained, "reason": rec.skew_reason}


def check_batch(
    store: GraphStore, rec: InferenceBatchRecord, version: Node, snapshot: Node
) -> None:
    """Refuse a batch whose window, snapshot or deployment contradicts the graph.

    CONFLICT (``window_start``) if the window starts before the model version or the snapshot
    existed; INVALID (``snapshot``) if it was scored with another snapshot than the version was
    trained on without a ``skew_reason``, and (``skew_reason``) if it claims a skew that is not
    one; CONFLICT (``deployment``) if the deployment was not serving the version for the whole
    window, adjacent serving windows counting as one.
    """
    _not_before(rec.window_start, version, "window_start", "the batch window starts")
    _not_before(rec.window_start, snapshot, "window_start", "the batch window starts")
    trained = version.props.get("snapshot")
    if rec.snapshot != trained and rec.skew_reason is None:
        raise InvalidError(
            f"{version.id} was trained on {trained}, not {rec.snapshot}; a batch scored with "
            "another snapshot is accepted only as a deliberate skew, with its reason",
            field="snapshot",
            details={"trained_on": trained, "given": rec.snapshot},
        )
    if rec.snapshot == trained and rec.skew_reason is not None:
        raise InvalidError(
            f"{version.id} was trained on {trained}, the snapshot this batch used: there is "
            "no skew to explain",
            field="skew_reason",
            details={"trained_on": trained},
        )
    if rec.deployment is not None:
        _check_served(store, rec, version.id)


def _check_served(store: GraphStore, rec: InferenceBatchRecord, version: str) -> None:
    assert rec.deployment is not None
    serving = list(_served(store, rec.deployment))
    gap = _first_uncovered(
        [e for e in serving if e.dst == version], rec.window_start, rec.window_end
    )
    if gap is None:
        return
    other = next((e for e in serving if _covers(e, gap)), None)
    window = f"the batch window runs from {when(rec.window_start)} to {when(rec.window_end)}"
    if other is None:
        later = [e.valid_from for e in serving if e.valid_from is not None and e.valid_from > gap]
        until = f" until {when(min(later))}" if later else ""
        fact = f"{rec.deployment} served no model version from {when(gap)}{until}"
    elif other.valid_to is None:
        fact = f"{rec.deployment} served {other.dst} from {_from(other)} on"
    else:
        fact = f"{rec.deployment} served {other.dst} from {_from(other)} to {when(other.valid_to)}"
    raise ConflictError(
        f"{fact}, not {version}; {window}",
        field="deployment",
        details={
            "deployment": rec.deployment,
            "model_version": version,
            "not_served_at": when(gap),
            "served": None if other is None else other.dst,
        },
    )


def _served(store: GraphStore, deployment: str) -> Iterator[Edge]:
    """Every SERVED edge of a deployment, page by page."""
    return iter_edges(store, EdgeQuery(src=deployment, kinds=_SERVED))


def _first_uncovered(windows: Sequence[Edge], start: datetime, end: datetime) -> datetime | None:
    """The first instant of ``[start, end)`` no window covers, or None if they cover it all."""
    reached = start
    for edge in sorted(windows, key=lambda e: e.valid_from or datetime.min.replace(tzinfo=UTC)):
        if edge.valid_from is not None and edge.valid_from > reached:
            break
        if edge.valid_to is None:
            return None
        reached = max(reached, edge.valid_to)
        if reached >= end:
            return None
    return reached


def _covers(edge: Edge, at: datetime) -> bool:
    starts = edge.valid_from is None or edge.valid_from <= at
    return starts and (edge.valid_to is None or at < edge.valid_to)


def _from(edge: Edge) -> str:
    return when(edge.valid_from) if edge.valid_from is not None else "the start"
