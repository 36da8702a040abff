"""Every Cypher statement the Neo4j backend runs (Neo4j 5.26, no APOC).

Values always travel as ``$parameters``. A few things cannot be parameters in Cypher: labels,
relationship types, arrow directions and how many levels a walk unrolls. Those are spliced
into a handful of templates at the ``__LABEL__`` / ``__TYPES__`` / ``__LEFT__`` / ``__RIGHT__``
markers, and only by the functions at the end of this module, which accept nothing but
``NodeKind`` / ``EdgeKind`` / ``Direction`` members and clamped ints. No user string ever becomes
query text, so there is nothing to inject into; ``tests/unit/test_cypher.py`` checks this module's
shape.

Storage layout (the SQLite backend is the reference; both pass ``tests/contract``):

* every node has the label ``:Node`` plus its kind label (``:DatasetVersion``); properties ``id``,
  ``kind``, ``valid_from``, ``valid_to``, ``recorded_at`` (fixed-width UTC text from
  ``lineage.model.times.to_text``, so comparisons and ordering are string comparisons exactly as
  in SQLite) and ``props``, the canonical JSON of the node's properties;
* Cypher cannot look inside a JSON string, so top-level scalar props (string, boolean, number)
  are *also* stored flattened as ``p_<name>`` for ``NodeQuery.props`` equality filters. Cypher's
  ``=`` then compares as the SQLite backend does: types must agree (``true`` is not ``1``, ``'1'``
  is not ``1``) except that integers and floats compare by value (``1 = 1.0``). Integers beyond
  64 bits exist only in the JSON. These copies are written and read only by this backend;
* a relationship's type is the ``EdgeKind`` value; properties ``valid_from`` (``''`` for a
  structural edge, as in SQLite, so ``valid_from <= $at`` holds for it), ``valid_to``, ``props``;
* audit events are ``:AuditEvent`` nodes (``subjects`` / ``payload`` as JSON text);
* one ``:LineageLock`` node serialises ``transaction()`` scopes, as SQLite's ``BEGIN IMMEDIATE``;
* one ``:LineageReadiness`` node is rewritten by readiness probes (``ping(write=True)``);
* ``:LineageLease`` nodes hold the leases between processes (not audited).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, LiteralString

from lineage.errors import InvalidError
from lineage.model.graph import Direction, EdgeKind, NodeKind
from lineage.store.base import MAX_DEPTH

# -- schema (run once on open; every statement is idempotent) ------------------------------------

SCHEMA: Final[tuple[str, ...]] = (
    "CREATE CONSTRAINT node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT audit_seq IF NOT EXISTS FOR (e:AuditEvent) REQUIRE e.seq IS UNIQUE",
    "CREATE CONSTRAINT lock_name IF NOT EXISTS FOR (l:LineageLock) REQUIRE l.name IS UNIQUE",
    "CREATE CONSTRAINT lease_name IF NOT EXISTS FOR (l:LineageLease) REQUIRE l.name IS UNIQUE",
    "CREATE CONSTRAINT readiness_name IF NOT EXISTS "
    "FOR (r:LineageReadiness) REQUIRE r.name IS UNIQUE",
    # find_nodes by kind: equality on kind, range and order on valid_from.
    "CREATE INDEX node_kind_time IF NOT EXISTS FOR (n:Node) ON (n.kind, n.valid_from)",
    # find_nodes without a kind (iter_all_nodes paging): range and order on valid_from.
    "CREATE INDEX node_time IF NOT EXISTS FOR (n:Node) ON (n.valid_from)",
    # Registration looks content-addressed versions up by hash (SQLite has the same index).
    "CREATE INDEX node_content_hash IF NOT EXISTS FOR (n:Node) ON (n.p_content_hash)",
    # search: the words of each node, and its kind (see the search block at the end).
    "CREATE FULLTEXT INDEX node_search IF NOT EXISTS "
    "FOR (n:Node) ON EACH [n.search_words, n.search_kind]",
    # No relationship property index: every edge lookup is anchored on an end node, and the
    # validity window is checked while expanding, where an index cannot help.
)

# Writing a property takes the node's exclusive lock until commit, so transaction() scopes run
# one at a time, like SQLite's BEGIN IMMEDIATE: a read-check-write inside a scope cannot
# interleave with another scope's. MERGE creates the lock node on first use; the lock_name
# constraint makes two first uses agree on one node.
TAKE_LOCK: Final = "MERGE (l:LineageLock {name: 'store'}) SET l.taken_at = timestamp()"

PING: Final = "RETURN 1 AS ok"

# Leases between processes. Run inside a transaction() scope, which holds the store lock, so no
# other scope reads the lease between this statement's read and its write. The lease is free
# when it is new (ON CREATE), expired at $now, or already held by $holder; only then are the
# holder and expiry set. Times are fixed-width UTC text, so they compare as strings.
TRY_LEASE: Final = """
MERGE (l:LineageLease {name: $name})
ON CREATE SET l.holder = $holder, l.expires_at = $until
WITH l, (l.holder = $holder OR l.expires_at <= $now) AS free
SET l.holder = CASE WHEN free THEN $holder ELSE l.holder END,
    l.expires_at = CASE WHEN free THEN $until ELSE l.expires_at END
