"""Search the graph by ID, ID prefix and words, and "did you mean" for unknown IDs.

The ranking is the store's (``GraphStore.search``, rule in :mod:`lineage.store.search_plan`):
the exact ID, then IDs it prefixes (with or without the ``kind:`` part), then nodes holding
every word, by relevance. This module parses what people type (kinds in every spelling the API
shows, through :meth:`NodeKind.parse`), keeps credentials out of sight unless asked for by
someone who may read them, shows hits with their corrected facts, and says where the words
matched. :func:`suggestions` turns a search into the "did you mean" of a NOT_FOUND answer.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from lineage.errors import InvalidError, LineageError, NotFoundError
from lineage.model.graph import Node, NodeKind
from lineage.services.corrected import CorrectedReads
from lineage.store.base import (
    MAX_SEARCH_TEXT,
    GraphStore,
    SearchMatch,
    SearchQuery,
)
from lineage.store.search_plan import matched_fields, name_part, query_words, words_of

DEFAULT_HITS = 20
# Credentials say who can act as whom: found by those who may read them, when they ask.
HIDDEN_KINDS = frozenset({NodeKind.CREDENTIAL})
VISIBLE_KINDS = frozenset(NodeKind) - HIDDEN_KINDS
# Suggestions: how many, how alike (difflib's ratio) and how many candidates to weigh.
SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.6
_CANDIDATES_PER_PROBE = 50


@dataclass(frozen=True, slots=True)
class Hit:
    """A node found: how it matched, its score (comparable within one ``match``), a label to
    show and where the words matched (``id``, ``name``, ``description`` ...)."""

    node: Node
    match: SearchMatch
    score: float
    label: str
    matched: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits in rank order; ``truncated`` when more nodes matched than were returned."""

    text: str
    hits: list[Hit]
    truncated: bool


def parse_kinds(values: Iterable[str] | None, field_name: str = "kinds") -> frozenset[NodeKind]:
    """Kinds by value (``DatasetVersion``), name (``DATASET_VERSION``) or ID prefix
    (``dataset``, ``dataset@``); None or empty means every kind."""
    if values is None:
        return frozenset()
    found = set()
    for i, value in enumerate(values):
        found.add(NodeKind.parse(value, f"{field_name}.{i}"))
    return frozenset(found)


def label_of(node: Node) -> str:
    """What to call a node: its ``name`` or ``title``, else its ID without the kind."""
    for key in ("name", "title"):
        value = node.props.get(key)
        if isinstance(value, str) and value:
            return value
    return name_part(node.id)


def search(
    store: GraphStore,
    text: str,
    kinds: Iterable[str] | None = None,
    first: int = DEFAULT_HITS,
    *,
    with_credentials: bool = False,
) -> SearchResult:
    """The nodes ``text`` finds, best first (see the module docstring).

    ``kinds`` keeps only those kinds (any spelling). Credentials are searched only when they
    are asked for by kind and ``with_credentials`` (the caller may read them); otherwise they
    are left out. INVALID naming ``text`` for an empty or too long text, or one of too many
    words; ``first`` for a page size below 1 (above the maximum it is clamped).
    """
    if not isinstance(first, int) or isinstance(first, bool) or first < 1:
        raise InvalidError("must be an integer >= 1", field="first")
    wanted = parse_kinds(kinds)
    allowed = VISIBLE_KINDS | (HIDDEN_KINDS if with_credentials else frozenset())
    chosen = (wanted or VISIBLE_KINDS) & allowed
    query = SearchQuery(text=text, kinds=chosen or None, limit=first)
    words = query_words(query)
    if not chosen:  # only hidden kinds were asked for, by someone who may not see them
        return SearchResult(text=query.text, hits=[], truncated=False)
    page = store.search(query)
    shown = CorrectedReads(store).nodes([h.node for h in page.hits])
    hits = [
        Hit(
            node=node,
            match=h.match,
            score=h.score,
            label=label_of(node),
            matched=matched_fields(node, words) if h.match is SearchMatch.WORDS else ["id"],
        )
        for h, node in zip(page.hits, shown, strict=True)
    ]
    return SearchResult(text=query.text, hits=hits, truncated=page.truncated)


def _probes(missing: str) -> list[str]:
    """Searches likely to find what ``missing`` was meant to be: the ID without its version,
    a shorter prefix (a typo near the end), half the name without the kind (a typo later, or
    the wrong kind), and the longest word of the name (a typo near the start)."""
    probes: list[str] = []
    if "@" in missing:
        probes.append(missing.rsplit("@", 1)[0])
    probes.append(missing[: max(4, len(missing) * 2 // 3)])
    name = name_part(missing) if ":" in missing else missing
    if len(name) >= 2:
        probes.append(name[: max(3, len(name) // 2)])
    words = sorted(words_of(name), key=len, reverse=True)
    if words and len(words[0]) >= 3:
        probes.append(words[0])
    return list(dict.fromkeys(p for p in probes if p.strip()))


def suggestions(store: GraphStore, missing_id: str, limit: int = SUGGESTIONS) -> list[str]:
    """IDs of registered nodes that ``missing_id`` was probably meant to be, most alike first
    (at most ``limit``; none when nothing is alike enough). A few indexed searches; never
    raises: a suggestion is a courtesy, the NOT_FOUND it decorates is the answer."""
    if not isinstance(missing_id, str):
        return []
    missing = missing_id.strip()[:MAX_SEARCH_TEXT]
    if not missing:
        return []
    pool: set[str] = set()
    try:
        for probe in _probes(missing):
            query = SearchQuery(probe, kinds=VISIBLE_KINDS, limit=_CANDIDATES_PER_PROBE)
            pool.update(h.node.id for h in store.search(query).hits)
    except LineageError:
        return []
    pool.discard(missing)
    # Alike by name first (the kind prefix every ID of a kind shares would make any two IDs
    # of one kind look alike), then by the whole ID.
    name = name_part(missing) if ":" in missing else missing
    scored = sorted(
        (
            (_alike(name, name_part(candidate)), _alike(missing, candidate), candidate)
            for candidate in pool
        ),
        key=lambda s: (-s[0], -s[1], s[2]),
    )
    return [c for by_name, _, c in scored if by_name >= SUGGESTION_CUTOFF][:limit]


def _alike(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def with_suggestions(store: GraphStore, error: NotFoundError, missing_id: str) -> NotFoundError:
    """``error`` with "did you mean" appended and ``details["suggestions"]`` set, when
    :func:`suggestions` finds any; ``error`` unchanged otherwise, and when ``missing_id`` is
    registered after all (missing only at an earlier instant: no typo to fix)."""
    try:
        if store.get_nodes([missing_id]):
            return error
    except LineageError:
        return error
    found = suggestions(store, missing_id)
    if not found:
        return error
    options = ", ".join(found)
    return NotFoundError(
        f"{error.message}; did you mean {options}?",
        field=error.field,
        details={**error.details, "suggestions": found},
    )
