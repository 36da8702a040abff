"""The hash-chained audit log, and its verification.

Every write appends one event in the same transaction as the write. An event's hash covers its
sequence number, time, actor, action, reason, the hash of its payload, the content hash of every
node and edge it wrote (``subjects``) and the previous event's hash. ``verify`` recomputes the
chain and then checks every stored node and edge against the last event that wrote it, so a row
edited behind the service's back is caught and blamed on a sequence number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lineage.model.canonical import canonical_json, sha256_text
from lineage.model.graph import Edge, Node
from lineage.model.times import to_text, utcnow
from lineage.store.base import AuditEvent, GraphStore, iter_all_edges, iter_all_nodes

GENESIS = "0" * 64
DELETED = ""  # subject value of an event that deleted the node or edge


def node_subject(node_id: str) -> str:
    """Subject key of a node."""
    return f"node:{node_id}"


def edge_subject(edge: Edge) -> str:
    """Subject key of an edge."""
    return f"edge:{edge.key}"


def event_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    reason: str,
    payload_hash: str,
    subjects_json: str,
    prev_hash: str,
) -> str:
    """The hash that links an event into the chain: SHA-256 of :func:`event_preimage`."""
    return sha256_text(
        event_preimage(seq, at, actor, action, reason, payload_hash, subjects_json, prev_hash)
    )


def event_preimage(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    reason: str,
    payload_hash: str,
    subjects_json: str,
    prev_hash: str,
) -> str:
    """The text an event's hash is taken of: the canonical JSON of the event's fields,
    ``subjects`` given already encoded. It is the last key in sorted order, so the document is
    the encoding of the other fields with it spliced in before the closing brace (the export's
    audit proof hands this text out, so a verifier needs only SHA-256)."""
    fields = canonical_json(
        {
            "seq": seq,
            "at": to_text(at),
            "actor": actor,
            "action": action,
            "reason": reason,
            "payload_hash": payload_hash,
            "prev_hash": prev_hash,
        }
    )
    return f'{fields[:-1]},"subjects":{subjects_json}}}'


def append_event(
    store: GraphStore,
    *,
    actor: str,
    action: str,
    reason: str,
    nodes: Sequence[Node] = (),
    edges: Sequence[Edge] = (),
    deleted: Sequence[str] = (),
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append the event for a write; call inside the write's ``store.transaction()``."""
    head = store.audit_head()
    subjects = {node_subject(n.id): n.content_hash() for n in nodes}
    subjects |= {edge_subject(e): e.content_hash() for e in edges}
    subjects |= {subject: DELETED for subject in deleted}
    body = payload or {}
    payload_hash = sha256_text(canonical_json(body))
    seq = head.seq + 1 if head else 1
    prev = head.hash if head else GENESIS
    at = at or utcnow()
    subjects_json = canonical_json(subjects)
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        reason=reason,
        payload_hash=payload_hash,
        subjects=subjects,
        prev_hash=prev,
        payload=body,
        hash=event_hash(seq, at, actor, action, reason, payload_hash, subjects_json, prev),
        subjects_json=subjects_json,
    )
    store.append_audit(event)
    return event


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``verify`` found. ``broken_seq`` is the first sequence number that does not hold."""

    ok: bool
    events: int
    nodes: int
    edges: int
    head_hash: str
    broken_seq: int | None = None
    problem: str | None = None


def verify(store: GraphStore, progress: Callable[[str, int], None] | None = None) -> VerifyReport:
    """Recompute the chain, then check every stored node and edge against it."""
    tick = progress or (lambda _stage, _n: None)
    expected: dict[str, tuple[str, int]] = {}
    prev, count, after = GENESIS, 0, 0

    def broken(seq: int | None, problem: str, nodes: int = 0, edges: int = 0) -> VerifyReport:
        return VerifyReport(
            ok=False,
            events=count,
            nodes=nodes,
            edges=edges,
            head_hash=prev,
            broken_seq=seq,
            problem=problem,
        )

    while batch := store.audit_events(after_seq=after):
        for event in batch:
            if event.seq != after + 1:
                return broken(after + 1, f"event {after + 1} is missing from the log")
            if event.prev_hash != prev:
                return broken(event.seq, "previous-hash link does not match the event before")
            if event.payload is not None and (
                sha256_text(canonical_json(event.payload)) != event.payload_hash
            ):
                return broken(event.seq, "payload does not match its recorded hash")
            recomputed = event_hash(
                event.seq,
                event.at,
                event.actor,
                event.action,
                event.reason,
                event.payload_hash,
                event.subjects_text(),
                event.prev_hash,
            )
            if recomputed != event.hash:
                return broken(event.seq, "event content does not match its hash")
            for subject, digest in event.subjects.items():
                expected[subject] = (digest, event.seq)
            prev, after, count = event.hash, event.seq, count + 1
        tick("events", count)

    # Every stored row must be what the last event that touched it wrote; report the earliest
    # such event, since everything the chain certified after it is suspect.
    first: tuple[int, str] | None = None
    seen: set[str] = set()
    nodes = edges = 0

    def check(subject: str, digest: str) -> None:
        nonlocal first
        seen.add(subject)
        want = expected.get(subject)
        if want is None:
            problem = (count + 1, f"{subject} is stored but no audit event wrote it")
        elif want[0] != digest:
            problem = (want[1], f"{subject} differs from what event {want[1]} recorded")
        else:
            return
        if first is None or problem[0] < first[0]:
            first = problem

    for node in iter_all_nodes(store):
        check(node_subject(node.id), node.content_hash())
        nodes += 1
        if nodes % 10_000 == 0:
            tick("nodes", nodes)
    for edge in iter_all_edges(store):
        check(edge_subject(edge), edge.content_hash())
        edges += 1
        if edges % 10_000 == 0:
            tick("edges", edges)
    for subject, (digest, seq) in expected.items():
        if digest != DELETED and subject not in seen and (first is None or seq < first[0]):
            first = (seq, f"{subject} written by event {seq} is missing from the store")
    if first is not None:
        return broken(first[0], first[1], nodes, edges)
    return VerifyReport(ok=True, events=count, nodes=nodes, edges=edges, head_hash=prev)
