"""Pruning: expired batches and their records files go, each leaving a tombstone, with an audit
event per chunk; what is still in use or under an open incident stays; ``verify`` passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli import app
from lineage.jobs import retention as job
from lineage.jobs.report import Outcome
from lineage.jobs.retention import RetentionConfig
from lineage.model.graph import NodeKind
from lineage.model.times import to_text
from lineage.services.audit import DELETED, append_event, verify
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.retention import PruneResult, prune, tombstone_id, tombstone_of
from lineage.services.retention_classes import Policy
from lineage.store.base import EdgeQuery, GraphStore, NodeQuery
from tests.retention.world import (
    ACTOR,
    DAY,
    JOB_ACTOR,
    NOW,
    T0,
    World,
    decisions,
    register_job_actor,
    sha,
)

APPLICATIONS = "dataset:applications@v1"


def run_prune(world: World, policy: Policy, chunk: int = 1_000) -> PruneResult:
    """Prune at NOW as the job's agent."""
    register_job_actor(world)
    return prune(world.store, world.records, policy, now=NOW, actor=JOB_ACTOR, chunk=chunk)


def test_expired_batches_are_pruned_with_a_tombstone_each(world: World, policy: Policy) -> None:
    expired = world.batch("old", "model:m@v1")  # standard, window end Feb 2023
    kept = world.batch("regulated", "model:m@v2")  # regulated: seven years
    result = run_prune(world, policy)
    assert world.store.get_nodes([expired, kept]).keys() == {kept}
    tomb = tombstone_of(world.store, expired)
    assert tomb is not None and tomb.id == tombstone_id(expired) == "tombstone:batch-old"
    assert tomb.kind is NodeKind.TOMBSTONE and tomb.valid_from == NOW
    assert tomb.props["pruned"] == expired and tomb.props["pruned_kind"] == "InferenceBatch"
    assert tomb.props["policy"] == {"class": "standard", "years": 2, "days": 0}
    assert tomb.props["pruned_at"] == to_text(NOW) and tomb.props["by"] == JOB_ACTOR
    assert len(tomb.props["content_hash"]) == 64 and tomb.props["record_count"] == 3
    assert (result.batches_pruned, result.records_pruned, result.tombstones) == (1, 3, 1)


def test_the_tombstone_keeps_the_hash_the_audit_chain_certified(
    world: World, policy: Policy
) -> None:
    batch = world.batch("old", "model:m@v1")
    certified = world.store.get_nodes([batch])[batch].content_hash()
    run_prune(world, policy)
    tomb = tombstone_of(world.store, batch)
    assert tomb is not None and tomb.props["content_hash"] == certified


def test_a_batch_is_kept_until_its_period_has_passed(world: World, policy: Policy) -> None:
    # Window end 2023-09-02 + 2 years = 2025-09-02: still one day to go at NOW (2025-09-01).
    batch = world.batch("recent", "model:m@v1", T0 + 243 * DAY)
    run_prune(world, policy)
    assert world.store.get_nodes([batch])


def test_pruning_deletes_the_records_files(world: World, policy: Policy) -> None:
    batch = world.batch("old", "model:m@v1")
    digest = world.store.get_nodes([batch])[batch].props["records_hash"]
    assert world.records.exists(digest)
    result = run_prune(world, policy)
    assert not world.records.exists(digest)
    assert result.files_deleted == 1


def test_a_records_file_another_batch_still_uses_is_kept(world: World, policy: Policy) -> None:
    rows = decisions("same")
    old = world.batch("old", "model:m@v1", rows=rows)
    young = world.batch("young", "model:m@v1", NOW - 30 * DAY, rows=rows)
    digest = world.store.get_nodes([young])[young].props["records_hash"]
    result = run_prune(world, policy)
    assert not world.store.get_nodes([old]) and world.records.exists(digest)
    assert result.files_shared == 1


def test_verify_passes_after_pruning(world: World, policy: Policy) -> None:
    for i in range(5):
        world.batch(f"old{i}", "model:m@v1", T0 + (30 + i) * DAY)
    run_prune(world, policy, chunk=2)
    report = verify(world.store)
    assert report.ok, report.problem


