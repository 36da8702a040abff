"""Fixtures for the monitors and incidents tests: the parametrised ``store`` (SQLite always,
Neo4j when configured; from tests/conftest.py), the reference scenario loaded on it with the
monitors running, and the shipped monitors configuration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lineage.jobs.monitors import MonitorsConfig, load_config
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.store import GraphStore

JOBS = Path(__file__).resolve().parents[2] / "jobs"
INCIDENT = "incident:lending_approval_2024_01_25"


def t(text: str) -> datetime:
    """An instant of the scenario, written without its zone."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="session")
def config() -> MonitorsConfig:
    """The shipped jobs/monitors.toml and its playbooks."""
    return load_config(JOBS)


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    """An empty record store in the test's directory."""
    return RecordStore(tmp_path / "records")


@pytest.fixture
def registry(store: GraphStore, records: RecordStore) -> Registry:
    """Registration as the demo loader."""
    return Registry(store, records, actor=DEMO_ACTOR)


@pytest.fixture
def scenario(registry: Registry, config: MonitorsConfig) -> GraphStore:
    """The lending story, loaded with the monitors judging each batch as it lands."""
    from lineage.jobs.monitors import registration_hook

    load_scenario(registry, monitors=registration_hook(config))
    return registry.store
