"""Every write is made by a registered, current agent; an agent may register itself first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lineage import cli
from lineage.errors import InvalidError
from lineage.model.graph import Node, NodeKind
from lineage.services.bulk import load
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, DEPLOYMENT, MODEL
from lineage.services.tokens import create_token, revoke_token
from lineage.store import GraphStore, open_store

T0 = datetime(2024, 1, 26, tzinfo=UTC)
STRANGER = "pipeline:never_registered"
DATASET = {
    "id": "dataset:applications@v3",
    "content_hash": "3" * 64,
    "record_count": 520_000,
    "created_at": T0,
}


def head_seq(store: GraphStore) -> int:
    head = store.audit_head()
    return head.seq if head else 0


WRITES: dict[str, Callable[[Registry], object]] = {
    "dataset version": lambda r: r.register_dataset_version(DATASET),
    "another agent": lambda r: r.register_person({"id": "person:new_analyst", "name": "Analyst"}),
    "deployment": lambda r: r.backfill_deploy(
        {"deployment": DEPLOYMENT, "model_version": f"{MODEL}@v11", "at": T0, "reason": "x"}
    ),
    "role change": lambda r: r.assign_role(MODEL, "owner", "person:credit_ml_lead", T0, "x"),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_a_write_by_an_unregistered_actor_is_refused_naming_the_actor(
    scenario_store: GraphStore, records: RecordStore, write: Callable[[Registry], object]
) -> None:
    before = head_seq(scenario_store)
    with pytest.raises(InvalidError) as info:
        write(Registry(scenario_store, records, actor=STRANGER))
    assert info.value.field == "actor"
    assert f"{STRANGER} is not a registered agent" in info.value.message
    assert head_seq(scenario_store) == before
    assert scenario_store.get_nodes([DATASET["id"], "person:new_analyst", STRANGER]) == {}


def test_an_actor_that_is_not_a_person_or_pipeline_is_refused(
    scenario_store: GraphStore, records: RecordStore
) -> None:
    with pytest.raises(InvalidError) as info:
        Registry(scenario_store, records, actor=MODEL).register_dataset_version(DATASET)
    assert info.value.field == "actor"
    assert "is a Model, not a person or pipeline" in info.value.message


def test_an_agent_that_has_left_can_no_longer_write(
    scenario_store: GraphStore, records: RecordStore
) -> None:
    left = datetime(2024, 2, 1, tzinfo=UTC)
    former = Node("person:former_engineer", NodeKind.PERSON, T0, {"name": "Former"}, left)
    load(scenario_store, [former], actor=DEMO_ACTOR, reason="a person who has left")
    with pytest.raises(InvalidError) as info:
        Registry(scenario_store, records, actor=former.id).register_dataset_version(DATASET)
    assert info.value.field == "actor"
    assert "left at 2024-02-01T00:00:00Z" in info.value.message


def test_an_agent_may_register_itself_and_then_write(
    scenario_store: GraphStore, records: RecordStore
) -> None:
    feed = "pipeline:applications_feed"
    registry = Registry(scenario_store, records, actor=feed)
    first = registry.register_pipeline({"id": feed, "name": "Applications feed"})
    assert first.created and first.node.kind is NodeKind.PIPELINE
    assert not registry.register_pipeline({"id": feed, "name": "Applications feed"}).created
    assert registry.register_dataset_version(DATASET).created
    head = scenario_store.audit_head()
    assert head is not None and head.actor == feed


def test_an_unregistered_actor_cannot_register_another_agent_in_its_own_name(
    scenario_store: GraphStore, records: RecordStore
) -> None:
    with pytest.raises(InvalidError) as info:
        Registry(scenario_store, records, actor=STRANGER).register_pipeline(
            {"id": "pipeline:other", "name": "Other"}
        )
    assert info.value.field == "actor"


def test_tokens_need_a_registered_actor(scenario_store: GraphStore) -> None:
    before = head_seq(scenario_store)
    with pytest.raises(InvalidError) as created:
        create_token(scenario_store, "person:oncall_ml_engineer", ["reader"], actor=STRANGER)
    assert created.value.field == "actor"
    issued = create_token(scenario_store, "person:oncall_ml_engineer", ["reader"], actor=DEMO_ACTOR)
    with pytest.raises(InvalidError) as revoked:
        revoke_token(scenario_store, issued.token, actor=STRANGER)
    assert revoked.value.field == "actor"
    assert head_seq(scenario_store) == before + 1  # only the token the demo loader made
    assert scenario_store.get_nodes([issued.credential.id])[issued.credential.id].valid_to is None


def test_a_bulk_load_needs_a_registered_actor_and_writes_nothing_otherwise(
    scenario_store: GraphStore,
) -> None:
    before = head_seq(scenario_store)
    items: list[Any] = [Node(f"person:imported_{i}", NodeKind.PERSON, T0) for i in range(3)]
    with pytest.raises(InvalidError) as info:
        load(scenario_store, items, actor=STRANGER, reason="import", batch_size=2)
    assert info.value.field == "actor"
    assert head_seq(scenario_store) == before
    assert scenario_store.get_nodes([n.id for n in items]) == {}


def test_the_cli_registers_its_own_agent_before_it_makes_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_uri: str
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = store_uri
    runner = CliRunner()
    assert runner.invoke(cli.app, ["demo", "--store", uri]).exit_code == 0
    create = ["token", "create", "--principal", "person:oncall_ml_engineer", "--role", "reader"]
    for _ in range(2):  # the second run finds the agent registered: no new registration
        result = runner.invoke(cli.app, [*create, "--store", uri])
        assert result.exit_code == 0, result.output
    store = open_store(uri)
    try:
        agent = store.get_nodes([cli.CLI_ACTOR])[cli.CLI_ACTOR]
        assert agent.kind is NodeKind.PIPELINE
        events = store.audit_events(after_seq=head_seq(store) - 3)
        assert [(e.action, e.actor) for e in events] == [
            ("register_pipeline", cli.CLI_ACTOR),
            ("create_token", cli.CLI_ACTOR),
            ("create_token", cli.CLI_ACTOR),
        ]
    finally:
        store.close()
