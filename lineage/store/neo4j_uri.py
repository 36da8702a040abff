"""Where the Neo4j backend connects: store URIs parsed into driver URI, credentials and
database, and shown without credentials in every message and log."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from lineage.errors import InvalidError

SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
USER_ENV = "LINEAGE_NEO4J_USER"
PASSWORD_ENV = "LINEAGE_NEO4J_PASSWORD"
DATABASE_ENV = "LINEAGE_NEO4J_DATABASE"
DEFAULT_USER = "neo4j"
_USERINFO = re.compile(r"//[^/?#]*@")


@dataclass(frozen=True, slots=True)
class Neo4jTarget:
    """A parsed store URI: what the driver gets, and what may be shown (``uri``)."""

    uri: str  # scheme://host:port[?database=name]: safe for messages and logs
    driver_uri: str  # without credentials and without our own query parameters
    user: str | None
    password: str | None = field(repr=False)
    database: str | None


def redact(uri: str) -> str:
    """``uri`` with any ``user:password@`` removed, for error messages."""
    return _USERINFO.sub("//", uri)


def parse_uri(uri: str, env: Mapping[str, str] | None = None) -> Neo4jTarget:
    """Split a store URI into driver URI, credentials and database.

    Credentials come from the URI's userinfo, else ``LINEAGE_NEO4J_USER`` /
    ``LINEAGE_NEO4J_PASSWORD``; the database from ``?database=``, else ``LINEAGE_NEO4J_DATABASE``,
    else the server's default. Other query parameters are the routing context of ``neo4j://``
    URIs (the driver's own syntax) and are refused on ``bolt://``, which has none.
    """
    env = os.environ if env is None else env
    shown = redact(uri)
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise InvalidError(f"malformed Neo4j URI {shown!r}: {exc}", field="store") from None
    if parts.scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise InvalidError(f"unsupported Neo4j URI {shown!r}: use {known}", field="store")
    if not parts.hostname:
        raise InvalidError(f"Neo4j URI {shown!r} names no host", field="store")
    if parts.path not in ("", "/") or parts.fragment:
        raise InvalidError(
            f"Neo4j URI {shown!r} cannot have a path or fragment; name the "
            "database with ?database=name",
            field="store",
        )
    database: str | None = None
    routing: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "database":
            database = value
        else:
            routing.append((key, value))
    if routing and parts.scheme.startswith("bolt"):
        raise InvalidError(
            f"Neo4j URI {shown!r}: bolt:// takes no query parameter but database", field="store"
        )
    database = database or env.get(DATABASE_ENV) or None
    user = unquote(parts.username) if parts.username else env.get(USER_ENV) or None
    password = unquote(parts.password) if parts.password is not None else env.get(PASSWORD_ENV)
    if password is not None and user is None:
        user = DEFAULT_USER
    host = parts.netloc.rpartition("@")[2]
    if port is None:
        host = f"{host}:7687"
    base = f"{parts.scheme}://{host}"
    shown_query = urlencode(routing + ([("database", database)] if database else []))
    return Neo4jTarget(
        uri=base + (f"?{shown_query}" if shown_query else ""),
        driver_uri=base + (f"?{urlencode(routing)}" if routing else ""),
        user=user,
        password=password,
        database=database,
    )
