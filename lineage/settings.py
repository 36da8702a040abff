"""Settings from the environment (prefix ``LINEAGE_``) with command-line overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lineage.services.record_store import DEFAULT_RECORDS_DIR
from lineage.store import DEFAULT_URI


class Settings(BaseSettings):
    """Where the graph and the decision records live, and how the API serves them."""

    model_config = SettingsConfigDict(env_prefix="LINEAGE_", extra="ignore", env_ignore_empty=True)

    store: str = DEFAULT_URI
    records_dir: str = DEFAULT_RECORDS_DIR

    # -- the API server ----------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65_535)
    log_level: str = "info"
    # Off by default: every request needs a bearer token. On, a request without one is a reader.
    allow_anonymous: bool = False

    # -- limits on one request ---------------------------------------------------------------
    max_query_depth: int = Field(default=10, ge=1, le=50)
    max_query_tokens: int = Field(default=2_000, ge=50, le=100_000)
    max_page_size: int = Field(default=500, ge=1, le=1_000)
    time_budget_seconds: float = Field(default=10.0, gt=0, le=600)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1_024)
    max_upload_bytes: int = Field(default=256 * 1024 * 1024, ge=1_024)
    # Nodes (and individual decisions) one request may return across all its fields.
    max_nodes_per_request: int = Field(default=20_000, ge=1_000, le=1_000_000)
    # Nodes all requests in flight may hold together: what bounds the server's memory.
    max_nodes_in_flight: int = Field(default=40_000, ge=1_000, le=10_000_000)

    # -- the store ---------------------------------------------------------------------------
    # How long a write waits for another writer before failing with nothing written. Writes
    # are never abandoned at the time budget (their answer must say what was committed), so
    # this is what keeps a blocked write's answer close to the budget.
    lock_timeout_seconds: float = Field(default=5.0, gt=0, le=300)

    # -- the evidence export -----------------------------------------------------------------
    # Where the API keeps the bundles it hands out; empty: ``lineage-exports`` beside the
    # records directory.
    exports_dir: str = ""
    # The HMAC key of redacted exports; empty: a key generated once and kept (mode 0600) in
    # the records directory. Never written to a bundle or a log.
    export_redaction_key: str = Field(default="", repr=False)

    def exports_path(self) -> Path:
        """The folder of the bundles the API hands out."""
        if self.exports_dir:
            return Path(self.exports_dir)
        return Path(self.records_dir).resolve().parent / "lineage-exports"

    @model_validator(mode="after")
    def _in_flight_holds_one_request(self) -> Self:
        if self.max_nodes_in_flight < self.max_nodes_per_request:
            raise ValueError("max_nodes_in_flight must be at least max_nodes_per_request")
        return self
