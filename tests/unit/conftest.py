"""Fixtures for the service tests: a record store and a registering agent per test.

``store`` is the parametrised empty store of tests/conftest.py (SQLite always, Neo4j whenever
the contract suite runs on it); tests that edit the SQLite file behind the store are marked
``sqlite_only``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store import GraphStore


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """An empty record store in the test's directory."""
    return RecordStore(tmp_path / "records")


UNIT_ACTOR = "pipeline:unit_tests"


@pytest.fixture
def registry(store: GraphStore, records: RecordStore) -> Registry:
    """Registration as a pipeline agent that registered itself (audit event 1)."""
    registry = Registry(store, records, actor=UNIT_ACTOR)
    registry.register_pipeline({"id": UNIT_ACTOR, "name": "Unit tests"})
    return registry
