"""Corrections fix a mistake that got in without rewriting history, on every backend.

The original node, its edges and its audit event stay byte-identical; the questions answer with
the corrected facts, and asked ``asOf`` an instant before a correction, as the graph stood then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from lineage.errors import ConflictError, InvalidError, LineageError, NotFoundError
from lineage.model.graph import Direction, Edge, EdgeKind, Node, NodeKind
from lineage.services import investigation as inv
from lineage.services.audit import node_subject, verify
from lineage.services.corrected import CorrectedReads, correction_id, history
from lineage.services.corrections import Correction, Corrections
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, DEPLOYMENT, MODEL, batch_id
from lineage.store import EdgeQuery, GraphStore, NodeQuery

APPLICATIONS_V2 = "dataset:applications@v2"
OLD_URI = "s3://lending-data/applications@v2/"
NEW_URI = "s3://lending-data-archive/applications/v2/"
V12, V13 = f"{MODEL}@v12", f"{MODEL}@v13"
RUN_V12 = "run:lending_approval_v12"
EVALUATION_V10 = "evaluation:lending_approval_v10"
CANARY = "deployment:lending_approval_canary"
JAN23 = batch_id("2024-01-23T00:00:00")  # v12, attributed to production
JAN25_V13 = batch_id("2024-01-25T10:00:00")  # v13, attributed to production
BEFORE = datetime(2024, 2, 1, tzinfo=UTC)  # long after the scenario, long before any correction
CORRECTOR = "person:credit_ml_lead"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def head_seq(store: GraphStore) -> int:
    head = store.audit_head()
    return head.seq if head else 0


@pytest.fixture
def corrections(scenario_store: GraphStore, records: RecordStore) -> Corrections:
    """Corrections as the scenario's technical steward, a registered agent."""
    return Corrections(scenario_store, records, actor=CORRECTOR)


@pytest.fixture
def canary(scenario_store: GraphStore, records: RecordStore) -> str:
    """A canary deployment that has served v12 since production started serving it."""
    Registry(scenario_store, records, actor=DEMO_ACTOR).backfill_deploy(
        {
            "deployment": CANARY,
            "model_version": V12,
            "at": at("2024-01-22T09:00:00"),
            "environment": "canary",
            "reason": "canary release of v12",
        }
    )
    return CANARY


def refused(
    store: GraphStore, error: type[LineageError], write: Callable[[], object]
) -> LineageError:
    """The error ``write`` raised; asserts no audit event and no correction node was written."""
    before = head_seq(store), store.find_nodes(NodeQuery(kind=NodeKind.CORRECTION)).items
    with pytest.raises(error) as info:
        write()
    after = head_seq(store), store.find_nodes(NodeQuery(kind=NodeKind.CORRECTION)).items
    assert after == before
    return info.value


def uri_in_provenance(store: GraphStore, as_of: datetime) -> Any:
    answer = inv.training_provenance(store, "lending_approval", as_of)
    (dataset,) = [d for d in answer.datasets if d.id == APPLICATIONS_V2]
    return dataset.props.get("uri")


def uri_in_models_using(store: GraphStore, as_of: datetime | None = None) -> set[Any]:
    answer = inv.models_using_dataset(store, "applications", "v2", now=as_of)
    return {use.path[0].props.get("uri") for use in answer.uses}


def uri_in_impact(store: GraphStore, as_of: datetime | None = None) -> Any:
    sub = inv.impact(store, JAN23, Direction.OUT, max_depth=6, as_of=as_of)
    (dataset,) = [n for n in sub.nodes if n.id == APPLICATIONS_V2]
    return dataset.props.get("uri")


def deployments_upstream(store: GraphStore, node: str, as_of: datetime | None = None) -> set[str]:
    sub = inv.impact(store, node, Direction.OUT, max_depth=6, as_of=as_of)
    reached = {n.id for n in sub.nodes if n.kind is NodeKind.DEPLOYMENT}
    linked = {e.dst for e in sub.edges if e.src == node and e.kind is EdgeKind.WAS_ASSOCIATED_WITH}
    assert reached == linked  # nothing is reached over an edge the answer does not show
    return reached


# -- a wrong uri --------------------------------------------------------------------------------


