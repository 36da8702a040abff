"""GraphQL types of ``versionDiff``: two model versions side by side, one row per fact.

They mirror :class:`lineage.services.answers.VersionDiff` and ``DiffRow``; the default
resolvers read the dataclasses' attributes.
"""

from __future__ import annotations

from typing import Any

import graphene

from lineage.graphql.nodes import ModelVersion
from lineage.graphql.scalars import JSON, DateTime
from lineage.services.answers import DiffRow as ServiceDiffRow
from lineage.services.answers import VersionDiff as ServiceVersionDiff


class DiffRow(graphene.ObjectType):  # type: ignore[misc]
    """One compared fact of the two versions."""

    aspect = graphene.String(
        required=True,
        description="What part of the version: `data`, `snapshot`, `code`, `parameters`, "
        "`training`, `metrics`, `gates`, `approvals` or `deployments`.",
    )
    field = graphene.String(
        required=True,
        description="The fact: a dataset (`dataset:applications`), a parameter, a metric, a "
        "gate check (`risk.disparate_impact`), a sign-off role, a deployment.",
    )
    a = JSON(description="Its value for version `a`; null where `a` has none.")
    b = JSON(description="Its value for version `b`; null where `b` has none.")
    same = graphene.Boolean(required=True, description="Whether the two values are equal.")


class VersionDiff(graphene.ObjectType):  # type: ignore[misc]
    """What differs between two model versions, as the graph recorded them at `asOf`."""

    a = graphene.Field(ModelVersion, required=True, description="The first version.")
    b = graphene.Field(ModelVersion, required=True, description="The second version.")
    as_of = DateTime(required=True, description="The instant both were read at.")
    rows = graphene.List(
        graphene.NonNull(DiffRow),
        required=True,
        only_differences=graphene.Boolean(
            description="Only the rows whose values differ (default false)."
        ),
        description="Every compared fact, grouped by aspect.",
    )
    truncated = graphene.Boolean(
        required=True,
        description="True when an evidence walk hit its budget: some evidence may be missing.",
    )

    @staticmethod
    def resolve_rows(
        diff: ServiceVersionDiff, _info: Any, only_differences: bool = False
    ) -> list[ServiceDiffRow]:
        """All rows, or the differing ones."""
        return diff.differences if only_differences else diff.rows