RETURN free AS held
"""
RELEASE_LEASE: Final = (
    "MATCH (l:LineageLease {name: $name}) WHERE l.holder = $holder DELETE l RETURN count(*) AS n"
)
# Readiness: one node, outside the :Node label (no question ever sees it), rewritten by every
# probe. Not the store lock, so a long bulk-load scope does not make the service look down.
WRITE_PROBE: Final = (
    "MERGE (r:LineageReadiness {name: 'store'}) SET r.probed_at = timestamp() RETURN 1 AS ok"
)

# -- nodes -----------------------------------------------------------------------------------

_NODE_FIELDS: Final = (
    "n.id AS id, n.kind AS kind, n.valid_from AS valid_from, n.valid_to AS valid_to, "
    "n.recorded_at AS recorded_at, n.props AS props"
)

# ``row.fields`` holds every stored property but recorded_at (id, kind, times, props, p_*). A new
# node (the bulk-load case) gets them added once, with the first recorded_at. An existing node is
# replaced (``SET n = ...``), which also drops flattened props the new version no longer has,
# keeping its first recorded_at (the map is evaluated before the replacement). One index seek per
# row, through the node_id constraint; rows of one statement share a kind (the label is a
# template marker): the caller groups them.
UPSERT_NODES_TEMPLATE: Final = """
UNWIND $rows AS row
WITH row, row.fields AS fields
MERGE (n:Node {id: row.id})
ON CREATE SET n += fields, n.recorded_at = row.recorded_at, n:__LABEL__
ON MATCH SET n = fields {.*, recorded_at: n.recorded_at}, n:__LABEL__
"""

GET_NODES: Final = "UNWIND $ids AS node_id MATCH (n:Node {id: node_id}) RETURN " + _NODE_FIELDS

# DISTINCT: an ID listed twice is one node, counted once (as SQLite's rowcount does).
DELETE_NODES: Final = """
UNWIND $ids AS node_id
MATCH (n:Node {id: node_id})
WITH DISTINCT n
DETACH DELETE n
RETURN count(*) AS deleted
"""

# find_nodes: one anchor per index, so the planner can seek and return rows in index order and
# stop after $limit; the remaining filters are the same for all. $lo / $hi / $top are never null
# (the caller widens absent bounds to '' and '~', which sort before / after every stored time),
# because a ``$x IS NULL OR`` around them would stop the planner from using the index range.
_ANCHOR_TIME: Final = "MATCH (n:Node) WHERE n.valid_from >= $lo"
_ANCHOR_KIND: Final = "MATCH (n:Node) WHERE n.kind = $kind AND n.valid_from >= $lo"
_ANCHOR_HASH: Final = (
    "MATCH (n:Node) WHERE n.p_content_hash = $content_hash AND n.valid_from >= $lo"
)
# ``n[f.key]`` is a dynamic property read: f.key is 'p_<name>' from a parameter, never query
# text. A missing property is null and null = value is not true, as json_extract gives in SQLite.
_FILTERS: Final = """
  AND n.valid_from < $hi AND n.valid_from <= $top
  AND ($kind IS NULL OR n.kind = $kind)
  AND all(f IN $filters WHERE n[f.key] = f.value)
