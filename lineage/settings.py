"""Settings from the environment (prefix ``LINEAGE_``) with command-line overrides."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from lineage.services.record_store import DEFAULT_RECORDS_DIR
from lineage.store import DEFAULT_URI


class Settings(BaseSettings):
    """Where the graph and the decision records live."""

    model_config = SettingsConfigDict(env_prefix="LINEAGE_", extra="ignore")

    store: str = DEFAULT_URI
    records_dir: str = DEFAULT_RECORDS_DIR
