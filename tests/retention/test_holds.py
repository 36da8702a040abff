"""Legal holds: placed and lifted with audit, and nothing held, or downstream of what is held,
is pruned while a hold stands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli import app
from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.audit import verify
from lineage.services.record_store import RecordStore
from lineage.services.retention import PruneResult, prune
from lineage.services.retention_classes import Policy
from lineage.services.retention_holds import (
    Protection,
    held_targets,
    lift_hold,
    list_holds,
    place_hold,
)
from lineage.store import open_store
from lineage.store.base import EdgeQuery, GraphStore
from tests.retention.world import (
    ACTOR,
    DAY,
    JOB_ACTOR,
    NOW,
    World,
    build_world,
    register_job_actor,
)

PLACED = NOW - 10 * DAY


def hold(world: World, target: str, name: str | None = None) -> str:
    return place_hold(
        world.store, target, reason="litigation 2025-117", actor=ACTOR, now=PLACED, name=name
    ).hold.id


def run_prune(world: World, policy: Policy) -> PruneResult:
    register_job_actor(world)
    return prune(world.store, world.records, policy, now=NOW, actor=JOB_ACTOR)


def test_placing_a_hold_writes_a_hold_node_and_an_edge_with_audit(
    world: World, store: GraphStore
) -> None:
    done = place_hold(
        store, "model:m", reason="litigation", actor=ACTOR, now=PLACED, name="case_117"
    )
    assert done.created and done.hold.id == "hold:case_117"
    assert done.hold.kind is NodeKind.LEGAL_HOLD and done.hold.valid_from == PLACED
    assert done.hold.props["target"] == "model:m" and done.hold.props["placed_by"] == ACTOR
    (edge,) = store.find_edges(EdgeQuery(src="hold:case_117")).items
    assert (edge.kind, edge.dst, edge.valid_from, edge.valid_to) == (
        EdgeKind.HOLDS,
        "model:m",
        PLACED,
        None,
    )
    event = store.audit_events(after_seq=(done.audit_seq or 0) - 1)[0]
    assert (event.action, event.actor, event.reason) == ("place_legal_hold", ACTOR, "litigation")
    assert verify(store).ok


def test_a_hold_on_a_model_keeps_every_batch_its_versions_scored(
    world: World, policy: Policy
) -> None:
    batch = world.batch("old", "model:m@v1")
    hold(world, "model:m")
    result = run_prune(world, policy)
    assert world.store.get_nodes([batch])
    assert result.kept == {"legal_hold": 1}
    assert "model:m under legal hold hold:" in result.kept_examples["legal_hold"][0]


def test_a_hold_on_another_model_keeps_nothing_of_this_one(world: World, policy: Policy) -> None:
    batch = world.batch("old", "model:m@v1")
    hold(world, "model:c")
    run_prune(world, policy)
    assert not world.store.get_nodes([batch])


def test_a_hold_on_a_dataset_version_keeps_the_batches_downstream_of_it(
    world: World, policy: Policy
) -> None:
    through_snapshot = world.batch("old", "model:m@v1")
    hold(world, "dataset:applications@v1")
    run_prune(world, policy)
    assert world.store.get_nodes([through_snapshot])


def test_a_hold_on_a_batch_keeps_that_batch_alone(world: World, policy: Policy) -> None:
    held = world.batch("held", "model:m@v1")
    free = world.batch("free", "model:m@v1")
    hold(world, held)
    run_prune(world, policy)
    assert world.store.get_nodes([held, free]).keys() == {held}


def test_a_lifted_hold_no_longer_keeps_anything(world: World, policy: Policy) -> None:
    batch = world.batch("old", "model:m@v1")
    hold_id = hold(world, "model:m@v1")
    lifted = lift_hold(world.store, hold_id, reason="case closed", actor=ACTOR, now=NOW - DAY)
    assert lifted.created and lifted.hold.valid_to == NOW - DAY
    assert lifted.hold.props["lift_reason"] == "case closed"
    (edge,) = world.store.find_edges(EdgeQuery(src=hold_id)).items
    assert edge.valid_to == NOW - DAY
    run_prune(world, policy)
    assert not world.store.get_nodes([batch])
    assert verify(world.store).ok


def test_placing_the_same_hold_again_is_a_noop(world: World) -> None:
    first = place_hold(world.store, "model:m", reason="case", actor=ACTOR, now=PLACED)
    again = place_hold(world.store, "model:m", reason="case", actor=ACTOR, now=NOW)
    assert not again.created and again.hold.id == first.hold.id
    assert len(list_holds(world.store)) == 1


def test_a_new_hold_after_a_lift_gets_a_new_id(world: World) -> None:
    first = hold(world, "model:m")
    lift_hold(world.store, first, reason="closed", actor=ACTOR, now=NOW - DAY)
    second = place_hold(world.store, "model:m", reason="reopened", actor=ACTOR, now=NOW).hold.id
    assert second != first
    assert [h.id for h in list_holds(world.store, NOW)] == [second]
    assert len(list_holds(world.store)) == 2


def test_lifting_twice_is_a_noop(world: World) -> None:
    hold_id = hold(world, "model:m")
    lift_hold(world.store, hold_id, reason="closed", actor=ACTOR, now=NOW - DAY)
    again = lift_hold(world.store, hold_id, reason="closed", actor=ACTOR, now=NOW)
    assert not again.created and again.hold.valid_to == NOW - DAY


def test_a_named_hold_on_another_target_is_a_conflict(world: World) -> None:
    hold(world, "model:m", name="case_117")
    with pytest.raises(ConflictError):
        hold(world, "model:c", name="case_117")


def test_a_lifted_named_hold_cannot_be_placed_again(world: World) -> None:
    hold(world, "model:m", name="case_117")
    lift_hold(world.store, "hold:case_117", reason="closed", actor=ACTOR, now=NOW)
    with pytest.raises(ConflictError, match="new name"):
        hold(world, "model:m", name="case_117")


def test_a_hold_on_a_node_that_does_not_exist_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError):
        hold(world, "model:ghost")


def test_a_hold_needs_a_registered_actor_and_a_reason(world: World) -> None:
    with pytest.raises(InvalidError) as caught:
        place_hold(world.store, "model:m", reason="case", actor="person:nobody", now=NOW)
    assert caught.value.field == "actor"
    with pytest.raises(InvalidError) as caught:
        place_hold(world.store, "model:m", reason=" ", actor=ACTOR, now=NOW)
    assert caught.value.field == "reason"


def test_held_targets_are_the_holds_standing_at_an_instant(world: World) -> None:
    hold_id = hold(world, "model:m")
    assert held_targets(world.store, NOW) == {"model:m": [hold_id]}
    assert held_targets(world.store, PLACED - DAY) == {}


def test_protection_sees_a_hold_placed_after_it_was_read(world: World) -> None:
    protection = Protection.read(world.store, NOW)
    assert protection.why(["model:m"]) is None
    hold(world, "model:m")
    assert protection.refresh(world.store)
    why = protection.why(["batch:x", "model:m"])
    assert why is not None and why[0] == "legal_hold"


def test_protection_skips_the_callers_own_events(world: World) -> None:
    protection = Protection.read(world.store, NOW)
    done = place_hold(world.store, "model:m", reason="case", actor=ACTOR, now=PLACED)
    assert not protection.refresh(world.store, own=[done.audit_seq or 0])


def test_a_hold_placed_while_pruning_is_honoured(
    world: World, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hold lands between the run's reading of the protections and its first delete.
    batch = world.batch("old", "model:m@v1")
    register_job_actor(world)
    real_read = Protection.read

    def read_then_hold(store: GraphStore, now: object) -> Protection:
        found = real_read(store, NOW)
        hold(world, "model:m@v1")
        return found

    monkeypatch.setattr(Protection, "read", staticmethod(read_then_hold))
    result = prune(world.store, world.records, policy, now=NOW, actor=JOB_ACTOR)
    assert world.store.get_nodes([batch])
    assert result.kept == {"legal_hold": 1} and result.batches_pruned == 0


def test_the_command_line_places_lists_and_lifts_a_hold(tmp_path: Path, store_uri: str) -> None:
    uri = store_uri
    graph = open_store(uri)
    try:
        build_world(graph, RecordStore(tmp_path / "records"))
    finally:
        graph.close()
    runner = CliRunner()
    placed = runner.invoke(
        app,
        [
            "retention",
            "hold",
            "model:m",
            "--reason",
            "case 117",
            "--name",
            "case_117",
            "--store",
            uri,
        ],
    )
    assert placed.exit_code == 0, placed.output
    assert "placed hold:case_117 on model:m" in placed.output
    listed = runner.invoke(app, ["retention", "holds", "--store", uri])
    assert listed.output.startswith("hold:case_117\tmodel:m\t")
    lifted = runner.invoke(
        app, ["retention", "release", "hold:case_117", "--reason", "closed", "--store", uri]
    )
    assert lifted.exit_code == 0 and "lifted hold:case_117" in lifted.output
    assert runner.invoke(app, ["retention", "holds", "--store", uri]).output == ""
    assert runner.invoke(app, ["verify", "--store", uri]).exit_code == 0
