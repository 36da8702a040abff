"""Rollback: all traffic to the standby (or a named earlier version) in one audited write, not
gated by approvals, refused for a version the feature schema can no longer serve; and retiring
a feature. On every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lineage.errors import ConflictError, ForbiddenError, InvalidError, LineageError, NotFoundError
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.audit import verify
from lineage.services.governance.features import Features
from lineage.services.governance.signoff import SignOff
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEPLOYMENT, MODEL, SNAPSHOT_JAN24
from lineage.store import GraphStore
from tests.governance.deploying import (
    INCIDENT,
    OPERATOR,
    approved_v14,
    deployer,
    head_seq,
    open_edges,
)
from tests.governance.lending import RISK, V11, V12, V12_RC1, V13, at

V10 = f"{MODEL}@v10"
STAGING = "deployment:lending_approval_staging"


def refused(
    store: GraphStore, error: type[LineageError], change: Callable[[], object]
) -> LineageError:
    """The error ``change`` raised; asserts it wrote nothing (the audit chain did not grow)."""
    before = head_seq(store)
    with pytest.raises(error) as info:
        change()
    assert head_seq(store) == before
    return info.value


@pytest.fixture
def v14_live(governed_store: GraphStore, records: RecordStore) -> str:
    """v14 approved and deployed on Jan 26 at 10:00: slots v14, v12, v13."""
    v14 = approved_v14(governed_store, records)
    deployer(governed_store).deploy(v14, DEPLOYMENT, "weekly release", at("2024-01-26T10:00"))
    return v14


def test_a_rollback_moves_all_traffic_to_the_standby_in_one_audited_write(
    governed_store: GraphStore, v14_live: str
) -> None:
    before = head_seq(governed_store)
    change = deployer(governed_store).rollback(
        DEPLOYMENT, "approval rate for ages 65+ fell", incident=INCIDENT
    )
    assert change.created and head_seq(governed_store) == before + 1
    assert change.after.versions() == [V12, V13]  # v14 left the slots
    assert change.after.traffic() == {V12: 100}
    served = open_edges(governed_store, EdgeKind.SERVED)
    assert set(served) == {V12}
    assert set(open_edges(governed_store, EdgeKind.STANDS_BY)) == {V13}
    assert v14_live not in open_edges(governed_store, EdgeKind.STANDS_BY)
    event = governed_store.audit_events(after_seq=before)[0]
    assert (event.action, event.actor) == ("rollback", OPERATOR)
    assert event.payload is not None
    assert (event.payload["from_version"], event.payload["to_version"]) == (v14_live, V12)


def test_a_rollback_records_who_when_why_and_the_incident(
    governed_store: GraphStore, v14_live: str
) -> None:
    change = deployer(governed_store).rollback(
        DEPLOYMENT, "approval rate for ages 65+ fell", incident=INCIDENT
    )
    (link,) = open_edges(governed_store, EdgeKind.ROLLED_BACK_FOR).values()
    assert link.dst == INCIDENT and link.valid_from == change.at
    assert link.props == {
        "from_version": v14_live,
        "to_version": V12,
        "reason": "approval rate for ages 65+ fell",
        "by": OPERATOR,
    }
    current = open_edges(governed_store, EdgeKind.SERVED)[V12]
    assert current.props["change"] == "rollback"
    assert (current.props["rolled_back"], current.props["incident"]) == (v14_live, INCIDENT)


def test_a_rollback_to_a_named_earlier_version_puts_it_first(
    governed_store: GraphStore, v14_live: str
) -> None:
    change = deployer(governed_store).rollback(DEPLOYMENT, "back to v10", to_version=V10)
    assert change.after.versions() == [V10, V12, V13]
    assert change.after.traffic() == {V10: 100}


def test_a_rollback_is_not_gated_by_approvals(
    governed_store: GraphStore, records: RecordStore
) -> None:
    SignOff(governed_store, records, RISK).block(V13, "risk_approver", "65+ segment unmeasured")
    assert (
        refused(
            governed_store,
            ForbiddenError,
            lambda: deployer(governed_store).deploy(V13, DEPLOYMENT, "release"),
        ).details["unmet"][0]["code"]
        == "BLOCKED"
    )
    change = deployer(governed_store).rollback(DEPLOYMENT, "v12 misbehaves", to_version=V13)
    assert change.after.traffic() == {V13: 100}


def test_repeating_a_rollback_is_a_noop(governed_store: GraphStore, v14_live: str) -> None:
    deployments = deployer(governed_store)
    first = deployments.rollback(DEPLOYMENT, "65+ approvals fell", incident=INCIDENT)
    before = head_seq(governed_store)
    again = deployments.rollback(DEPLOYMENT, "65+ approvals fell", incident=INCIDENT)
    assert not again.created and again.after == first.after
    named = deployments.rollback(DEPLOYMENT, "65+ approvals fell", to_version=V12)
    assert not named.created
    assert head_seq(governed_store) == before
    # Another reason is another rollback: to the standby of now.
    second = deployments.rollback(DEPLOYMENT, "v12 misbehaves too")
    assert second.created and second.after.traffic() == {V13: 100}


def test_rolling_back_to_a_version_never_deployed_there_is_invalid(
    governed_store: GraphStore,
) -> None:
    error = refused(
        governed_store,
        InvalidError,
        lambda: deployer(governed_store).rollback(DEPLOYMENT, "try", to_version=V12_RC1),
    )
    assert error.field == "to_version"


def test_rolling_back_to_an_unknown_version_is_not_found(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        NotFoundError,
        lambda: deployer(governed_store).rollback(DEPLOYMENT, "try", to_version=f"{MODEL}@v99"),
    )
    assert error.field == "to_version"


def test_rolling_back_to_the_current_version_is_invalid(governed_store: GraphStore) -> None:
    deployer(governed_store).set_traffic(DEPLOYMENT, {V12: 90, V13: 10}, "canary")
    error = refused(
        governed_store,
        InvalidError,
        lambda: deployer(governed_store).rollback(DEPLOYMENT, "try", to_version=V12),
    )
    assert error.field == "to_version"


def test_a_rollback_without_a_standby_needs_a_named_version(governed_store: GraphStore) -> None:
    deployer(governed_store).deploy(V13, STAGING, "staging", environment="staging")
    error = refused(
        governed_store,
        InvalidError,
        lambda: deployer(governed_store).rollback(STAGING, "undo"),
    )
    assert error.field == "to_version"


def test_a_rollback_for_an_unknown_incident_is_not_found(
    governed_store: GraphStore, v14_live: str
) -> None:
    error = refused(
        governed_store,
        NotFoundError,
        lambda: deployer(governed_store).rollback(
            DEPLOYMENT, "undo", incident="incident:nothing_happened"
        ),
    )
    assert error.field == "incident"


def test_a_rollback_of_an_unknown_deployment_is_not_found(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        NotFoundError,
        lambda: deployer(governed_store).rollback("deployment:nowhere", "undo"),
    )
    assert error.field == "deployment"


def test_a_rollback_to_a_version_needing_a_retired_feature_is_a_conflict(
    governed_store: GraphStore, v14_live: str
) -> None:
    Features(governed_store, OPERATOR).retire_feature("age", "age is no longer used in lending")
    error = refused(
        governed_store,
        ConflictError,
        lambda: deployer(governed_store).rollback(DEPLOYMENT, "undo v14"),
    )
    assert error.field == "to_version"
    assert error.details == {"version": V12, "retired_features": ["feature:age"]}
    assert "feature:age (retired " in error.message


def test_a_rollback_before_a_feature_was_retired_is_judged_then(
    governed_store: GraphStore, v14_live: str
) -> None:
    Features(governed_store, OPERATOR).retire_feature("age", "retired", at("2024-01-27T00:00"))
    change = deployer(governed_store).rollback(DEPLOYMENT, "undo v14", at=at("2024-01-26T11:00"))
    assert change.after.traffic() == {V12: 100}


def test_a_rollback_cutting_a_batch_of_the_rolled_back_version_is_refused(
    governed_store: GraphStore, records: RecordStore, v14_live: str
) -> None:
    Registry(governed_store, records, actor="pipeline:lending_inference").register_inference_batch(
        {
            "id": "batch:v14_first_hours",
            "model_version": v14_live,
            "snapshot": SNAPSHOT_JAN24,
            "window_start": at("2024-01-26T10:00:00"),
            "window_end": at("2024-01-26T12:00:00"),
            "record_count": 0,
            "records": [],
            "deployment": DEPLOYMENT,
        }
    )
    error = refused(
        governed_store,
        ConflictError,
        lambda: deployer(governed_store).rollback(DEPLOYMENT, "undo", at=at("2024-01-26T11:00")),
    )
    assert error.field == "at"
    assert deployer(governed_store).rollback(DEPLOYMENT, "undo", at=at("2024-01-26T12:00")).created


# -- retiring a feature ------------------------------------------------------------------------


def test_retiring_a_feature_ends_its_validity_in_an_audited_write(
    governed_store: GraphStore,
) -> None:
    features = Features(governed_store, OPERATOR)
    before = head_seq(governed_store)
    done = features.retire_feature("feature:age", "no longer used", at("2024-02-01T00:00"))
    assert done.created and done.audit_seq == before + 1
    assert done.feature.kind is NodeKind.FEATURE
    assert done.feature.valid_to == at("2024-02-01T00:00")
    event = governed_store.audit_events(after_seq=before)[0]
    assert (event.action, event.reason) == ("retire_feature", "no longer used")
    assert not features.retire_feature("age", "again").created
    assert head_seq(governed_store) == before + 1


def test_retiring_an_unknown_feature_is_not_found(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        NotFoundError,
        lambda: Features(governed_store, OPERATOR).retire_feature("zip_code", "never used"),
    )
    assert error.field == "feature"


def test_retiring_a_feature_before_it_existed_is_invalid(governed_store: GraphStore) -> None:
    error = refused(
        governed_store,
        InvalidError,
        lambda: Features(governed_store, OPERATOR).retire_feature("age", "x", at("2020-01-01")),
    )
    assert error.field == "at"


def test_giving_traffic_to_a_version_needing_a_retired_feature_is_a_conflict(
    governed_store: GraphStore,
) -> None:
    Features(governed_store, OPERATOR).retire_feature("age", "no longer used")
    error = refused(
        governed_store,
        ConflictError,
        lambda: deployer(governed_store).set_traffic(DEPLOYMENT, {V12: 50, V11: 50}, "spread"),
    )
    assert error.field == "weights"


def test_every_change_verifies_in_the_audit_chain(
    governed_store: GraphStore, v14_live: str
) -> None:
    deployments = deployer(governed_store)
    deployments.set_traffic(DEPLOYMENT, {v14_live: 80, V12: 20}, "canary")
    deployments.rollback(DEPLOYMENT, "undo", incident=INCIDENT)
    Features(governed_store, OPERATOR).retire_feature("debt_ratio", "replaced")
    assert verify(governed_store).ok
