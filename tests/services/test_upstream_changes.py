"""upstreamChanges of a model or a model version: versions, deployments, evidence, a window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineage.errors import InvalidError
from lineage.services import investigation as inv
from lineage.services.scenario import DEPLOYMENT, INCIDENT_ID, MODEL, SNAPSHOT_JAN24
from lineage.store import GraphStore

V11, V12, V12_RC1, V13 = (f"{MODEL}@{v}" for v in ("v11", "v12", "v12-rc1", "v13"))


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def listed(answer: inv.UpstreamChanges) -> list[tuple[datetime, str, str]]:
    """(when, what, the edge's far end or the node) per change."""
    return [(c.at, c.what.value, c.edge.dst if c.edge else c.node.id) for c in answer.changes]


def test_upstream_changes_on_a_model_cover_its_versions_and_deployments(
    store: GraphStore,
) -> None:
    answer = inv.upstream_changes(store, MODEL, t("2024-01-24T00:00"), t("2024-01-25T12:00"))
    found = listed(answer)
    assert found[:4] == [
        (t("2024-01-25T11:47"), "STARTED", INCIDENT_ID),  # the rollback answers the incident
        (t("2024-01-25T11:47"), "STARTED", V12),
        (t("2024-01-25T11:47"), "ENDED", V13),
        (t("2024-01-25T11:30"), "REGISTERED", INCIDENT_ID),
    ]
    assert (t("2024-01-25T10:00"), "STARTED", V13) in found  # the rollout
    assert (t("2024-01-25T10:00"), "ENDED", V12) in found
    assert (t("2024-01-24T20:00"), "REGISTERED", V13) in found  # the version itself
    assert found[-2:] == [
        (t("2024-01-24T10:00"), "REGISTERED", "run:lending_approval_v13"),
        (t("2024-01-24T08:00"), "REGISTERED", SNAPSHOT_JAN24),
    ]
    assert not answer.truncated


def test_upstream_changes_on_a_model_list_evaluations_audits_gates_and_sign_offs(
    store: GraphStore,
) -> None:
    answer = inv.upstream_changes(store, MODEL, t("2024-01-24T00:00"), t("2024-01-25T12:00"))
    kinds = {c.node.kind.value for c in answer.changes if c.what.value == "REGISTERED"}
    assert {"Evaluation", "RiskAssessment", "GateResult", "Approval"} <= kinds
    assert (t("2024-01-24T22:00"), "REGISTERED", "evaluation:lending_approval_v13") in listed(
        answer
    )


def test_upstream_changes_on_a_model_version_show_its_rollout_and_rollback(
    store: GraphStore,
) -> None:
    found = listed(inv.upstream_changes(store, V13, t("2024-01-24T00:00")))
    assert (t("2024-01-25T10:00"), "STARTED", V13) in found
    assert (t("2024-01-25T11:47"), "ENDED", V13) in found
    assert (t("2024-01-25T11:47"), "STARTED", INCIDENT_ID) in found
    assert (t("2024-01-24T22:00"), "REGISTERED", "evaluation:lending_approval_v13") in found


def test_upstream_changes_until_stop_the_list_at_the_incident(store: GraphStore) -> None:
    answer = inv.upstream_changes(store, MODEL, t("2024-01-24T00:00"), t("2024-01-25T11:30"))
    assert listed(answer)[0] == (t("2024-01-25T11:30"), "REGISTERED", INCIDENT_ID)
    assert all(c.at <= t("2024-01-25T11:30") for c in answer.changes)


def test_upstream_changes_on_a_model_leave_out_versions_that_neither_served_nor_appeared(
    store: GraphStore,
) -> None:
    # Since Jan 24 the blocked candidate (Jan 20, never deployed) explains nothing.
    nodes = {c.node.id for c in inv.upstream_changes(store, MODEL, t("2024-01-24T00:00")).changes}
    assert not any("v12_rc1" in n or n == V12_RC1 for n in nodes)


def test_upstream_changes_on_a_model_include_the_handover_to_v12_on_jan_22(
    store: GraphStore,
) -> None:
    found = listed(inv.upstream_changes(store, "lending_approval", t("2024-01-22T00:00")))
    assert (t("2024-01-22T09:00"), "STARTED", V12) in found
    assert (t("2024-01-22T09:00"), "ENDED", V11) in found


def test_upstream_changes_with_until_before_since_are_invalid_naming_until(
    store: GraphStore,
) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.upstream_changes(store, MODEL, t("2024-01-25T00:00"), t("2024-01-24T00:00"))
    assert caught.value.field == "until"


def test_upstream_changes_with_a_naive_until_are_invalid_naming_until(
    store: GraphStore,
) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.upstream_changes(store, MODEL, t("2024-01-24T00:00"), datetime(2024, 1, 25))
    assert caught.value.field == "until"


def test_upstream_changes_of_a_deployment_are_its_own_version_switches(
    store: GraphStore,
) -> None:
    found = listed(inv.upstream_changes(store, DEPLOYMENT, t("2024-01-25T00:00")))
    assert (t("2024-01-25T10:00"), "STARTED", V13) in found
    assert (t("2024-01-25T11:47"), "STARTED", V12) in found
