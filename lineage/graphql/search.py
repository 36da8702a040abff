"""The ``search`` query: nodes by ID, ID prefix and words, ranked (lineage.services.search)."""

from __future__ import annotations

from typing import Any

import graphene

from lineage.graphql.context import context_of
from lineage.graphql.nodes import Node
from lineage.model.graph import NodeKind
from lineage.services import search as search_service
from lineage.store.base import MAX_SEARCH_HITS, MAX_SEARCH_TEXT, SearchMatch

_MATCHES = {
    SearchMatch.ID.value: "The text is the node's ID.",
    SearchMatch.ID_PREFIX.value: "The node's ID, or its name after `kind:`, starts with the text.",
    SearchMatch.WORDS.value: "The node's indexed text holds every word of the text (the last "
    "one also as a prefix).",
}


class SearchMatchKind(graphene.Enum):  # type: ignore[misc]
    """How a hit matched; hits come in this order."""

    ID = SearchMatch.ID.value
    ID_PREFIX = SearchMatch.ID_PREFIX.value
    WORDS = SearchMatch.WORDS.value

    @property
    def description(self) -> str:
        """Per-value description."""
        return _MATCHES[self.name]


class SearchHit(graphene.ObjectType):  # type: ignore[misc]
    """A node a search found."""

    node = graphene.Field(Node, required=True, description="The node (as corrected).")
    id = graphene.ID(required=True, description="The node's ID.")
    kind = graphene.String(required=True, description="The node's kind, e.g. `DatasetVersion`.")
    label = graphene.String(
        required=True,
        description="What to call it: its `name` or `title`, else its ID without the kind.",
    )
    match = graphene.Field(SearchMatchKind, required=True, description="How it matched.")
    score = graphene.Float(
        required=True,
        description="For ID and ID_PREFIX hits the share of the ID (or of its name) the text "
        "covers; for WORDS hits the BM25 relevance, higher is better. Compare scores only "
        "between hits of one `match`.",
    )
    matched = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Where the text matched: `id`, or the properties holding its words "
        "(`name`, `title`, `description`, ...).",
    )

    @staticmethod
    def resolve_id(hit: search_service.Hit, _info: Any) -> str:
        """The node's ID."""
        return hit.node.id

    @staticmethod
    def resolve_kind(hit: search_service.Hit, _info: Any) -> str:
        """The kind's name."""
        return hit.node.kind.value

    @staticmethod
    def resolve_match(hit: search_service.Hit, _info: Any) -> str:
        """The match kind."""
        return hit.match.value


class SearchResults(graphene.ObjectType):  # type: ignore[misc]
    """What a search found, best first."""

    text = graphene.String(required=True, description="The text searched, trimmed.")
    hits = graphene.List(
        graphene.NonNull(SearchHit), required=True, description="The hits in rank order."
    )
    truncated = graphene.Boolean(
        required=True,
        description="More nodes matched than `first`: narrow the text or the kinds.",
    )


class SearchFields(graphene.ObjectType):  # type: ignore[misc]
    """The search query (mixed into the root Query)."""

    search = graphene.Field(
        SearchResults,
        required=True,
        text=graphene.String(
            required=True,
            description=f"An ID (`model:lending_approval@v12`), the start of one "
            f"(`model:lending`, `applications@v`) or words (`income`, `consumer lending`); "
            f"at most {MAX_SEARCH_TEXT} characters.",
        ),
        kinds=graphene.List(
            graphene.NonNull(graphene.String),
            description="Only nodes of these kinds, in any spelling the API shows: "
            "`DatasetVersion`, `DATASET_VERSION` or an ID prefix (`dataset` for Dataset, "
            "`dataset@` for DatasetVersion, `snapshot`). Credentials are searched only when "
            "asked for here, by those who may read them.",
        ),
        first=graphene.Int(
            default_value=search_service.DEFAULT_HITS,
            description=f"At most this many hits (default {search_service.DEFAULT_HITS}, "
            f"at most {MAX_SEARCH_HITS}).",
        ),
        description="Find nodes by ID, ID prefix and words, ranked: the exact ID, then IDs it "
        "starts (a name equal to the text first), then nodes holding every word by relevance. "
        "Indexed words: the ID's name and version, and the properties name, title, "
        "description, notes, reason, signal, environment, computed_by, code_commit; "
        "inference batches are found by ID only.",
    )

    @staticmethod
    def resolve_search(
        _root: Any,
        info: Any,
        text: str,
        kinds: list[str] | None = None,
        first: int | None = search_service.DEFAULT_HITS,
    ) -> search_service.SearchResult:
        """Ask the search service; asking for credentials needs the right to read them."""
        context = context_of(info)
        if first is None:  # an explicit null takes the default, as leaving it out does
            first = search_service.DEFAULT_HITS
        wanted = search_service.parse_kinds(kinds)
        readable = NodeKind.CREDENTIAL in wanted
        if readable:
            # Imported here: the root Query module imports this one.
            from lineage.graphql.queries import CREDENTIAL_READERS

            context.require(CREDENTIAL_READERS, "read credentials")
        answer = search_service.search(
            context.store, text, kinds, first, with_credentials=readable
        )
        context.charge(answer.hits, "search")
        return answer
