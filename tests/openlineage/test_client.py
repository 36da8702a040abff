"""The real ``openlineage-python`` client, pointed at the running app over HTTP with a pipeline
token, as an Airflow deployment would be: what it sends is answered by the investigators'
questions over ``/graphql``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    schema_dataset,
    source_code_location_job,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from lineage.openlineage import ids
from tests.openlineage.support import Served

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
DB = "postgres://lending-db:5432"
RUN_ID = "01941000-aaaa-7bbb-8ccc-000000000001"


def _schema(*names: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="numeric") for n in names]
    )


def _events() -> list[RunEvent]:
    """A training task reading two tables and writing one model artifact."""
    job = Job(
        namespace="airflow-prod",
        name="lending_training.train_model",
        facets={
            "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
                type="git",
                url="https://git.example.com/credit/lending-models/blob/0123abcd/train.py",
                version="0123abcd4567",
            )
        },
    )
    inputs = [
        InputDataset(
            namespace=DB,
            name="lending.public.applications",
            facets={"schema": _schema("applicant_id", "monthly_income", "debt")},
        ),
        InputDataset(
            namespace=DB,
            name="lending.public.credit_bureau",
            facets={"schema": _schema("applicant_id", "score")},
        ),
    ]

    def source(name: str, field: str) -> column_lineage_dataset.InputField:
        return column_lineage_dataset.InputField(namespace=DB, name=name, field=field)

    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "income": column_lineage_dataset.Fields(
                inputFields=[source("lending.public.applications", "monthly_income")]
            ),
            "credit_score": column_lineage_dataset.Fields(
                inputFields=[source("lending.public.credit_bureau", "score")]
            ),
        }
    )
    artifact = OutputDataset(
        namespace="s3://models",
        name="lending_approval_ol/model.pkl",
        facets={"schema": _schema("income", "credit_score"), "columnLineage": lineage},
    )
    return [
        RunEvent(
            eventType=state,
            eventTime=at.isoformat(),
            run=Run(runId=RUN_ID),
            job=job,
            producer=PRODUCER,
            inputs=inputs,
            outputs=[artifact],
        )
        for state, at in (
            (RunState.START, datetime(2024, 1, 20, 7, 0, tzinfo=UTC)),
            (RunState.COMPLETE, datetime(2024, 1, 20, 7, 40, tzinfo=UTC)),
        )
    ]


def _ask(served: Served, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{served.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {served.reader}"},
        timeout=30,
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture
def emitted(served: Served) -> Served:
    """The two events sent by the real client, as its HTTP transport with api_key auth does."""
    config = HttpConfig(url=served.url, auth=ApiKeyTokenProvider({"apiKey": served.pipeline}))
    transport = HttpTransport(config)
    client = OpenLineageClient(transport=transport)
    try:
        for sent in _events():
            client.emit(sent)  # raises on any status but 2xx
    finally:
        transport.close()
    return served


def test_the_python_client_feeds_the_graph_the_questions_read(emitted: Served) -> None:
    applications = ids.dataset_id(DB, "lending.public.applications")
    uses = _ask(
        emitted,
        "query($d: String!) { modelsUsingDataset(dataset: $d) { uses { modelVersion { id } } } }",
        {"d": applications},
    )["modelsUsingDataset"]["uses"]
    version = "model:lending_approval_ol@ol.run." + RUN_ID
    assert [u["modelVersion"]["id"] for u in uses] == [version]

    feature = _ask(
        emitted,
        "query { featureImpact(feature: \"credit_score\") { modelVersions { id } } }",
        {},
    )["featureImpact"]
    assert version in [v["id"] for v in feature["modelVersions"]]

    upstream = _ask(
        emitted,
        "query($n: ID!) "
        "{ impact(node: $n, direction: UPSTREAM, maxDepth: 3) { nodes { id kind } } }",
        {"n": "feature:credit_score"},
    )["impact"]["nodes"]
    source = ids.column_id(DB, "lending.public.credit_bureau", "score")
    assert {"id": source, "kind": "Column"} in upstream

    provenance = _ask(
        emitted,
        "query { trainingProvenance(model: \"lending_approval_ol\", "
        "asOf: \"2024-02-01T00:00:00Z\") { modelVersion { id } trainingRun { id } } }",
        {},
    )["trainingProvenance"]
    assert provenance["trainingRun"]["id"] == f"run:{RUN_ID}"


def test_the_client_configured_by_its_environment_variables_alone_is_accepted(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", served.url)
    monkeypatch.setenv("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", served.pipeline)
    monkeypatch.delenv("OPENLINEAGE_CONFIG", raising=False)
    client = OpenLineageClient()
    try:
        client.emit(_events()[0])  # raises on any status but 2xx
    finally:
        client.close()
    run = _ask(served, "query($id: ID!) { node(id: $id) { id kind } }", {"id": f"run:{RUN_ID}"})
    assert run["node"] == {"id": f"run:{RUN_ID}", "kind": "TrainingRun"}
