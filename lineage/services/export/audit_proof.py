"""The bundle's ``audit.jsonl``: what lets a reader check the exported graph against the audit
chain's head without trusting the service.

An event's hash (:func:`lineage.services.audit.event_hash`) is the SHA-256 of one text, its
*preimage*: the canonical JSON of ``{action, actor, at, payload_hash, prev_hash, reason, seq,
subjects}``, where ``subjects`` maps each node (``node:<id>``) and edge (``edge:<key>``) the
write touched to its content hash. The chain's format is unchanged; the bundle carries, for
every event from the first to the head recorded in the manifest, one line

    {"type": "event", "seq": n, "hash": h, "preimage": "<the exact text hashed>",
     "concerns": [the exported subjects this event wrote]}

and for every exported node and edge one line

    {"type": "subject", "subject": "node:<id>", "seq": n, "canonical": "<exact text>"}

A reader checks ``sha256(preimage) == hash``, that the preimage's ``seq`` counts up from 1 and
its ``prev_hash`` is the previous line's hash (the first one 64 zeros), that the last hash is
the manifest's ``audit_head``, and that ``sha256(canonical)`` is the content hash the last event
that wrote the subject recorded for it (``canonical`` is the node or edge as the service hashes
it: ID, kind, properties and validity window). The events in between carry only what their hash
needs: the other subjects' IDs and content hashes, never their content, and no payload (its
hash is in the preimage).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from lineage.errors import ConflictError
from lineage.model.graph import Edge, Node
from lineage.services.audit import GENESIS, edge_subject, event_preimage, node_subject
from lineage.store.base import AuditEvent, GraphStore

FILE = "audit.jsonl"


def preimage(event: AuditEvent) -> str:
    """The exact text whose SHA-256 is the event's hash."""
    return event_preimage(
        event.seq,
        event.at,
        event.actor,
        event.action,
        event.reason,
        event.payload_hash,
        event.subjects_text(),
        event.prev_hash,
    )


@dataclass(frozen=True, slots=True)
class ProofSummary:
    """What the proof covers: events written, subjects certified, events that concern them."""

    events: int
    subjects: int
    concerning: int


def write_proof(
    store: GraphStore,
    out: IO[str],
    head: AuditEvent | None,
    subjects: dict[str, Node | Edge],
    tick: Callable[[int], None] | None = None,
) -> ProofSummary:
    """Write ``audit.jsonl`` for ``subjects`` (subject key -> the exported node or edge), up to
    ``head``. CONFLICT when an exported node or edge is not what the chain last recorded for it
    (the store was altered, or changed while exporting): evidence that would not verify is
    never handed out."""
    last: dict[str, tuple[str, int]] = {}
    events = concerning = 0
    if head is not None:
        for event in _events(store, head.seq):
            concerns = sorted(s for s in event.subjects if s in subjects)
            for subject in concerns:
                last[subject] = (event.subjects[subject], event.seq)
            line = {
                "type": "event",
                "seq": event.seq,
                "hash": event.hash,
                "preimage": preimage(event),
                "concerns": concerns,
            }
            out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
            events += 1
            concerning += bool(concerns)
            if tick is not None and events % 1_000 == 0:
                tick(events)
    for subject in sorted(subjects):
        value = subjects[subject]
        recorded = last.get(subject)
        if recorded is None or recorded[0] != value.content_hash():
            what = "no audit event wrote it" if recorded is None else (
                f"it differs from what event {recorded[1]} recorded"
            )
            raise ConflictError(
                f"{subject} cannot be certified: {what}; run `lineage verify`, or retry if "
                "the store changed while exporting",
                field="node",
            )
        line = {
            "type": "subject",
            "subject": subject,
            "seq": recorded[1],
            "canonical": value._canonical(),
        }
        out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
    return ProofSummary(events=events, subjects=len(subjects), concerning=concerning)


def subjects_of(nodes: Iterable[Node], edges: Iterable[Edge]) -> dict[str, Node | Edge]:
    """The subject key of every exported node and edge."""
    found: dict[str, Node | Edge] = {node_subject(n.id): n for n in nodes}
    found |= {edge_subject(e): e for e in edges}
    return found


def _events(store: GraphStore, head_seq: int) -> Iterator[AuditEvent]:
    after = 0
    while after < head_seq and (batch := store.audit_events(after_seq=after)):
        for event in batch:
            if event.seq > head_seq:
                return
            yield event
        after = batch[-1].seq


def check_proof(lines: Iterable[bytes], head: dict[str, Any] | None) -> str | None:
    """Check an ``audit.jsonl`` against the manifest's ``audit_head``: None when it holds,
    else the first problem in words. Uses nothing of the service but JSON and SHA-256."""
    prev, seq = GENESIS, 0
    recorded: dict[str, str] = {}
    subjects_seen = 0
    for number, raw in enumerate(lines, start=1):
        try:
            line = json.loads(raw)
        except ValueError:
            return f"line {number} is not JSON"
        if line.get("type") == "event":
            text = str(line.get("preimage", ""))
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != line.get("hash"):
                return f"line {number}: event {line.get('seq')} does not match its hash"
            try:
                body = json.loads(text)
            except ValueError:
                return f"line {number}: the preimage of event {line.get('seq')} is not JSON"
            if body.get("seq") != seq + 1 or line.get("seq") != seq + 1:
                return f"line {number}: event {seq + 1} is missing (found {body.get('seq')})"
            if body.get("prev_hash") != prev:
                return f"line {number}: event {seq + 1} does not link to the event before"
            for subject, digest in dict(body.get("subjects", {})).items():
                recorded[subject] = digest
            prev, seq = str(line["hash"]), seq + 1
        elif line.get("type") == "subject":
            subject = str(line.get("subject"))
            text = str(line.get("canonical", ""))
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if recorded.get(subject) != digest:
                return f"line {number}: {subject} is not what the audit chain recorded for it"
            subjects_seen += 1
        else:
            return f"line {number}: unknown line type {line.get('type')!r}"
    want = head or {"seq": 0, "hash": GENESIS}
    if (seq, prev) != (want.get("seq"), want.get("hash")):
        return f"the events end at {seq} ({prev[:16]}...), not at the manifest's audit head"
    return None
