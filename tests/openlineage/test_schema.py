"""Validation against the published OpenLineage schema, as openlineage-python's generated model
carries it, names the first bad field's path; the schema covers every facet the mapping reads."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import attr
import pytest
from openlineage.client.generated import base

from lineage.errors import InvalidError
from lineage.openlineage import schema
from lineage.openlineage.events import CONTENT_HASH_FACET, parse
from lineage.openlineage.schema import EventKind, validate
from tests.openlineage.support import event


def _refused(value: Any) -> InvalidError:
    with pytest.raises(InvalidError) as caught:
        parse(value, validate(value))
    return caught.value


@pytest.mark.parametrize(
    "name", ["airflow_features_start", "spark_complete", "spark_fail", "dbt_complete"]
)
def test_integration_shaped_events_are_valid_run_events(name: str) -> None:
    assert validate(event(name)) is EventKind.RUN


def test_a_missing_run_id_is_named() -> None:
    value = event("spark_start")
    del value["run"]["runId"]
    assert _refused(value).field == "run.runId"


def test_a_run_id_that_is_not_a_uuid_is_named() -> None:
    value = event("spark_start")
    value["run"]["runId"] = "run-42"
    error = _refused(value)
    assert error.field == "run.runId" and "uuid" in error.message


def test_an_event_time_without_a_zone_is_named() -> None:
    error = _refused(event("spark_start", eventTime="2024-01-20T05:10:00"))
    assert error.field == "eventTime"


def test_a_read_facet_of_the_wrong_shape_is_named_by_its_path() -> None:
    value = event("airflow_features_complete")
    value["outputs"][0]["facets"]["schema"]["fields"][1] = {"type": "numeric"}
    assert _refused(value).field == "outputs.0.facets.schema.fields.1.name"
    value = event("dbt_complete")
    value["inputs"][0]["inputFacets"]["dataQualityMetrics"]["rowCount"] = "many"
    assert _refused(value).field == "inputs.0.inputFacets.dataQualityMetrics.rowCount"


def test_ownership_symlinks_and_source_code_facets_are_checked_by_their_schema() -> None:
    value = event("spark_start")
    value["inputs"][0]["facets"]["symlinks"]["identifiers"][0] = {"namespace": "x"}
    assert _refused(value).field == "inputs.0.facets.symlinks.identifiers.0.name"
    value = event("dbt_complete")
    value["outputs"][0]["facets"]["ownership"]["owners"] = "everyone"
    assert _refused(value).field == "outputs.0.facets.ownership.owners"


def test_a_custom_facet_must_still_say_who_produced_it() -> None:
    value = event("spark_start")
    del value["run"]["facets"]["spark_properties"]["_producer"]
    assert _refused(value).field == "run.facets.spark_properties._producer"


def test_an_unknown_custom_facet_is_accepted() -> None:
    value = event("spark_start")
    value["run"]["facets"]["acme_cost"] = {
        "_producer": "https://acme.example/emitter",
        "_schemaURL": "https://acme.example/CostRunFacet.json",
        "dollars": 12.5,
    }
    parsed = parse(value, validate(value))
    assert parsed.run_facets["acme_cost"]["dollars"] == 12.5


def test_dataset_and_job_events_are_told_apart() -> None:
    base = {
        "eventTime": "2024-01-20T05:10:00Z",
        "producer": "https://example.com/emitter",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
    }
    assert validate(base | {"dataset": {"namespace": "s3://b", "name": "x"}}) is EventKind.DATASET
    assert validate(base | {"job": {"namespace": "n", "name": "j"}}) is EventKind.JOB
    with pytest.raises(InvalidError) as caught:
        validate(base | {"dataset": {"namespace": "s3://b"}})
    assert caught.value.field == "dataset.name"


def test_a_deleted_read_facet_is_checked_only_as_a_base_facet() -> None:
    value = event("airflow_features_complete")
    value["outputs"][0]["facets"]["schema"] = {
        "_producer": "https://example.com/emitter",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json",
        "_deleted": True,
    }
    assert validate(value) is EventKind.RUN
    del value["outputs"][0]["facets"]["schema"]["_producer"]
    assert _refused(value).field == "outputs.0.facets.schema._producer"


def _facet_keys_read(source: str) -> set[str]:
    """Keys read off a facet map: ``_live(facets, "key")`` and ``<...facets>.get("key")``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        key = None
        if isinstance(func, ast.Name) and func.id == "_live" and len(node.args) == 2:
            key = node.args[1]
        elif isinstance(func, ast.Attribute) and func.attr == "get":
            owner = func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name.endswith("facets"):
                key = node.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found.add(key.value)
        elif key is not None and not isinstance(key, ast.Name):
            raise AssertionError(f"a facet read by a computed key: {ast.unparse(node)}")
    return found


