"""Search on Neo4j: ID ranges of the ``node_id`` constraint's index and a FULLTEXT index.

Every node of an indexed kind carries ``search_words`` and ``search_kind`` (written with the
node by :func:`lineage.store.neo4j_rows.node_row`, from
:func:`~lineage.store.search_plan.indexed_words`) and the ``node_search`` full-text index
covers both (statements in the search block of :mod:`lineage.store.cypher`). A store written
before search existed gets its nodes' words before its first search (:func:`prepare`), once.
Hits are ranked by :mod:`lineage.store.search_plan`, as on SQLite; relevance is Lucene's BM25.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from lineage.model.graph import NodeKind
from lineage.store import cypher
from lineage.store.base import SearchPage, SearchQuery
from lineage.store.neo4j_rows import node
from lineage.store.neo4j_session import Tx, rows
from lineage.store.search_plan import (
    UNINDEXED_KINDS,
    id_prefixes,
    query_words,
    rank,
    searches_words,
    word_kinds,
    words_text,
)

INDEX = "node_search"
# Bump when what is indexed changes: stores marked with an older version are backfilled again.
INDEX_VERSION = 1
BACKFILL_PAGE = 1_000
# A new index populates in the background; the first search waits this long for it.
AWAIT_SECONDS = 60


def lucene_query(words: list[str], kinds: frozenset[NodeKind] | None) -> str:
    """Every word required, the last one as a word or a prefix (a prefix query alone scores
    every hit the same), and the kinds. Words are letters and digits only, so no Lucene syntax
    can ride in on them (and lower-case ``and``/``or``/``not`` are not operators)."""
    terms = [f"+search_words:{w}" for w in words[:-1]]
    last = words[-1]
    terms.append(f"+(search_words:{last} search_words:{last}*)")
    if kinds is not None:
        names = " ".join(sorted(k.value.lower() for k in kinds))
        terms.append(f"+search_kind:({names})")
    return " ".join(terms)


def search(tx: Tx, query: SearchQuery) -> SearchPage:
    """Answer ``query`` in ``tx`` (one read transaction: both lookups see one state)."""
    words = query_words(query)
    kinds = sorted(k.value for k in query.kinds) if query.kinds is not None else None
    prefixes = id_prefixes(query)
    by_prefix = []
    if prefixes:
        found = rows(
            tx, cypher.SEARCH_BY_PREFIX, prefixes=prefixes, kinds=kinds, limit=query.limit + 1
        )
        by_prefix = [node(r) for r in found]
    by_words = []
    if words and searches_words(query) and len({n.id for n in by_prefix}) <= query.limit:
        found = rows(
            tx,
            cypher.SEARCH_BY_WORDS,
            index=INDEX,
            lucene=lucene_query(words, word_kinds(query)),
            limit=query.limit + 1 + len(by_prefix),
        )
        by_words = [(node(r), float(r["score"])) for r in found]
    return rank(query, by_prefix, by_words)


def prepare(run: Callable[[Callable[[Tx], Any]], Any]) -> int:
    """Before a store's first search: :func:`backfill`, then wait (up to AWAIT_SECONDS) for
    the index to be online; how many nodes were backfilled."""
    updated = backfill(run)
    run(lambda tx: rows(tx, cypher.SEARCH_AWAIT_INDEX, index=INDEX, seconds=AWAIT_SECONDS))
    return updated


def backfill(run: Callable[[Callable[[Tx], Any]], Any]) -> int:
    """Give every node of an indexed kind written before search existed its words, a page
    per write transaction, unless the marker says it was done; how many nodes were updated.
    ``run`` runs a unit of work in a write transaction."""

    def done(tx: Tx) -> bool:
        (row,) = rows(tx, cypher.SEARCH_BACKFILL_DONE)
        return row["version"] is not None and row["version"] >= INDEX_VERSION

    if run(done):
        return 0
    unindexed = sorted(k.value for k in UNINDEXED_KINDS)
    updated = 0
    after = ""
    while True:

        def page(tx: Tx, after: str = after) -> list[dict[str, str]]:
            found = rows(
                tx, cypher.SEARCH_UNINDEXED, unindexed=unindexed, after=after, limit=BACKFILL_PAGE
            )
            batch = [
                {"id": r["id"], "words": words_text(r["id"], orjson.loads(r["props"]))}
                for r in found
            ]
            if batch:
                rows(tx, cypher.SEARCH_SET_WORDS, rows=batch)
            return batch

        batch = run(page)
        updated += len(batch)
        if len(batch) < BACKFILL_PAGE:
            break
        after = batch[-1]["id"]
    run(lambda tx: rows(tx, cypher.SEARCH_MARK_DONE, version=INDEX_VERSION))
    return updated