"""
_AFTER_ASC: Final = (
    """
  AND ($after_id IS NULL OR n.valid_from > $after_from
       OR (n.valid_from = $after_from AND n.id > $after_id))
RETURN """
    + _NODE_FIELDS
    + """
ORDER BY valid_from ASC, id ASC
LIMIT $limit
"""
)
_AFTER_DESC: Final = (
    """
  AND ($after_id IS NULL OR n.valid_from < $after_from
       OR (n.valid_from = $after_from AND n.id < $after_id))
RETURN """
    + _NODE_FIELDS
    + """
ORDER BY valid_from DESC, id DESC
LIMIT $limit
"""
)
FIND_NODES_BY_TIME_ASC: Final = _ANCHOR_TIME + _FILTERS + _AFTER_ASC
FIND_NODES_BY_TIME_DESC: Final = _ANCHOR_TIME + _FILTERS + _AFTER_DESC
FIND_NODES_BY_KIND_ASC: Final = _ANCHOR_KIND + _FILTERS + _AFTER_ASC
FIND_NODES_BY_KIND_DESC: Final = _ANCHOR_KIND + _FILTERS + _AFTER_DESC
FIND_NODES_BY_HASH_ASC: Final = _ANCHOR_HASH + _FILTERS + _AFTER_ASC
FIND_NODES_BY_HASH_DESC: Final = _ANCHOR_HASH + _FILTERS + _AFTER_DESC

# -- edges -----------------------------------------------------------------------------------

_EDGE_FIELDS: Final = (
    "a.id AS src, type(r) AS kind, b.id AS dst, r.valid_from AS valid_from, "
    "r.valid_to AS valid_to, r.props AS props"
)

# One statement writes a chunk of edges of any kinds, all or nothing. Ends are looked up once
# each, through the node_id constraint's index; if one is missing the statement writes nothing and
# returns the missing IDs, so the caller can name them (no separate existence check before the
# write: that was a second lookup per end). Then one UPSERT_EDGES_KIND_TEMPLATE per relationship
# type present (a type is query text): row.group is the index of its type in the statement, and
# __GROUP__ that index. The relationship's identity is (src, type, dst, valid_from), as SQLite's
# UNIQUE constraint; MERGE finds an existing one by expanding from the end of lower degree.
UPSERT_EDGES_TEMPLATE: Final = """
UNWIND $rows AS row
OPTIONAL MATCH (a:Node {id: row.src})
OPTIONAL MATCH (b:Node {id: row.dst})
WITH collect({row: row, a: a, b: b}) AS pairs
WITH pairs, 0 AS written,
     [p IN pairs WHERE p.a IS NULL | p.row.src] + [p IN pairs WHERE p.b IS NULL | p.row.dst]
       AS missing
"""
UPSERT_EDGES_KIND_TEMPLATE: Final = """CALL (pairs, missing) {
  WITH pairs WHERE size(missing) = 0
  UNWIND pairs AS p
  WITH p WHERE p.row.group = __GROUP__
  WITH p.row AS row, p.a AS a, p.b AS b
  MERGE (a)-[r:__TYPES__ {valid_from: row.valid_from}]->(b)
  SET r.valid_to = row.valid_to, r.props = row.props
  RETURN count(r) AS step
}
WITH pairs, missing, written + step AS written
"""
_UPSERT_EDGES_END: Final = "RETURN written, missing\n"

# find_edges: anchored on whichever end is known (a unique-index seek), else on a range of
# a.id so that paging through every edge seeks from the cursor instead of rescanning.
# $src_lo is '' without a cursor. The cursor compares (src, kind, dst, valid_from) as a tuple.
_EDGES_FROM: Final = "MATCH (a:Node {id: $src})-[r]->(b:Node)"
_EDGES_TO: Final = "MATCH (a:Node)-[r]->(b:Node {id: $dst})"
_EDGES_BETWEEN: Final = "MATCH (a:Node {id: $src})-[r]->(b:Node {id: $dst})"
_EDGES_ANY: Final = "MATCH (a:Node)-[r]->(b:Node)"
_EDGE_FILTERS: Final = (
    """