def test_a_corrected_uri_is_what_every_question_shows_by_default(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    done = corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "registered the staging copy")
    assert done.created and done.node.props["uri"] == NEW_URI
    now = datetime.now(UTC)

    assert (
        CorrectedReads(scenario_store).get_nodes([APPLICATIONS_V2])[APPLICATIONS_V2].props["uri"]
        == NEW_URI
    )
    assert uri_in_provenance(scenario_store, now) == NEW_URI
    assert uri_in_models_using(scenario_store) == {NEW_URI}
    assert uri_in_impact(scenario_store) == NEW_URI


def test_a_question_asked_as_of_before_the_correction_shows_the_registered_uri(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    done = corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "registered the staging copy")

    assert uri_in_provenance(scenario_store, at("2024-01-24T00:00:00")) == OLD_URI
    assert uri_in_models_using(scenario_store, BEFORE) == {OLD_URI}
    assert uri_in_impact(scenario_store, BEFORE) == OLD_URI
    # From the instant it was recorded, it applies.
    recorded = done.correction.valid_from
    assert uri_in_provenance(scenario_store, recorded) == NEW_URI
    assert uri_in_impact(scenario_store, recorded) == NEW_URI


def test_successive_corrections_apply_in_order_each_from_its_own_instant(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    first = corrections.correct(APPLICATIONS_V2, {"uri": "s3://first/"}, "first fix")
    second = corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "the first fix was wrong")

    assert [c.id for c in history(scenario_store, APPLICATIONS_V2)] == [
        correction_id(APPLICATIONS_V2, 1),
        correction_id(APPLICATIONS_V2, 2),
    ]
    assert second.correction.props["previous"] == {"uri": "s3://first/"}
    assert second.correction.valid_from >= first.correction.valid_from
    assert uri_in_provenance(scenario_store, BEFORE) == OLD_URI
    if second.correction.valid_from > first.correction.valid_from:
        assert uri_in_provenance(scenario_store, first.correction.valid_from) == "s3://first/"
    assert uri_in_provenance(scenario_store, second.correction.valid_from) == NEW_URI


