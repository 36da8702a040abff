"""The rank rule of ``GraphStore.search``, shared by every backend.

Each backend answers two indexed lookups and this module ranks what they return, so both
stores order hits the same way:

1. ``ID``: the node whose ID is the text;
2. ``ID_PREFIX``: nodes whose ID starts with the text, or, for a text without ``:``, whose
   name part (after ``kind:``) does: ``applications@v`` finds ``dataset:applications@v2``.
   A range of the ID index per candidate prefix, read in ID order up to ``limit + 1``
   nodes each; of those, the IDs the text covers most of first (the share of the ID, or of
   its name part, is the score: ``income`` is all of ``feature:income``'s name), then by ID.
   A range holding more than that is cut by ID before this ordering, and the page then
   says ``truncated``;
3. ``WORDS``: nodes whose indexed text holds every word of the text, the last word also as a
   prefix (typing ``incom`` finds ``income``), from the full-text index (FTS5 on SQLite, a
   Lucene full-text index on Neo4j); ordered by BM25 relevance, then ID. (SQLite bounds
   the work for words held by very many nodes: see ``sqlite_search.MAX_RANKED``.)

The indexed text of a node (of every kind but :data:`UNINDEXED_KINDS`) is its ID's name and
version (``lending_approval@v12``: ``lending``, ``approval``, ``v12``; the ``kind:`` prefix is
left out, every node of a kind has it) and the descriptive properties in
:data:`SEARCHED_PROPERTIES`. Words are maximal runs of letters and digits, compared
case-insensitively: ``_``, ``.``, ``-``, ``@`` and ``:`` separate words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lineage.errors import InvalidError
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import PREFIXES
from lineage.store.base import SearchHit, SearchMatch, SearchPage, SearchQuery

# Descriptive properties worth finding a node by; identifiers of other nodes, hashes and
# long texts (a playbook's body) stay out, so the index stays small.
SEARCHED_PROPERTIES: tuple[str, ...] = (
    "name",
    "title",
    "description",
    "notes",
    "reason",
    "signal",
    "environment",
    "computed_by",
    "code_commit",
)
# Kinds whose words are not indexed (found by ID and ID prefix only). Inference batches are
# most of a production graph (83% of the benchmark's) and carry no descriptive text: leaving
# them out keeps the index's cost on the bulk load to a few percent. Decisions are found by
# model and day (the ``decisions`` question), or by the batch ID's prefix. Credentials have no
# descriptive text either, and indexing their words would need a kinds filter on every word
# lookup (they are hidden from readers).
UNINDEXED_KINDS: frozenset[NodeKind] = frozenset({NodeKind.INFERENCE_BATCH, NodeKind.CREDENTIAL})
INDEXED_KINDS: frozenset[NodeKind] = frozenset(NodeKind) - UNINDEXED_KINDS
MAX_WORDS = 10
_WORD = re.compile(r"[^\W_]+")
# What an ID is made of: a text with anything else cannot be the start of one.
_ID_TEXT = re.compile(r"^[A-Za-z0-9_.\-:@]+$")


def words_of(text: str) -> list[str]:
    """The words of ``text``: maximal runs of letters and digits, lower-cased (as the
    indexes lower-case them)."""
    return _WORD.findall(text.lower())


def query_words(query: SearchQuery) -> list[str]:
    """The words of the query's text, distinct, in order; INVALID (``text``) past MAX_WORDS."""
    found = list(dict.fromkeys(words_of(query.text)))
    if len(found) > MAX_WORDS:
        raise InvalidError(
            f"may hold at most {MAX_WORDS} words, got {len(found)}", field="text"
        )
    return found


def id_prefixes(query: SearchQuery) -> list[str]:
    """The ID prefixes whose ranges hold the query's ID and ID_PREFIX hits (maybe none)."""
    text = query.text
    if not _ID_TEXT.match(text):
        return []
    found = [text]
    if ":" not in text:
        for prefix, kinds in PREFIXES.items():
            if query.kinds is None or any(k in query.kinds for k in kinds if k is not None):
                found.append(f"{prefix}:{text}")
    return found