WHERE a.id >= $src_lo
  AND ($kinds IS NULL OR type(r) IN $kinds)
  AND ($at IS NULL OR (r.valid_from <= $at AND (r.valid_to IS NULL OR r.valid_to > $at)))
  AND ($after IS NULL OR a.id > $after[0] OR (a.id = $after[0] AND (
        type(r) > $after[1] OR (type(r) = $after[1] AND (
          b.id > $after[2] OR (b.id = $after[2] AND r.valid_from > $after[3]))))))
RETURN """
    + _EDGE_FIELDS
    + """
ORDER BY src, kind, dst, valid_from
LIMIT $limit
"""
)
FIND_EDGES_FROM: Final = _EDGES_FROM + _EDGE_FILTERS
FIND_EDGES_TO: Final = _EDGES_TO + _EDGE_FILTERS
FIND_EDGES_BETWEEN: Final = _EDGES_BETWEEN + _EDGE_FILTERS
FIND_EDGES_ANY: Final = _EDGES_ANY + _EDGE_FILTERS

# -- traversal -------------------------------------------------------------------------------

START_NODE: Final = "MATCH (n:Node {id: $start}) RETURN " + _NODE_FIELDS

# The bounded walk: a breadth-first search by levels in one statement (no APOC, no
# variable-length pattern), with the same answer as SQLite's (sqlite_traversal.walk), the
# reference.
#
# Parameters: $start, $at (text or null), $max_nodes (the budget, the start included),
# $node_kinds (list or null). traverse_query() writes TRAVERSE_START_TEMPLATE, then one
# TRAVERSE_LEVEL_TEMPLATE per level up to max_depth (a clamped int), then TRAVERSE_PROBE_TEMPLATE
# and TRAVERSE_FINISH_TEMPLATE. Markers: __LEFT__/__RIGHT__ (arrow by Direction), __TYPES__
# (relationship type filter or nothing).
#
# State carried from level to level, one row throughout: ``seen`` (every node kept so far, the
# start first), ``frontier`` (the nodes kept at the last level), ``levels`` (the nodes kept at
# each level, for their depths) and ``cut`` (truncated: a limit hid a node).
#
# A level expands only the frontier, through the adjacency lists of its nodes (Expand from a
# bound node: no label scan, no path enumeration), drops nodes already seen (``t IN seen`` is
# answered from a hash set the runtime builds once per list value) and stops pulling at
# LIMIT $max_nodes distinct new nodes: the expansion is lazy, so a dataset version with 10,000
# downstream batches reads about a budget's worth of them, not all. It keeps at most the room
# left in the budget (``found[..room]``); more new nodes than room is a cut. LIMIT cannot use a
# variable in Cypher, hence $max_nodes rather than ``room + 1``. Once the budget is spent
# (``room = 0``) a level expands nothing: an EXISTS check (which stops at the first match) asks
# whether anything new lies beyond, which is a cut exactly as in SQLite (a node past the budget).
# Once cut, or once the frontier is empty, every later level is a guard that reads nothing.
# The probe after the last level is the same EXISTS one hop past max_depth: a node there means
# the depth limit hid something. Which nodes a level keeps when the budget cuts inside it is
# whichever the expansion meets first, as in SQLite; every kept node has its shortest depth.
#
# The subqueries end in an aggregation without grouping keys, so each yields exactly one row even
# when its guard filters everything out, and the walk's row survives every level.
#
# Edges returned are all edges of the followed kinds valid at $at among the returned nodes
# (after the node_kinds filter, the start always included), whatever their direction: read
# from each returned node's outgoing relationships (what a node was derived from or used: few,
# even for a popular dataset version, whose many dependants point at it), kept when the other
# end is returned.
#
# What a walk still reads: every relationship of the frontier's nodes met before the level's
# LIMIT (including those back to nodes already seen), up to $max_nodes new nodes at the level
# that spends the budget (not just room + 1), the outgoing relationships of the returned nodes
# for the edges, and six properties per returned node. None of it grows with what lies beyond.
TRAVERSE_START_TEMPLATE: Final = """
MATCH (s:Node {id: $start})
WHERE $at IS NULL OR s.valid_from <= $at
WITH s, [s] AS seen, [s] AS frontier, [] AS levels, false AS cut
"""

_STEP_TEMPLATE: Final = """(f)__LEFT__[r__TYPES__]__RIGHT__(t:Node)
    WHERE NOT t IN seen
      AND ($at IS NULL OR (r.valid_from <= $at AND (r.valid_to IS NULL OR r.valid_to > $at)
                           AND t.valid_from <= $at))"""

_ANYTHING_NEW_TEMPLATE: Final = (
    """EXISTS {
    UNWIND frontier AS f
    MATCH """
    + _STEP_TEMPLATE
    + """
  }"""
)

TRAVERSE_LEVEL_TEMPLATE: Final = (
    """CALL (seen, frontier, cut) {
  WITH seen, frontier
  WHERE NOT cut AND size(seen) < $max_nodes
  UNWIND frontier AS f
  MATCH """
    + _STEP_TEMPLATE
    + """
  WITH DISTINCT t
  LIMIT $max_nodes
  RETURN collect(t) AS found
}
WITH s, seen, frontier, levels, cut, found, $max_nodes - size(seen) AS room
WITH s, seen, levels, found[..room] AS kept,
  CASE
    WHEN cut OR room > 0 THEN cut OR size(found) > room
    WHEN size(frontier) = 0 THEN false
    ELSE """
    + _ANYTHING_NEW_TEMPLATE
    + """
  END AS cut
