"""The batch API: audited, immutable, all-or-nothing per batch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineage.errors import ConflictError, NotFoundError
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.services.audit import verify
from lineage.services.bulk import load
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store import GraphStore

T0 = datetime(2024, 1, 10, tzinfo=UTC)
IMPORTER = "pipeline:import"


@pytest.fixture(autouse=True)
def importer(store: GraphStore, records: RecordStore) -> None:
    """The loads' actor, a registered agent (it registers itself)."""
    Registry(store, records, actor=IMPORTER).register_pipeline({"id": IMPORTER, "name": "Import"})


def people(n: int, name: str = "P") -> list[Node | Edge]:
    return [Node(f"person:p{i}", NodeKind.PERSON, T0, {"name": f"{name}{i}"}) for i in range(n)]


def test_load_writes_in_audited_batches(store: GraphStore) -> None:
    items = people(25) + [
        Edge(f"person:p{i}", EdgeKind.ACTED_ON_BEHALF_OF, "person:p0") for i in range(1, 25)
    ]
    ticks: list[int] = []
    report = load(
        store,
        items,
        actor=IMPORTER,
        reason="backfill",
        batch_size=10,
        progress=ticks.append,
    )
    assert (report.nodes_written, report.edges_written, report.events) == (25, 24, 5)
    assert sum(ticks) == 49
    assert verify(store).ok


def test_loading_the_same_nodes_again_skips_them(store: GraphStore) -> None:
    load(store, people(5), actor=IMPORTER, reason="first")
    report = load(store, people(5), actor=IMPORTER, reason="again")
    assert (report.nodes_written, report.nodes_skipped) == (0, 5)


def test_a_changed_node_fails_its_batch_and_writes_none_of_it(store: GraphStore) -> None:
    load(store, people(2), actor=IMPORTER, reason="first")
    head = store.audit_head()
    items = [Node("person:new", NodeKind.PERSON, T0), *people(2, name="Changed")]
    with pytest.raises(ConflictError) as info:
        load(store, items, actor=IMPORTER, reason="second")
    assert info.value.details["id"] == "person:p0"
    assert store.get_nodes(["person:new"]) == {}
    assert store.audit_head() == head


def test_duplicate_ids_that_differ_within_a_load_conflict(store: GraphStore) -> None:
    items = people(1) + people(1, name="Other")
    with pytest.raises(ConflictError):
        load(store, items, actor=IMPORTER, reason="x")


def test_edge_to_nowhere_fails_the_batch(store: GraphStore) -> None:
    items = [*people(1), Edge("person:p0", EdgeKind.ACTED_ON_BEHALF_OF, "person:nobody")]
    with pytest.raises(NotFoundError):
        load(store, items, actor=IMPORTER, reason="x")
    assert store.get_nodes(["person:p0"]) == {}
