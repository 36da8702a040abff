"""OpenLineage ingestion: ``POST /api/v1/lineage`` (the path Marquez serves), events validated
against the published schema (as ``openlineage-python``'s generated model carries it) and
mapped onto the provenance graph."""