WITH s, seen + kept AS seen, kept AS frontier, levels + [kept] AS levels, cut
"""
)

TRAVERSE_PROBE_TEMPLATE: Final = (
    """WITH s, seen, levels,
  CASE
    WHEN cut THEN true
    WHEN size(frontier) = 0 THEN false
    ELSE """
    + _ANYTHING_NEW_TEMPLATE
    + """
  END AS cut
"""
)

TRAVERSE_FINISH_TEMPLATE: Final = """WITH s, cut, levels,
  [x IN seen WHERE x = s OR $node_kinds IS NULL OR x.kind IN $node_kinds] AS shown
CALL (shown) {
  UNWIND shown AS a
  MATCH (a)-[r__TYPES__]->(b)
  WHERE b IN shown
    AND ($at IS NULL OR (r.valid_from <= $at AND (r.valid_to IS NULL OR r.valid_to > $at)))
  RETURN collect({src: a.id, kind: type(r), dst: b.id, valid_from: r.valid_from,
                  valid_to: r.valid_to, props: r.props}) AS edges
}
RETURN {id: s.id, kind: s.kind, valid_from: s.valid_from, valid_to: s.valid_to,
        recorded_at: s.recorded_at, props: s.props} AS start,
       cut AS truncated,
       [level IN levels | [x IN level WHERE $node_kinds IS NULL OR x.kind IN $node_kinds |
         {id: x.id, kind: x.kind, valid_from: x.valid_from, valid_to: x.valid_to,
          recorded_at: x.recorded_at, props: x.props}]] AS levels,
       edges
