"""The search service on the lending scenario: kinds in every spelling, credentials out of sight,
and "did you mean" on the NOT_FOUND answers of the questions and of registration."""

from __future__ import annotations

import pytest

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, NodeKind
from lineage.services import investigation
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.search import parse_kinds, search, suggestions
from lineage.services.tokens import Role, create_token
from lineage.store import GraphStore
from lineage.store.base import SearchMatch

V12 = "model:lending_approval@v12"


def test_kinds_parse_in_every_spelling_the_api_shows() -> None:
    assert parse_kinds(["DatasetVersion", "DATASET_VERSION", "dataset@"]) == {
        NodeKind.DATASET_VERSION
    }
    assert parse_kinds(["snapshot", "Model"]) == {NodeKind.FEATURE_SNAPSHOT, NodeKind.MODEL}
    assert parse_kinds(None) == frozenset()
    with pytest.raises(InvalidError) as caught:
        parse_kinds(["Model", "Modle"])
    assert caught.value.field == "kinds.1"


def test_hits_carry_a_label_and_where_the_words_matched(store: GraphStore) -> None:
    result = search(store, "head lending")

    (hit,) = result.hits
    assert (hit.node.id, hit.match, hit.label) == (
        "person:head_of_lending",
        SearchMatch.WORDS,
        "Head of Lending",
    )
    assert hit.matched == ["id", "name"]


def test_an_exact_id_is_the_first_hit(store: GraphStore) -> None:
    result = search(store, V12, ["ModelVersion"])

    assert result.hits[0].node.id == V12 and result.hits[0].match is SearchMatch.ID
    assert result.hits[0].matched == ["id"]


def test_credentials_stay_hidden_unless_asked_for_by_who_may_read_them(
    store: GraphStore,
) -> None:
    issued = create_token(store, "person:oncall_ml_engineer", [Role.READER], actor=DEMO_ACTOR)
    credential = issued.credential.id

    assert credential not in [h.node.id for h in search(store, "credential:").hits]
    assert search(store, "credential:", ["Credential"]).hits == []
    shown = search(store, "credential:", ["Credential"], with_credentials=True)
    assert [h.node.id for h in shown.hits] == [credential]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("model:lending_aproval@v12", V12),  # a typo
        ("modle:lending_approval", "model:lending_approval"),  # a kind misspelt
        ("dataset:income", "feature:income"),  # the wrong kind
        ("person:head_of_lendin", "person:head_of_lending"),  # cut short
        ("dataset:applications@v3", "dataset:applications@v0"),  # a version that is not there
    ],
)
def test_suggestions_find_what_was_meant(store: GraphStore, typed: str, meant: str) -> None:
    found = suggestions(store, typed)

    assert meant in found and len(found) <= 3


def test_nothing_alike_suggests_nothing(store: GraphStore) -> None:
    assert suggestions(store, "feature:zzzzzzzz") == []
    assert suggestions(store, "") == []


def test_a_question_about_an_unknown_id_says_what_was_meant(store: GraphStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        investigation.impact(store, "model:lending_aproval@v12", Direction.IN)

    assert caught.value.field == "node"
    assert f"did you mean {V12}" in caught.value.message
    assert caught.value.details["suggestions"][0] == V12


def test_registration_naming_an_unknown_node_says_what_was_meant(
    store: GraphStore, registry: Registry
) -> None:
    with pytest.raises(NotFoundError) as caught:
        registry.register_pipeline(
            {"id": "pipeline:new_job", "name": "New job", "owner": "person:head_of_lendng"}
        )

    assert caught.value.field == "owner"
    assert caught.value.details["suggestions"] == ["person:head_of_lending"]
