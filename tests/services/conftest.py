"""Fixtures for the investigation tests: the reference scenario in a fresh store of every backend.

``store`` here is the lending scenario (DESIGN.md section 8) loaded into the parametrised empty
store of tests/conftest.py (``empty_store``: SQLite always, Neo4j whenever the contract suite
runs on it), so every question is asked of both backends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.store import GraphStore


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """An empty record store in the test's directory."""
    return RecordStore(tmp_path / "records")


@pytest.fixture
def registry(empty_store: GraphStore, records: RecordStore) -> Registry:
    """Registration on behalf of the demo loader, for tests that add to the scenario."""
    return Registry(empty_store, records, actor=DEMO_ACTOR)


@pytest.fixture
def store(registry: Registry) -> GraphStore:
    """The store with the lending scenario (DESIGN.md section 8) loaded."""
    load_scenario(registry)
    return registry.store
