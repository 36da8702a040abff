"""Retention: prune inference batches, and their records files, once their class has expired.

A batch expires when its window end plus the period of its retention class (the strictest of
everything upstream of it: :mod:`lineage.services.retention_classes`) is before ``now``. An
expired batch is still kept, and the report says why, when its lineage holds:

- a node under a legal hold (:mod:`lineage.services.retention_holds`);
- a node an open incident names ``AFFECTED`` (the batch, its model version, snapshot, data...);
- a model version in use, in any slot of a deployment (serving, standby, backup), so the
  decisions of what serves now stay while it serves, with its training chain;
- a retention class the configuration does not know (it cannot be judged; it is reported).

Retention prunes batches alone: a model version, its training run, snapshot and data are never
pruned. Each chunk of batches is one transaction: the protections are re-read if anyone wrote
since they were read, the batches' edges are listed, a **Tombstone** per batch is written
(``tombstone:batch-<name>``: the pruned ID and kind, its content hash as the audit chain
certified it, its window and records hash, when, and the policy applied), the batches and
their edges are deleted, and one audit event records the tombstones and every deleted node and
edge as ``DELETED``, so ``lineage verify`` still passes. The records files (and the redacted
files of erasures) are deleted after the last commit, unless a batch that stays shares one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from lineage.model.graph import Edge, Node, NodeKind
from lineage.model.ids import parse_id
from lineage.model.times import to_text
from lineage.services.audit import append_event, edge_subject, node_subject
from lineage.services.consistency import require_agent
from lineage.services.erased_records import erasures_of
from lineage.services.record_store import RecordStore
from lineage.services.retention_classes import Lineage, Policy, RetentionClass, Upstream
from lineage.services.retention_holds import Protection
from lineage.services.subject_index import SubjectIndex
from lineage.store.base import (
    MAX_PAGE,
    EdgeQuery,
    GraphStore,
    NodeQuery,
    iter_all_nodes,
    node_pages,
)

DEFAULT_CHUNK = 1_000
_SHA256 = re.compile(r"[0-9a-f]{64}")
SAMPLE = 20  # examples kept per reason in a report
# (stage, done, total when known): "scanning" batches, "deleting files"
Progress = Callable[[str, int, int | None], None]


@dataclass(slots=True)
class PruneResult:
    """What a pruning run did (or, dry, would do)."""

    dry_run: bool
    batches_scanned: int = 0
    batches_pruned: int = 0
    records_pruned: int = 0  # individual decisions in the pruned batches
    tombstones: int = 0
    edges_deleted: int = 0
    files_deleted: int = 0
    files_missing: int = 0
    files_shared: int = 0  # kept: a batch that stays has the same records file
    by_class: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)  # reason -> expired batches kept
    kept_examples: dict[str, list[str]] = field(default_factory=dict)
    # class -> dataset versions registered with it that the configuration lacks (up to SAMPLE)
    unknown_classes: dict[str, list[str]] = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)  # IDs, up to ``list_limit``
    audit_seqs: list[int] = field(default_factory=list)

    def keep(self, reason: str, words: str) -> None:
        """Count an expired batch kept for ``reason``."""
        self.kept[reason] = self.kept.get(reason, 0) + 1
        examples = self.kept_examples.setdefault(reason, [])
        if len(examples) < SAMPLE:
            examples.append(words)


@dataclass(frozen=True, slots=True)
class _Candidate:
    batch: Node
    lineage: Lineage
    retention: RetentionClass


def prune(
    store: GraphStore,
    records: RecordStore,
    policy: Policy,
    *,
    now: datetime,
    actor: str,
    dry_run: bool = False,
    chunk: int = DEFAULT_CHUNK,
    list_limit: int = 10_000,
    progress: Progress | None = None,
) -> PruneResult:
    """Prune every expired, unprotected batch at ``now`` on behalf of ``actor`` (a registered
    agent); with ``dry_run``, only report what would go. ``chunk`` batches per transaction and
    audit event; ``list_limit`` pruned IDs are listed in the result (all are counted)."""
    tick = progress or (lambda _stage, _done, _total: None)
    result = PruneResult(dry_run=dry_run)
    if not dry_run:
        require_agent(store, actor, now)
    result.unknown_classes = unknown_classes(store, policy)
    run = _Run(store, records, policy, now, actor, result, chunk, list_limit)
    for page in _pages(store):
        run.scan(page)
        tick("scanning", result.batches_scanned, None)
    run.flush()
    if not dry_run:
        run.delete_files(tick)
    return result


class _Run:
    """One pruning run's state: pending chunk, files to delete, hashes still referenced."""

    def __init__(
        self,
        store: GraphStore,
        records: RecordStore,
        policy: Policy,
        now: datetime,
        actor: str,
        result: PruneResult,
        chunk: int,
        list_limit: int,
    ) -> None:
        self.store, self.records, self.policy, self.now = store, records, policy, now
        self.actor, self.result, self.chunk, self.list_limit = actor, result, chunk, list_limit
        self.upstream = Upstream(store, policy, now)
        self.protection = Protection.read(store, now)
        self.cutoff = policy.cutoff(now)
        self.pending: list[_Candidate] = []
        self.own: set[int] = set()
        self.candidate_hashes: set[str] = set()
        self.referenced: set[str] = set()  # records files of batches that stay
        self.doomed: list[tuple[str, list[str]]] = []  # (records hash, redacted hashes)

    def scan(self, page: list[Node]) -> None:
        """Classify a page of batches (oldest first) and prune full chunks."""
        self.result.batches_scanned += len(page)
        old = [b for b in page if b.valid_from < self.cutoff]
        if old:
            self._judge(old)
        for batch in page[len(old) :]:
            # Every candidate is older than every young batch, so its hash is known here.
            digest = _records_hash(batch)
            if digest in self.candidate_hashes:
                self.referenced.add(digest)

    def _judge(self, old: list[Node]) -> None:
        lineages = self.upstream.lineages(old)
        for batch in old:
            lineage = lineages[batch.id]
            judged = self.upstream.classify(batch, lineage)
            if judged.retention is None:
                self._stay(batch, "unknown_class", f"{batch.id}: class {sorted(judged.unknown)}")
                continue
            assert judged.expires is not None
            if judged.expires >= self.now:
                self._stay(batch)
                continue
            protected = self.protection.why_lineage(lineage)
            if protected is not None:
                self._stay(batch, protected[0], f"{batch.id}: {protected[1]}")
                continue
            self.pending.append(_Candidate(batch, lineage, judged.retention))
            self.candidate_hashes.add(_records_hash(batch))
            if len(self.pending) >= self.chunk:
                self.flush()

    def _stay(self, batch: Node, reason: str | None = None, words: str = "") -> None:
        self.referenced.add(_records_hash(batch))
        if reason is not None:
            self.result.keep(reason, words)

    def flush(self) -> None:
        """Prune the pending chunk: one transaction, one audit event (nothing when dry)."""
        chunk, self.pending = self.pending, []
        if not chunk:
            return
        if self.result.dry_run:
            self._count(chunk)
            return
        with self.store.transaction():
            require_agent(self.store, self.actor, self.now)
            if self.protection.refresh(self.store, self.own):
                chunk = self._still_unprotected(chunk)
            ids = [c.batch.id for c in chunk]
            stored = self.store.get_nodes(ids)
            chunk = [c for c in chunk if c.batch.id in stored]
            if not chunk:
                return
            ids = [c.batch.id for c in chunk]
            deleted = [node_subject(i) for i in ids]
            edges = sorted({edge_subject(e) for i in ids for e in _edges_of(self.store, i)})
            erasures = erasures_of(self.store, ids)
            tombstones = self._tombstones(chunk, erasures)
            self.store.upsert_nodes(tombstones)
            self.store.delete_nodes(ids)
            event = append_event(
                self.store,
                actor=self.actor,
                action="retention_prune",
                reason=f"retention: {len(ids)} inference batches past their retention period",
                nodes=tombstones,
                deleted=deleted + edges,
                payload={
                    "batches": len(ids),
                    "records": sum(_count(c.batch) for c in chunk),
                    "classes": _by_class(chunk),
                    "policy": {n: c.describe() for n, c in sorted(self.policy.classes.items())},
                },
                at=self.now,
            )
        self.own.add(event.seq)
        SubjectIndex(self.records).forget_batches(ids)  # after the commit, as the files go
        self.result.audit_seqs.append(event.seq)
        self.result.tombstones += len(tombstones)
        self.result.edges_deleted += len(edges)
        self._count(chunk)
        for c in chunk:
            redacted = [str(e.props["redacted_hash"]) for e in erasures.get(c.batch.id, [])]
            self.doomed.append((_records_hash(c.batch), redacted))

    def _count(self, chunk: list[_Candidate]) -> None:
        result = self.result
        result.batches_pruned += len(chunk)
        result.records_pruned += sum(_count(c.batch) for c in chunk)
        for name, n in _by_class(chunk).items():
            result.by_class[name] = result.by_class.get(name, 0) + n
        room = max(0, self.list_limit - len(result.pruned))
        result.pruned += [c.batch.id for c in chunk[:room]]

    def _still_unprotected(self, chunk: list[_Candidate]) -> list[_Candidate]:
        kept: list[_Candidate] = []
        for c in chunk:
            protected = self.protection.why_lineage(c.lineage)
            if protected is None:
                kept.append(c)
            else:
                self._stay(c.batch, protected[0], f"{c.batch.id}: {protected[1]}")
        return kept

    def _tombstones(self, chunk: list[_Candidate], erasures: dict[str, list[Node]]) -> list[Node]:
        """A tombstone per batch, at the first free ID (a batch pruned, registered again and
        pruned again keeps both)."""
        wanted = {c.batch.id: tombstone_id(c.batch.id) for c in chunk}
        taken = set(self.store.get_nodes(list(wanted.values())))
        nodes: list[Node] = []
        for c in chunk:
            batch, n = c.batch, 1
            node_id = wanted[batch.id]
            while node_id in taken:
                n += 1
                node_id = tombstone_id(batch.id, n)
                taken |= set(self.store.get_nodes([node_id]))
            props: dict[str, object] = {
                "pruned": batch.id,
                "pruned_kind": batch.kind.value,
                "content_hash": batch.content_hash(),
                "window_start": to_text(batch.valid_from),
                "pruned_at": to_text(self.now),
                "policy": c.retention.describe(),
                "by": self.actor,
            }
            for name in ("window_end", "records_hash", "record_count", "model_version"):
                if name in batch.props:
                    props[name] = batch.props[name]
            if batch.id in erasures:
                props["erasures"] = [e.id for e in erasures[batch.id]]
            nodes.append(Node(node_id, NodeKind.TOMBSTONE, self.now, props))
        return nodes

    def delete_files(self, tick: Progress) -> None:
        """Delete the pruned batches' files no remaining batch refers to."""
        total = len(self.doomed)
        tick("deleting files", 0, total)
        for done, (digest, redacted) in enumerate(self.doomed, start=1):
            if digest in self.referenced:
                self.result.files_shared += 1
            elif _SHA256.fullmatch(digest):
                # After an erasure the original file is already gone: only its redactions.
                for name in redacted or [digest]:
                    if self.records.delete(name):
                        self.result.files_deleted += 1
                    else:
                        self.result.files_missing += 1
            if done % 1_000 == 0 or done == total:
                tick("deleting files", done, total)