def test_each_chunk_is_one_audit_event_recording_what_it_deleted(
    world: World, policy: Policy, store: GraphStore
) -> None:
    batches = [world.batch(f"old{i}", "model:m@v1", T0 + (30 + i) * DAY) for i in range(3)]
    edges = {b: [e.key for e in store.find_edges(EdgeQuery(src=b)).items] for b in batches}
    result = run_prune(world, policy, chunk=2)
    assert len(result.audit_seqs) == 2
    events = store.audit_events(after_seq=result.audit_seqs[0] - 1)
    first, second = events[0], events[1]
    assert first.action == second.action == "retention_prune"
    assert first.actor == JOB_ACTOR and first.at == NOW
    for batch in batches[:2]:
        assert first.subjects[f"node:{batch}"] == DELETED
        for key in edges[batch]:
            assert first.subjects[f"edge:{key}"] == DELETED
        assert first.subjects[f"node:{tombstone_id(batch)}"] != DELETED
    assert second.subjects[f"node:{batches[2]}"] == DELETED
    assert first.payload == {
        "batches": 2,
        "records": 6,
        "classes": {"standard": 2},
        "policy": {
            "regulated": {"class": "regulated", "days": 0, "years": 7},
            "standard": {"class": "standard", "days": 0, "years": 2},
        },
    }


def test_a_dry_run_lists_what_would_go_and_writes_nothing(
    world: World, policy: Policy, store: GraphStore
) -> None:
    old = world.batch("old", "model:m@v1")
    register_job_actor(world)
    head = store.audit_head()
    result = prune(world.store, world.records, policy, now=NOW, actor=JOB_ACTOR, dry_run=True)
    assert result.pruned == [old] and result.batches_pruned == 1
    assert result.by_class == {"standard": 1}
    assert store.audit_head() == head and store.get_nodes([old])
    digest = store.get_nodes([old])[old].props["records_hash"]
    assert world.records.exists(digest)


def test_pruning_again_finds_nothing_more(world: World, policy: Policy) -> None:
    world.batch("old", "model:m@v1")
    run_prune(world, policy)
    again = run_prune(world, policy)
    assert again.batches_pruned == 0 and again.audit_seqs == []


def test_a_batch_pruned_registered_again_and_pruned_again_keeps_both_tombstones(
    world: World, policy: Policy
) -> None:
    rows = decisions("again")
    batch = world.batch("old", "model:m@v1", rows=rows)
    run_prune(world, policy)
    world.batch("old", "model:m@v1", rows=decisions("again2"))
    run_prune(world, policy)
    latest = tombstone_of(world.store, batch)
    assert latest is not None and latest.id == tombstone_id(batch, 2)
    assert world.store.get_nodes([tombstone_id(batch)])
    assert verify(world.store).ok


def test_model_versions_and_their_training_chain_are_never_pruned(
    world: World, policy: Policy, store: GraphStore
) -> None:
    world.batch("old", "model:m@v1")
    run_prune(world, policy)
    kept = ["model:m@v1", "run:m_v1", "snapshot:std", "dataset:applications@v1", "model:m"]
    assert store.get_nodes(kept).keys() == set(kept)


def test_a_version_in_a_deployments_slots_keeps_its_batches(
    world: World, policy: Policy, store: GraphStore, records: RecordStore
) -> None:
    admin = Registry(store, records, actor=ACTOR)
    admin.backfill_deploy(
        {
            "deployment": "deployment:m_prod",
            "model_version": "model:m@v1",
            "at": to_text(T0 + 10 * DAY),
            "reason": "first release",
        }
    )
    batch = world.batch("served", "model:m@v1", deployment="deployment:m_prod")
    result = run_prune(world, policy)
    assert store.get_nodes([batch])
    assert result.kept == {"in_use": 1}
    assert "deployment:m_prod" in result.kept_examples["in_use"][0]


