"""The ``search`` query over the reference scenario: ranking, kinds in every spelling, limits,
credentials kept out of sight, and "did you mean" on NOT_FOUND answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

SEARCH = """
query ($text: String!, $kinds: [String!], $first: Int) {
  search(text: $text, kinds: $kinds, first: $first) {
    text truncated
    hits { id kind label match score matched node { id } }
  }
}
"""


def _search(api: Api, text: str, role: Role = Role.READER, **variables: Any) -> dict[str, Any]:
    answer: dict[str, Any] = api.data(SEARCH, {"text": text, **variables}, role=role)["search"]
    return answer


def test_the_exact_id_comes_first_then_what_it_starts(api: Api) -> None:
    answer = _search(api, "model:lending_approval@v12")

    first, second = answer["hits"][:2]
    assert (first["id"], first["match"], first["score"]) == (
        "model:lending_approval@v12",
        "ID",
        1.0,
    )
    assert first["node"]["id"] == first["id"] and first["kind"] == "ModelVersion"
    assert (second["id"], second["match"]) == ("model:lending_approval@v12-rc1", "ID_PREFIX")


def test_words_find_descriptions_and_say_where_they_matched(api: Api) -> None:
    answer = _search(api, "consumer lending")

    (hit,) = answer["hits"]
    assert (hit["id"], hit["match"], hit["matched"]) == (
        "model:lending_approval",
        "WORDS",
        ["id", "description"],  # `lending` is in the ID too
    )
    assert hit["score"] > 0 and hit["label"] == "lending_approval"


def test_a_person_is_labelled_by_name(api: Api) -> None:
    hits = _search(api, "head_of_lending", kinds=["person"])["hits"]

    assert [(h["id"], h["label"]) for h in hits] == [
        ("person:head_of_lending", "Head of Lending")
    ]


@pytest.mark.parametrize("spelling", ["DatasetVersion", "DATASET_VERSION", "dataset@"])
def test_kinds_accept_every_spelling_the_api_shows(api: Api, spelling: str) -> None:
    hits = _search(api, "applications", kinds=[spelling])["hits"]

    assert [h["id"] for h in hits] == [
        "dataset:applications@v0",
        "dataset:applications@v1",
        "dataset:applications@v2",
    ]


def test_first_caps_the_hits_and_says_truncated(api: Api) -> None:
    answer = _search(api, "model:lending", first=2)

    assert len(answer["hits"]) == 2 and answer["truncated"] is True
    assert _search(api, "feature:income", first=5)["truncated"] is False


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 201}, "text"),
        ({"text": "income", "first": 0}, "first"),
        ({"text": "income", "kinds": ["Nonsense"]}, "kinds.0"),
    ],
)
def test_bad_input_is_invalid_naming_the_argument(
    api: Api, variables: dict[str, Any], field: str
) -> None:
    (error,) = api.errors(SEARCH, variables)

    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["field"] == field


def test_credentials_are_not_found_unless_asked_for_by_who_may_read_them(api: Api) -> None:
    assert _search(api, "credential:")["hits"] == []
    assert _search(api, "credential:", role=Role.ADMIN)["hits"] == []

    (error,) = api.errors(SEARCH, {"text": "credential:", "kinds": ["Credential"]})
    assert error["extensions"]["code"] == "FORBIDDEN"
    found = _search(api, "credential:", role=Role.ADMIN, kinds=["Credential"])["hits"]
    assert found and {h["kind"] for h in found} == {"Credential"}


def test_an_unknown_model_is_not_found_with_suggestions(api: Api) -> None:
    query = """
    query ($model: String!) {
      trainingProvenance(model: $model, asOf: "2024-01-24T00:00:00Z") { truncated }
    }
    """
    (error,) = api.errors(query, {"model": "model:lending_aproval"})

    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "did you mean model:lending_approval" in error["message"]
    assert error["extensions"]["details"]["suggestions"][0] == "model:lending_approval"
