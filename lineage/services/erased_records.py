"""Reading a batch's decisions through the erasures recorded for it.

An erasure (:mod:`lineage.services.retention_erasure`) never changes a batch: it records an
``Erasure`` node ``erasure:<stem>-<n>`` (the n-th erasure of the batch; the stem is derived from
the batch ID, so a batch's erasures are found in one round trip per rank) naming the redacted
records file that replaces the one before. Readers serve the latest redacted file, and the
questions show a batch's erasures in its properties (``erasures``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from lineage.model.graph import Node
from lineage.services.corrected import CorrectedNode
from lineage.store.base import MAX_PAGE, GraphStore

ERASED_KEY = "erased_sha256"  # the only key of a line that replaced an erased decision
ERASURES = "erasures"  # the property a batch view lists its erasures in
_STEM_HEX = 24


def erasure_id(batch: str, n: int) -> str:
    """The ID of the ``n``-th erasure (from 1) of ``batch``."""
    return f"erasure:{hashlib.sha256(batch.encode()).hexdigest()[:_STEM_HEX]}-{n}"


def erasures_of(
    store: GraphStore, batches: Iterable[str], first: Mapping[str, Node] | None = None
) -> dict[str, list[Node]]:
    """Every erasure of each batch that has one, oldest first (one read per round: the
    first erasures of all, then the second of those that had one, and so on). ``first``: the
    first round, when the caller read those IDs already (what it found among them)."""
    found: dict[str, list[Node]] = {}
    pending = list(dict.fromkeys(batches))
    n = 1
    while pending:
        wanted: dict[str, str] = {}
        for batch in pending:
            wanted[erasure_id(batch, n)] = batch
        got: dict[str, Node] = {}
        ids = list(wanted)
        if n == 1 and first is not None:
            got = {k: v for k, v in first.items() if k in wanted}
            ids = []
        for start in range(0, len(ids), MAX_PAGE):
            got |= store.get_nodes(ids[start : start + MAX_PAGE])
        pending = []
        for node_id, node in got.items():
            found.setdefault(wanted[node_id], []).append(node)
            pending.append(wanted[node_id])
        n += 1
    return found


def served_records_hash(batch: Node, store: GraphStore | None = None) -> str | None:
    """The records file to read for ``batch``: the latest redacted file after an erasure,
    else the one it was registered with. A batch view from :func:`with_erasures` says it
    itself; otherwise the erasures are looked up in ``store`` when one is given."""
    listed = batch.props.get(ERASURES)
    if isinstance(listed, list) and listed:
        return str(listed[-1]["redacted_hash"])
    if store is not None:
        erasures = erasures_of(store, [batch.id]).get(batch.id)
        if erasures:
            return str(erasures[-1].props["redacted_hash"])
    digest = batch.props.get("records_hash")
    return digest if isinstance(digest, str) else None


def with_erasures(
    store: GraphStore, batches: Iterable[Node], first: Mapping[str, Node] | None = None
) -> dict[str, Node]:
    """Views of the batches that had decisions erased, keyed by ID: their properties list the
    erasures (``erasures``: ID, when, how many decisions, the redacted file), so an answer
    says that records were erased and :func:`served_records_hash` reads the redacted file.
    ``first`` as for :func:`erasures_of`."""
    batches = list(batches)
    found = erasures_of(store, [b.id for b in batches], first)
    views: dict[str, Node] = {}
    for batch in batches:
        if batch.id not in found:
            continue
        listed = [
            {
                "id": e.id,
                "erased_at": e.props.get("erased_at"),
                "decisions": len(e.props.get("erased_lines", [])),
                "redacted_hash": e.props.get("redacted_hash"),
            }
            for e in found[batch.id]
        ]
        views[batch.id] = CorrectedNode.of(
            batch, [{ERASURES: listed}], getattr(batch, "corrected_by", ())
        )
    return views


def view_with(batch: Node, erasures: list[Node]) -> Node:
    """``batch`` as read through ``erasures`` (oldest first), for :func:`served_records_hash`."""
    if not erasures:
        return batch
    listed = [{"redacted_hash": e.props.get("redacted_hash")} for e in erasures]
    return CorrectedNode.of(batch, [{ERASURES: listed}], ())