def test_a_forgotten_field_is_added_and_can_be_removed_again(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    added = corrections.correct(
        APPLICATIONS_V2, {"description": "Loan applications, Jan 15 extract"}, "forgotten"
    )
    assert added.correction.props["previous"] == {"description": None}
    assert added.node.props["description"] == "Loan applications, Jan 15 extract"
    assert added.node.props["uri"] == OLD_URI  # what it did not change stays

    removed = corrections.correct(APPLICATIONS_V2, {"description": None}, "it was not ours")
    assert "description" not in removed.node.props
    assert removed.correction.props["changes"] == {"description": None}


def test_a_corrected_training_run_shows_in_its_provenance_and_its_model_version(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    done = corrections.correct(
        RUN_V12, {"code_commit": "abc123def457", "records_used": 401_000}, "commit mistyped"
    )
    now = datetime.now(UTC)

    answer = inv.training_provenance(scenario_store, "lending_approval", now)
    assert answer.training_run.props["code_commit"] == "abc123def457"
    assert answer.training_run.props["records_used"] == 401_000
    # A model version copies its run's commit at registration: the correction shows there too.
    assert answer.model_version.props["code_commit"] == "abc123def457"
    then = inv.training_provenance(scenario_store, "lending_approval", at("2024-01-24T00:00:00"))
    assert then.model_version.props["code_commit"] == "abc123def456"
    (copy,) = history(scenario_store, V12)
    assert copy.props["copy_of"] == done.correction.id
    assert copy.props["changes"] == {"code_commit": "abc123def457"}
    assert done.copies == [copy] and verify(scenario_store).ok


def test_a_misattributed_training_run_names_who_really_triggered_it(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    corrections.correct(RUN_V12, {"triggered_by": CORRECTOR}, "run by hand, not by the pipeline")

    now = inv.training_provenance(scenario_store, "lending_approval", datetime.now(UTC))
    then = inv.training_provenance(scenario_store, "lending_approval", at("2024-01-24T00:00:00"))

    assert now.triggered_by is not None and now.triggered_by.id == CORRECTOR
    assert then.triggered_by is not None and then.triggered_by.id == "pipeline:credit_training"


def test_a_forgotten_evaluation_dataset_adds_the_edge_only_from_its_correction(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    evaluation_v12 = "evaluation:lending_approval_v12"
    corrections.correct(evaluation_v12, {"dataset": APPLICATIONS_V2}, "evaluated on v2's holdout")

    def evaluations_downstream(as_of: datetime | None) -> set[str]:
        sub = inv.impact(scenario_store, APPLICATIONS_V2, Direction.IN, 1, ["Evaluation"], as_of)
        return {n.id for n in sub.nodes if n.kind is NodeKind.EVALUATION}

    assert evaluations_downstream(None) == {evaluation_v12}
    assert evaluations_downstream(BEFORE) == set()


# -- a mis-attributed batch ----------------------------------------------------------------------


def test_a_misattributed_batch_is_reattributed_to_the_deployment_that_served_it(
    scenario_store: GraphStore, corrections: Corrections, canary: str
) -> None:
    done = corrections.correct(JAN23, {"deployment": canary}, "scored by the canary")

    assert done.node.props["deployment"] == canary
    assert done.correction.props["previous"] == {"deployment": DEPLOYMENT}
    assert deployments_upstream(scenario_store, JAN23) == {canary}
    assert deployments_upstream(scenario_store, JAN23, BEFORE) == {DEPLOYMENT}
    only = inv.impact(scenario_store, JAN23, Direction.OUT, 6, ["Deployment"])
    assert {n.id for n in only.nodes} == {JAN23, canary}


def test_upstream_changes_of_a_reattributed_batch_follow_its_new_deployment(
    scenario_store: GraphStore, corrections: Corrections, canary: str
) -> None:
    done = corrections.correct(JAN23, {"deployment": canary}, "scored by the canary")

    answer = inv.upstream_changes(scenario_store, JAN23, at("2024-01-22T00:00:00"))
    served = {(c.node.id, c.what) for c in answer.changes if c.edge is not None}
    assert served == {(canary, inv.ChangeKind.STARTED)}
    (corrected,) = [c for c in answer.changes if c.what is inv.ChangeKind.CORRECTED]
    assert corrected.node.id == JAN23 and corrected.correction is not None
    assert corrected.correction.id == done.correction.id
    assert corrected.at == done.correction.valid_from
    assert answer.changes[0] is corrected  # newest first


def test_a_batch_attributed_back_and_forth_shows_each_deployment_in_its_time(
    scenario_store: GraphStore, corrections: Corrections, canary: str
) -> None:
    to_canary = corrections.correct(JAN23, {"deployment": canary}, "scored by the canary")
    back = corrections.correct(JAN23, {"deployment": DEPLOYMENT}, "it was production after all")

    assert deployments_upstream(scenario_store, JAN23) == {DEPLOYMENT}
    assert deployments_upstream(scenario_store, JAN23, BEFORE) == {DEPLOYMENT}
    if back.correction.valid_from > to_canary.correction.valid_from:
        mid = deployments_upstream(scenario_store, JAN23, to_canary.correction.valid_from)
        assert mid == {canary}
    assert back.correction.props["added_edges"] == [
        Edge(JAN23, EdgeKind.WAS_ASSOCIATED_WITH, DEPLOYMENT).key
    ]
    assert verify(scenario_store).ok


def test_a_batch_cannot_be_attributed_to_a_deployment_that_was_not_serving_its_version(
    scenario_store: GraphStore, corrections: Corrections, canary: str
) -> None:
    error = refused(
        scenario_store,
        ConflictError,
        lambda: corrections.correct(JAN25_V13, {"deployment": canary}, "wrong guess"),
    )
    assert error.field == "changes.deployment"
    assert f"{canary} served {V12}" in error.message and f"not {V13}" in error.message


# -- history stays as it was --------------------------------------------------------------------


def test_the_original_node_its_edges_and_its_audit_event_are_untouched(
    scenario_store: GraphStore, corrections: Corrections, canary: str
) -> None:
    def raw() -> tuple[Node, list[Edge], list[Any]]:
        node = scenario_store.get_nodes([JAN23])[JAN23]
        edges = scenario_store.find_edges(EdgeQuery(src=JAN23)).items
        events = [
            e for e in scenario_store.audit_events(limit=1_000) if node_subject(JAN23) in e.subjects
        ]
        return node, edges, events

    node, edges, events = raw()
    done = corrections.correct(
        JAN23, {"deployment": canary, "counts": {"APPROVED": 11, "DECLINED": 13}}, "recount"
    )
    node_after, edges_after, events_after = raw()

    assert node_after == node and node_after.content_hash() == node.content_hash()
    assert node_after.props["deployment"] == DEPLOYMENT
    assert events_after == events
    added = Edge(JAN23, EdgeKind.WAS_ASSOCIATED_WITH, canary)
    assert [e for e in edges_after if e.key != added.key] == edges  # nothing changed or deleted
    assert done.correction.props["hidden_edges"] == [
        Edge(JAN23, EdgeKind.WAS_ASSOCIATED_WITH, DEPLOYMENT).key
    ]
    report = verify(scenario_store)
    assert report.ok, report.problem


def test_repeating_the_latest_correction_is_a_noop(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    first = corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "registered the staging copy")
    before = head_seq(scenario_store)

    again = corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "registered the staging copy")

    assert not again.created and again.audit_seq is None
    assert again.correction == first.correction
    assert again.node.props["uri"] == NEW_URI
    assert head_seq(scenario_store) == before
    assert len(history(scenario_store, APPLICATIONS_V2)) == 1


def test_concurrent_corrections_of_one_node_take_successive_numbers(
    scenario_store: GraphStore, records: RecordStore
) -> None:
    done: list[Correction] = []
    failed: list[BaseException] = []

    def correct(uri: str) -> None:
        try:
            service = Corrections(scenario_store, records, actor=CORRECTOR)
            done.append(service.correct(APPLICATIONS_V2, {"uri": uri}, f"moved to {uri}"))
        except BaseException as exc:  # reported below, on the test's thread
            failed.append(exc)

    threads = [threading.Thread(target=correct, args=(f"s3://copy-{i}/",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failed == []
    assert sorted(d.correction.id for d in done) == [
        correction_id(APPLICATIONS_V2, 1),
        correction_id(APPLICATIONS_V2, 2),
    ]
    assert verify(scenario_store).ok


def test_the_audit_actor_and_the_correction_name_the_caller(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    done = corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "registered the staging copy")

    head = scenario_store.audit_head()
    assert head is not None and head.seq == done.audit_seq
    assert (head.actor, head.action, head.reason) == (
        CORRECTOR,
        "correct",
        "registered the staging copy",
    )
    assert head.payload is not None and head.payload["changes"] == {"uri": NEW_URI}
    assert done.correction.props["by"] == CORRECTOR
    links = scenario_store.find_edges(EdgeQuery(src=done.correction.id)).items
    assert {(e.kind, e.dst) for e in links} == {
        (EdgeKind.CORRECTS, APPLICATIONS_V2),
        (EdgeKind.WAS_ASSOCIATED_WITH, CORRECTOR),
    }


def test_a_correction_by_an_unregistered_actor_is_refused(
    scenario_store: GraphStore, records: RecordStore
) -> None:
    stranger = Corrections(scenario_store, records, actor="person:never_registered")
    error = refused(
        scenario_store,
        InvalidError,
        lambda: stranger.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "x"),
    )
    assert error.field == "actor"


# -- what may not be corrected -----------------------------------------------------------------

IDENTITY = [
    (APPLICATIONS_V2, "content_hash", "0" * 64),
    (APPLICATIONS_V2, "record_count", 1),
    (APPLICATIONS_V2, "created_at", "2024-01-16T00:00:00Z"),
    ("snapshot:credit_model_training_2024_01_20", "features", ["age"]),
    ("snapshot:credit_model_training_2024_01_20", "sources", [APPLICATIONS_V2]),
    (RUN_V12, "snapshot", "snapshot:credit_model_training_2024_01_24"),
    (RUN_V12, "started_at", "2024-01-20T15:00:00Z"),
    (JAN23, "model_version", V13),
    (JAN23, "record_count", 25),
    (JAN23, "records_hash", "1" * 64),
    (JAN23, "window_end", "2024-01-24T01:00:00Z"),
    (JAN23, "id", "batch:other"),
    (JAN23, "valid_from", "2024-01-23T01:00:00Z"),
]


@pytest.mark.parametrize(("target", "field", "value"), IDENTITY)
def test_a_field_that_defines_what_was_registered_cannot_be_corrected(
    scenario_store: GraphStore, corrections: Corrections, target: str, field: str, value: Any
) -> None:
    error = refused(
        scenario_store, InvalidError, lambda: corrections.correct(target, {field: value}, "x")
    )
    assert error.field == f"changes.{field}"
    assert "defines what was registered: register a new version instead" in error.message


@pytest.mark.parametrize(
    ("target", "changes", "error", "field", "says"),
    [
        (APPLICATIONS_V2, {"colour": "red"}, InvalidError, "changes.colour", "no correctable"),
        (APPLICATIONS_V2, {}, InvalidError, "changes", "at least one field"),
        (APPLICATIONS_V2, {"uri": OLD_URI}, InvalidError, "changes", "must change something"),
        (APPLICATIONS_V2, {"uri": "x" * 2_001}, InvalidError, "changes.uri", "2000"),
        (MODEL, {"owner": "person:credit_ml_lead"}, InvalidError, "changes.owner", "assign_role"),
        (V12, {"code_commit": "abc123def457"}, InvalidError, "target", "correct the training"),
        (DEPLOYMENT, {"environment": "prod"}, InvalidError, "target", "cannot be corrected"),
        ("dataset:applications@v9", {"uri": NEW_URI}, NotFoundError, "target", "not registered"),
        (RUN_V12, {"records_used": 600_000}, InvalidError, "changes.records_used", "exceed"),
        (RUN_V12, {"split": {"train": 0.9, "test": 0.2}}, InvalidError, "changes.split", "add up"),
        (RUN_V12, {"seed": "42"}, InvalidError, "changes.seed", "integer"),
        (RUN_V12, {"triggered_by": "pipeline:ghost"}, NotFoundError, "changes.triggered_by", ""),
        (JAN23, {"counts": {"APPROVED": 30}}, InvalidError, "changes.counts", "record_count"),
        (JAN23, {"deployment": "deployment:ghost"}, NotFoundError, "changes.deployment", ""),
        (JAN23, {"deployment": V12}, InvalidError, "changes.deployment", "expected Deployment"),
        (
            EVALUATION_V10,
            {"dataset": APPLICATIONS_V2},
            ConflictError,
            "changes.dataset",
            "before dataset:applications@v2 existed",
        ),
        ("person:credit_ml_lead", {"name": None}, InvalidError, "changes.name", "required"),
    ],
)
def test_a_correction_a_registration_would_refuse_is_refused_with_nothing_written(
    scenario_store: GraphStore,
    corrections: Corrections,
    target: str,
    changes: dict[str, Any],
    error: type[LineageError],
    field: str,
    says: str,
) -> None:
    refusal = refused(
        scenario_store, error, lambda: corrections.correct(target, changes, "a mistake")
    )
    assert refusal.field == field
    assert says in refusal.message


def test_a_correction_needs_a_reason(scenario_store: GraphStore, corrections: Corrections) -> None:
    error = refused(
        scenario_store,
        InvalidError,
        lambda: corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, " "),
    )
    assert error.field == "reason"


def test_corrections_cannot_themselves_be_corrected_directly(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    done = corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "registered the staging copy")
    error = refused(
        scenario_store,
        InvalidError,
        lambda: corrections.correct(done.correction.id, {"reason": "better reason"}, "x"),
    )
    assert error.field == "target"


# -- what it costs to read ---------------------------------------------------------------------


class Counting:
    """Counts the protocol reads a question makes."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in ("get_nodes", "find_nodes", "find_edges", "traverse"):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return counted


def test_impact_reads_the_corrections_of_its_walk_in_one_lookup_per_round(
    scenario_store: GraphStore, corrections: Corrections
) -> None:
    corrections.correct(APPLICATIONS_V2, {"uri": "s3://first/"}, "first fix")
    corrections.correct(APPLICATIONS_V2, {"uri": NEW_URI}, "second fix")
    counting = Counting(scenario_store)

    sub = inv.impact(counting, JAN23, Direction.OUT, 6)  # type: ignore[arg-type]

    # Is there any correction; the walk; first corrections; second ones; a third (none).
    assert counting.calls == ["find_nodes", "traverse", "get_nodes", "get_nodes", "get_nodes"]
    assert {n.id: n for n in sub.nodes}[APPLICATIONS_V2].props["uri"] == NEW_URI
