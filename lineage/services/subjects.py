"""Decisions by data subject: the services over the subject index
(:mod:`lineage.services.subject_index`, where the design is): index a batch as it is registered,
rebuild the index from the records, and answer ``decisions(..., subject:)`` reading only the
files of the batches the index names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Node, NodeKind
from lineage.services.answers import DecisionBatch, Decisions, RecordPage
from lineage.services.decisions import decisions
from lineage.services.erased_records import erasures_of, served_records_hash, view_with
from lineage.services.record_store import RecordStore
from lineage.services.subject_index import (
    INDEX_FILE,
    KEY_FILE,
    SUBJECTS_DIR,
    Progress,
    SubjectIndex,
    SubjectRef,
)
from lineage.store.base import MAX_PAGE, GraphStore, NodeQuery, clamp, iter_all_nodes
from lineage.store.cursor import decode_cursor, encode_cursor

MAX_RECORDS_PAGE = 500
__all__ = [
    "INDEX_FILE",
    "KEY_FILE",
    "SUBJECTS_DIR",
    "SubjectBatch",
    "SubjectIndex",
    "SubjectRef",
    "index_batch",
    "rebuild",
    "subject_decisions",
    "subject_page",
]


def index_batch(
    store: GraphStore,
    records: RecordStore,
    batch: str,
    records_hash: str,
    decisions: Iterable[Mapping[str, Any]] | None = None,
) -> int:
    """Index a batch's decisions as it is registered, before the registration commits (see the
    module's note on consistency): ``decisions`` when the caller holds them (sent inline), else
    read from the records file. An index begun on a store without batches is complete from the
    start; begun on one that has some, it is rebuilt at the first lookup."""
    index = SubjectIndex(records)
    if not index.exists():
        empty = not store.find_nodes(NodeQuery(kind=NodeKind.INFERENCE_BATCH, limit=1)).items
        index.mark_complete(empty)
    if decisions is None:
        decisions = records.iter_records(records_hash)
    return index.add(batch, records_hash, decisions)


def rebuild(store: GraphStore, records: RecordStore, progress: Progress | None = None) -> int:
    """Index every batch's served records (after erasures) and mark the index complete; how
    many batches were read. A batch whose records file is gone (pruned, lost) adds nothing."""
    index = SubjectIndex(records)
    index.start_rebuild()
    done = 0
    page: list[Node] = []
    for batch in iter_all_nodes(store, NodeKind.INFERENCE_BATCH):
        page.append(batch)
        if len(page) == MAX_PAGE:
            done += _index_page(store, records, index, page)
            page = []
            if progress is not None:
                progress(done, None)
    done += _index_page(store, records, index, page)
    index.mark_complete()
    if progress is not None:
        progress(done, done)
    return done


def _index_page(
    store: GraphStore, records: RecordStore, index: SubjectIndex, page: list[Node]
) -> int:
    erased = erasures_of(store, [b.id for b in page])
    for batch in page:
        digest = served_records_hash(view_with(batch, erased.get(batch.id, [])))
        if digest is None or not records.exists(digest):
            continue
        registered = str(batch.props.get("records_hash", digest))
        index.add(batch.id, registered, records.iter_records(digest))
    return len(page)


NOBODY = SubjectRef("")  # the default of a SubjectBatch made without a subject


@dataclass(frozen=True, slots=True)
class SubjectBatch(DecisionBatch):
    """A batch of the window with only the subject's decisions (read once, paged from here)."""

    subject: SubjectRef = NOBODY
    matched: tuple[dict[str, Any], ...] = ()


def subject_decisions(
    store: GraphStore,
    records: RecordStore,
    model: str,
    start: datetime,
    end: datetime,
    snapshot: str | None,
    subject: str,
) -> Decisions:
    """The subject's decisions by the model in [start, end): the window's batches that the
    index names, each with only the subject's decisions. Reads only those batches' files."""
    ref = SubjectRef.parse(subject)
    index = SubjectIndex(records)
    if not index.complete():
        rebuild(store, records)
    wanted = index.batches_of(ref)
    window = decisions(store, model, start, end, snapshot)
    found: list[DecisionBatch] = []
    for entry in window.batches:
        if entry.batch.id not in wanted:
            continue
        digest = served_records_hash(entry.batch)
        if digest is None:
            continue
        try:
            rows = tuple(r for r in records.iter_records(digest) if ref.matches(r))
        except NotFoundError:
            continue  # pruned since: nothing of the subject's is left to show
        if rows:
            found.append(
                SubjectBatch(
                    **{f: getattr(entry, f) for f in ("batch", "model_version", "snapshot")},
                    datasets=entry.datasets,
                    subject=ref,
                    matched=rows,
                )
            )
    return replace(window, batches=found)


def subject_page(batch: SubjectBatch, first: int = 50, after: str | None = None) -> RecordPage:
    """A page of the subject's decisions in the batch; ``total`` counts the subject's."""
    size = clamp(first, 1, MAX_RECORDS_PAGE, "first")
    tag = hashlib.sha256(f"{batch.batch.id}/{batch.subject.value}".encode()).hexdigest()[:16]
    offset = 0
    if after is not None:
        found_tag, offset = decode_cursor(after, (str, int))
        if found_tag != tag or not 0 <= offset <= len(batch.matched):
            raise InvalidError("not a cursor of this batch's decisions", field="after")
    stop = offset + size
    cursor = encode_cursor([tag, stop]) if stop < len(batch.matched) else None
    rows = list(batch.matched[offset:stop])
    return RecordPage(records=rows, next_cursor=cursor, total=len(batch.matched))
