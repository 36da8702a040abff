"""What a bundle covers for each kind of root, and evidence the chain does not certify is
never handed out."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lineage.errors import ConflictError
from lineage.services.export import ExportRequest, Window, export_bundle, verify_bundle
from lineage.services.export.scope import collect_scope
from lineage.services.record_store import RecordStore
from lineage.services.scenario import DEMO_ACTOR
from lineage.store import GraphStore

AT = datetime(2024, 2, 1, tzinfo=UTC)
PROD = "deployment:lending_approval_production"


def test_a_deployment_covers_every_version_it_held_and_only_its_batches(
    scenario: GraphStore,
) -> None:
    scope = collect_scope(scenario, PROD, Window(), AT)
    assert scope.versions == [f"model:lending_approval@v{n}" for n in (10, 11, 12, 13)]
    assert scope.deployments == [PROD]
    assert len(scope.batches) == 7 and all(b.props["deployment"] == PROD for b in scope.batches)
    assert "incident:lending_approval_2024_01_25" in scope.nodes
    assert not scope.truncated


def test_a_model_covers_all_its_versions_with_their_provenance(scenario: GraphStore) -> None:
    scope = collect_scope(scenario, "model:lending_approval", Window(), AT)
    assert "model:lending_approval@v12-rc1" in scope.versions
    assert "run:lending_approval_v13" in scope.nodes
    assert "dataset:applications@v1" in scope.nodes or "dataset:applications@v2" in scope.nodes
    assert set(scope.readiness) == set(scope.versions)


def test_the_window_keeps_the_batches_that_meet_it(scenario: GraphStore) -> None:
    window = Window(datetime(2024, 1, 25, 10, tzinfo=UTC), datetime(2024, 1, 25, 12, tzinfo=UTC))
    scope = collect_scope(scenario, PROD, window, AT)
    assert [b.id for b in scope.batches] == [
        "batch:lending_approval_2024_01_25_1000",
        "batch:lending_approval_2024_01_25_1130",
        "batch:lending_approval_2024_01_25_1147",
    ]


@pytest.mark.sqlite_only("edits the SQLite file behind the store with sqlite3")
def test_a_node_altered_behind_the_service_is_not_handed_out(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    with sqlite3.connect(scenario.uri.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "UPDATE nodes SET props = json_set(props, '$.record_count', 1) "
            "WHERE id = 'dataset:applications@v2'"
        )
    head = scenario.audit_head()
    with pytest.raises(ConflictError) as refused:
        export_bundle(
            scenario,
            records,
            ExportRequest("model:lending_approval@v12"),
            tmp_path / "out",
            actor=DEMO_ACTOR,
        )
    assert "node:dataset:applications@v2" in refused.value.message
    assert scenario.audit_head() == head and not (tmp_path / "out").exists()


def test_a_deployment_bundle_verifies(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    out = tmp_path / "prod.zip"
    export_bundle(scenario, records, ExportRequest(PROD), out, actor=DEMO_ACTOR, generated_at=AT)
    assert verify_bundle(out).ok
