"""Fixtures for the governance tests: the reference scenario, scoped and governed, in a fresh
store of every backend.

The ``store`` fixture is the parametrised one of ``tests/conftest.py`` (not overridden here), so
these tests run on SQLite always and on Neo4j whenever the contract suite does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.services.governance.scenario_steps import load_governance
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.store import GraphStore
from tests.governance.lending import ScopedScenario


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """An empty record store in the test's directory."""
    return RecordStore(tmp_path / "records")


@pytest.fixture
def unscoped_store(store: GraphStore, records: RecordStore) -> GraphStore:
    """The reference scenario as bare history: the model is unscoped, deployments backfilled."""
    load_scenario(Registry(store, records, actor=DEMO_ACTOR), governed=False)
    return store


@pytest.fixture
def scoped_store(store: GraphStore, records: RecordStore) -> GraphStore:
    """The reference scenario with its model scoped, but no audit, gate or sign-off yet (its
    deployments backfilled)."""
    load_scenario(ScopedScenario(store, records, actor=DEMO_ACTOR), governed=False)
    return store


@pytest.fixture
def governed_store(scoped_store: GraphStore, records: RecordStore) -> GraphStore:
    """The scoped scenario with its governance steps: audits, gate results, sign-offs."""
    load_governance(scoped_store, records, DEMO_ACTOR)
    return scoped_store


@pytest.fixture
def registry(store: GraphStore, records: RecordStore) -> Registry:
    """Registration as the scenario's loader (use after a scenario fixture)."""
    return Registry(store, records, actor=DEMO_ACTOR)
