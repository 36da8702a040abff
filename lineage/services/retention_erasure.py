"""Erasure of one data subject's decisions (GDPR article 17), keeping what proves they existed.

Records files are content-addressed (the SHA-256 of their bytes) and an inference batch holds
that hash as provenance, so a file cannot be edited in place: it would no longer match, and
reading refuses it. Erasure therefore:

1. reads the batch's current file and replaces each of the subject's lines by a line holding
   only the SHA-256 of the original line, ``{"erased_sha256": "<hex>"}``, in the same place;
2. stores the result as a new content-addressed file (the *redacted* file);
3. records an **Erasure** node ``erasure:<stem>-<n>`` (the n-th erasure of that batch, its stem
   derived from the batch ID so a batch's erasures are found in one round trip)
   ``-ERASED->`` the batch, holding the batch's original ``records_hash``, the hash of the file
   it redacted, the redacted file's hash, the hashes and positions of the erased lines, who,
   why, and the subject *hashed* (``subject_hash``: SHA-256 of ``field=value``), with one audit
   event;
4. then deletes the file it redacted and leaves a marker so the record store never stores
   those bytes again.

The batch node and every audit event stay byte-identical, so ``lineage verify`` passes; the
batch's ``records_hash`` remains its provenance (what was registered), and readers serve the
latest redacted file instead (:mod:`lineage.services.erased_records`). Anyone holding an
original decision can still prove it belonged: its line's hash is in the redacted file and on
the Erasure node.

A batch under a legal hold is not erased (GDPR article 17(3)(e)): it is reported, for the
controller to lift the hold or record why it stands.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.errors import InvalidError, NotFoundError
from lineage.model.canonical import canonical_json
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.model.times import to_text
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.services.erased_records import (
    ERASED_KEY,
    erasure_id,
    erasures_of,
    served_records_hash,
    view_with,
)
from lineage.services.record_store import RecordStore
from lineage.services.retention_classes import Upstream, window_end
from lineage.services.retention_holds import held_targets
from lineage.services.subject_index import SubjectIndex
from lineage.store.base import MAX_PAGE, GraphStore, iter_all_nodes

Progress = Callable[[int, int | None], None]  # batches scanned, total when known


@dataclass(frozen=True, slots=True)
class Subject:
    """A data subject, named by a field of their decisions and its value."""

    field: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Subject:
        """``applicant_id=john_doe_12345``: INVALID (field ``subject``) for anything else."""
        name, sep, value = text.partition("=")
        if not sep or not value or not name.isidentifier() or len(name) > 64:
            raise InvalidError(
                "give the subject as field=value, e.g. applicant_id=john_doe_12345",
                field="subject",
            )
        return cls(name, value)

    @property
    def hashed(self) -> str:
        """What is recorded of the subject: SHA-256 of ``field=value``, never the value.

        A hash of an identifier is pseudonymous, not anonymous: whoever holds the identifier
        can confirm the erasure happened, which is what a controller must be able to show.
        """
        return hashlib.sha256(f"{self.field}={self.value}".encode()).hexdigest()

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether a decision is this subject's: the field equals the value as text, or its
        JSON form does (``customer_no=42`` matches the number 42)."""
        if self.field not in record:
            return False
        found = record[self.field]
        return found == self.value or canonical_json(found) == self.value

    def may_occur_in(self, data: bytes) -> bool:
        """A cheap test that lets most files be skipped without parsing a line."""
        return self.value.encode() in data or canonical_json(self.value).encode() in data


@dataclass(slots=True)
class ErasureReport:
    """What an erasure did: per batch the decisions erased, and what it could not erase."""

    subject_hash: str
    batches_scanned: int = 0
    erased: dict[str, int] = field(default_factory=dict)  # batch -> decisions erased
    erasures: list[str] = field(default_factory=list)  # the Erasure nodes written
    held: dict[str, str] = field(default_factory=dict)  # batch -> why it was left alone
    missing: list[str] = field(default_factory=list)  # batches whose records file is gone
    audit_seqs: list[int] = field(default_factory=list)
    files_deleted: int = 0

    @property
    def records_erased(self) -> int:
        """Decisions erased in all."""
        return sum(self.erased.values())


