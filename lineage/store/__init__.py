"""Stores behind one protocol, chosen by URI scheme."""

from __future__ import annotations

import os

from lineage.errors import InvalidError
from lineage.store.base import (
    AuditEvent,
    EdgeQuery,
    GraphStore,
    NodeQuery,
    TraversalSpec,
    iter_all_edges,
    iter_all_nodes,
)

DEFAULT_URI = "sqlite:///./lineage.db"
NEO4J_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")

__all__ = [
    "DEFAULT_URI",
    "AuditEvent",
    "EdgeQuery",
    "GraphStore",
    "NodeQuery",
    "TraversalSpec",
    "iter_all_edges",
    "iter_all_nodes",
    "open_store",
]


def open_store(uri: str | None = None, *, lock_timeout: float | None = None) -> GraphStore:
    """Open the backend named by ``uri`` (default: ``LINEAGE_STORE`` or ``./lineage.db``).

    ``sqlite:///relative.db``, ``sqlite:////absolute.db``; ``neo4j://``, ``neo4j+s://``,
    ``bolt://`` (credentials in the URI or ``LINEAGE_NEO4J_USER`` / ``LINEAGE_NEO4J_PASSWORD``).
    ``lock_timeout``: how long a write waits for another writer before it fails with nothing
    written (default 5 s).
    """
    uri = uri or os.environ.get("LINEAGE_STORE") or DEFAULT_URI
    wait = {} if lock_timeout is None else {"lock_timeout": lock_timeout}
    if uri.startswith("sqlite:///"):
        from lineage.store.sqlite import SQLiteStore

        return SQLiteStore(uri, **wait)
    if uri.startswith(NEO4J_SCHEMES):
        from lineage.store.neo4j import Neo4jStore

        return Neo4jStore(uri, **wait)
    raise InvalidError(
        f"unsupported store URI {uri!r}: use sqlite:///path.db, neo4j://, neo4j+s:// or bolt://",
        field="store",
    )
