"""Fixtures for the integrity tests: the reference scenario in a fresh store of every backend.

The ``store`` fixture is the parametrised one of ``tests/conftest.py`` (not overridden here), so
these tests run on SQLite always and on Neo4j whenever the contract suite does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.store import GraphStore

INFERENCE = "pipeline:lending_inference"  # a scenario agent that registers batches


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """An empty record store in the test's directory."""
    return RecordStore(tmp_path / "records")


@pytest.fixture
def scenario_store(store: GraphStore, records: RecordStore) -> GraphStore:
    """The store with the reference scenario loaded."""
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    return store


@pytest.fixture
def registry(scenario_store: GraphStore, records: RecordStore) -> Registry:
    """Registration as the scenario's inference pipeline, a registered agent."""
    return Registry(scenario_store, records, actor=INFERENCE)