def name_part(node_id: str) -> str:
    """The ID without its ``kind:`` prefix."""
    return node_id.partition(":")[2]


def indexed_fields(node_id: str, props: Mapping[str, Any]) -> dict[str, str]:
    """The indexed text of a node by where it comes from: ``id`` and searched properties."""
    fields = {"id": name_part(node_id)}
    for key in SEARCHED_PROPERTIES:
        value = props.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            fields[key] = str(value)
    return fields


def indexed_words(node: Node) -> str | None:
    """The indexed text of a node as space-separated words (what Neo4j's index holds), None
    for a node of an unindexed kind."""
    if node.kind in UNINDEXED_KINDS:
        return None
    return words_text(node.id, node.props)


def words_text(node_id: str, props: Mapping[str, Any]) -> str:
    """The words of a node's indexed text, space-separated."""
    fields = indexed_fields(node_id, props).values()
    return " ".join(w for text in fields for w in words_of(text))


def word_kinds(query: SearchQuery) -> frozenset[NodeKind] | None:
    """The kinds a word lookup must keep to, or None when every kind with indexed words is
    wanted (no filter: the index's own ranking answers)."""
    if query.kinds is None or query.kinds >= INDEXED_KINDS:
        return None
    return query.kinds & INDEXED_KINDS


def searches_words(query: SearchQuery) -> bool:
    """Whether the query can have WORDS hits: some kind it asks for has its words indexed."""
    return query.kinds is None or not query.kinds <= UNINDEXED_KINDS


def matched_fields(node: Node, words: Sequence[str]) -> list[str]:
    """Where the words of a search occur in ``node``'s indexed text (``id``, ``name`` ...);
    the last word counts as a prefix, as the search reads it."""
    if not words:
        return []
    found = []
    for name, text in indexed_fields(node.id, node.props).items():
        have = set(words_of(text))
        if any(w in have for w in words[:-1]) or any(h.startswith(words[-1]) for h in have):
            found.append(name)
    return found


def holds_words(node: Node, words: Sequence[str]) -> bool:
    """Whether ``node``'s indexed text holds every word (the last as a prefix)."""
    have = {w for text in indexed_fields(node.id, node.props).values() for w in words_of(text)}
    return all(w in have for w in words[:-1]) and any(h.startswith(words[-1]) for h in have)


def rank(
    query: SearchQuery, by_prefix: Sequence[Node], by_words: Sequence[tuple[Node, float]]
) -> SearchPage:
    """Merge the two lookups into one page.

    ``by_prefix``: the first ``limit + 1`` nodes by ID of every prefix range (any order,
    duplicates allowed); ``by_words``: the best ``limit + 1 + len(by_prefix)`` word matches
    with their relevance (higher is better), best first.
    """
    text = query.text
    seen: dict[str, SearchHit] = {}
    for node in sorted(by_prefix, key=lambda n: n.id):
        if node.id in seen:
            continue
        if node.id == text:
            seen[node.id] = SearchHit(node, SearchMatch.ID, 1.0)
        else:
            whole = node.id if node.id.startswith(text) else name_part(node.id)
            seen[node.id] = SearchHit(node, SearchMatch.ID_PREFIX, len(text) / len(whole))
    exact = [h for h in seen.values() if h.match is SearchMatch.ID]
    # Closest first: the more of the ID (or of its name) the text covers, the better
    # (``lending`` puts model:lending_approval before its approvals and batches).
    prefixed = sorted(
        (h for h in seen.values() if h.match is SearchMatch.ID_PREFIX),
        key=lambda h: (-h.score, h.node.id),
    )
    worded = [
        SearchHit(node, SearchMatch.WORDS, score)
        for node, score in sorted(by_words, key=lambda pair: (-pair[1], pair[0].id))
        if node.id not in seen
    ]
    hits = exact + prefixed + worded
    return SearchPage(hits=hits[: query.limit], truncated=len(hits) > query.limit)


def prefix_bound(prefix: str) -> str:
    """The exclusive upper bound of the range of texts starting with ``prefix`` (IDs are
    ASCII, so the highest code point sorts after every continuation)."""
    return prefix + "\U0010ffff"
