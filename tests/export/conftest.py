"""Fixtures of the evidence export tests: the reference scenario on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.store import GraphStore

V12 = "model:lending_approval@v12"


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """The record store of the scenario."""
    return RecordStore(tmp_path / "records")


@pytest.fixture
def scenario(store: GraphStore, records: RecordStore) -> GraphStore:
    """The store (every backend) with the reference scenario loaded."""
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    return store
