"""The GraphQL API: graphene types over the services, served by a small Starlette app.

Named ``lineage.graphql`` (never a top-level ``graphql``, which is graphql-core's package).
"""

from __future__ import annotations

from lineage.graphql.app import create_app, create_app_from_settings
from lineage.graphql.schema import SCHEMA, schema_sdl

__all__ = ["SCHEMA", "create_app", "create_app_from_settings", "schema_sdl"]
