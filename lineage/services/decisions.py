"""The decisions question: a model's inference batches in a window, and their records.

``decisions`` finds the batches (with the snapshot and dataset versions behind each);
``batch_records`` pages through one batch's individual decisions in the record store.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, EdgeKind, Node, NodeKind, Subgraph
from lineage.model.times import from_text, require_aware
from lineage.services.answers import DecisionBatch, Decisions, RecordPage
from lineage.services.corrected import CorrectedReads
from lineage.services.erased_records import erasure_id, served_records_hash, with_erasures
from lineage.services.names import not_found, resolve
from lineage.services.record_store import RecordStore
from lineage.services.subgraph_index import SubgraphIndex as _Index
from lineage.store.base import MAX_NODES, GraphStore, TraversalSpec, clamp
from lineage.store.cursor import decode_cursor, encode_cursor

MAX_RECORDS_PAGE = 500


def decisions(
    store: GraphStore, model: str, start: datetime, end: datetime, snapshot: str | None = None
) -> Decisions:
    """Inference batches of the model whose window overlaps [start, end).

    ``model`` is a name or a Model ID (a ModelVersion ID keeps that version only); ``snapshot``
    (name or ID) keeps the batches that used it. Sorted by window start, then ID. One
    traversal (bounded by the node budget, so ``truncated`` if a long history fills it), then
    the snapshots and their source dataset versions in two batched reads. The question has no
    ``asOf``: every correction recorded by now applies.
    """
    parsed = resolve(model, "model", NodeKind.MODEL, NodeKind.MODEL_VERSION)
    lo = require_aware(start, "from")
    hi = require_aware(end, "to")
    if hi <= lo:
        raise InvalidError("must be after from", field="to")
    snapshot_id = (
        str(resolve(snapshot, "snapshot", NodeKind.FEATURE_SNAPSHOT)) if snapshot else None
    )
    root = str(parsed)
    reads = CorrectedReads(store)
    spec = TraversalSpec(
        start=root,
        direction=Direction.IN,
        edge_kinds=frozenset({EdgeKind.SPECIALIZATION_OF, EdgeKind.SCORED_WITH}),
        node_kinds=frozenset({NodeKind.MODEL_VERSION, NodeKind.INFERENCE_BATCH}),
        max_depth=2 if parsed.version is None else 1,  # model <- version <- batch
        max_nodes=MAX_NODES,
        as_of=hi,  # batches starting at or after the end cannot overlap
    )
    try:
        sub: Subgraph | None = reads.traverse(spec)
    except NotFoundError as exc:
        if not store.get_nodes([root]):
            raise not_found(root, "model") from exc
        sub = None  # registered after the window: no decisions in it
    batches: dict[str, tuple[Node, Node]] = {}
    if sub is not None:
        g = _Index(sub)
        versions = (
            [g.nodes[root]] if parsed.version else g.sources(root, EdgeKind.SPECIALIZATION_OF)
        )
        for mv in versions:
            for batch in g.sources(mv.id, EdgeKind.SCORED_WITH, NodeKind.INFERENCE_BATCH):
                if batch.valid_from < hi and _window_end(batch) > lo:
                    batches.setdefault(batch.id, (batch, mv))
    if snapshot_id is not None:
        batches = {k: v for k, v in batches.items() if v[0].props.get("snapshot") == snapshot_id}
    # The batch, snapshot and source IDs are properties written with the SCORED_WITH and
    # WAS_DERIVED_FROM edges in the same registration; reading them saves a walk per batch.
    wanted = {str(b.props["snapshot"]) for b, _ in batches.values() if b.props.get("snapshot")}
    # The batches' first erasures come in the same read (no extra round trip when none exist).
    first_erasures = {erasure_id(batch_id, 1) for batch_id in batches}
    snapshots = reads.get_nodes(
        sorted(wanted | ({snapshot_id} if snapshot_id else set()) | first_erasures)
    )
    erasures = {k: snapshots.pop(k) for k in first_erasures if k in snapshots}
    if snapshot_id is not None and snapshot_id not in snapshots:
        raise not_found(snapshot_id, "snapshot")
    sources = reads.get_nodes(
        sorted({str(s) for snap in snapshots.values() for s in snap.props.get("sources", [])})
    )
    found = []
    for batch, mv in sorted(batches.values(), key=lambda pair: _by_time(pair[0])):
        snap = snapshots.get(str(batch.props.get("snapshot")))
        if snap is None:
            raise NotFoundError(
                f"{batch.id} used {batch.props.get('snapshot')}, which is not in the store",
                field="snapshot",
            )
        dvs = [sources[s] for s in sorted(snap.props.get("sources", [])) if s in sources]
        found.append(DecisionBatch(batch=batch, model_version=mv, snapshot=snap, datasets=dvs))
    # A batch whose records had a data subject erased says so (``erasures``), and its records
    # are read from the redacted file.
    erased = with_erasures(store, [b.batch for b in found], erasures)
    found = [replace(b, batch=erased.get(b.batch.id, b.batch)) for b in found]
    return Decisions(batches=found, truncated=sub.truncated if sub is not None else False)


def batch_records(
    records: RecordStore,
    batch: Node,
    first: int = 50,
    after: str | None = None,
    store: GraphStore | None = None,
) -> RecordPage:
    """A page of the individual decisions of a batch, read from the record store.

    ``first`` is 1 to 500 (more is clamped); ``after`` is the ``next_cursor`` of the previous
    page of the same batch. ``total`` counts every record of the batch. After an erasure the
    redacted file is read, where each erased decision is ``{"erased_sha256": <hash>}``: the
    batch as :func:`decisions` answers it says so, or give ``store`` to look it up.
    """
    if batch.kind is not NodeKind.INFERENCE_BATCH:
        raise InvalidError(f"{batch.id} is a {batch.kind.value}, not a batch", field="batch")
    size = clamp(first, 1, MAX_RECORDS_PAGE, "first")
    digest = served_records_hash(batch, store)
    if not isinstance(digest, str):
        raise NotFoundError(f"{batch.id} has no records file", field="records_hash")
    offset = 0
    if after is not None:
        tag, offset = decode_cursor(after, (str, int))
        if tag != digest[:16]:
            raise InvalidError("not a cursor of this batch's records", field="after")
    rows = list(records.iter_records(digest))
    if not 0 <= offset <= len(rows):
        raise InvalidError("not a cursor of this batch's records", field="after")
    end = offset + size
    cursor = encode_cursor([digest[:16], end]) if end < len(rows) else None
    return RecordPage(records=rows[offset:end], next_cursor=cursor, total=len(rows))


def _window_end(batch: Node) -> datetime:
    end = batch.props.get("window_end")
    return from_text(end) if isinstance(end, str) else batch.valid_to or batch.valid_from


def _by_time(node: Node) -> tuple[datetime, str]:
    return (node.valid_from, node.id)