def redact(data: bytes, subject: Subject) -> tuple[bytes, list[int], list[str]]:
    """The file with the subject's lines replaced by their hashes; the positions (from 0) and
    hashes of the lines replaced."""
    lines = data.split(b"\n")
    positions: list[int] = []
    hashes: list[str] = []
    for i, line in enumerate(lines):
        if not line:
            continue
        record = json.loads(line)
        if isinstance(record, dict) and ERASED_KEY not in record and subject.matches(record):
            digest = hashlib.sha256(line).hexdigest()
            lines[i] = canonical_json({ERASED_KEY: digest}).encode()
            positions.append(i)
            hashes.append(digest)
    return b"\n".join(lines), positions, hashes


# -- erasing -----------------------------------------------------------------------------------


def erase_subject(
    store: GraphStore,
    records: RecordStore,
    subject: Subject,
    *,
    reason: str,
    actor: str,
    now: datetime,
    model: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Progress | None = None,
) -> ErasureReport:
    """Erase ``subject``'s decisions from every batch's records (of ``model``, a Model or a
    ModelVersion ID, and of windows overlapping [``start``, ``end``) when given), on behalf of
    ``actor`` for ``reason``. Each records file is one audited write; repeating the erasure
    finds nothing more to erase and finishes removing files an interrupted run left behind.
    """
    if not reason.strip():
        raise InvalidError("say why the decisions are erased", field="reason")
    parse_id(actor, "actor")
    require_agent(store, actor, now)
    wanted_model = str(parse_id(model, "model")) if model else None
    report = ErasureReport(subject_hash=subject.hashed)
    upstream = Upstream(store, None, now)
    # Batches sharing a file (byte-identical records) are grouped over the whole scan: the
    # file is redacted once, for all of them, before it is deleted.
    found: dict[str, list[Node]] = {}
    read: dict[str, bool] = {}  # digest -> whether the subject may occur in it
    previous: dict[str, list[Node]] = {}
    page: list[Node] = []
    for batch in iter_all_nodes(store, NodeKind.INFERENCE_BATCH):
        if _in_scope(batch, wanted_model, start, end):
            page.append(batch)
        if len(page) == MAX_PAGE:
            _scan(store, records, subject, page, previous, found, read, report)
            page = []
            if progress is not None:
                progress(report.batches_scanned, None)
    _scan(store, records, subject, page, previous, found, read, report)
    for digest, batches in found.items():
        _erase_file(
            store,
            records,
            subject,
            digest,
            batches,
            previous,
            upstream,
            report,
            (reason, actor, now),
        )
    # After the commits: the subject index follows the records (lineage.services.subjects).
    SubjectIndex(records).forget_subject(subject.field, subject.value, report.erased)
    if progress is not None:
        progress(report.batches_scanned, report.batches_scanned)
    return report


def _in_scope(batch: Node, model: str | None, start: datetime | None, end: datetime | None) -> bool:
    version = str(batch.props.get("model_version", ""))
    if model is not None and model not in (version, version.split("@", 1)[0]):
        return False
    if end is not None and batch.valid_from >= end:
        return False
    return start is None or window_end(batch) > start


def _scan(
    store: GraphStore,
    records: RecordStore,
    subject: Subject,
    page: list[Node],
    previous: dict[str, list[Node]],
    found: dict[str, list[Node]],
    read: dict[str, bool],
    report: ErasureReport,
) -> None:
    """Find the files of ``page`` the subject may occur in (and finish interrupted erasures)."""
    report.batches_scanned += len(page)
    erased = erasures_of(store, [b.id for b in page])
    previous |= erased
    _finish_interrupted(records, erased, report)
    for batch in page:
        digest = served_records_hash(view_with(batch, erased.get(batch.id, [])))
        if digest is None:
            continue
        if digest not in read:
            try:
                read[digest] = subject.may_occur_in(records.read(digest))
            except NotFoundError:
                report.missing.append(batch.id)
                continue
        if read[digest]:
            found.setdefault(digest, []).append(batch)


