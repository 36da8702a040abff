"""Fixtures for the service tests: a fresh embedded store and record store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.store import GraphStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    graph = open_store(f"sqlite:///{tmp_path}/unit.db")
    yield graph
    graph.close()


@pytest.fixture
def records(tmp_path: Path) -> RecordStore:
    return RecordStore(tmp_path / "records")


UNIT_ACTOR = "pipeline:unit_tests"


@pytest.fixture
def registry(store: GraphStore, records: RecordStore) -> Registry:
    """Registration as a pipeline agent that registered itself (audit event 1)."""
    registry = Registry(store, records, actor=UNIT_ACTOR)
    registry.register_pipeline({"id": UNIT_ACTOR, "name": "Unit tests"})
    return registry
