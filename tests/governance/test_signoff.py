"""Sign-off: the approver is the actor, who must hold the role then; separation of duties;
approvals bind the artifact and the evidence, and go stale when it changes; on every backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import ConflictError, ForbiddenError, InvalidError, LineageError, NotFoundError
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.corrections import Corrections
from lineage.services.governance.assessments import Assessments
from lineage.services.governance.signoff import SignOff, freshness
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, MODEL
from lineage.store import EdgeQuery, GraphStore, NodeQuery
from tests.governance.lending import (
    OWNER,
    RISK,
    STEWARD,
    V12,
    V14,
    at,
    audit_v14,
    head_seq,
    register_v14,
)

AUDITED = at("2024-01-26T07:00:00")
ARTIFACT = "ab" * 32


@pytest.fixture
def v14(scoped_store: GraphStore, registry: Registry, records: RecordStore) -> str:
    """A v14 with an evaluation and a passing bias audit, not signed off yet."""
    register_v14(registry)
    Assessments(scoped_store, records, DEMO_ACTOR).register_bias_audit(audit_v14())
    return V14


def signer(store: GraphStore, records: RecordStore, actor: str) -> SignOff:
    return SignOff(store, records, actor)


def approvals(store: GraphStore) -> int:
    return len(store.find_nodes(NodeQuery(kind=NodeKind.APPROVAL, limit=1000)).items)


def refused(
    store: GraphStore, error: type[LineageError], write: Callable[[], object]
) -> LineageError:
    """The error ``write`` raised; asserts no audit event and no sign-off was written."""
    before = head_seq(store), approvals(store)
    with pytest.raises(error) as info:
        write()
    assert (head_seq(store), approvals(store)) == before
    return info.value


# -- what an approval records -------------------------------------------------------------------


def test_an_approval_binds_the_artifact_and_the_evidence_it_saw(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    seq = head_seq(scoped_store)
    done = signer(scoped_store, records, OWNER).approve(v14, "owner", "gates passed", AUDITED)
    approval = done.approval
    assert done.audit_seq == seq + 1  # one event, the gate results recorded with it
    assert approval.id == "approval:lending_approval-v14-owner-1"
    assert approval.kind is NodeKind.APPROVAL and approval.valid_from == AUDITED
    props = approval.props
    assert (props["decision"], props["role"], props["approver"]) == ("approved", "owner", OWNER)
    assert props["tier"] == "HIGH"
    version = scoped_store.get_nodes([v14])[v14]
    assert props["artifact"] == {"hash": version.content_hash(), "source": "model_version"}
    gate_ids = {r.id for r in done.gates.results}
    assert set(props["evidence"]) == {
        "evaluation:lending_approval_v14",
        "risk:lending_approval_v14_bias_audit",
        *gate_ids,
    }
    assert [n.id for n in done.gate_results_written] == [r.id for r in done.gates.results]
    edges = scoped_store.find_edges(EdgeQuery(src=approval.id)).items
    assert {(e.kind, e.dst, e.props["role"]) for e in edges} == {
        (EdgeKind.USED, v14, "approved"),
        *((EdgeKind.USED, node_id, "evidence") for node_id in props["evidence"]),
        (EdgeKind.WAS_ASSOCIATED_WITH, OWNER, "owner"),
    }
    assert freshness(scoped_store, approval.id, AUDITED + timedelta(hours=1)).fresh


def test_an_approval_binds_the_artifact_hash_the_run_recorded(
    scoped_store: GraphStore, registry: Registry, records: RecordStore
) -> None:
    register_v14(registry, artifact_hash=ARTIFACT)
    assert scoped_store.get_nodes([V14])[V14].props["artifact_hash"] == ARTIFACT
    done = signer(scoped_store, records, OWNER).approve(V14, "owner", "ok", AUDITED)
    assert done.approval.props["artifact"] == {"hash": ARTIFACT, "source": "artifact_hash"}


def test_a_block_is_a_sign_off_too(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    done = signer(scoped_store, records, RISK).block(v14, "risk_approver", "not yet", AUDITED)
    assert done.approval.props["decision"] == "blocked"
    assert done.approval.id == "approval:lending_approval-v14-risk_approver-1"


# -- who may sign off -------------------------------------------------------------------------


def test_a_principal_without_the_role_is_forbidden(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    error = refused(
        scoped_store,
        ForbiddenError,
        lambda: signer(scoped_store, records, STEWARD).approve(v14, "owner", "ok", AUDITED),
    )
    assert error.field == "role" and "held by person:head_of_lending" in error.message


def test_the_technical_steward_does_not_sign_off(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    error = refused(
        scoped_store,
        ForbiddenError,
        lambda: signer(scoped_store, records, STEWARD).approve(
            v14, "technical_steward", "ok", AUDITED
        ),
    )
    assert error.field == "role"


def test_an_unknown_role_is_invalid(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    error = refused(
        scoped_store,
        InvalidError,
        lambda: signer(scoped_store, records, OWNER).approve(v14, "ceo", "ok", AUDITED),
    )
    assert error.field == "role"


def test_the_role_is_checked_at_the_instant_of_the_sign_off(
    scoped_store: GraphStore, registry: Registry, records: RecordStore, v14: str
) -> None:
    registry.register_person({"id": "person:new_head", "name": "New Head", "since": AUDITED})
    registry.assign_role(MODEL, "owner", "person:new_head", at("2024-01-27T00:00:00"), "reorg")
    new_head = signer(scoped_store, records, "person:new_head")
    refused(scoped_store, ForbiddenError, lambda: new_head.approve(v14, "owner", "ok", AUDITED))
    assert new_head.approve(v14, "owner", "ok", at("2024-01-27T01:00:00")).approval


def test_the_owner_approving_as_risk_approver_is_forbidden(
    scoped_store: GraphStore, registry: Registry, records: RecordStore, v14: str
) -> None:
    # The risk officer becomes the owner too: holding the role is not enough.
    registry.assign_role(MODEL, "owner", RISK, at("2024-01-26T06:30:00"), "interim owner")
    error = refused(
        scoped_store,
        ForbiddenError,
        lambda: signer(scoped_store, records, RISK).approve(v14, "risk_approver", "ok", AUDITED),
    )
    assert error.field == "role" and "separation of duties" in error.message
    assert error.details["conflict"] == "owner"


def test_the_principal_that_registered_the_run_cannot_approve_as_risk_approver(
    scoped_store: GraphStore, registry: Registry, records: RecordStore
) -> None:
    register_v14(registry, actor=RISK)  # the risk officer registered the run
    error = refused(
        scoped_store,
        ForbiddenError,
        lambda: signer(scoped_store, records, RISK).approve(V14, "risk_approver", "ok", AUDITED),
    )
    assert error.field == "role"
    assert error.details["how"] == "registered run:lending_approval_v14"


def test_the_agent_that_triggered_the_run_cannot_approve_as_risk_approver(
    scoped_store: GraphStore, registry: Registry, records: RecordStore
) -> None:
    register_v14(registry, triggered_by=RISK)
    error = refused(
        scoped_store,
        ForbiddenError,
        lambda: signer(scoped_store, records, RISK).approve(V14, "risk_approver", "ok", AUDITED),
    )
    assert error.details["how"] == "triggered run:lending_approval_v14"


def test_the_owner_of_the_training_pipeline_cannot_approve_as_risk_approver(
    scoped_store: GraphStore, registry: Registry, records: RecordStore
) -> None:
    registry.register_pipeline(
        {"id": "pipeline:risk_retrain", "name": "Retraining", "owner": RISK, "since": AUDITED}
    )
    register_v14(registry, triggered_by="pipeline:risk_retrain")
    error = refused(
        scoped_store,
        ForbiddenError,
        lambda: signer(scoped_store, records, RISK).approve(V14, "risk_approver", "ok", AUDITED),
    )
    assert error.details["how"].startswith("owns pipeline:risk_retrain")


def test_the_owner_may_approve_what_they_trained(
    scoped_store: GraphStore, registry: Registry, records: RecordStore
) -> None:
    register_v14(registry, triggered_by=OWNER)
    assert signer(scoped_store, records, OWNER).approve(V14, "owner", "mine", AUDITED).approval


# -- twice, stale, fresh ------------------------------------------------------------------------


def test_approving_twice_is_a_conflict_naming_the_existing_approval(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    owner = signer(scoped_store, records, OWNER)
    first = owner.approve(v14, "owner", "gates passed", AUDITED)
    error = refused(
        scoped_store,
        ConflictError,
        lambda: owner.approve(v14, "owner", "again", AUDITED + timedelta(hours=1)),
    )
    assert error.details["existing"] == first.approval.id
    assert first.approval.id in error.message and error.field == "version"


def test_new_evidence_makes_an_approval_stale_and_re_approving_is_allowed(
    scoped_store: GraphStore, registry: Registry, records: RecordStore, v14: str
) -> None:
    owner = signer(scoped_store, records, OWNER)
    first = owner.approve(v14, "owner", "gates passed", AUDITED)
    registry.register_evaluation(
        {
            "id": "evaluation:lending_approval_v14_holdout",
            "model_version": v14,
            "metrics": {"auc": 0.9},
            "evaluated_at": at("2024-01-26T08:00:00"),
        }
    )
    later = at("2024-01-26T09:00:00")
    stale = freshness(scoped_store, first.approval.id, later)
    assert not stale.fresh
    assert stale.reasons[0] == "evaluation:lending_approval_v14_holdout was registered after it"
    # Before the new evaluation, the approval held.
    assert freshness(scoped_store, first.approval.id, at("2024-01-26T07:30:00")).fresh
    second = owner.approve(v14, "owner", "holdout checked", later)
    assert second.approval.id == "approval:lending_approval-v14-owner-2"
    assert freshness(scoped_store, second.approval.id, later).fresh


def test_a_corrected_evaluation_makes_an_approval_stale(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    done = signer(scoped_store, records, OWNER).approve(v14, "owner", "ok", AUDITED)
    Corrections(scoped_store, None, actor=STEWARD).correct(
        "evaluation:lending_approval_v14", {"notes": "on the Jan 24 holdout"}, "forgotten"
    )
    now = datetime.now(UTC)
    assert freshness(scoped_store, done.approval.id, now).reasons == [
        "evaluation:lending_approval_v14 was corrected after it"
    ]
    assert freshness(scoped_store, done.approval.id, AUDITED).fresh


def test_corrected_thresholds_make_an_approval_stale(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    done = signer(scoped_store, records, OWNER).approve(v14, "owner", "ok", AUDITED)
    Corrections(scoped_store, None, actor=OWNER).correct(
        MODEL, {"risk_thresholds": {"max_rate_gap": 0.02}}, "tighter"
    )
    reasons = freshness(scoped_store, done.approval.id, datetime.now(UTC)).reasons
    assert reasons == ["the gates' inputs changed (thresholds or forbidden features corrected)"]


# -- bad input ----------------------------------------------------------------------------------


def test_signing_off_an_unknown_version_is_not_found(
    scoped_store: GraphStore, records: RecordStore
) -> None:
    error = refused(
        scoped_store,
        NotFoundError,
        lambda: signer(scoped_store, records, OWNER).approve(V14, "owner", "ok", AUDITED),
    )
    assert error.field == "version"


def test_signing_off_before_the_version_existed_is_not_found(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    early = at("2024-01-25T00:00:00")
    error = refused(
        scoped_store,
        NotFoundError,
        lambda: signer(scoped_store, records, OWNER).approve(v14, "owner", "ok", early),
    )
    assert error.field == "version"


@pytest.mark.parametrize(
    ("version", "reason", "when", "field"),
    [
        ("model:lending_approval", "ok", AUDITED, "version"),
        (V12, "", AUDITED, "reason"),
        (V12, "ok", datetime(2024, 1, 26, 7), "at"),
        (V12, "ok", datetime.now(UTC) + timedelta(days=1), "at"),
    ],
    ids=["not_a_version", "no_reason", "naive", "future"],
)
def test_malformed_sign_offs_are_invalid_naming_the_field(
    governed_store: GraphStore,
    records: RecordStore,
    version: str,
    reason: str,
    when: datetime,
    field: str,
) -> None:
    owner = signer(governed_store, records, OWNER)
    error = refused(
        governed_store, InvalidError, lambda: owner.approve(version, "owner", reason, when)
    )
    assert error.field == field


def test_an_actor_that_is_not_a_registered_agent_is_invalid(
    scoped_store: GraphStore, records: RecordStore, v14: str
) -> None:
    stranger = signer(scoped_store, records, "person:stranger")
    error = refused(
        scoped_store, InvalidError, lambda: stranger.approve(v14, "owner", "ok", AUDITED)
    )
    assert error.field == "actor"
