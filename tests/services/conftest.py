"""Fixtures for the investigation tests: the reference scenario in a fresh embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, load_scenario
from lineage.store import GraphStore, open_store


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """An empty record store in the test's directory."""
    return RecordStore(tmp_path / "records")


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh SQLite store, closed after the test."""
    graph = open_store(f"sqlite:///{tmp_path}/investigation.db")
    try:
        yield graph
    finally:
        graph.close()


@pytest.fixture
def registry(empty_store: GraphStore, records: RecordStore) -> Registry:
    """Registration on behalf of the demo loader, for tests that add to the scenario."""
    return Registry(empty_store, records, actor=DEMO_ACTOR)


@pytest.fixture
def store(registry: Registry) -> GraphStore:
    """The store with the lending scenario (DESIGN.md section 8) loaded."""
    load_scenario(registry)
    return registry.store
