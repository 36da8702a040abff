"""The assembled schema and its printed form, the API contract in ``graphql/schema.graphql``."""

from __future__ import annotations

import graphene
from graphql import GraphQLSchema, print_schema

from lineage.graphql.mutations import Mutation
from lineage.graphql.node_records import NODE_TYPES
from lineage.graphql.queries import Query

# Built once at import: a schema is an immutable description of the API, not state.
SCHEMA = graphene.Schema(query=Query, mutation=Mutation, types=NODE_TYPES)


def graphql_schema() -> GraphQLSchema:
    """The graphql-core schema the endpoint executes."""
    schema: GraphQLSchema = SCHEMA.graphql_schema
    return schema


def schema_sdl() -> str:
    """The schema in SDL, as ``graphql/schema.graphql`` holds it."""
    return print_schema(graphql_schema()) + "\n"