"""

# -- audit log -------------------------------------------------------------------------------

_AUDIT_FIELDS: Final = (
    "e.seq AS seq, e.at AS at, e.actor AS actor, e.action AS action, e.reason AS reason, "
    "e.payload_hash AS payload_hash, e.subjects AS subjects, e.payload AS payload, "
    "e.prev_hash AS prev_hash, e.hash AS hash"
)

# Checking first instead of letting the uniqueness constraint fail keeps an explicit
# transaction usable after a CONFLICT (a failed statement would doom it), as SQLite's is.
# Two concurrent appends of one seq still meet the constraint: the loser gets ConstraintError.
APPEND_AUDIT: Final = """
OPTIONAL MATCH (taken:AuditEvent {seq: $seq})
WITH taken WHERE taken IS NULL
CREATE (e:AuditEvent)
SET e = $event
RETURN count(e) AS created
"""

# ``IS NOT NULL`` lets the planner scan the seq index in order and stop after one row.
AUDIT_HEAD: Final = (
    "MATCH (e:AuditEvent) WHERE e.seq IS NOT NULL RETURN "
    + _AUDIT_FIELDS
    + " ORDER BY seq DESC LIMIT 1"
)

AUDIT_EVENTS: Final = (
    "MATCH (e:AuditEvent) WHERE e.seq > $after_seq RETURN "
    + _AUDIT_FIELDS
    + " ORDER BY seq LIMIT $limit"
)

# -- the only places query text is formatted -------------------------------------------------

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_MARKER = re.compile(r"__[A-Z]+__")
_ARROWS: Final[dict[Direction, tuple[str, str]]] = {
    # (left, right) around the relationship, from the node already reached to the next one.
    Direction.OUT: ("-", "->"),  # follow src -> dst
    Direction.IN: ("<-", "-"),  # follow dst -> src
    Direction.BOTH: ("-", "-"),
}


def _quoted(name: str) -> str:
    # Defence in depth: enum values are plain identifiers; refuse anything else outright.
    if not _NAME.match(name):
        raise InvalidError(f"{name!r} cannot be a label or relationship type", field="kind")
    return f"`{name}`"


def label(kind: NodeKind) -> str:
    """The quoted Neo4j label of ``kind``; INVALID for anything but a NodeKind member."""
    if not isinstance(kind, NodeKind):
        raise InvalidError(f"not a node kind: {kind!r}", field="kind")
    return _quoted(kind.value)


def relationship_types(kinds: Iterable[EdgeKind]) -> str:
    """A relationship type expression (``USED|WAS_GENERATED_BY``, sorted) for EdgeKind members."""
    names: list[str] = []
    for kind in kinds:
        if not isinstance(kind, EdgeKind):
            raise InvalidError(f"not an edge kind: {kind!r}", field="kind")
        names.append(_quoted(kind.value))
    if not names:
        raise InvalidError("at least one edge kind is needed", field="kind")
    return "|".join(sorted(set(names)))


def walk_levels(max_depth: int) -> int:
    """How many TRAVERSE_LEVEL_TEMPLATE copies a walk of ``max_depth`` has, validated to lie in
    1..MAX_DEPTH (the statement's size is bounded by it)."""
    if not isinstance(max_depth, int) or isinstance(max_depth, bool):
        raise InvalidError("max_depth must be an integer", field="max_depth")
    if not 1 <= max_depth <= MAX_DEPTH:
        raise InvalidError(f"max_depth must be in 1..{MAX_DEPTH}", field="max_depth")
    return max_depth


def upsert_nodes_query(kind: NodeKind) -> LiteralString:
    """UPSERT_NODES_TEMPLATE for rows of one ``kind``."""
    return _fill(UPSERT_NODES_TEMPLATE, {"__LABEL__": label(kind)})


def upsert_edges_query(*kinds: EdgeKind) -> LiteralString:
    """UPSERT_EDGES_TEMPLATE for rows of ``kinds``, in that order: a row's ``group`` is the
    index of its kind among them."""
    if not kinds:
        raise InvalidError("at least one edge kind is needed", field="kind")
    text: LiteralString = UPSERT_EDGES_TEMPLATE
    for group, kind in enumerate(kinds):
        text += _fill(
            UPSERT_EDGES_KIND_TEMPLATE,
            {"__TYPES__": relationship_types([kind]), "__GROUP__": _group(group)},
        )
    return text + _UPSERT_EDGES_END


def _group(index: int) -> str:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(EdgeKind):
        raise InvalidError(f"not an edge kind group: {index!r}", field="kind")
    return str(index)


def traverse_query(
    direction: Direction, edge_kinds: Iterable[EdgeKind] | None, max_depth: int
) -> LiteralString:
    """The bounded walk (see TRAVERSE_START_TEMPLATE) for a direction, an optional non-empty
    edge kind set and a depth."""
    if not isinstance(direction, Direction):
        raise InvalidError(f"not a direction: {direction!r}", field="direction")
    left, right = _ARROWS[direction]
    types = "" if edge_kinds is None else ":" + relationship_types(edge_kinds)
    step = {"__LEFT__": left, "__RIGHT__": right, "__TYPES__": types}
    level = _fill(TRAVERSE_LEVEL_TEMPLATE, step)
    text: LiteralString = TRAVERSE_START_TEMPLATE
    for _ in range(walk_levels(max_depth)):
        text += level
    return (
        text
        + _fill(TRAVERSE_PROBE_TEMPLATE, step)
        + _fill(TRAVERSE_FINISH_TEMPLATE, {"__TYPES__": types})
    )


def _fill(template: str, parts: dict[str, str]) -> LiteralString:
    text = template
    for marker, part in parts.items():
        text = text.replace(marker, part)
    if _MARKER.search(text):
        raise InvalidError("a query template marker was left unfilled", field="query")
    # Every part is an enum value, an arrow or a clamped int: as safe as a literal. (mypy treats
    # LiteralString as str, so no cast is needed for the driver's LiteralString parameter.)
    return text


# == search: lineage.store.neo4j_search (the rank rule is lineage.store.search_plan's) ===========
#
# ``search_words`` holds a node's indexed words already split by spaces and lower-cased
# (search_plan.indexed_words), so the default analyzer (standard-no-stop-words) yields the
# words SQLite's FTS5 index holds. ``search_kind`` (the kind, on the same nodes) is indexed too:
# a kinds filter is part of the Lucene query, so the index's best hits are already of those
# kinds. Nodes of kinds whose words are not indexed (inference batches) have neither property
# and stay out of the index. The index is updated in the writing transaction (not eventually
# consistent); it is created with the rest of SCHEMA.

_SEARCH_FIELDS: Final = (
    "n.id AS id, n.kind AS kind, n.valid_from AS valid_from, n.valid_to AS valid_to, "
    "n.recorded_at AS recorded_at, n.props AS props"
)

# ID and ID-prefix hits: the first $limit nodes by ID of each prefix range, each a seek of the
# node_id constraint's range index (STARTS WITH), in ID order.
SEARCH_BY_PREFIX: Final = (
    """
UNWIND $prefixes AS prefix
CALL (prefix) {
  MATCH (n:Node)
  WHERE n.id STARTS WITH prefix AND ($kinds IS NULL OR n.kind IN $kinds)
  RETURN n
  ORDER BY n.id
  LIMIT $limit
}
RETURN """
    + _SEARCH_FIELDS
)

# Word hits: the index's best $limit by Lucene's BM25 score. $index is the index name, $lucene
# a Lucene query of letters and digits only (neo4j_search.lucene_query).
SEARCH_BY_WORDS: Final = (
    """
CALL db.index.fulltext.queryNodes($index, $lucene, {limit: $limit}) YIELD node AS n, score
RETURN """
    + _SEARCH_FIELDS
    + ", score"
)

# A store written before search existed: nodes of indexed kinds without their words, a page
# at a time (backfilled before a store's first search, once: the marker node records it);
# then waiting for the index to be ONLINE (it populates in the background once created).
SEARCH_AWAIT_INDEX: Final = "CALL db.awaitIndex($index, $seconds)"
SEARCH_BACKFILL_DONE: Final = (
    "OPTIONAL MATCH (m:LineageSearchIndex {name: 'store'}) RETURN m.version AS version"
)
SEARCH_UNINDEXED: Final = """
MATCH (n:Node)
WHERE n.search_words IS NULL AND NOT n.kind IN $unindexed AND n.id > $after
RETURN n.id AS id, n.kind AS kind, n.props AS props
ORDER BY n.id
LIMIT $limit
"""
SEARCH_SET_WORDS: Final = """
UNWIND $rows AS row
MATCH (n:Node {id: row.id})
SET n.search_words = row.words, n.search_kind = n.kind
"""
SEARCH_MARK_DONE: Final = "MERGE (m:LineageSearchIndex {name: 'store'}) SET m.version = $version"
