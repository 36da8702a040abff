"""The investigation context an incident opens with: what changed upstream of what it is
about in the days before, and what depends on it downstream (the blast radius).

Both are the investigators' own questions (:func:`investigation.upstream_changes`,
:func:`investigation.impact`), asked once when the incident opens and summarised into its
properties, bounded: at most :data:`MAX_CHANGES` changes and :data:`MAX_SAMPLE` IDs per kind,
with ``truncated`` saying when a walk's budget or the bound on changes cut something off
(the blast radius counts every node it reached; its per-kind ID lists are samples).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from lineage.errors import NotFoundError
from lineage.model.graph import Direction
from lineage.model.times import to_text
from lineage.services import investigation
from lineage.store.base import GraphStore

LOOKBACK = timedelta(days=14)
MAX_CHANGES = 25
MAX_SAMPLE = 10
BLAST_DEPTH = 3
BLAST_BUDGET = 2_000


def incident_context(store: GraphStore, start: str, detected_at: datetime) -> dict[str, Any]:
    """Upstream changes of ``start`` in the :data:`LOOKBACK` before ``detected_at`` (none after
    it: a historical detection sees what was known then) and its downstream blast radius."""
    return {
        "about": start,
        "upstream_changes": _upstream(store, start, detected_at),
        "blast_radius": _downstream(store, start, detected_at),
    }


def _upstream(store: GraphStore, start: str, detected_at: datetime) -> dict[str, Any]:
    since = detected_at - LOOKBACK
    try:
        answer = investigation.upstream_changes(store, start, since)
    except NotFoundError:
        return {"since": to_text(since), "changes": [], "total": 0, "truncated": False}
    changes = [c for c in answer.changes if c.at <= detected_at]
    return {
        "since": to_text(since),
        "changes": [
            {
                "at": to_text(c.at),
                "what": c.what.value,
                "node": c.node.id,
                "kind": c.node.kind.value,
                "edge": c.edge.kind.value if c.edge else None,
                "to": c.edge.dst if c.edge else None,
                "depth": c.depth,
            }
            for c in changes[:MAX_CHANGES]
        ],
        "total": len(changes),
        "truncated": answer.truncated or len(changes) > MAX_CHANGES,
    }


def _downstream(store: GraphStore, start: str, detected_at: datetime) -> dict[str, Any]:
    try:
        sub = investigation.impact(
            store,
            start,
            Direction.IN,
            max_depth=BLAST_DEPTH,
            as_of=detected_at,
            max_nodes=BLAST_BUDGET,
        )
    except NotFoundError:
        return {"depth": BLAST_DEPTH, "counts": {}, "sample": {}, "truncated": False}
    reached = sorted((n for n in sub.nodes if n.id != start), key=lambda n: (n.kind, n.id))
    counts = Counter(n.kind.value for n in reached)
    sample: dict[str, list[str]] = {}
    for node in reached:
        ids = sample.setdefault(node.kind.value, [])
        if len(ids) < MAX_SAMPLE:
            ids.append(node.id)
    return {
        "depth": BLAST_DEPTH,
        "counts": dict(sorted(counts.items())),
        "sample": sample,
        "truncated": sub.truncated,  # the counts are complete unless the walk was cut
    }
