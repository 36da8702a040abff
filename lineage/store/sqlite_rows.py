"""The SQLite store's tables: their schema, the column lists its statements name, and the
decoding of their rows into nodes, edges and audit events (shared by the store, its traversal
and its search)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import orjson

from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import from_stored, from_text
from lineage.store.base import AuditEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    recorded_at TEXT NOT NULL,
    props       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS nodes_kind_time ON nodes (kind, valid_from, id);
CREATE INDEX IF NOT EXISTS nodes_time ON nodes (valid_from, id);
-- An index on a JSON property cost every node write a JSON parse for a lookup no service made.
DROP INDEX IF EXISTS nodes_content_hash;
-- Edge ends are checked by upsert_edges (naming the missing one) and edges are removed with
-- their nodes by delete_nodes, in the write transaction: foreign keys would repeat both checks
-- on every row (about 5% of the batch-load time) for nothing.
CREATE TABLE IF NOT EXISTS edges (
    eid        INTEGER PRIMARY KEY,
    src        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    dst        TEXT NOT NULL,
    valid_from TEXT NOT NULL DEFAULT '',  -- '' = no start: a structural edge
    valid_to   TEXT,
    props      TEXT NOT NULL,
    UNIQUE (src, kind, dst, valid_from)
);
CREATE INDEX IF NOT EXISTS edges_dst ON edges (dst, kind);
-- Leases between processes (schedulers): coordination, not provenance, so not audited.
CREATE TABLE IF NOT EXISTS leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
-- One row that readiness probes rewrite: proof that a write can commit now.
CREATE TABLE IF NOT EXISTS readiness (id INTEGER PRIMARY KEY, probed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    subjects     TEXT NOT NULL,
    payload      TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
"""

NODE_COLUMNS = "id, kind, valid_from, valid_to, recorded_at, props"
EDGE_COLUMNS = "src, kind, dst, valid_from, valid_to, props"

UPSERT_NODE = f"""
INSERT INTO nodes ({NODE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    kind = excluded.kind, valid_from = excluded.valid_from,
    valid_to = excluded.valid_to, props = excluded.props
"""
UPSERT_EDGE = f"""
INSERT INTO edges ({EDGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (src, kind, dst, valid_from) DO UPDATE SET
    valid_to = excluded.valid_to, props = excluded.props
"""


def valid_at(table: str = "", param: str = "?") -> str:
    """SQL: the edge held at the instant ``param`` (a structural edge's '' start always holds)."""
    return (
        f"{table}valid_from <= {param} AND ({table}valid_to IS NULL OR {table}valid_to > {param})"
    )


_NODE_KINDS = {k.value: k for k in NodeKind}
_EDGE_KINDS = {k.value: k for k in EdgeKind}


def node_of(row: sqlite3.Row | tuple[Any, ...]) -> Node:
    """The node of a row of NODE_COLUMNS (search rows may carry more columns after them)."""
    # Rows were validated on the way in; rebuilding them is the hot path of every traversal.
    return Node.stored(
        row[0],
        _NODE_KINDS[row[1]],
        from_stored(row[2]),
        row[5],
        from_stored(row[3]) if row[3] else None,
        from_stored(row[4]),
    )


def edge_of(row: sqlite3.Row | tuple[Any, ...]) -> Edge:
    """The edge of a row of EDGE_COLUMNS."""
    return Edge.stored(
        row[0],
        _EDGE_KINDS[row[1]],
        row[2],
        row[5],
        from_stored(row[3]) if row[3] else None,
        from_stored(row[4]) if row[4] else None,
    )


def audit_of(row: tuple[Any, ...]) -> AuditEvent:
    """The audit event of a row of the audit table (every column, in order)."""
    return AuditEvent(
        seq=row[0],
        at=from_text(row[1]),
        actor=row[2],
        action=row[3],
        reason=row[4],
        payload_hash=row[5],
        subjects=orjson.loads(row[6]),  # megabytes after a batch load: the fast parser
        payload=json.loads(row[7]) if row[7] is not None else None,
        prev_hash=row[8],
        hash=row[9],
    )
