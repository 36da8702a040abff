"""Search on SQLite: an FTS5 index written with the nodes, in the same transaction.

``node_words`` is an FTS5 table whose rowid is the node row's rowid. ``upsert_nodes`` writes
the words of the nodes it wrote (:func:`index_nodes`, one statement per batch, replacing what
an updated node held) and ``delete_nodes`` removes them (:func:`unindex_nodes`), inside the
write, so the index is never behind the graph. A store created before search existed gets the
table and every node's words when it is first opened (one transaction).

Why not triggers on ``nodes``: an AFTER INSERT trigger on the node table cost the raw bulk
load 25% even when its body never ran (a WHEN that is always false), 30% in all; written by
the store, only the nodes of indexed kinds cost anything (inference batches, 83% of a
production graph, are not indexed), and the load kept its rate (see bench/README.md).

The words are computed in SQL: the ID without its ``kind:`` prefix and the text of the
properties in :data:`~lineage.store.search_plan.SEARCHED_PROPERTIES`; the ``unicode61``
tokenizer splits them where :func:`~lineage.store.search_plan.words_of` does. Nodes of
:data:`~lineage.store.search_plan.UNINDEXED_KINDS` are left out. The rank rule is
:mod:`lineage.store.search_plan`'s; relevance is FTS5's ``bm25`` (negated: higher is better).

VACUUM may renumber the rows of a table without an INTEGER PRIMARY KEY (SQLite's
documentation), which would point the index at the wrong nodes: every word hit is checked
against its node, and a mismatch is UNAVAILABLE saying how to rebuild the index.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from lineage.errors import UnavailableError
from lineage.model.graph import Node
from lineage.store.base import SearchPage, SearchQuery
from lineage.store.search_plan import (
    SEARCHED_PROPERTIES,
    UNINDEXED_KINDS,
    holds_words,
    id_prefixes,
    prefix_bound,
    query_words,
    rank,
    searches_words,
    word_kinds,
)
from lineage.store.sqlite_rows import node_of

TABLE = "node_words"
# Ranking every match by BM25 costs about 1 us a match: words held by more nodes than this
# (``scheduled retrain``: every generated run) are answered from the newest matches instead,
# ranked among themselves, so a search stays within its 50 ms at 1M nodes. Such a page is
# always truncated (far more matched than a page holds).
MAX_RANKED = 10_000
_COLUMNS = "n.id, n.kind, n.valid_from, n.valid_to, n.recorded_at, n.props"
_PROPS = ", ".join(f"'{name}'" for name in SEARCHED_PROPERTIES)  # constants, not input
_UNINDEXED = ", ".join(f"'{kind.value}'" for kind in sorted(UNINDEXED_KINDS))


def _words(row: str) -> str:
    """SQL: the indexed words of the node row ``row``."""
    return (
        f"substr({row}.id, instr({row}.id, ':') + 1) || coalesce(' ' || ("
        f"SELECT group_concat(value, ' ') FROM json_each({row}.props) "
        f"WHERE key IN ({_PROPS}) AND type IN ('text', 'integer', 'real')), '')"
    )


def _indexed(row: str) -> str:
    """SQL: whether the node row ``row`` is of a kind whose words are indexed (a node's kind
    never changes: it is part of its ID)."""
    return f"{row}.kind NOT IN ({_UNINDEXED})"


_CREATE = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5(words, tokenize='unicode61 remove_diacritics 0')"
)
# A development version kept a contentless table by triggers: a store it opened drops them.
_LEGACY = (
    "DROP TRIGGER IF EXISTS node_search_insert",
    "DROP TRIGGER IF EXISTS node_search_update",
    "DROP TRIGGER IF EXISTS node_search_delete",
    "DROP TABLE IF EXISTS node_search",
)
_BACKFILL = (
    f"INSERT INTO {TABLE} (rowid, words) SELECT rowid, {_words('nodes')} FROM nodes "
    f"WHERE {_indexed('nodes')}"
)
# REPLACE: an updated node's old words go (FTS5 reads them from its own copy of the text).
_INDEX = (
    f"INSERT OR REPLACE INTO {TABLE} (rowid, words) SELECT rowid, {_words('nodes')} FROM nodes "
    "WHERE id IN (SELECT value FROM json_each(?))"
)
_UNINDEX = (
    f"DELETE FROM {TABLE} WHERE rowid IN (SELECT rowid FROM nodes "
    f"WHERE id IN (SELECT value FROM json_each(?)) AND {_indexed('nodes')})"
)
_EXISTS = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"


def has_index(conn: sqlite3.Connection) -> bool:
    """Whether the store file has the search index."""
    return conn.execute(_EXISTS, (TABLE,)).fetchone() is not None


def create_index(conn: sqlite3.Connection) -> bool:
    """Create the index and its entries for the nodes already stored, inside the caller's
    write transaction; False (nothing done) when it exists."""
    if has_index(conn):  # another process may have created it while we waited for the lock
        return False
    for statement in _LEGACY:
        conn.execute(statement)
    conn.execute(_CREATE)
    conn.execute(_BACKFILL)
    return True


def index_nodes(conn: sqlite3.Connection, nodes: Sequence[Node]) -> None:
    """(Re)write the words of ``nodes`` just upserted, in the caller's write transaction."""
    ids = [n.id for n in nodes if n.kind not in UNINDEXED_KINDS]
    if ids:
        conn.execute(_INDEX, (json.dumps(ids),))


