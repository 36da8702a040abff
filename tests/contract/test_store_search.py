"""search: exact ID, then ID prefix, then words (BM25), from each backend's index."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lineage.errors import InvalidError, UnavailableError
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import kind_of
from lineage.store import GraphStore
from lineage.store.base import MAX_SEARCH_HITS, SearchMatch, SearchPage, SearchQuery

T0 = datetime(2024, 1, 10, tzinfo=UTC)


def _node(node_id: str, day: float = 0, **props: Any) -> Node:
    return Node(
        id=node_id, kind=kind_of(node_id), valid_from=T0 + timedelta(days=day), props=props
    )


def _hits(page: SearchPage) -> list[tuple[str, SearchMatch]]:
    return [(h.node.id, h.match) for h in page.hits]


def _ids(store: GraphStore, text: str, **query: Any) -> list[str]:
    return [h.node.id for h in store.search(SearchQuery(text, **query)).hits]


@pytest.fixture
def catalogue(store: GraphStore) -> GraphStore:
    store.upsert_nodes(
        [
            _node("dataset:applications", name="applications"),
            _node("dataset:applications@v1", version="v1"),
            _node("dataset:applications@v2", 5, version="v2", description="Loan applications"),
            _node("dataset:credit_bureau@v1", version="v1"),
            _node("feature:income", name="income"),
            _node("feature:income_band", name="income_band"),
            _node("model:lending_approval", description="Consumer lending approval (credit)"),
            _node("model:lending_approval@v12", 12, version="v12", code_commit="abc123def456"),
            _node("model:lending_approval@v13", 15, version="v13"),
            _node("person:head_of_lending", name="Head of Lending", title="Model owner"),
            _node("batch:lending_approval_2024_01_25_1000", 15, records_hash="0" * 64),
        ]
    )
    return store


def test_the_exact_id_comes_first_then_ids_it_prefixes(catalogue: GraphStore) -> None:
    page = catalogue.search(SearchQuery("model:lending_approval@v12"))

    assert _hits(page)[0] == ("model:lending_approval@v12", SearchMatch.ID)
    assert page.hits[0].score == 1.0
    assert not page.truncated


def test_an_id_prefix_finds_the_ids_it_starts_closest_first(catalogue: GraphStore) -> None:
    page = catalogue.search(SearchQuery("model:lending"))

    assert _hits(page)[:3] == [
        ("model:lending_approval", SearchMatch.ID_PREFIX),
        ("model:lending_approval@v12", SearchMatch.ID_PREFIX),
        ("model:lending_approval@v13", SearchMatch.ID_PREFIX),
    ]
    assert 0 < page.hits[0].score < 1


def test_a_name_prefix_without_kind_finds_ids_of_every_kind(catalogue: GraphStore) -> None:
    assert _ids(catalogue, "applications@v") == [
        "dataset:applications@v1",
        "dataset:applications@v2",
    ]
    found = _ids(catalogue, "lending_approval")
    assert found == [
        "model:lending_approval",  # its name is the text
        "model:lending_approval@v12",  # then the IDs the text covers most of
        "model:lending_approval@v13",
        "batch:lending_approval_2024_01_25_1000",
    ]


def test_a_name_equal_to_the_text_leads_the_prefix_hits(catalogue: GraphStore) -> None:
    page = catalogue.search(SearchQuery("income"))

    assert _hits(page)[:2] == [
        ("feature:income", SearchMatch.ID_PREFIX),
        ("feature:income_band", SearchMatch.ID_PREFIX),
    ]
    assert page.hits[0].score == 1.0


def test_words_match_descriptive_properties_case_insensitively(catalogue: GraphStore) -> None:
    page = catalogue.search(SearchQuery("CONSUMER"))

    assert _hits(page) == [("model:lending_approval", SearchMatch.WORDS)]
    assert page.hits[0].score > 0


def test_every_word_must_match_and_the_last_may_be_a_prefix(catalogue: GraphStore) -> None:
    assert _ids(catalogue, "head lend") == ["person:head_of_lending"]
    assert _ids(catalogue, "loan appl") == ["dataset:applications@v2"]
    assert _ids(catalogue, "loan nothing") == []


def test_words_come_after_id_hits_and_are_not_repeated(catalogue: GraphStore) -> None:
    page = catalogue.search(SearchQuery("applications"))
    hits = _hits(page)

    assert hits[0] == ("dataset:applications", SearchMatch.ID_PREFIX)
    assert ("dataset:applications@v2", SearchMatch.ID_PREFIX) in hits
    assert len({node_id for node_id, _ in hits}) == len(hits)
    matches = [m for _, m in hits]
    assert matches == sorted(matches, key=list(SearchMatch).index)


def test_words_are_ranked_by_relevance(store: GraphStore) -> None:
    store.upsert_nodes(
        [
            _node("feature:a1", name="fraud alert"),
            _node("feature:a2", name="a long text about many other things and fraud at last"),
            *(_node(f"feature:filler{i}", name=f"unrelated words {i}") for i in range(8)),
        ]
    )
    page = store.search(SearchQuery("fraud"))

    assert [h.node.id for h in page.hits] == ["feature:a1", "feature:a2"]
    assert [h.match for h in page.hits] == [SearchMatch.WORDS] * 2
    assert page.hits[0].score > page.hits[1].score > 0, "the shorter text ranks first (BM25)"


def test_the_id_version_and_name_parts_are_words(catalogue: GraphStore) -> None:
    assert "model:lending_approval@v12" in _ids(catalogue, "v12")
    assert _ids(catalogue, "abc123def456") == ["model:lending_approval@v12"]
    assert "dataset:credit_bureau@v1" in _ids(catalogue, "bureau")


def test_kinds_keep_only_those_kinds(catalogue: GraphStore) -> None:
    kinds = frozenset({NodeKind.DATASET_VERSION})

    assert _ids(catalogue, "applications", kinds=kinds) == [
        "dataset:applications@v1",
        "dataset:applications@v2",
    ]
    assert _ids(catalogue, "lending", kinds=frozenset({NodeKind.PERSON})) == [
        "person:head_of_lending"
    ]
    assert _ids(catalogue, "model:lending", kinds=frozenset({NodeKind.MODEL})) == [
        "model:lending_approval"
    ]


def test_inference_batches_are_found_by_id_but_not_by_words(catalogue: GraphStore) -> None:
    assert _ids(catalogue, "batch:lending") == ["batch:lending_approval_2024_01_25_1000"]
    assert "batch:lending_approval_2024_01_25_1000" not in _ids(catalogue, "1000")


def test_a_page_past_the_limit_says_truncated(store: GraphStore) -> None:
    store.upsert_nodes([_node(f"feature:f{i:02d}", name=f"signal {i}") for i in range(12)])

    page = store.search(SearchQuery("feature:f", limit=5))
    assert [h.node.id for h in page.hits] == [f"feature:f{i:02d}" for i in range(5)]
    assert page.truncated
    words = store.search(SearchQuery("signal", limit=11))
    assert len(words.hits) == 11 and words.truncated
    whole = store.search(SearchQuery("signal", limit=12))
    assert len(whole.hits) == 12 and not whole.truncated


def test_the_index_follows_updates_and_deletions(catalogue: GraphStore) -> None:
    catalogue.upsert_nodes([_node("feature:income", name="salary")])
    assert _ids(catalogue, "salary") == ["feature:income"]
    assert "feature:income" not in _ids(catalogue, "income", kinds=None)[2:]

    catalogue.delete_nodes(["feature:income"])
    assert _ids(catalogue, "salary") == []
    assert "feature:income" not in _ids(catalogue, "income")


def test_nothing_found_is_an_empty_page(catalogue: GraphStore) -> None:
    page = catalogue.search(SearchQuery("zzz-nothing"))

    assert page.hits == [] and not page.truncated
    assert catalogue.search(SearchQuery("!!!")).hits == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 201}, "text"),
        ({"text": "ok", "limit": 0}, "limit"),
        ({"text": "ok", "kinds": frozenset()}, "kinds"),
    ],
)
def test_bad_queries_are_invalid_naming_the_field(query: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidError) as caught:
        SearchQuery(**query)
    assert caught.value.field == field


def test_too_many_words_is_invalid(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        store.search(SearchQuery(" ".join(f"w{i}" for i in range(11))))
    assert caught.value.field == "text"


def test_the_limit_is_clamped() -> None:
    assert SearchQuery("x", limit=10_000).limit == MAX_SEARCH_HITS


# -- SQLite: the index of a store from before search, and one out of step ---------------------


def _sqlite(path: Any) -> GraphStore:
    from lineage.store.sqlite import SQLiteStore

    return SQLiteStore(f"sqlite:///{path}")


@pytest.fixture
def old_sqlite_file(tmp_path: Any) -> Any:
    """A store file as a version without search left it: nodes, no index."""
    path = tmp_path / "old.db"
    store = _sqlite(path)
    try:
        store.upsert_nodes([_node("feature:income", name="income"), _node("model:m", name="m")])
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE node_words")
    return path


@pytest.mark.sqlite_only("a SQLite file written by an older version")
def test_opening_a_store_without_the_index_builds_it_from_the_nodes(old_sqlite_file: Any) -> None:
    store = _sqlite(old_sqlite_file)
    try:
        assert _ids(store, "income") == ["feature:income"]
        store.upsert_nodes([_node("feature:age", name="age of applicant")])
        assert _ids(store, "applicant") == ["feature:age"], "new nodes are indexed too"
    finally:
        store.close()


@pytest.mark.sqlite_only("rows of the SQLite file edited behind the store")
def test_an_index_out_of_step_with_the_nodes_is_unavailable_not_wrong(tmp_path: Any) -> None:
    path = tmp_path / "renumbered.db"
    store = _sqlite(path)
    try:
        store.upsert_nodes([_node("feature:income", name="income")])
        with sqlite3.connect(path) as conn:  # what a VACUUM renumbering the rows would do
            (rowid,) = conn.execute("SELECT rowid FROM nodes").fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO node_words (rowid, words) VALUES (?, 'zebra')", (rowid,)
            )
        with pytest.raises(UnavailableError) as caught:
            store.search(SearchQuery("zebra"))
        assert "node_words" in caught.value.message
    finally:
        store.close()


def test_words_of_a_rolled_back_write_are_not_found(store: GraphStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_nodes([_node("feature:ghost", name="phantom")])
        raise RuntimeError("abandon the write")

    assert store.search(SearchQuery("phantom")).hits == []
    assert store.search(SearchQuery("feature:ghost")).hits == []


@pytest.mark.sqlite_only("SQLite's bound on how many word matches it ranks")
def test_very_common_words_rank_the_newest_matches_and_say_truncated(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.store import sqlite_search

    monkeypatch.setattr(sqlite_search, "MAX_RANKED", 4)
    store = _sqlite(tmp_path / "common.db")
    try:
        store.upsert_nodes([_node(f"feature:c{i}", name="common word") for i in range(5)])
        store.upsert_nodes([_node("feature:c9", name="common")])

        newest = {"feature:c9", "feature:c4", "feature:c3"}  # the page's 2, and 1 to know more
        for kinds in (None, frozenset({NodeKind.FEATURE})):
            page = store.search(SearchQuery("common", kinds=kinds, limit=2))
            assert page.truncated
            assert {h.node.id for h in page.hits} <= newest
            assert page.hits[0].node.id == "feature:c9", "ranked among themselves by BM25"
            assert page.hits[0].score > page.hits[1].score
    finally:
        store.close()
