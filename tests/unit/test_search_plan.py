"""The rank rule both stores share, and the query texts they send to their indexes."""

from __future__ import annotations

from datetime import UTC, datetime

from lineage.model.graph import Node, NodeKind
from lineage.model.ids import kind_of
from lineage.store.base import SearchMatch, SearchQuery
from lineage.store.neo4j_search import lucene_query
from lineage.store.search_plan import (
    id_prefixes,
    indexed_words,
    matched_fields,
    rank,
    word_kinds,
    words_of,
)
from lineage.store.sqlite_search import fts_query

T0 = datetime(2024, 1, 10, tzinfo=UTC)


def _node(node_id: str, **props: object) -> Node:
    return Node(node_id, kind_of(node_id), T0, dict(props))


def test_words_are_runs_of_letters_and_digits_lower_cased() -> None:
    assert words_of("model:Lending_Approval@v12 (credit-risk) feast v3.1") == [
        "model", "lending", "approval", "v12", "credit", "risk", "feast", "v3", "1",
    ]  # fmt: skip


def test_index_queries_carry_only_words_never_syntax() -> None:
    words = words_of('income") OR kind:* NOT "x')

    assert fts_query(words) == '"income" AND "or" AND "kind" AND "not" AND "x"*'
    assert lucene_query(words, None) == (
        "+search_words:income +search_words:or +search_words:kind +search_words:not "
        "+(search_words:x search_words:x*)"
    )
    kinds = frozenset({NodeKind.DATASET_VERSION, NodeKind.MODEL})
    assert lucene_query(["loan"], kinds).endswith("+search_kind:(datasetversion model)")


def test_a_text_with_a_colon_is_one_id_prefix_else_one_per_kind_too() -> None:
    assert id_prefixes(SearchQuery("model:lending")) == ["model:lending"]
    every = id_prefixes(SearchQuery("lending"))
    assert every[0] == "lending" and "model:lending" in every and "batch:lending" in every
    only = id_prefixes(SearchQuery("lending", kinds=frozenset({NodeKind.MODEL_VERSION})))
    assert only == ["lending", "model:lending"]
    assert id_prefixes(SearchQuery("two words")) == [], "no ID holds a space"


def test_inference_batches_and_credentials_have_no_indexed_words() -> None:
    assert indexed_words(_node("batch:b1", records_hash="0" * 64)) is None
    assert indexed_words(_node("model:lending_approval@v12", code_commit="abc123")) == (
        "lending approval v12 abc123"
    )
    assert word_kinds(SearchQuery("x")) is None
    every_indexed = frozenset(NodeKind) - {NodeKind.CREDENTIAL}
    assert word_kinds(SearchQuery("x", kinds=every_indexed)) is None
    assert word_kinds(SearchQuery("x", kinds=frozenset({NodeKind.MODEL}))) == {NodeKind.MODEL}


def test_rank_puts_the_exact_id_first_then_the_closest_prefixes_then_words() -> None:
    query = SearchQuery("income", limit=3)
    page = rank(
        query,
        [_node("feature:income_band"), _node("feature:income"), _node("feature:income")],
        [(_node("model:m", description="income model"), 2.0), (_node("feature:income"), 9.0)],
    )

    assert [(h.node.id, h.match) for h in page.hits] == [
        ("feature:income", SearchMatch.ID_PREFIX),
        ("feature:income_band", SearchMatch.ID_PREFIX),
        ("model:m", SearchMatch.WORDS),
    ]
    assert not page.truncated
    assert rank(SearchQuery("income", limit=2), [], [(_node("feature:a"), 1.0)] * 3).truncated


def test_matched_fields_name_where_the_words_are() -> None:
    node = _node("person:head_of_lending", name="Head of Lending", title="Owner")

    assert matched_fields(node, ["lend"]) == ["id", "name"]
    assert matched_fields(node, ["own"]) == ["title"]