def test_a_version_out_of_every_slot_no_longer_keeps_its_batches(
    world: World, policy: Policy, store: GraphStore, records: RecordStore
) -> None:
    admin = Registry(store, records, actor=ACTOR)
    for i, version in enumerate(["model:m@v1", "model:m@v2", "model:m@v3"]):
        admin.backfill_deploy(
            {
                "deployment": "deployment:m_prod",
                "model_version": version,
                "at": to_text(T0 + (10 + 20 * i) * DAY),
                "reason": "release",
            }
        )
    # v1 is the backup now; a fourth release pushes it out of the slots.
    batch = world.batch("served", "model:m@v1", T0 + 12 * DAY, deployment="deployment:m_prod")
    assert run_prune(world, policy).kept == {"in_use": 1}
    world.registry.register_training_run(
        {
            "id": "run:m_v4",
            "model_version": "model:m@v4",
            "snapshot": "snapshot:std",
            "datasets": [{"id": "dataset:applications@v1", "content_hash": sha(APPLICATIONS)}],
            "code_commit": "abc123def456",
            "records_available": 10,
            "records_used": 8,
            "triggered_by": ACTOR,
            "reason": "test",
            "started_at": to_text(T0 + 60 * DAY),
            "ended_at": to_text(T0 + 61 * DAY),
        }
    )
    admin.backfill_deploy(
        {
            "deployment": "deployment:m_prod",
            "model_version": "model:m@v4",
            "at": to_text(T0 + 70 * DAY),
            "reason": "release",
        }
    )
    run_prune(world, policy)
    assert not store.get_nodes([batch])


def test_an_open_incident_keeps_what_it_affected(
    world: World, policy: Policy, store: GraphStore
) -> None:
    on_batch = world.batch("affected", "model:m@v1", T0 + 30 * DAY)
    on_version = world.batch("by_version", "model:m@v1", T0 + 31 * DAY)
    world.registry.register_incident(
        {
            "id": "incident:one",
            "title": "approval rate fell",
            "severity": "SEV2",
            "opened_at": to_text(T0 + 40 * DAY),
            "affected": [on_batch],
        }
    )
    result = run_prune(world, policy)
    assert store.get_nodes([on_batch]) and not store.get_nodes([on_version])
    assert result.kept == {"open_incident": 1}
    assert "incident:one" in result.kept_examples["open_incident"][0]


def test_an_incident_on_a_model_version_keeps_all_its_batches(
    world: World, policy: Policy, store: GraphStore
) -> None:
    batch = world.batch("affected", "model:m@v1")
    world.registry.register_incident(
        {
            "id": "incident:v1",
            "title": "drift",
            "severity": "SEV3",
            "opened_at": to_text(T0 + 40 * DAY),
            "affected": ["model:m@v1"],
        }
    )
    run_prune(world, policy)
    assert store.get_nodes([batch])


def test_a_resolved_incident_no_longer_keeps_anything(
    world: World, policy: Policy, store: GraphStore
) -> None:
    batch = world.batch("affected", "model:m@v1")
    world.registry.register_incident(
        {
            "id": "incident:old",
            "title": "drift",
            "severity": "SEV3",
            "opened_at": to_text(T0 + 40 * DAY),
            "affected": [batch],
        }
    )
    incident = store.get_nodes(["incident:old"])["incident:old"]
    resolved = type(incident)(
        incident.id, incident.kind, incident.valid_from, incident.props | {"status": "resolved"}
    )
    with store.transaction():
        store.upsert_nodes([resolved])
        append_event(store, actor=ACTOR, action="resolve", reason="test", nodes=[resolved])
    run_prune(world, policy)
    assert not store.get_nodes([batch])
    assert verify(store).ok


def test_an_unknown_class_keeps_the_batch_and_is_reported(
    world: World, store: GraphStore, config: RetentionConfig
) -> None:
    batch = world.batch("old", "model:m@v1")
    # A short class makes the batch old enough to judge; "standard" is not configured.
    data = config.model_dump() | {"classes": {"regulated": {"years": 7}, "short": {"days": 1}}}
    result = run_prune(world, RetentionConfig.model_validate(data).policy())
    assert store.get_nodes([batch])
    assert result.unknown_classes == {"standard": ["dataset:applications@v1"]}
    assert result.kept == {"unknown_class": 1}
    assert "standard" in result.kept_examples["unknown_class"][0]