def unknown_classes(store: GraphStore, policy: Policy) -> dict[str, list[str]]:
    """Class -> the dataset versions registered with it that ``policy`` does not know (up to
    SAMPLE each): what is derived from them is kept until the configuration names the class."""
    found: dict[str, list[str]] = {}
    for node in iter_all_nodes(store, NodeKind.DATASET_VERSION):
        name = node.props.get("retention_class")
        if isinstance(name, str) and name not in policy.classes:
            listed = found.setdefault(name, [])
            if len(listed) < SAMPLE:
                listed.append(node.id)
    return found


def tombstone_id(node_id: str, n: int = 1) -> str:
    """The ID of the ``n``-th tombstone (from 1) of ``node_id``: ``tombstone:batch-<name>``
    (``-<n>`` after the first), or a hash of the ID where that would be too long."""
    parsed = parse_id(node_id)
    name = f"{parsed.prefix}-{parsed.name}" + (f"--{parsed.version}" if parsed.version else "")
    suffix = f"-{n}" if n > 1 else ""
    if len(name) + len(suffix) > 200:
        name = f"{parsed.prefix}-{hashlib.sha256(node_id.encode()).hexdigest()[:40]}"
    return f"tombstone:{name}{suffix}"


def tombstone_of(store: GraphStore, node_id: str) -> Node | None:
    """The latest tombstone of a pruned node, or None."""
    found: Node | None = None
    n = 1
    while True:
        wanted = tombstone_id(node_id, n)
        node = store.get_nodes([wanted]).get(wanted)
        if node is None:
            return found
        found, n = node, n + 1


def _pages(store: GraphStore) -> Iterator[list[Node]]:
    """Every batch, oldest window first, a page at a time."""
    query = NodeQuery(kind=NodeKind.INFERENCE_BATCH, limit=MAX_PAGE)
    yield from (items for items in node_pages(store, query) if items)


def _edges_of(store: GraphStore, node_id: str) -> Iterator[Edge]:
    for query in (EdgeQuery(src=node_id), EdgeQuery(dst=node_id)):
        while True:
            page = store.find_edges(query)
            yield from page.items
            if page.next_cursor is None:
                break
            query = EdgeQuery(src=query.src, dst=query.dst, after=page.next_cursor)


def _records_hash(batch: Node) -> str:
    return str(batch.props.get("records_hash", ""))


def _count(batch: Node) -> int:
    count = batch.props.get("record_count", 0)
    return count if isinstance(count, int) else 0


def _by_class(chunk: list[_Candidate]) -> dict[str, int]:
    found: dict[str, int] = {}
    for c in chunk:
        found[c.retention.name] = found.get(c.retention.name, 0) + 1
    return found