def test_the_schema_covers_every_facet_the_mapping_reads() -> None:
    package = Path(schema.__file__).parent
    read = set()
    for module in sorted(package.glob("*.py")):
        read |= _facet_keys_read(module.read_text(encoding="utf-8"))
    # the scan sees the reads it must (else it would pass by seeing nothing)
    assert {"parent", "nominalTime", "schema", "columnLineage", "ownership"} <= read
    covered = {key for key, _ in schema.READ_FACETS}
    assert read - {CONTENT_HASH_FACET} <= covered, read - covered
    defs = schema.schema_document()["$defs"]
    for key, facet in schema.READ_FACETS:
        facet_map = defs[f"facets.{schema.facet_base(facet).__qualname__}"]
        checked = facet_map["properties"][key]["else"]["$ref"]
        assert checked == f"#/$defs/{schema.definition_name(facet)}"


_CONTAINERS: dict[type, tuple[str, ...]] = {
    base.RunFacet: ("run", "facets"),
    base.JobFacet: ("job", "facets"),
    base.DatasetFacet: ("outputs", "0", "facets"),
    base.InputDatasetFacet: ("inputs", "0", "inputFacets"),
    base.OutputDatasetFacet: ("outputs", "0", "outputFacets"),
}


@pytest.mark.parametrize(
    ("key", "facet"),
    schema.READ_FACETS,
    ids=[f"{schema.facet_base(f).__name__}.{k}" for k, f in schema.READ_FACETS],
)
def test_every_read_facet_of_the_wrong_shape_is_refused_by_its_path(
    key: str, facet: type
) -> None:
    own = [f for f in attr.fields(facet) if not f.name.startswith("_")]
    wrong_field = own[0].name
    definition = schema.schema_document()["$defs"][schema.definition_name(facet)]
    wrong = 7 if definition["properties"][wrong_field].get("type") == "string" else "seven"
    value = event("spark_complete")
    value["inputs"][0]["inputFacets"] = {}
    value["outputs"][0]["outputFacets"] = {}
    *path, container = _CONTAINERS[schema.facet_base(facet)]
    owner: Any = value
    for part in path:
        owner = owner[int(part)] if part.isdigit() else owner[part]
    owner[container] = {
        key: {
            "_producer": "https://example.com/emitter",
            "_schemaURL": facet._get_schema(),  # type: ignore[attr-defined]
            wrong_field: wrong,
        }
    }
    where = ".".join((*path, container, key))
    # the wrong field, or (first) another of its own required fields the facet lacks
    assert _refused(value).field in {f"{where}.{f.name}" for f in own}



def _attrs_classes() -> list[type]:
    modules = {base, *(__import__(f.__module__, fromlist=["_"]) for _, f in schema.READ_FACETS)}
    return [
        cls
        for module in modules
        for cls in vars(module).values()
        if isinstance(cls, type) and attr.has(cls) and cls.__module__ == module.__name__
    ]


def test_required_fields_are_those_without_a_default_but_the_ones_the_client_fills_in() -> None:
    filled_in_after_init = {"producer", "schemaURL", "_producer", "_schemaURL"}
    defs = schema.schema_document()["$defs"]
    for cls in _attrs_classes():
        required = set(defs.get(schema.definition_name(cls), {}).get("required", []))
        if schema.definition_name(cls) not in defs:
            continue  # a class no event reaches
        defaults = {f.name for f in attr.fields(cls) if f.default is not attr.NOTHING}
        names = {f.name for f in attr.fields(cls)}
        assert required == (names - defaults) | (filled_in_after_init & names), cls


def test_the_formats_are_the_ones_the_generated_validators_check() -> None:
    defs = schema.schema_document()["$defs"]
    assert defs["RunEvent"]["properties"]["eventTime"]["format"] == "date-time"
    assert defs["RunEvent"]["properties"]["producer"]["format"] == "uri"
    assert defs["RunEvent"]["properties"]["schemaURL"]["format"] == "uri"
    assert defs["Run"]["properties"]["runId"]["format"] == "uuid"
    assert defs["RunFacet"]["properties"]["_producer"]["format"] == "uri"
    nominal = defs["nominal_time_run.NominalTimeRunFacet"]["properties"]
    assert nominal["nominalStartTime"]["format"] == "date-time"
    for cls in _attrs_classes():  # every generated check is mirrored by a format
        for field in attr.fields(cls):
            if field.validator is not None:
                assert schema.field_format(field) is not None, (cls, field.name)


def test_a_nominal_time_without_a_zone_is_named() -> None:
    value = event("spark_start")
    value["run"]["facets"]["nominalTime"] = {
        "_producer": "https://example.com/emitter",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json",
        "nominalStartTime": "2024-01-20T05:00:00",
    }
    error = _refused(value)
    assert error.field == "run.facets.nominalTime.nominalStartTime" and "zone" in error.message


def test_the_schema_prints_with_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    schema.main()
    printed = json.loads(capsys.readouterr().out)
    assert "openlineage-python 1." in printed["$comment"]
    assert {"RunEvent", "DatasetEvent", "JobEvent"} <= set(printed["$defs"])
