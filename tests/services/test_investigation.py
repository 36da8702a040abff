"""The investigators' questions answered on the reference scenario (DESIGN.md section 8)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, Node, NodeKind
from lineage.services import investigation as inv
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import (
    DEPLOYMENT,
    MODEL,
    SNAPSHOT_JAN20,
    SNAPSHOT_JAN24,
    batch_id,
    content_hash,
)
from lineage.store import GraphStore

V10, V11, V12, V12_RC1, V13 = (f"{MODEL}@{v}" for v in ("v10", "v11", "v12", "v12-rc1", "v13"))
APPLICATIONS_V2 = "dataset:applications@v2"
CREDIT_BUREAU_V1 = "dataset:credit_bureau@v1"
JAN_25_MORNING = batch_id("2024-01-25T00:00:00")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ids(nodes: Any) -> list[str]:
    return [n.id for n in nodes]


class CountingStore:
    """Passes every call through to a store and counts the protocol reads."""

    READS = ("get_nodes", "find_nodes", "find_edges", "traverse")

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in self.READS:
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return counted


def counting(store: GraphStore) -> tuple[GraphStore, CountingStore]:
    wrapper = CountingStore(store)
    return cast(GraphStore, wrapper), wrapper


# -- which models use dataset X ---------------------------------------------------------------


def test_models_using_applications_v2_are_the_versions_trained_on_its_snapshots(
    store: GraphStore,
) -> None:
    answer = inv.models_using_dataset(store, "applications", "v2")
    assert [u.model_version.id for u in answer.uses] == [V12, V12_RC1, V13]
    assert not answer.truncated


def test_models_using_applications_v2_link_through_the_snapshot_and_run(
    store: GraphStore,
) -> None:
    uses = {
        u.model_version.id: u for u in inv.models_using_dataset(store, "applications", "v2").uses
    }
    assert ids(uses[V12].path) == [
        APPLICATIONS_V2,
        SNAPSHOT_JAN20,
        "run:lending_approval_v12",
        V12,
    ]
    assert ids(uses[V13].path) == [APPLICATIONS_V2, SNAPSHOT_JAN24, "run:lending_approval_v13", V13]


def test_models_using_applications_v2_leave_out_versions_trained_on_older_versions(
    store: GraphStore,
) -> None:
    found = [u.model_version.id for u in inv.models_using_dataset(store, "applications", "v2").uses]
    assert V10 not in found and V11 not in found


def test_deployed_now_is_true_for_the_version_rolled_back_to_only(store: GraphStore) -> None:
    uses = inv.models_using_dataset(store, "applications", "v2").uses
    assert {u.model_version.id: u.deployed_now for u in uses} == {
        V12: True,
        V12_RC1: False,
        V13: False,
    }


def test_deployed_now_is_judged_at_the_given_instant(store: GraphStore) -> None:
    uses = inv.models_using_dataset(store, "applications", "v2", now=t("2024-01-25T10:30")).uses
    assert {u.model_version.id for u in uses if u.deployed_now} == {V13}


def test_models_using_any_version_of_a_dataset_include_every_version_trained_on_it(
    store: GraphStore,
) -> None:
    uses = inv.models_using_dataset(store, "dataset:applications").uses
    assert [u.model_version.id for u in uses] == [V10, V11, V12, V12_RC1, V13]
    assert {u.model_version.id: u.path[0].id for u in uses}[V11] == "dataset:applications@v1"


@pytest.mark.parametrize(
    ("dataset", "version"),
    [
        ("applications", "v2"),
        ("dataset:applications", "v2"),
        ("dataset:applications@v2", None),
        ("applications@v2", "v2"),
    ],
)
def test_dataset_is_accepted_as_a_name_or_an_id(
    store: GraphStore, dataset: str, version: str | None
) -> None:
    uses = inv.models_using_dataset(store, dataset, version).uses
    assert [u.model_version.id for u in uses] == [V12, V12_RC1, V13]


def test_a_run_that_bound_a_dataset_outside_its_snapshot_links_without_a_snapshot(
    store: GraphStore, registry: Registry
) -> None:
    holdout = "dataset:holdout@v1"
    registry.register_dataset_version(
        {
            "id": holdout,
            "content_hash": content_hash(holdout),
            "record_count": 1_000,
            "created_at": t("2024-01-26T00:00"),
        }
    )
    registry.register_training_run(
        {
            "id": "run:lending_approval_v14",
            "model_version": f"{MODEL}@v14",
            "snapshot": SNAPSHOT_JAN20,
            "datasets": [
                {"id": d, "content_hash": content_hash(d)}
                for d in (APPLICATIONS_V2, CREDIT_BUREAU_V1, holdout)
            ],
            "code_commit": "abcdef1234567",
            "records_available": 1_000,
            "records_used": 1_000,
            "triggered_by": "pipeline:credit_training",
            "reason": "calibration on the holdout",
            "started_at": t("2024-01-26T01:00"),
            "ended_at": t("2024-01-26T02:00"),
        }
    )
    (use,) = inv.models_using_dataset(store, "holdout").uses
    assert ids(use.path) == [holdout, "run:lending_approval_v14", f"{MODEL}@v14"]
    via_v2 = {u.model_version.id: u for u in inv.models_using_dataset(store, APPLICATIONS_V2).uses}
    assert ids(via_v2[f"{MODEL}@v14"].path)[1] == SNAPSHOT_JAN20  # the snapshot path wins


def test_unknown_dataset_is_not_found_naming_dataset(store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.models_using_dataset(store, "loans")
    assert caught.value.field == "dataset"


def test_unknown_version_of_a_known_dataset_is_not_found_naming_version(
    store: GraphStore,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.models_using_dataset(store, "applications", "v9")
    assert caught.value.field == "version"


def test_a_version_contradicting_the_dataset_id_is_invalid(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.models_using_dataset(store, "dataset:applications@v1", "v2")
    assert caught.value.field == "version"


def test_a_model_id_given_as_dataset_is_invalid(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.models_using_dataset(store, MODEL)
    assert caught.value.field == "dataset"


def test_models_using_dataset_reports_truncated_when_the_budget_cuts_the_walk(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inv, "MAX_NODES", 3)
    assert inv.models_using_dataset(store, "applications").truncated


# -- how was model Y trained, as of Z ---------------------------------------------------------


def test_provenance_on_jan_24_is_v12_with_its_exact_inputs(store: GraphStore) -> None:
    answer = inv.training_provenance(store, "lending_approval", t("2024-01-24T00:00"))
    assert answer.model_version.id == V12 and answer.serving
    assert answer.model_version.props["code_commit"] == "abc123def456"
    assert answer.training_run.id == "run:lending_approval_v12"
    assert answer.snapshot.id == SNAPSHOT_JAN20
    assert ids(answer.features) == [
        "feature:credit_score",
        "feature:income",
        "feature:debt_ratio",
        "feature:age",
    ]
    assert {d.id: d.props["content_hash"] for d in answer.datasets} == {
        APPLICATIONS_V2: content_hash(APPLICATIONS_V2),
        CREDIT_BUREAU_V1: content_hash(CREDIT_BUREAU_V1),
    }
    assert answer.training_run.props["datasets"] == {
        d.id: d.props["content_hash"] for d in answer.datasets
    }
    assert not answer.truncated


def test_provenance_on_jan_24_carries_the_run_parameters_and_evaluation(
    store: GraphStore,
) -> None:
    answer = inv.training_provenance(store, "model:lending_approval", t("2024-01-24T00:00"))
    run = answer.training_run.props
    assert (run["records_used"], run["records_available"]) == (400_000, 510_000)
    assert run["seed"] == 42 and run["split"] == {"train": 0.8, "test": 0.2}
    assert [e.props["metrics"]["auc"] for e in answer.evaluations] == [0.87]
    signed = {(a.props["role"], a.props["decision"]) for a in answer.approvals}
    assert signed == {("owner", "approved"), ("risk_approver", "approved")}
    assert answer.gates is not None and answer.gates.passed
    assert [r.id for r in answer.risk_assessments] == ["risk:lending_approval_v12_bias_audit"]
    assert answer.triggered_by is not None
    assert answer.triggered_by.id == "pipeline:credit_training"


def test_provenance_names_the_people_accountable_at_the_instant(store: GraphStore) -> None:
    answer = inv.training_provenance(store, "lending_approval", t("2024-01-24T00:00"))
    assert [(a.role, a.agent.id) for a in answer.accountable] == [
        ("owner", "person:head_of_lending"),
        ("technical_steward", "person:credit_ml_lead"),
        ("risk_approver", "person:model_risk_officer"),
    ]


@pytest.mark.parametrize(
    ("instant", "version"),
    [
        ("2024-01-10T00:00", V10),
        ("2024-01-24T00:00", V12),
        ("2024-01-25T10:30", V13),
        ("2024-01-25T12:00", V12),
    ],
)
def test_provenance_follows_the_version_serving_at_the_instant(
    store: GraphStore, instant: str, version: str
) -> None:
    answer = inv.training_provenance(store, "lending_approval", t(instant))
    assert answer.model_version.id == version and answer.serving


def test_provenance_before_any_deployment_is_the_latest_version_registered_by_then(
    store: GraphStore,
) -> None:
    answer = inv.training_provenance(store, "lending_approval", t("2024-01-05T00:00"))
    assert answer.model_version.id == V10 and not answer.serving


def test_provenance_of_a_pinned_version_says_whether_it_was_serving(store: GraphStore) -> None:
    answer = inv.training_provenance(store, V12_RC1, t("2024-01-24T00:00"))
    assert answer.model_version.id == V12_RC1 and not answer.serving
    assert [e.props["metrics"]["disparate_impact"] for e in answer.evaluations] == [0.70]


def test_provenance_leaves_out_evaluations_recorded_after_the_instant(store: GraphStore) -> None:
    answer = inv.training_provenance(store, V12, t("2024-01-21T03:00"))  # evaluated at 04:00
    assert answer.model_version.id == V12 and answer.evaluations == []


def test_provenance_shows_the_owner_in_force_at_each_instant(
    store: GraphStore, registry: Registry
) -> None:
    registry.register_person({"id": "person:new_head", "name": "New Head of Lending"})
    registry.assign_role(MODEL, "owner", "person:new_head", t("2024-02-01T00:00"), "reorg")

    def owner(instant: str) -> list[str]:
        answer = inv.training_provenance(store, "lending_approval", t(instant))
        return [a.agent.id for a in answer.accountable if a.role == "owner"]

    assert owner("2024-01-24T00:00") == ["person:head_of_lending"]
    assert owner("2024-02-02T00:00") == ["person:new_head"]


def test_provenance_of_an_unknown_model_is_not_found_naming_model(store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.training_provenance(store, "fraud_detection", t("2024-01-24T00:00"))
    assert caught.value.field == "model"


def test_provenance_before_any_version_is_not_found_naming_model(store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.training_provenance(store, "lending_approval", t("2023-12-01T00:00"))
    assert caught.value.field == "model"


def test_provenance_rejects_a_naive_instant(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.training_provenance(store, "lending_approval", datetime(2024, 1, 24))
    assert caught.value.field == "as_of"


# -- what breaks if feature F is deprecated ---------------------------------------------------


def test_feature_impact_of_age_covers_every_snapshot_and_version(store: GraphStore) -> None:
    answer = inv.feature_impact(store, "age")
    assert ids(answer.snapshots) == [
        "snapshot:credit_model_training_2024_01_03",
        "snapshot:credit_model_training_2024_01_11",
        SNAPSHOT_JAN20,
        SNAPSHOT_JAN24,
    ]
    assert ids(answer.model_versions) == [V10, V11, V12, V12_RC1, V13]
    assert answer.feature.id == "feature:age" and not answer.truncated


def test_feature_impact_names_the_deployment_serving_now_and_who_is_accountable(
    store: GraphStore,
) -> None:
    answer = inv.feature_impact(store, "feature:age")
    assert [(s.deployment.id, s.model_version.id) for s in answer.serving] == [(DEPLOYMENT, V12)]
    assert answer.serving[0].since == t("2024-01-25T11:47") and answer.serving[0].until is None
    assert {a.role: a.agent.id for a in answer.accountable[MODEL]} == {
        "owner": "person:head_of_lending",
        "technical_steward": "person:credit_ml_lead",
        "risk_approver": "person:model_risk_officer",
    }


def test_feature_impact_judges_serving_at_the_given_instant(store: GraphStore) -> None:
    answer = inv.feature_impact(store, "age", now=t("2024-01-25T10:30"))
    assert [s.model_version.id for s in answer.serving] == [V13]


def test_feature_impact_of_an_unknown_feature_is_not_found_naming_feature(
    store: GraphStore,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.feature_impact(store, "zip_code")
    assert caught.value.field == "feature"


def test_feature_impact_reports_truncated_when_the_budget_cuts_the_walk(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inv, "MAX_NODES", 3)
    assert inv.feature_impact(store, "age").truncated


# -- every decision of model Y on day D with snapshot S ---------------------------------------


def jan_25(store: GraphStore, **kwargs: Any) -> inv.Decisions:
    return inv.decisions(
        store, "lending_approval", t("2024-01-25T00:00"), t("2024-01-26T00:00"), **kwargs
    )


def test_decisions_on_jan_25_with_the_jan_20_snapshot_are_the_v12_batches(
    store: GraphStore,
) -> None:
    answer = jan_25(store, snapshot="credit_model_training_2024_01_20")
    assert [b.batch.id for b in answer.batches] == [
        JAN_25_MORNING,
        batch_id("2024-01-25T11:47:00"),
    ]
    for found in answer.batches:
        assert found.model_version.id == V12 and found.snapshot.id == SNAPSHOT_JAN20
        assert ids(found.datasets) == [APPLICATIONS_V2, CREDIT_BUREAU_V1]
    assert not answer.truncated


def test_john_does_decision_is_in_the_jan_25_batches_by_v12(
    store: GraphStore, records: RecordStore
) -> None:
    answer = jan_25(store, snapshot=SNAPSHOT_JAN20)
    decisions = [r for b in answer.batches for r in inv.batch_records(records, b.batch).records]
    (john,) = [r for r in decisions if r["applicant_id"] == "john_doe_12345"]
    assert (john["decision"], john["confidence"]) == ("APPROVED", 0.87)


def test_decisions_without_a_snapshot_include_the_v13_batches_in_window_order(
    store: GraphStore,
) -> None:
    answer = jan_25(store)
    assert [(b.batch.id, b.model_version.id) for b in answer.batches] == [
        (JAN_25_MORNING, V12),
        (batch_id("2024-01-25T10:00:00"), V13),
        (batch_id("2024-01-25T11:30:00"), V13),
        (batch_id("2024-01-25T11:47:00"), V12),
    ]


def test_decisions_include_a_batch_whose_window_began_before_the_range(store: GraphStore) -> None:
    answer = inv.decisions(store, "lending_approval", t("2024-01-25T05:00"), t("2024-01-25T06:00"))
    assert [b.batch.id for b in answer.batches] == [JAN_25_MORNING]


def test_decisions_windows_are_half_open(store: GraphStore) -> None:
    answer = inv.decisions(store, "lending_approval", t("2024-01-25T10:00"), t("2024-01-25T11:30"))
    assert [b.batch.id for b in answer.batches] == [batch_id("2024-01-25T10:00:00")]


def test_decisions_of_a_pinned_version_keep_only_its_batches(store: GraphStore) -> None:
    answer = inv.decisions(store, V13, t("2024-01-25T00:00"), t("2024-01-26T00:00"))
    assert {b.model_version.id for b in answer.batches} == {V13}
    assert len(answer.batches) == 2


def test_decisions_with_an_end_not_after_the_start_are_invalid_naming_to(
    store: GraphStore,
) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.decisions(store, "lending_approval", t("2024-01-26T00:00"), t("2024-01-26T00:00"))
    assert caught.value.field == "to"


def test_decisions_of_an_unknown_model_are_not_found_naming_model(store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.decisions(store, "fraud_detection", t("2024-01-25T00:00"), t("2024-01-26T00:00"))
    assert caught.value.field == "model"


def test_decisions_with_an_unknown_snapshot_are_not_found_naming_snapshot(
    store: GraphStore,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        jan_25(store, snapshot="credit_model_training_2099_01_01")
    assert caught.value.field == "snapshot"


def test_decisions_before_the_model_existed_are_empty(store: GraphStore) -> None:
    answer = inv.decisions(store, "lending_approval", t("2020-01-01T00:00"), t("2020-01-02T00:00"))
    assert answer.batches == [] and not answer.truncated


def test_decisions_report_truncated_when_the_budget_cuts_the_walk(
    store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.services import decisions as decisions_module

    monkeypatch.setattr(decisions_module, "MAX_NODES", 4)
    assert jan_25(store).truncated


# -- the records of a batch -------------------------------------------------------------------


def batch_node(store: GraphStore, node_id: str = JAN_25_MORNING) -> Any:
    return store.get_nodes([node_id])[node_id]


def test_batch_records_page_through_every_decision_once(
    store: GraphStore, records: RecordStore
) -> None:
    batch = batch_node(store)
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        page = inv.batch_records(records, batch, first=10, after=cursor)
        assert page.total == 24
        seen += page.records
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 24 and seen == list(records.iter_records(batch.props["records_hash"]))


def test_batch_records_clamp_a_large_page_and_reject_an_empty_one(
    store: GraphStore, records: RecordStore
) -> None:
    page = inv.batch_records(records, batch_node(store), first=10_000)
    assert len(page.records) == 24 and page.next_cursor is None
    with pytest.raises(InvalidError) as caught:
        inv.batch_records(records, batch_node(store), first=0)
    assert caught.value.field == "first"


@pytest.mark.parametrize("cursor", ["not-a-cursor", "WyJ4Il0", "!!!"])
def test_batch_records_reject_a_malformed_cursor_naming_after(
    store: GraphStore, records: RecordStore, cursor: str
) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.batch_records(records, batch_node(store), after=cursor)
    assert caught.value.field == "after"


def test_batch_records_reject_the_cursor_of_another_batch(
    store: GraphStore, records: RecordStore
) -> None:
    other = inv.batch_records(records, batch_node(store, batch_id("2024-01-25T10:00:00")), first=1)
    assert other.next_cursor is not None
    with pytest.raises(InvalidError) as caught:
        inv.batch_records(records, batch_node(store), after=other.next_cursor)
    assert caught.value.field == "after"


# -- impact and upstream changes --------------------------------------------------------------


def test_impact_with_a_tiny_budget_is_truncated(store: GraphStore) -> None:
    sub = inv.impact(store, APPLICATIONS_V2, Direction.IN, max_nodes=3)
    assert sub.truncated and len(sub.nodes) <= 3


def test_impact_returns_only_the_kinds_asked_for_besides_the_start(store: GraphStore) -> None:
    sub = inv.impact(store, APPLICATIONS_V2, Direction.IN, kinds=["ModelVersion", "DEPLOYMENT"])
    kinds = {n.kind for n in sub.nodes if n.id != APPLICATIONS_V2}
    assert kinds == {NodeKind.MODEL_VERSION, NodeKind.DEPLOYMENT}
    assert not sub.truncated


def test_impact_with_an_unknown_kind_is_invalid_naming_kinds(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.impact(store, APPLICATIONS_V2, Direction.IN, kinds=["Spaceship"])
    assert caught.value.field == "kinds"


def test_impact_from_an_unknown_node_is_not_found_naming_node(store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.impact(store, "dataset:loans@v1", Direction.IN)
    assert caught.value.field == "node"


def changed(answer: inv.UpstreamChanges) -> list[tuple[str, str, str | None]]:
    return [(c.what.value, c.node.id, c.edge.dst if c.edge else None) for c in answer.changes]


def test_upstream_changes_of_v13_since_jan_24_end_with_its_snapshot_and_run(
    store: GraphStore,
) -> None:
    # Before them, newest first, what stands around v13: its evidence, its rollout, the
    # incident and the rollback (tests/services/test_upstream_changes.py goes through them).
    answer = inv.upstream_changes(store, V13, t("2024-01-24T00:00"))
    assert changed(answer)[-2:] == [
        ("REGISTERED", "run:lending_approval_v13", None),
        ("REGISTERED", SNAPSHOT_JAN24, None),
    ]
    assert [c.depth for c in answer.changes[-2:]] == [1, 2]
    assert not answer.truncated


def test_upstream_changes_leave_out_older_inputs_and_the_start(store: GraphStore) -> None:
    found = ids(c.node for c in inv.upstream_changes(store, V13, t("2024-01-24T00:00")).changes)
    assert APPLICATIONS_V2 not in found and V13 not in found
    older = inv.upstream_changes(store, V13, t("2024-01-15T00:00")).changes
    assert APPLICATIONS_V2 in ids(c.node for c in older)


def test_upstream_of_a_batch_shows_its_deployment_switching_versions(store: GraphStore) -> None:
    # The incident: v13 went live at 10:00, the monitors' alert at 11:30 on its first batch
    # (the incident links its evidence batches and its playbook), the rollback to v12 at 11:47,
    # linked to the incident it answers.
    incident = "incident:lending_approval_2024_01_25"
    answer = inv.upstream_changes(store, batch_id("2024-01-25T11:47:00"), t("2024-01-25T00:00"))
    assert [(c.at, *change) for c, change in zip(answer.changes, changed(answer), strict=True)] == [
        (t("2024-01-25T11:47"), "STARTED", DEPLOYMENT, incident),
        (t("2024-01-25T11:47"), "STARTED", DEPLOYMENT, V12),
        (t("2024-01-25T11:47"), "ENDED", DEPLOYMENT, V13),
        (t("2024-01-25T11:30"), "REGISTERED", batch_id("2024-01-25T11:30:00"), None),
        (t("2024-01-25T11:30"), "REGISTERED", incident, None),
        (t("2024-01-25T11:30"), "REGISTERED", "playbook:demographic_parity", None),
        (t("2024-01-25T10:00"), "REGISTERED", batch_id("2024-01-25T10:00:00"), None),
        (t("2024-01-25T10:00"), "ENDED", DEPLOYMENT, V12),
        (t("2024-01-25T10:00"), "STARTED", DEPLOYMENT, V13),
    ]


def test_upstream_changes_include_a_new_owner_and_the_old_one_leaving(
    store: GraphStore, registry: Registry
) -> None:
    new_owner = registry.register_person(
        {"id": "person:new_head_of_lending", "name": "New head", "since": "2024-01-02T00:00:00Z"}
    ).node.id
    registry.assign_role(MODEL, "owner", new_owner, t("2024-01-26T09:00"), "reorganisation")
    old_term = next(
        c.edge
        for c in inv.upstream_changes(store, V13, t("2024-01-26T00:00")).changes
        if c.what is inv.ChangeKind.ENDED and c.edge is not None
    )
    assert old_term is not None
    old_owner = store.get_nodes([old_term.dst])[old_term.dst]
    store.upsert_nodes(
        [
            Node(
                old_owner.id,
                old_owner.kind,
                old_owner.valid_from,
                old_owner.props,
                valid_to=t("2024-01-26T17:00"),
            )
        ]
    )

    answer = inv.upstream_changes(store, V13, t("2024-01-26T00:00"))

    assert changed(answer) == [
        ("ENDED", old_owner.id, None),
        ("ENDED", MODEL, old_owner.id),
        ("STARTED", MODEL, new_owner),
    ]
    assert [c.at for c in answer.changes] == [t("2024-01-26T17:00"), *[t("2024-01-26T09:00")] * 2]
    assert [c.depth for c in answer.changes] == [2, 1, 1]


# -- round trips ------------------------------------------------------------------------------


# Each question first asks once whether the store holds any correction (it holds none here).
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (lambda s: inv.models_using_dataset(s, "applications"), ["find_nodes", "traverse"]),
        (
            lambda s: inv.training_provenance(s, "lending_approval", t("2024-01-24T00:00")),
            ["find_nodes"] + ["traverse"] * 3,
        ),
        # the snapshots and what they trained, the model's people, the source columns
        (lambda s: inv.feature_impact(s, "age"), ["find_nodes"] + ["traverse"] * 3),
        (
            lambda s: jan_25(s, snapshot=SNAPSHOT_JAN20),
            ["find_nodes", "traverse", "get_nodes", "get_nodes"],
        ),
        (
            # what stands around v13, its upstream, its deployment's own facts
            lambda s: inv.upstream_changes(s, V13, t("2024-01-24T00:00")),
            ["find_nodes"] + ["traverse"] * 3,
        ),
    ],
    ids=["models_using_dataset", "training_provenance", "feature_impact", "decisions", "upstream"],
)
def test_each_question_takes_a_fixed_number_of_round_trips(
    store: GraphStore, question: Callable[[GraphStore], object], expected: list[str]
) -> None:
    wrapped, counter = counting(store)
    question(wrapped)
    assert counter.calls == expected
