"""Bulk loading: the batch path for backfills and large imports.

Registration services write one record per transaction. A backfill of a year of inference batches
or an import from another catalogue needs throughput instead, without giving up the rules: nodes
already registered must be identical (else CONFLICT, nothing of that batch written), every batch
is one transaction with one audit event that certifies each node and edge it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from lineage.errors import ConflictError
from lineage.model.graph import Edge, Node
from lineage.model.times import utcnow
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.store.base import GraphStore

DEFAULT_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class LoadReport:
    """How many nodes and edges a load wrote, skipped as already present, and in how many events."""

    nodes_written: int
    nodes_skipped: int
    edges_written: int
    events: int


def _chunks(items: Iterable[Node | Edge], size: int) -> Iterator[list[Node | Edge]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def load(
    store: GraphStore,
    items: Iterable[Node | Edge],
    *,
    actor: str,
    reason: str,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Write nodes and edges in batches; each batch is atomic and audited.

    Within a batch, nodes are written before edges, so an edge may refer to a node of the same
    batch or of an earlier one; an edge whose end exists nowhere fails its batch as NOT_FOUND.
    ``actor`` must be a registered, current agent (INVALID, nothing written, otherwise): checked
    once, in the first batch's transaction, since a load is one write split for throughput.
    """
    written = skipped = edges_written = events = 0
    for chunk in _chunks(items, batch_size):
        nodes = [i for i in chunk if isinstance(i, Node)]
        edges = [i for i in chunk if isinstance(i, Edge)]
        with store.transaction():
            if events == 0:
                require_agent(store, actor, utcnow())
            new = _new_nodes(store, nodes)
            store.upsert_nodes(new)
            store.upsert_edges(edges)
            append_event(
                store,
                actor=actor,
                action="bulk_load",
                reason=reason,
                nodes=new,
                edges=edges,
                payload={"nodes": len(new), "edges": len(edges)},
            )
        written += len(new)
        skipped += len(nodes) - len(new)
        edges_written += len(edges)
        events += 1
        if progress is not None:
            progress(len(chunk))
    return LoadReport(written, skipped, edges_written, events)


def _new_nodes(store: GraphStore, nodes: Sequence[Node]) -> list[Node]:
    """The nodes not yet stored; CONFLICT if a stored one differs from what is being loaded."""
    existing = store.get_nodes([n.id for n in nodes])
    new: dict[str, Node] = {}
    for node in nodes:
        old = existing.get(node.id) or new.get(node.id)
        if old is None:
            new[node.id] = node
        elif old.content_hash() != node.content_hash():
            raise ConflictError(
                f"{node.id} is already registered with record hash {old.content_hash()}; the load "
                f"has {node.content_hash()}. Registered provenance is immutable",
                field="nodes",
                details={
                    "id": node.id,
                    "registered_hash": old.content_hash(),
                    "given_hash": node.content_hash(),
                },
            )
    return list(new.values())