def _erase_file(
    store: GraphStore,
    records: RecordStore,
    subject: Subject,
    digest: str,
    batches: list[Node],
    previous: dict[str, list[Node]],
    upstream: Upstream,
    report: ErasureReport,
    why: tuple[str, str, datetime],
) -> None:
    """Redact one file for every batch that holds it, record it, then delete the file."""
    reason, actor, now = why
    redacted, positions, hashes = redact(records.read(digest), subject)
    if not positions:
        return
    held = _held(store, upstream, batches, now)
    if held:
        report.held |= held
        return
    redacted_hash = records.put(redacted)
    seq, written = _record(
        store,
        upstream,
        subject,
        batches,
        previous,
        (digest, redacted_hash, positions, hashes),
        (reason, actor, now),
    )
    if seq is None:  # a hold placed meanwhile: nothing written
        report.held |= {b.id: "placed under legal hold during the erasure" for b in batches}
        return
    report.audit_seqs.append(seq)
    report.erasures += written
    report.erased |= {b.id: len(positions) for b in batches}
    records.mark_erased(digest, {"erasures": written, "redacted_hash": redacted_hash})
    report.files_deleted += records.delete(digest)


def _record(
    store: GraphStore,
    upstream: Upstream,
    subject: Subject,
    batches: list[Node],
    previous: dict[str, list[Node]],
    change: tuple[str, str, list[int], list[str]],
    why: tuple[str, str, datetime],
) -> tuple[int | None, list[str]]:
    """Write the Erasure nodes of one redacted file and their audit event; (None, []) when a
    hold placed since the check covers one of the batches."""
    digest, redacted_hash, positions, hashes = change
    reason, actor, now = why
    with store.transaction():
        require_agent(store, actor, now)
        if _held(store, upstream, batches, now):
            return None, []
        nodes: list[Node] = []
        edges: list[Edge] = []
        for batch in batches:
            n = len(previous.get(batch.id, [])) + 1
            node = Node(
                erasure_id(batch.id, n),
                NodeKind.ERASURE,
                now,
                {
                    "batch": batch.id,
                    "records_hash": batch.props.get("records_hash"),
                    "previous_hash": digest,
                    "redacted_hash": redacted_hash,
                    "erased_lines": hashes,
                    "line_numbers": positions,
                    "subject_field": subject.field,
                    "subject_hash": subject.hashed,
                    "by": actor,
                    "reason": reason,
                    "erased_at": to_text(now),
                },
            )
            nodes.append(node)
            edges.append(Edge(node.id, EdgeKind.ERASED, batch.id))
        store.upsert_nodes(nodes)
        store.upsert_edges(edges)
        event = append_event(
            store,
            actor=actor,
            action="erase_subject",
            reason=reason,
            nodes=nodes,
            edges=edges,
            payload={
                "subject_field": subject.field,
                "subject_hash": subject.hashed,
                "batches": [b.id for b in batches],
                "decisions": len(positions),
                "previous_hash": digest,
                "redacted_hash": redacted_hash,
            },
            at=now,
        )
    return event.seq, [n.id for n in nodes]


def _held(
    store: GraphStore, upstream: Upstream, batches: list[Node], now: datetime
) -> dict[str, str]:
    holds = held_targets(store, now)
    if not holds:
        return {}
    found: dict[str, str] = {}
    for batch_id, lineage in upstream.lineages(batches).items():
        for node_id in sorted(lineage.ids):
            if node_id in holds:
                found[batch_id] = f"{node_id} is under legal hold {', '.join(holds[node_id])}"
                break
    return found


def _finish_interrupted(
    records: RecordStore, previous: Mapping[str, list[Node]], report: ErasureReport
) -> None:
    """Delete the files earlier erasures redacted, if a crash left one behind."""
    for erasures in previous.values():
        for erasure in erasures:
            digest = str(erasure.props.get("previous_hash"))
            if records.exists(digest):
                note = {"erasures": [erasure.id], "redacted_hash": erasure.props["redacted_hash"]}
                records.mark_erased(digest, note)
                report.files_deleted += records.delete(digest)
