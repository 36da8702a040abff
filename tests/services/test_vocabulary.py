"""One vocabulary across the questions: full IDs and short names, `asOf`, kind spellings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, NodeKind
from lineage.services import investigation as inv
from lineage.services.names import resolve_any
from lineage.services.registry import Registry
from lineage.services.scenario import MODEL
from lineage.store import GraphStore

V12, V12_RC1, V13 = (f"{MODEL}@{v}" for v in ("v12", "v12-rc1", "v13"))


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- IDs and short names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lending_approval", MODEL),
        ("lending_approval@v12", V12),
        ("income", "feature:income"),
        ("applications", "dataset:applications"),
        ("applications@v2", "dataset:applications@v2"),
        ("credit_model_training_2024_01_20", "snapshot:credit_model_training_2024_01_20"),
        ("lending_approval_production", "deployment:lending_approval_production"),
        ("head_of_lending", "person:head_of_lending"),
    ],
)
def test_a_short_name_resolves_to_the_one_node_of_that_name(
    store: GraphStore, name: str, expected: str
) -> None:
    assert resolve_any(store, name, "node") == expected


def test_a_full_id_is_taken_as_given(store: GraphStore) -> None:
    assert resolve_any(store, V13, "node") == V13


def test_a_short_name_no_node_carries_is_not_found_naming_the_field(store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        resolve_any(store, "no_such_thing", "node")
    assert caught.value.field == "node" and "full ID" in caught.value.message


def test_a_short_name_of_several_nodes_is_invalid_listing_the_candidates(
    store: GraphStore, registry: Registry
) -> None:
    # A pipeline named like the model: "lending_approval" no longer names one node.
    registry.register_pipeline(
        {
            "id": "pipeline:lending_approval",
            "name": "Lending approval job",
            "since": "2024-01-01T00:00:00Z",
        }
    )
    with pytest.raises(InvalidError) as caught:
        resolve_any(store, "lending_approval", "node")
    assert caught.value.field == "node"
    assert caught.value.details["candidates"] == [MODEL, "pipeline:lending_approval"]


def test_a_malformed_short_name_is_invalid(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        resolve_any(store, "bad name!", "node")
    assert caught.value.field == "node"


def test_impact_takes_a_short_name(store: GraphStore) -> None:
    by_name = inv.impact(store, "income", Direction.IN, max_depth=2)
    by_id = inv.impact(store, "feature:income", Direction.IN, max_depth=2)
    assert [n.id for n in by_name.nodes] == [n.id for n in by_id.nodes]


def test_upstream_changes_take_a_short_name(store: GraphStore) -> None:
    by_name = inv.upstream_changes(store, "lending_approval@v13", t("2024-01-24T00:00"))
    by_id = inv.upstream_changes(store, V13, t("2024-01-24T00:00"))
    assert by_name == by_id


# -- asOf: the world as the graph recorded it then --------------------------------------------


def test_models_using_dataset_as_of_excludes_versions_registered_later(
    store: GraphStore,
) -> None:
    # v13's training run ended on Jan 24 at 20:00: at midnight it did not exist yet.
    midnight = inv.models_using_dataset(store, "applications", "v2", as_of=t("2024-01-24T00:00"))
    assert [u.model_version.id for u in midnight.uses] == [V12, V12_RC1]
    evening = inv.models_using_dataset(store, "applications", "v2", as_of=t("2024-01-24T21:00"))
    assert [u.model_version.id for u in evening.uses] == [V12, V12_RC1, V13]


def test_models_using_dataset_as_of_before_the_version_existed_is_not_found(
    store: GraphStore,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.models_using_dataset(store, "applications", "v2", as_of=t("2024-01-14T00:00"))
    assert caught.value.field == "version" and "2024-01-14" in caught.value.message


def test_feature_impact_as_of_excludes_snapshots_and_versions_registered_later(
    store: GraphStore,
) -> None:
    answer = inv.feature_impact(store, "income", as_of=t("2024-01-21T00:00"))
    assert "snapshot:credit_model_training_2024_01_24" not in [n.id for n in answer.snapshots]
    assert V13 not in [n.id for n in answer.model_versions]
    assert V12 not in [n.id for n in answer.model_versions]  # its run ended Jan 21 02:00
    assert V12_RC1 in [n.id for n in answer.model_versions]


def test_impact_as_of_leaves_out_what_was_registered_later(store: GraphStore) -> None:
    earlier = inv.impact(store, "applications@v2", Direction.IN, as_of=t("2024-01-22T00:00"))
    reached = {n.id for n in earlier.nodes}
    assert V12 in reached and V13 not in reached


# -- kinds in every spelling ------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["DatasetVersion", "DATASET_VERSION", "dataset_version", "dataset@"]
)
def test_a_kind_is_accepted_in_every_spelling_the_api_shows(spelling: str) -> None:
    assert NodeKind.parse(spelling) is NodeKind.DATASET_VERSION


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("dataset", NodeKind.DATASET),
        ("snapshot", NodeKind.FEATURE_SNAPSHOT),
        ("batch", NodeKind.INFERENCE_BATCH),
        ("model@", NodeKind.MODEL_VERSION),
    ],
)
def test_an_id_prefix_names_its_kind(prefix: str, kind: NodeKind) -> None:
    assert NodeKind.parse(prefix) is kind


def test_an_unknown_kind_is_invalid_naming_the_field() -> None:
    with pytest.raises(InvalidError) as caught:
        NodeKind.parse("feature@", "kinds")  # features carry no version
    assert caught.value.field == "kinds" and "ID prefixes" in caught.value.message


def test_impact_filters_by_an_id_prefix_as_by_a_kind_name(store: GraphStore) -> None:
    by_prefix = inv.impact(store, "applications@v2", Direction.IN, kinds=["model@"])
    by_name = inv.impact(store, "applications@v2", Direction.IN, kinds=["ModelVersion"])
    assert [n.id for n in by_prefix.nodes] == [n.id for n in by_name.nodes]
    assert {n.kind for n in by_prefix.nodes[1:]} == {NodeKind.MODEL_VERSION}
