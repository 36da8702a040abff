"""Fixtures for the retention tests: the graph of ``tests/retention/world.py`` on every backend
(the ``store`` fixture of tests/conftest.py), a record store, and the shipped policy. Clocks are
passed in: ``NOW`` and instants around it, never the wall clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage.jobs.retention import RetentionConfig, load_config
from lineage.services.record_store import RecordStore
from lineage.services.retention_classes import Policy
from lineage.store.base import GraphStore
from tests.retention.world import REPO, World, build_world


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """An empty record store in the test's directory."""
    return RecordStore(tmp_path / "records")


@pytest.fixture
def world(store: GraphStore, records: RecordStore) -> World:
    """The graph of the module docstring on each backend (no batches yet)."""
    return build_world(store, records)


@pytest.fixture
def config() -> RetentionConfig:
    """The shipped configuration (regulated 7 years, standard 2, default regulated)."""
    return load_config(REPO / "jobs")


@pytest.fixture
def policy(config: RetentionConfig) -> Policy:
    """The shipped policy."""
    return config.policy()
