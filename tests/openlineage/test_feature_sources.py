"""featureImpact follows a feature back to the source columns column lineage recorded."""

from __future__ import annotations

from lineage.openlineage import ids
from lineage.services import investigation
from lineage.store import GraphStore
from tests.openlineage.support import Send, event

DB = "postgres://lending-db:5432"


def test_feature_impact_names_the_source_column_a_feature_was_computed_from(
    world: GraphStore, send: Send
) -> None:
    send(
        event("airflow_features_start"),
        event("airflow_features_complete"),
        event("airflow_training_start"),
        event("airflow_training_complete"),
    )
    impact = investigation.feature_impact(world, "income")
    sources = {n.id for n in impact.sources}
    assert ids.column_id(DB, "lending.public.applications", "monthly_income") in sources
    assert not impact.truncated


def test_a_feature_without_column_lineage_has_no_sources(world: GraphStore) -> None:
    impact = investigation.feature_impact(world, "credit_score")  # the scenario's, by hand
    assert impact.sources == []
