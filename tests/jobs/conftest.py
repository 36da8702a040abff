"""Fixtures for the scheduled jobs' tests: the reference scenario in a fresh store of every
backend (the parametrised ``store`` of tests/conftest.py), the scheduler's agent registered, and
a jobs folder written per test.

Nothing here sleeps: jobs are given their instant, leases a clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.jobs.runs import register_scheduler_agent
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
def jobs_store(store: GraphStore, records: RecordStore) -> GraphStore:
    """An empty store (every backend) with the scheduler's agent registered."""
    register_scheduler_agent(store, records)
    return store


@pytest.fixture
def lending_store(jobs_store: GraphStore, records: RecordStore) -> GraphStore:
    """The reference scenario, governed, as ``lineage demo`` loads it: after the rollback of
    Jan 25 the production deployment serves v12, with v11 its warm standby (v13 left the
    slots when it was rolled back)."""
    load_scenario(Registry(jobs_store, records, actor=DEMO_ACTOR))
    return jobs_store
