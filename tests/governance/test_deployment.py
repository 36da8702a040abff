"""Gated deployment, slots and traffic weights, the kill switch and fallback rules; and what the
investigators' questions read from SERVED once versions share traffic. On every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from lineage.errors import ConflictError, ForbiddenError, InvalidError, LineageError, NotFoundError
from lineage.model.graph import EdgeKind
from lineage.model.times import utcnow
from lineage.services import investigation
from lineage.services.governance.fallback import decide
from lineage.services.governance.signoff import SignOff
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, DEPLOYMENT, MODEL, SNAPSHOT_JAN24
from lineage.store import GraphStore
from tests.governance.deploying import (
    LENDING_RULES,
    OPERATOR,
    RULES,
    approved_v14,
    deployer,
    head_seq,
    open_edges,
    with_fallback_rules,
)
from tests.governance.lending import RISK, V11, V12, V12_RC1, V13, V14, at, register_v14


def refused(
    store: GraphStore, error: type[LineageError], change: Callable[[], object]
) -> LineageError:
    """The error ``change`` raised; asserts it wrote nothing (the audit chain did not grow)."""
    before = head_seq(store)
    with pytest.raises(error) as info:
        change()
    assert head_seq(store) == before
    return info.value


def traffic(store: GraphStore) -> dict[str, int]:
    return {v: e.props["weight"] for v, e in open_edges(store, EdgeKind.SERVED).items()}


def standing_by(store: GraphStore) -> dict[str, str]:
    return {v: e.props["slot"] for v, e in open_edges(store, EdgeKind.STANDS_BY).items()}


# -- gated deploy ------------------------------------------------------------------------------


def test_deploying_an_approved_version_makes_it_current_and_moves_the_slots_down(
    governed_store: GraphStore, records: RecordStore
) -> None:
    v14 = approved_v14(governed_store, records)
    before = head_seq(governed_store)

    change = deployer(governed_store).deploy(v14, DEPLOYMENT, "weekly release")

    assert change.created and change.audit_seq == before + 1
    assert (change.before.current, change.before.standby, change.before.backup) == (V12, V13, V11)
    assert (change.after.current, change.after.standby, change.after.backup) == (v14, V12, V13)
    assert traffic(governed_store) == {v14: 100}
    assert standing_by(governed_store) == {V12: "standby", V13: "backup"}
    assert {e.dst for e in change.closed} == {V12, V13, V11}
    assert all(e.valid_to == change.at for e in change.closed)
    opened = open_edges(governed_store, EdgeKind.SERVED)[v14]
    assert opened.props | {} == {
        "slot": "current",
        "weight": 100,
        "change": "deploy",
        "reason": "weekly release",
        "by": OPERATOR,
    }
    event = governed_store.audit_events(after_seq=before)[0]
    assert (event.action, event.actor, event.reason) == ("deploy", OPERATOR, "weekly release")


def test_deploying_the_current_version_again_is_a_noop(
    governed_store: GraphStore, records: RecordStore
) -> None:
    v14 = approved_v14(governed_store, records)
    deployer(governed_store).deploy(v14, DEPLOYMENT, "weekly release")
    before = head_seq(governed_store)
    again = deployer(governed_store).deploy(v14, DEPLOYMENT, "weekly release")
    assert not again.created and again.audit_seq is None
    assert head_seq(governed_store) == before


def test_deploying_a_standby_version_swaps_it_with_the_current(
    governed_store: GraphStore,
) -> None:
    change = deployer(governed_store).deploy(V13, DEPLOYMENT, "retry the weekly release")
    assert change.after.versions() == [V13, V12, V11]
    assert traffic(governed_store) == {V13: 100}


def test_deploying_an_unknown_version_is_not_found(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        NotFoundError,
        lambda: deployer(governed_store).deploy(f"{MODEL}@v99", DEPLOYMENT, "release"),
    )
    assert error.field == "version"


def test_deploying_an_ungated_version_is_forbidden_listing_every_unmet_condition(
    governed_store: GraphStore, records: RecordStore
) -> None:
    register_v14(Registry(governed_store, records, actor=DEMO_ACTOR))  # no audit, no sign-off
    error = refused(
        governed_store,
        ForbiddenError,
        lambda: deployer(governed_store).deploy(V14, DEPLOYMENT, "release"),
    )
    assert error.field == "version"
    codes = [u["code"] for u in error.details["unmet"]]
    assert {"NO_BIAS_AUDIT", "APPROVAL_MISSING"} <= set(codes)
    assert codes.count("APPROVAL_MISSING") == 2  # the owner's and the risk approver's
    for unmet in error.details["unmet"]:
        assert unmet["message"] in error.message
    assert traffic(governed_store) == {V12: 100}


def test_deploying_a_blocked_version_is_forbidden(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        ForbiddenError,
        lambda: deployer(governed_store).deploy(V12_RC1, DEPLOYMENT, "release"),
    )
    codes = {u["code"] for u in error.details["unmet"]}
    assert {"BLOCKED", "RISK_GATE_FAILED"} <= codes


def test_deploying_a_version_whose_approval_went_stale_is_forbidden(
    governed_store: GraphStore, records: RecordStore
) -> None:
    v14 = approved_v14(governed_store, records)
    Registry(governed_store, records, actor=DEMO_ACTOR).register_evaluation(
        {
            "id": "evaluation:lending_approval_v14_holdout",
            "model_version": v14,
            "metrics": {"auc": 0.9},
            "evaluated_at": at("2024-01-26T09:30:00"),
        }
    )
    error = refused(
        governed_store,
        ForbiddenError,
        lambda: deployer(governed_store).deploy(v14, DEPLOYMENT, "release"),
    )
    assert [u["code"] for u in error.details["unmet"]] == ["APPROVAL_STALE", "APPROVAL_STALE"]


def test_the_gate_is_judged_at_the_instant_of_the_deploy(
    governed_store: GraphStore, records: RecordStore
) -> None:
    v14 = approved_v14(governed_store, records)  # approved on Jan 26 at 08:00 and 09:00
    error = refused(
        governed_store,
        ForbiddenError,
        lambda: deployer(governed_store).deploy(v14, DEPLOYMENT, "early", at("2024-01-26T08:30")),
    )
    assert [u["code"] for u in error.details["unmet"]] == ["APPROVAL_MISSING"]
    done = deployer(governed_store).deploy(v14, DEPLOYMENT, "release", at("2024-01-26T10:00"))
    assert done.at == at("2024-01-26T10:00")


def test_a_deploy_dated_before_the_last_change_is_a_conflict(
    governed_store: GraphStore,
) -> None:
    error = refused(
        governed_store,
        ConflictError,
        lambda: deployer(governed_store).deploy(V13, DEPLOYMENT, "late", at("2024-01-25T11:00")),
    )
    assert error.field == "at"


def test_a_deploy_dated_in_the_future_is_invalid(governed_store: GraphStore) -> None:
    soon = utcnow() + timedelta(minutes=1)
    error = refused(
        governed_store,
        InvalidError,
        lambda: deployer(governed_store).deploy(V13, DEPLOYMENT, "scheduled", soon),
    )
    assert error.field == "at"


def test_a_deploy_needs_a_registered_current_agent(governed_store: GraphStore) -> None:
    stranger = deployer(governed_store)
    stranger.actor = "person:nobody"
    error = refused(
        governed_store, InvalidError, lambda: stranger.deploy(V13, DEPLOYMENT, "release")
    )
    assert error.field == "actor"


# -- backfill ----------------------------------------------------------------------------------


def test_the_ungated_path_is_a_backfill_and_the_audit_says_so(
    governed_store: GraphStore, records: RecordStore
) -> None:
    before = head_seq(governed_store)
    Registry(governed_store, records, actor=DEMO_ACTOR).backfill_deploy(
        {
            "deployment": "deployment:lending_approval_shadow",
            "model_version": V13,
            "at": at("2024-01-25T10:00:00"),
            "reason": "shadow traffic recorded by the old platform",
        }
    )
    event = governed_store.audit_events(after_seq=before)[0]
    assert event.action == "backfill_deploy"
    assert event.reason == "backfill: shadow traffic recorded by the old platform"
    assert not hasattr(Registry, "deploy")


# -- traffic -----------------------------------------------------------------------------------


def test_a_canary_shares_traffic_between_the_current_and_the_standby(
    governed_store: GraphStore, records: RecordStore
) -> None:
    v14 = approved_v14(governed_store, records)
    deployments = deployer(governed_store)
    deployments.deploy(v14, DEPLOYMENT, "canary of v14")
    change = deployments.set_traffic(DEPLOYMENT, {v14: 10, V12: 90}, "canary at 10%")

    assert traffic(governed_store) == {v14: 10, V12: 90}
    assert standing_by(governed_store) == {V13: "backup"}  # unchanged, still open
    assert change.after.versions() == [v14, V12, V13]
    assert open_edges(governed_store, EdgeKind.SERVED)[V12].props["slot"] == "standby"
    unchanged = deployments.set_traffic(DEPLOYMENT, {v14: 10, V12: 90}, "canary at 10%")
    assert not unchanged.created


def test_a_version_set_to_zero_leaves_served_and_stands_by(
    governed_store: GraphStore,
) -> None:
    deployments = deployer(governed_store)
    deployments.set_traffic(DEPLOYMENT, {V12: 50, V13: 30, V11: 20}, "spread")
    deployments.set_traffic(DEPLOYMENT, {V12: 80, V13: 20, V11: 0}, "drop the backup")
    assert traffic(governed_store) == {V12: 80, V13: 20}
    assert standing_by(governed_store) == {V11: "backup"}


@pytest.mark.parametrize(
    "weights",
    [
        {V12: 90},
        {V12: 60, V13: 50},
        {V12: 101, V13: -1},
        {V12: 99.5, V13: 0.5},
        {V12: True, V13: 99},
        {},
    ],
)
def test_weights_that_are_not_integers_adding_up_to_100_are_invalid(
    governed_store: GraphStore, weights: dict[str, object]
) -> None:
    error = refused(
        governed_store,
        InvalidError,
        lambda: deployer(governed_store).set_traffic(DEPLOYMENT, weights, "shift"),  # type: ignore[arg-type]
    )
    assert error.field == "weights"


def test_weights_naming_a_version_not_in_a_slot_are_invalid(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        InvalidError,
        lambda: deployer(governed_store).set_traffic(
            DEPLOYMENT, {V12: 50, f"{MODEL}@v10": 50}, "shift"
        ),
    )
    assert error.field == "weights"
    assert error.details["not_in_a_slot"] == [f"{MODEL}@v10"]


def test_the_current_version_must_keep_a_share(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        InvalidError,
        lambda: deployer(governed_store).set_traffic(DEPLOYMENT, {V13: 100}, "shift"),
    )
    assert error.field == "weights" and "roll back" in error.message


def test_weights_on_an_unknown_deployment_are_not_found(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        NotFoundError,
        lambda: deployer(governed_store).set_traffic("deployment:nowhere", {V12: 100}, "x"),
    )
    assert error.field == "deployment"


# -- kill switch and fallback rules ------------------------------------------------------------


def test_the_kill_switch_routes_to_the_rules_and_back_to_the_same_shares(
    governed_store: GraphStore,
) -> None:
    rules = with_fallback_rules(governed_store)
    deployments = deployer(governed_store)
    deployments.set_traffic(DEPLOYMENT, {V12: 70, V13: 30}, "canary of v13")

    on = deployments.set_kill_switch(DEPLOYMENT, False, "approval rates look wrong")
    assert on.after.kill_switch and on.after.traffic() == {}
    assert traffic(governed_store) == {}
    assert set(open_edges(governed_store, EdgeKind.FELL_BACK_TO)) == {rules}
    assert standing_by(governed_store) == {V12: "current", V13: "standby", V11: "backup"}
    assert open_edges(governed_store, EdgeKind.STANDS_BY)[V12].props["weight"] == 70

    off = deployments.set_kill_switch(DEPLOYMENT, True, "false alarm")
    assert not off.after.kill_switch
    assert traffic(governed_store) == {V12: 70, V13: 30}
    assert open_edges(governed_store, EdgeKind.FELL_BACK_TO) == {}
    assert not deployments.set_kill_switch(DEPLOYMENT, True, "false alarm").created


def test_the_kill_switch_without_fallback_rules_is_a_conflict(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        ConflictError,
        lambda: deployer(governed_store).set_kill_switch(DEPLOYMENT, False, "stop the model"),
    )
    assert error.field == "deployment"


def test_fallback_rules_are_content_addressed_and_immutable(governed_store: GraphStore) -> None:
    deployments = deployer(governed_store)
    first = deployments.register_fallback_rules(RULES, MODEL, LENDING_RULES, "DECLINE")
    assert first.created and len(first.node.props["content_hash"]) == 64
    before = head_seq(governed_store)
    assert not deployments.register_fallback_rules(RULES, MODEL, LENDING_RULES, "DECLINE").created
    assert head_seq(governed_store) == before
    error = refused(
        governed_store,
        ConflictError,
        lambda: deployments.register_fallback_rules(RULES, MODEL, LENDING_RULES, "REVIEW"),
    )
    assert error.details["registered_hash"] == first.node.props["content_hash"]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([], "rules"),
        ([{"when": {"income": {"above": 1}}, "decision": "APPROVE"}], "rules.0.when.income.above"),
        ([{"when": {"income": {"gt": "50K"}}, "decision": "APPROVE"}], "rules.0.when.income.gt"),
        ([{"when": {}, "decision": "APPROVE"}], "rules.0.when"),
        ([{"when": {"income": {"gt": 1}}}], "rules.0.decision"),
    ],
)
def test_malformed_fallback_rules_are_invalid_naming_the_field(
    governed_store: GraphStore, rules: list[dict[str, object]], field: str
) -> None:
    error = refused(
        governed_store,
        InvalidError,
        lambda: deployer(governed_store).register_fallback_rules(RULES, MODEL, rules, "DECLINE"),
    )
    assert error.field == field


def test_fallback_rules_of_an_unknown_model_are_not_found(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        NotFoundError,
        lambda: deployer(governed_store).register_fallback_rules(
            RULES, "model:nothing", LENDING_RULES, "DECLINE"
        ),
    )
    assert error.field == "model"


def test_the_lending_fallback_rules_decide_as_the_credit_policy_says(
    governed_store: GraphStore,
) -> None:
    node = (
        deployer(governed_store)
        .register_fallback_rules(RULES, MODEL, LENDING_RULES, "DECLINE")
        .node
    )
    assert decide(node.props, {"income": 86_000, "credit_score": 742}) == "APPROVE"
    assert decide(node.props, {"income": 42_000, "credit_score": 720}) == "REVIEW"
    assert decide(node.props, {"income": 42_000, "credit_score": 690}) == "DECLINE"
    assert decide(node.props, {"income": 86_000, "credit_score": 600}) == "DECLINE"
    assert decide(node.props, {"credit_score": 800}) == "DECLINE"  # income unknown


def test_linking_rules_to_an_unknown_deployment_or_unknown_rules_is_not_found(
    governed_store: GraphStore,
) -> None:
    deployments = deployer(governed_store)
    missing = refused(
        governed_store,
        NotFoundError,
        lambda: deployments.set_fallback_rules(DEPLOYMENT, RULES, "link"),
    )
    assert missing.field == "rules"
    deployments.register_fallback_rules(RULES, MODEL, LENDING_RULES, "DECLINE")
    nowhere = refused(
        governed_store,
        NotFoundError,
        lambda: deployments.set_fallback_rules("deployment:nowhere", RULES, "link"),
    )
    assert nowhere.field == "deployment"


# -- what the questions read from SERVED -------------------------------------------------------


def test_provenance_picks_the_version_with_the_most_traffic(governed_store: GraphStore) -> None:
    deployments = deployer(governed_store)
    deployments.set_traffic(DEPLOYMENT, {V12: 30, V13: 70}, "shift to v13")
    now = utcnow()
    answer = investigation.training_provenance(governed_store, MODEL, now)
    assert answer.model_version.id == V13 and answer.serving
    deployments.set_traffic(DEPLOYMENT, {V12: 90, V13: 10}, "back to v12")
    assert (
        investigation.training_provenance(governed_store, MODEL, utcnow()).model_version.id == V12
    )
    # The past is answered as it was.
    assert investigation.training_provenance(governed_store, MODEL, now).model_version.id == V13


def test_a_version_with_a_share_is_deployed_and_one_standing_by_is_not(
    governed_store: GraphStore,
) -> None:
    deployer(governed_store).set_traffic(DEPLOYMENT, {V12: 95, V13: 5}, "canary of v13")
    uses = investigation.models_using_dataset(governed_store, "dataset:applications").uses
    deployed = {u.model_version.id: u.deployed_now for u in uses}
    assert deployed[V12] and deployed[V13] and not deployed[V11]


def test_feature_impact_names_both_versions_sharing_traffic_since_their_run_began(
    governed_store: GraphStore,
) -> None:
    deployer(governed_store).set_traffic(DEPLOYMENT, {V12: 60, V13: 40}, "canary of v13")
    deployer(governed_store).set_traffic(DEPLOYMENT, {V12: 50, V13: 50}, "half")
    serving = investigation.feature_impact(governed_store, "age").serving
    since = {s.model_version.id: s.since for s in serving}
    assert set(since) == {V12, V13}
    assert since[V12] == at("2024-01-25T11:47:00")  # serving without a break since the rollback


def test_a_batch_of_a_canary_is_accepted_and_a_reweighting_keeps_it(
    governed_store: GraphStore, records: RecordStore
) -> None:
    deployments = deployer(governed_store)
    start = utcnow() - timedelta(seconds=2)
    deployments.set_traffic(DEPLOYMENT, {V12: 90, V13: 10}, "canary", start)
    batch = {
        "id": "batch:canary_v13",
        "model_version": V13,
        "snapshot": SNAPSHOT_JAN24,
        "window_start": start,
        "window_end": start + timedelta(seconds=1),
        "record_count": 0,
        "records": [],
        "deployment": DEPLOYMENT,
    }
    inference = Registry(governed_store, records, actor="pipeline:lending_inference")
    assert inference.register_inference_batch(batch).created
    # Its window ended; a reweighting inside a later window of v13 keeps v13 serving.
    deployments.set_traffic(DEPLOYMENT, {V12: 50, V13: 50}, "half")
    deployments.set_traffic(DEPLOYMENT, {V12: 100}, "end of canary")
    assert traffic(governed_store) == {V12: 100}


def test_a_change_cutting_a_batch_of_a_version_losing_traffic_is_refused(
    governed_store: GraphStore, records: RecordStore
) -> None:
    deployments = deployer(governed_store)
    start = at("2024-01-26T01:00:00")
    deployments.set_traffic(DEPLOYMENT, {V12: 90, V13: 10}, "canary", start)
    deployments.set_traffic(DEPLOYMENT, {V12: 80, V13: 20}, "more", at("2024-01-26T02:00"))
    Registry(governed_store, records, actor="pipeline:lending_inference").register_inference_batch(
        {
            "id": "batch:canary_v13_night",
            "model_version": V13,
            "snapshot": SNAPSHOT_JAN24,
            "window_start": at("2024-01-26T01:30:00"),
            "window_end": at("2024-01-26T04:00:00"),
            "record_count": 0,
            "records": [],
            "deployment": DEPLOYMENT,
        }
    )
    error = refused(
        governed_store,
        ConflictError,
        lambda: deployments.set_traffic(DEPLOYMENT, {V12: 100}, "stop", at("2024-01-26T03:00")),
    )
    assert error.field == "at" and error.details["batch"] == "batch:canary_v13_night"
    # Reweighting v13 at 03:00 does not cut its batch.
    deployments.set_traffic(DEPLOYMENT, {V12: 70, V13: 30}, "more", at("2024-01-26T03:00"))


def test_the_kill_switch_refuses_batches_scored_by_a_model_meanwhile(
    governed_store: GraphStore, records: RecordStore
) -> None:
    with_fallback_rules(governed_store, at("2024-01-26T00:30:00"))
    on = at("2024-01-26T01:00:00")
    deployer(governed_store).set_kill_switch(DEPLOYMENT, False, "stop the model", on)
    inference = Registry(governed_store, records, actor="pipeline:lending_inference")
    error = refused(
        governed_store,
        ConflictError,
        lambda: inference.register_inference_batch(
            {
                "id": "batch:during_the_kill_switch",
                "model_version": V12,
                "snapshot": "snapshot:credit_model_training_2024_01_20",
                "window_start": at("2024-01-26T02:00:00"),
                "window_end": at("2024-01-26T03:00:00"),
                "record_count": 0,
                "records": [],
                "deployment": DEPLOYMENT,
            }
        ),
    )
    assert error.field == "deployment"


def test_upstream_changes_of_a_batch_do_not_list_slots_standing_by(
    governed_store: GraphStore,
) -> None:
    answer = investigation.upstream_changes(
        governed_store, "batch:lending_approval_2024_01_25_1147", at("2024-01-25T00:00")
    )
    assert {c.edge.kind for c in answer.changes if c.edge is not None} == {EdgeKind.SERVED}


def test_traffic_weights_are_not_gated_again(
    governed_store: GraphStore, records: RecordStore
) -> None:
    # Weights move traffic among versions deployed there; they are not gated again.
    SignOff(governed_store, records, RISK).block(V13, "risk_approver", "65+ segment unmeasured")
    deployer(governed_store).set_traffic(DEPLOYMENT, {V12: 50, V13: 50}, "compare")
    assert traffic(governed_store) == {V12: 50, V13: 50}
