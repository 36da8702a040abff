"""What served when, and the routing document with its ETag. On every backend."""

from __future__ import annotations

import hashlib

import pytest

from lineage.errors import InvalidError, NotFoundError
from lineage.model.canonical import canonical_json
from lineage.model.times import utcnow
from lineage.services.governance.routing import routing, serving
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, DEPLOYMENT, MODEL
from lineage.store import GraphStore
from tests.governance.deploying import RULES, deployer, with_fallback_rules
from tests.governance.lending import V11, V12, V13, at


def shares(store: GraphStore, instant: str) -> dict[str, int]:
    (state,) = serving(store, DEPLOYMENT, at(instant)).deployments
    return {s.version.id: s.weight for s in state.traffic}


def test_serving_answers_what_served_at_each_instant(governed_store: GraphStore) -> None:
    assert serving(governed_store, DEPLOYMENT, at("2024-01-05T00:00")).deployments == []
    assert shares(governed_store, "2024-01-20T00:00") == {f"{MODEL}@v11": 100}
    assert shares(governed_store, "2024-01-25T10:30") == {V13: 100}
    (state,) = serving(governed_store, DEPLOYMENT, at("2024-01-25T10:30")).deployments
    assert state.current is not None and state.current.version.id == V13
    assert state.standby is not None and state.standby.version.id == V12
    assert state.backup is not None and state.backup.version.id == V11
    assert state.changed_at == at("2024-01-25T10:00")
    assert shares(governed_store, "2024-01-25T12:00") == {V12: 100}


def test_serving_a_model_lists_each_of_its_deployments(governed_store: GraphStore) -> None:
    deployer(governed_store).deploy(V13, "deployment:lending_approval_staging", "staging")
    answer = serving(governed_store, "lending_approval", utcnow())
    assert [d.deployment.id for d in answer.deployments] == [
        DEPLOYMENT,
        "deployment:lending_approval_staging",
    ]
    assert [s.version.id for s in answer.deployments[1].traffic] == [V13]


def test_serving_shares_and_the_kill_switch(governed_store: GraphStore) -> None:
    with_fallback_rules(governed_store)
    deployments = deployer(governed_store)
    deployments.set_traffic(DEPLOYMENT, {V12: 75, V13: 25}, "canary")
    (state,) = serving(governed_store, DEPLOYMENT, utcnow()).deployments
    assert [(s.version.id, s.weight, s.slot) for s in state.traffic] == [
        (V12, 75, "current"),
        (V13, 25, "standby"),
    ]
    assert state.rules is not None and state.rules.id == RULES and not state.kill_switch
    switched = deployments.set_kill_switch(DEPLOYMENT, False, "stop the model")
    (state,) = serving(governed_store, DEPLOYMENT, utcnow()).deployments
    assert state.traffic == [] and state.kill_switch
    assert state.kill_switch_since == switched.at
    assert state.current is not None and state.current.weight == 75  # what it gets back


def test_serving_an_unknown_deployment_or_model_is_not_found(governed_store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as deployment:
        serving(governed_store, "deployment:nowhere", utcnow())
    assert deployment.value.field == "deployment"
    with pytest.raises(NotFoundError) as model:
        serving(governed_store, "model:nothing", utcnow())
    assert model.value.field == "model"
    with pytest.raises(InvalidError):
        serving(governed_store, "dataset:applications", utcnow())


def test_the_routing_document_says_where_traffic_goes(governed_store: GraphStore) -> None:
    with_fallback_rules(governed_store)
    deployer(governed_store).set_traffic(DEPLOYMENT, {V12: 90, V13: 10}, "canary")
    document = routing(governed_store, DEPLOYMENT, utcnow()).document
    assert document["route_to"] == "model"
    assert [(t["version"], t["weight"]) for t in document["traffic"]] == [(V12, 90), (V13, 10)]
    assert document["current"]["version"] == V12
    assert (document["standby"]["version"], document["standby"]["weight"]) == (V13, 10)
    assert (document["backup"]["version"], document["backup"]["weight"]) == (V11, 0)
    assert document["kill_switch"] == {"on": False, "since": None}
    rules = document["fallback_rules"]
    assert rules["id"] == RULES and rules["default_decision"] == "DECLINE"
    assert rules["rules"][0] == {
        "when": {"income": {"gt": 50_000}, "credit_score": {"gt": 650}},
        "decision": "APPROVE",
    }


def test_the_etag_is_the_hash_of_the_document_and_changes_only_with_it(
    governed_store: GraphStore, records: RecordStore
) -> None:
    first = routing(governed_store, DEPLOYMENT, utcnow())
    assert first.etag == hashlib.sha256(canonical_json(first.document).encode()).hexdigest()
    assert first.body == canonical_json(first.document).encode()
    # An unrelated write, and time passing, leave the document as it was.
    Registry(governed_store, records, actor=DEMO_ACTOR).register_person(
        {"id": "person:new_analyst", "name": "New analyst"}
    )
    assert routing(governed_store, DEPLOYMENT, utcnow()).etag == first.etag
    deployer(governed_store).rollback(DEPLOYMENT, "v12 misbehaves")
    after = routing(governed_store, DEPLOYMENT, utcnow())
    assert after.etag != first.etag and after.document["current"]["version"] == V13


def test_routing_an_unknown_deployment_is_not_found(governed_store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as info:
        routing(governed_store, "nowhere", utcnow())
    assert info.value.field == "deployment"
