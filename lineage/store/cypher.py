"""Every Cypher statement the Neo4j backend runs (Neo4j 5.26, no APOC).

Values always travel as ``$parameters``. A few things cannot be parameters in Cypher: labels,
relationship types, arrow directions and quantifier bounds. Those are spliced into a handful of
templates at the ``__LABEL__`` / ``__TYPES__`` / ``__HOPS__`` / ``__LEFT__`` / ``__RIGHT__``
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

# ``row.fields`` holds every stored property but recorded_at (id, kind, times, props, p_*), so
# ``SET n = row.fields`` also drops flattened props the new version no longer has. recorded_at is
# kept from the first write: read it (set ON CREATE) before the replacement and put it back.
# Rows of one call share a kind (the label is a template marker); the caller groups them.
UPSERT_NODES_TEMPLATE: Final = """
UNWIND $rows AS row
MERGE (n:Node {id: row.id})
ON CREATE SET n.recorded_at = row.recorded_at
WITH n, row, n.recorded_at AS recorded_at
SET n = row.fields
SET n.recorded_at = recorded_at, n:__LABEL__
"""

GET_NODES: Final = "UNWIND $ids AS node_id MATCH (n:Node {id: node_id}) RETURN " + _NODE_FIELDS

EXISTING_IDS: Final = "UNWIND $ids AS node_id MATCH (n:Node {id: node_id}) RETURN n.id AS id"

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

# Ends are matched first (the caller has checked they exist, in the same transaction); the
# count lets it notice an end deleted concurrently and fail instead of writing part of a batch.
# The relationship's identity is (src, type, dst, valid_from), as SQLite's UNIQUE constraint.
UPSERT_EDGES_TEMPLATE: Final = """
UNWIND $rows AS row
MATCH (a:Node {id: row.src})
MATCH (b:Node {id: row.dst})
MERGE (a)-[r:__TYPES__ {valid_from: row.valid_from}]->(b)
SET r.valid_to = row.valid_to, r.props = row.props
RETURN count(r) AS written
"""

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

# The bounded walk in one statement. Parameters: $start, $at (text or null), $max_depth,
# $probe (= max_nodes), $keep (= max_nodes - 1: the start counts against the budget),
# $node_kinds (list or null). Markers: __LEFT__/__RIGHT__ (arrow by Direction), __TYPES__
# (relationship type filter or nothing), __HOPS__ (max_depth + 1).
#
# Why SHORTEST 1 (Neo4j 5.21+): we need each reachable node's *minimum* depth. A plain
# variable-length match enumerates every path, which explodes on dense provenance graphs (a
# popular dataset version fans out to thousands of runs, each to several models ...). With the
# start bound and the target free, ``SHORTEST 1`` is planned as StatefulShortestPath(All): one
# breadth-first search from the start that yields each reachable node once, with its shortest
# path. The validity window and the edge kinds are inlined in the quantified path pattern, so
# they are pre-filters applied during the search (a WHERE on the MATCH would be a post-filter
# and change which path counts as shortest). No APOC needed.
#
# Truncation (same rule as SQLite's _walk): the search goes one hop past max_depth only to learn
# whether the depth limit cut anything off. Rows are ordered by (depth, id) and capped at
# max_nodes, so ``kept`` (depth <= max_depth, at most max_nodes - 1 besides the start) is a
# prefix of ``reached``, and anything left over is a node the limits hid: truncated.
# ``collect`` keeps the ORDER BY order of its input rows.
#
# Edges returned are all edges of the followed kinds valid at $at among the returned nodes
# (after the node_kinds filter, the start always included), whatever their direction.
TRAVERSE_TEMPLATE: Final = """
MATCH (s:Node {id: $start})
WHERE $at IS NULL OR s.valid_from <= $at
CALL (s) {
  MATCH p = SHORTEST 1 (s)(()__LEFT__[rel__TYPES__ WHERE $at IS NULL OR
        (rel.valid_from <= $at AND (rel.valid_to IS NULL OR rel.valid_to > $at))]__RIGHT__(hop
        WHERE $at IS NULL OR hop.valid_from <= $at)){1,__HOPS__}(t)
  WHERE t <> s
  WITH t, length(p) AS depth
  ORDER BY depth, t.id
  LIMIT $probe
  RETURN collect({depth: depth, id: t.id, kind: t.kind, valid_from: t.valid_from,
                  valid_to: t.valid_to, recorded_at: t.recorded_at, props: t.props}) AS reached
}
WITH s, reached, [x IN reached WHERE x.depth <= $max_depth][..$keep] AS kept
WITH s, size(kept) < size(reached) AS truncated,
     [x IN kept WHERE $node_kinds IS NULL OR x.kind IN $node_kinds] AS shown
WITH s, truncated, shown, [s.id] + [x IN shown | x.id] AS ids
CALL (ids) {
  UNWIND ids AS src_id
  MATCH (a:Node {id: src_id})-[r__TYPES__]->(b:Node)
  WHERE b.id IN ids
    AND ($at IS NULL OR (r.valid_from <= $at AND (r.valid_to IS NULL OR r.valid_to > $at)))
  RETURN collect({src: a.id, kind: type(r), dst: b.id, valid_from: r.valid_from,
                  valid_to: r.valid_to, props: r.props}) AS edges
}
RETURN {depth: 0, id: s.id, kind: s.kind, valid_from: s.valid_from, valid_to: s.valid_to,
        recorded_at: s.recorded_at, props: s.props} AS start,
       truncated, shown AS nodes, edges
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


def hop_limit(max_depth: int) -> int:
    """The quantifier bound of a walk: ``max_depth + 1``, validated to lie in 2..MAX_DEPTH+1."""
    if not isinstance(max_depth, int) or isinstance(max_depth, bool):
        raise InvalidError("max_depth must be an integer", field="max_depth")
    if not 1 <= max_depth <= MAX_DEPTH:
        raise InvalidError(f"max_depth must be in 1..{MAX_DEPTH}", field="max_depth")
    return max_depth + 1


def upsert_nodes_query(kind: NodeKind) -> LiteralString:
    """UPSERT_NODES_TEMPLATE for rows of one ``kind``."""
    return _fill(UPSERT_NODES_TEMPLATE, {"__LABEL__": label(kind)})


def upsert_edges_query(kind: EdgeKind) -> LiteralString:
    """UPSERT_EDGES_TEMPLATE for rows of one ``kind``."""
    return _fill(UPSERT_EDGES_TEMPLATE, {"__TYPES__": relationship_types([kind])})


def traverse_query(
    direction: Direction, edge_kinds: Iterable[EdgeKind] | None, max_depth: int
) -> LiteralString:
    """TRAVERSE_TEMPLATE for a direction, an optional non-empty edge kind set and a depth."""
    if not isinstance(direction, Direction):
        raise InvalidError(f"not a direction: {direction!r}", field="direction")
    left, right = _ARROWS[direction]
    types = "" if edge_kinds is None else ":" + relationship_types(edge_kinds)
    return _fill(
        TRAVERSE_TEMPLATE,
        {
            "__LEFT__": left,
            "__RIGHT__": right,
            "__TYPES__": types,
            "__HOPS__": str(hop_limit(max_depth)),
        },
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