def unindex_nodes(conn: sqlite3.Connection, doomed_json: str) -> None:
    """Remove the words of the nodes about to be deleted (a JSON list of IDs), in the
    caller's write transaction, before their rows go."""
    conn.execute(_UNINDEX, (doomed_json,))


def _kind_filter(query: SearchQuery, args: list[Any]) -> str:
    if query.kinds is None:
        return ""
    args.append(json.dumps(sorted(k.value for k in query.kinds)))
    # ``+`` keeps the planner on the ID index (or the FTS rowids): left to itself it chose the
    # kind index and scanned every node of those kinds (30 ms instead of 0.3 at 20k nodes).
    return f" AND +n.kind IN (SELECT value FROM json_each(?{len(args)}))"


def _by_prefix(conn: sqlite3.Connection, query: SearchQuery) -> list[Node]:
    """The first ``limit + 1`` nodes by ID of each prefix range, in one statement."""
    prefixes = id_prefixes(query)
    if not prefixes:
        return []
    args: list[Any] = [query.limit + 1]
    kinds = _kind_filter(query, args)
    arms = []
    for prefix in prefixes:
        args += [prefix, prefix_bound(prefix)]
        lo, hi = len(args) - 1, len(args)
        arms.append(
            f"SELECT * FROM (SELECT {_COLUMNS} FROM nodes n WHERE n.id >= ?{lo} "
            f"AND n.id < ?{hi}{kinds} ORDER BY n.id LIMIT ?1)"
        )
    return [node_of(r) for r in conn.execute(" UNION ALL ".join(arms), args)]


def fts_query(words: list[str]) -> str:
    """The FTS5 query: every word, the last also as a prefix. Words are letters and digits
    only, so quoting each makes it a plain term (never an operator or a column filter)."""
    terms = [f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*']
    return " AND ".join(terms)


def _word_rows(
    conn: sqlite3.Connection, query: SearchQuery, match: str, wanted: int
) -> list[tuple[Any, ...]]:
    """The best ``wanted`` word matches, as node rows with their BM25 (lower is better)."""
    args: list[Any] = [match, wanted]
    kinds = _kind_filter(query, args) if word_kinds(query) is not None else ""
    (common,) = conn.execute(
        f"SELECT count(*) > {MAX_RANKED} FROM (SELECT 1 FROM {TABLE} WHERE {TABLE} MATCH ? "
        f"LIMIT {MAX_RANKED + 1})",
        (match,),
    ).fetchone()
    if not common and not kinds:
        # FTS5 keeps the top ``wanted`` by rank itself; only those rows meet the node table.
        return conn.execute(
            f"SELECT {_COLUMNS}, s.score FROM (SELECT rowid, rank AS score FROM {TABLE} "
            f"WHERE {TABLE} MATCH ?1 ORDER BY rank LIMIT ?2) s "
            "JOIN nodes n ON n.rowid = s.rowid ORDER BY s.score, n.id",
            args,
        ).fetchall()
    # Very common words: the newest matches (highest rowids), ranked among themselves.
    order = f"{TABLE}.rowid DESC" if common else f"bm25({TABLE}), n.id"
    rows = conn.execute(
        f"SELECT {_COLUMNS}, bm25({TABLE}) FROM {TABLE} JOIN nodes n ON n.rowid = {TABLE}.rowid "
        f"WHERE {TABLE} MATCH ?1{kinds} ORDER BY {order} LIMIT ?2",
        args,
    ).fetchall()
    return sorted(rows, key=lambda r: (r[6], r[0]))


def _by_words(
    conn: sqlite3.Connection, query: SearchQuery, words: list[str], wanted: int
) -> list[tuple[Node, float]]:
    if not words or not searches_words(query):
        return []
    found = [(node_of(r), -float(r[6])) for r in _word_rows(conn, query, fts_query(words), wanted)]
    for node, _ in found:
        if not holds_words(node, words):
            raise UnavailableError(
                f"the search index is out of step with the node table ({node.id} does not "
                f"hold the words searched; a VACUUM renumbers rows): drop the table {TABLE} "
                "and open the store again to rebuild it",
                field="store",
            )
    return found


def search(conn: sqlite3.Connection, query: SearchQuery) -> SearchPage:
    """Answer ``query`` on ``conn``; the caller holds one read snapshot around the call."""
    words = query_words(query)
    by_prefix = _by_prefix(conn, query)
    by_words: list[tuple[Node, float]] = []
    if len({n.id for n in by_prefix}) <= query.limit:
        by_words = _by_words(conn, query, words, query.limit + 1 + len(by_prefix))
    return rank(query, by_prefix, by_words)