# -- the job ----------------------------------------------------------------------------------


def test_the_job_reports_what_it_pruned(world: World, config: RetentionConfig) -> None:
    world.batch("old", "model:m@v1")
    world.batch("regulated", "model:m@v2")
    report = job.run(world.store, world.records, NOW, config)
    assert report.outcome is Outcome.OK, report.messages
    assert report.counts["batches_pruned"] == 1 and report.counts["records_pruned"] == 3
    assert report.counts["batches_scanned"] == 2
    assert report.details["batches"] == ["batch:old"]
    assert (
        report.messages[0] == "pruned 1 inference batches (3 decisions) past retention: 1 standard"
    )
    assert verify(world.store).ok


def test_the_job_registers_its_own_agent(world: World, config: RetentionConfig) -> None:
    job.run(world.store, world.records, NOW, config)
    assert world.store.get_nodes([JOB_ACTOR])


def test_the_job_dry_run_reports_and_writes_nothing(world: World, config: RetentionConfig) -> None:
    world.batch("old", "model:m@v1")
    head = world.store.audit_head()
    report = job.run(world.store, world.records, NOW, config.model_copy(update={"dry_run": True}))
    assert report.outcome is Outcome.OK
    assert report.messages[0].startswith("dry run: would prune 1 inference batches")
    assert report.details["batches"] == ["batch:old"] and report.details["dry_run"] is True
    assert world.store.audit_head() == head


def test_the_job_never_raises(world: World, config: RetentionConfig) -> None:
    world.store.close()
    report = job.run(world.store, world.records, NOW, config)
    assert report.outcome is Outcome.FAILED and report.messages


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_world(tmp_path: Path, store_uri: str) -> tuple[str, Path]:
    """A store (each backend) with one expired batch, for the command line."""
    from lineage.store import open_store
    from tests.retention.world import build_world

    uri = store_uri
    graph = open_store(uri)
    try:
        build_world(graph, RecordStore(tmp_path / "records")).batch("old", "model:m@v1")
    finally:
        graph.close()
    return uri, tmp_path / "records"


def test_the_command_line_dry_run_lists_the_batches(cli_world: tuple[str, Path]) -> None:
    uri, records = cli_world
    runner = CliRunner()
    common = ["--store", uri, "--records-dir", str(records), "--now", to_text(NOW)]
    dry = runner.invoke(app, ["retention", "prune", "--dry-run", *common])
    assert dry.exit_code == 0, dry.output
    assert "would prune 1 inference batches" in dry.output and "batch:old" in dry.output
    done = runner.invoke(app, ["retention", "prune", *common])
    assert done.exit_code == 0, done.output
    assert "pruned 1 inference batches" in done.output
    checked = runner.invoke(app, ["verify", "--store", uri])
    assert checked.exit_code == 0, checked.output


def test_the_command_line_refuses_a_malformed_configuration(
    cli_world: tuple[str, Path], tmp_path: Path
) -> None:
    uri, _records = cli_world
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "retention.toml").write_text("[classes.standard]\nyears = -1\n")
    result = CliRunner().invoke(
        app, ["retention", "prune", "--store", uri, "--jobs-dir", str(tmp_path / "jobs")]
    )
    assert result.exit_code == 2
    assert "retention.toml:2: classes.standard.years" in result.output.replace("\n", "")


def test_nodes_query_of_tombstones_finds_what_was_pruned(world: World, policy: Policy) -> None:
    world.batch("old", "model:m@v1")
    run_prune(world, policy)
    page = world.store.find_nodes(NodeQuery(kind=NodeKind.TOMBSTONE, props={"pruned": "batch:old"}))
    assert [n.id for n in page.items] == ["tombstone:batch-old"]
