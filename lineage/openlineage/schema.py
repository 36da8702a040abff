"""Validation of OpenLineage events against the published schema, as ``openlineage-python``
carries it.

No package ships the specification's JSON files, but ``openlineage-python`` ships the model
generated from them (``openlineage.client.generated``: the events of ``base`` and one module per
facet, attrs classes with type hints, defaults and validators). The JSON Schema is rebuilt from
those classes once per process (:func:`schema_document`), so it follows the installed package:

- ``str``, ``int``, ``float``, ``bool`` are string, integer, number, boolean; ``list[X]`` an
  array of X; ``dict[str, X]`` an object of X; an Enum its values; an attrs class a ``$ref`` to
  its own definition (so recursive ones, such as a schema field's nested fields, work);
- a field is required when its type does not admit None. The optional fields of the published
  schema are exactly those typed ``X | None``; ``producer``, ``schemaURL``, ``_producer`` and
  ``_schemaURL`` have a default only because the client fills them in after init, and the
  published schema requires them;
- the formats the published schema declares are the ones the generated validators check, read
  from what they call: ``UUID(value)`` is ``uuid`` (``runId``), ``isoparse`` is ``date-time``
  (``eventTime``, nominal times: RFC 3339, so with a zone), ``urlparse`` is ``uri``
  (``producer``, ``schemaURL``, ``_producer``, ``_schemaURL``, a source code URL);
- no object refuses extra keys: the specification lets events and facets carry more.

A facet map (a run's, a job's, a dataset's, an input's or output's) checks every facet against
its base facet (``_producer`` and ``_schemaURL``), and the facets this service reads
(:data:`READ_FACETS`) against their own class, unless the facet is ``_deleted``. Custom facets
are only checked for the base shape, and kept. The first problem is INVALID naming its JSON path
in the project's dotted form (``run.runId``, ``outputs.0.facets.schema.fields.3.name``).

Two validators read the same schema: ``jsonschema_rs`` (compiled, some hundred times faster)
decides whether an event is valid, and ``jsonschema`` explains a refusal, so the error names the
same path whichever ran first. Without ``jsonschema_rs``, ``jsonschema`` does both, correctly but
at a few milliseconds per event. ``python -m lineage.openlineage.schema`` prints the schema.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from functools import lru_cache
from importlib.metadata import version
from typing import Any

import attr
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from openlineage.client.generated import (
    base,
    column_lineage_dataset,
    data_quality_metrics_input_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_job,
    source_code_location_job,
    symlinks_dataset,
)

from lineage.errors import InvalidError, shown

try:  # the fast path; see the module docstring
    jsonschema_rs: Any = importlib.import_module("jsonschema_rs")
except ImportError:  # pragma: no cover - exercised where the package is absent
    jsonschema_rs = None

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class EventKind(StrEnum):
    """The three kinds of OpenLineage 2 event, named as the generated classes are."""

    RUN = "RunEvent"
    DATASET = "DatasetEvent"
    JOB = "JobEvent"


EVENT_CLASSES: dict[EventKind, type] = {
    EventKind.RUN: base.RunEvent,
    EventKind.DATASET: base.DatasetEvent,
    EventKind.JOB: base.JobEvent,
}
# The facet maps of the specification, by the base class of the facets they hold.
FACET_BASES: tuple[type, ...] = (
    base.RunFacet,
    base.JobFacet,
    base.DatasetFacet,
    base.InputDatasetFacet,
    base.OutputDatasetFacet,
)
# The facets this service reads, by the key they are sent under (the specification names the
# key; the generated class does not), each checked against its published class. The map a facet
# belongs in follows from its base class: ``ownership`` is a job's and a dataset's facet.
READ_FACETS: tuple[tuple[str, type], ...] = (
    ("parent", parent_run.ParentRunFacet),
    ("nominalTime", nominal_time_run.NominalTimeRunFacet),
    ("errorMessage", error_message_run.ErrorMessageRunFacet),
    ("processing_engine", processing_engine_run.ProcessingEngineRunFacet),
    ("sourceCodeLocation", source_code_location_job.SourceCodeLocationJobFacet),
    ("sourceCode", source_code_job.SourceCodeJobFacet),
    ("jobType", job_type_job.JobTypeJobFacet),
    ("ownership", ownership_job.OwnershipJobFacet),
    ("schema", schema_dataset.SchemaDatasetFacet),
    ("columnLineage", column_lineage_dataset.ColumnLineageDatasetFacet),
    ("version", dataset_version_dataset.DatasetVersionDatasetFacet),
    ("ownership", ownership_dataset.OwnershipDatasetFacet),
    ("symlinks", symlinks_dataset.SymlinksDatasetFacet),
    (
        "dataQualityMetrics",
        data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet,
    ),
    ("outputStatistics", output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet),
)
# What a generated validator calls -> the format the published schema declares for the field.
VALIDATOR_FORMATS: tuple[tuple[str, str], ...] = (
    ("UUID(", "uuid"),
    ("isoparse(", "date-time"),
    ("urlparse(", "uri"),
)
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def facet_base(facet: type) -> type:
    """The facet map a facet class belongs in (its base among :data:`FACET_BASES`)."""
    for candidate in FACET_BASES:
        if issubclass(facet, candidate):
            return candidate
    raise TypeError(f"{facet.__qualname__} is not an OpenLineage facet class")


def definition_name(cls: type) -> str:
    """A class's name among the schema's ``$defs``: its own for the core model, else prefixed
    by its facet module (``parent_run.Job`` is not the core's ``Job``)."""
    if cls.__module__ == base.__name__:
        return cls.__qualname__
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__qualname__}"


def field_format(field: Any) -> str | None:
    """The format the published schema declares for ``field``, read from its validator."""
    check = field.validator
    if check is None:
        return None
    try:
        source = inspect.getsource(check)
    except (OSError, TypeError):  # a composed attrs validator: no generated check of a form
        return None
    for call, found in VALIDATOR_FORMATS:
        if call in source:
            return found
    return None


def admits_none(hint: Any) -> bool:
    """Whether a type hint is ``X | None``."""
    return typing.get_origin(hint) in (types.UnionType, typing.Union) and type(None) in (
        typing.get_args(hint)
    )


class _Builder:
    """Builds ``$defs`` from the generated classes, each class once."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    def ref(self, cls: type) -> dict[str, Any]:
        name = definition_name(cls)
        if name not in self.defs:
            self.defs[name] = {}  # reserved first: a class may refer to itself
            self.defs[name] = self.class_schema(cls)
        return {"$ref": f"#/$defs/{name}"}

    def class_schema(self, cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        properties: dict[str, Any] = {}
        required = []
        for field in attr.fields(cls):
            hint = hints[field.name]
            value = self.type_schema(hint)
            found = field_format(field)
            if found is not None:
                value = value | {"format": found}
            properties[field.name] = value
            if not admits_none(hint):
                required.append(field.name)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        get_schema = getattr(cls, "_get_schema", None)
        if callable(get_schema):  # the published definition it was generated from
            schema["$comment"] = str(get_schema())
        doc = cls.__dict__.get("__doc__")  # its own, not one inherited from a base
        if isinstance(doc, str) and doc.strip():
            schema["description"] = inspect.cleandoc(doc)
        return schema

    def type_schema(self, hint: Any) -> dict[str, Any]:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (types.UnionType, typing.Union):
            inner = [a for a in args if a is not type(None)]
            if len(inner) != 1:
                raise TypeError(f"no JSON Schema for the union {hint!r}")
            return self.type_schema(inner[0])
        if origin is list:
            return {"type": "array", "items": self.type_schema(args[0])}
        if origin is dict:
            if args[0] is not str:
                raise TypeError(f"JSON object keys are strings, not {args[0]!r}")
            if args[1] in FACET_BASES:
                return self.facet_map(args[1])
            return {"type": "object", "additionalProperties": self.type_schema(args[1])}
        if hint in _SCALARS:
            return {"type": _SCALARS[hint]}
        if hint is Any:
            return {}
        if isinstance(hint, type) and issubclass(hint, Enum):
            return {"type": "string", "enum": [member.value for member in hint]}
        if isinstance(hint, type) and attr.has(hint):
            return self.ref(hint)
        raise TypeError(f"no JSON Schema for {hint!r}")

    def facet_map(self, facet_base_class: type) -> dict[str, Any]:
        name = f"facets.{facet_base_class.__qualname__}"
        if name not in self.defs:
            self.defs[name] = {}
            bare = self.ref(facet_base_class)
            read = {
                key: {
                    "if": {"properties": {"_deleted": {"const": True}}, "required": ["_deleted"]},
                    "then": bare,
                    "else": self.ref(facet),
                }
                for key, facet in READ_FACETS
                if facet_base(facet) is facet_base_class
            }
            self.defs[name] = {
                "type": "object",
                "description": f"{facet_base_class.__qualname__}s by key; a deleted one "
                "(_deleted: true) is only checked as a base facet",
                "properties": read,
                "additionalProperties": bare,
            }
        return {"$ref": f"#/$defs/{name}"}


@lru_cache(maxsize=1)
def schema_document() -> dict[str, Any]:
    """The JSON Schema of OpenLineage events, built from ``openlineage-python``'s model.

    Which of the three kinds an object is, :func:`event_kind` decides (the published schema's
    ``not required`` clauses say the same); the document's ``anyOf`` lists them.
    """
    builder = _Builder()
    kinds = {kind.value: builder.ref(cls) for kind, cls in EVENT_CLASSES.items()}
    return {
        "$schema": DIALECT,
        "title": "OpenLineage event",
        "$comment": (
            f"built by lineage.openlineage.schema from openlineage-python "
            f"{version('openlineage-python')} (openlineage.client.generated)"
        ),
        "anyOf": list(kinds.values()),
        "$defs": builder.defs,
    }


def event_schema(kind: EventKind) -> dict[str, Any]:
    """The schema of one kind of event: the document, rooted at that kind's definition."""
    document = {k: v for k, v in schema_document().items() if k != "anyOf"}
    return document | {"$ref": f"#/$defs/{definition_name(EVENT_CLASSES[kind])}"}


@dataclass(frozen=True, slots=True)
class _Validators:
    explaining: dict[EventKind, Draft202012Validator]
    fast: dict[EventKind, Any]  # jsonschema_rs validators, empty without it


@lru_cache(maxsize=1)
def _validators() -> _Validators:
    """Compile the schema once per process."""
    schemas = {kind: event_schema(kind) for kind in EventKind}
    checker = FormatChecker()
    fast: dict[EventKind, Any] = {}
    if jsonschema_rs is not None:
        fast = {
            kind: jsonschema_rs.validator_for(schema, validate_formats=True)
            for kind, schema in schemas.items()
        }
    return _Validators(
        explaining={
            kind: Draft202012Validator(schema, format_checker=checker)
            for kind, schema in schemas.items()
        },
        fast=fast,
    )


def event_kind(event: Mapping[str, Any]) -> EventKind:
    """Which kind of event a JSON object is: a run, else a dataset, else a job event (the
    published schema's ``not required`` clauses keep the three apart the same way)."""
    if "run" in event or "eventType" in event:
        return EventKind.RUN
    if "dataset" in event:
        return EventKind.DATASET
    if "job" in event:
        return EventKind.JOB
    raise InvalidError(
        "not an OpenLineage event: a RunEvent has run and job, a DatasetEvent has dataset, a "
        "JobEvent has job",
        field="run",
    )


def validate(event: object, prefix: str = "") -> EventKind:
    """Check an event against the published schema; INVALID naming the first bad path.

    ``prefix`` is put before every path (``3.`` for the fourth event of a batch).
    """
    if not isinstance(event, dict):
        raise InvalidError("an OpenLineage event is a JSON object", field=prefix.rstrip(".") or "$")
    kind = event_kind(event)
    compiled = _validators()
    fast = compiled.fast.get(kind)
    if fast is not None and fast.is_valid(event):
        return kind
    _raise_first(compiled.explaining[kind].iter_errors(event), prefix)
    if fast is not None:  # the two validators disagree: report what the fast one found
        for error in fast.iter_errors(event):
            path = prefix + ".".join(str(p) for p in error.instance_path)
            raise InvalidError(str(error.message)[:300], field=path.rstrip(".") or "$")
    return kind


def _raise_first(errors: Iterable[ValidationError], prefix: str) -> None:
    """INVALID for the most relevant of ``errors`` (if any), naming its path."""
    error = best_match(errors)
    if error is None:
        return
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [
            name
            for name in error.validator_value
            if isinstance(name, str) and name not in error.instance
        ]
        if missing:
            parts.append(missing[0])
            path = prefix + ".".join(parts)
            raise InvalidError(f"{missing[0]!r} is required here", field=path.rstrip("."))
    path = (prefix + ".".join(parts)).rstrip(".") or "$"
    raise InvalidError(_message(error), field=path)


def _message(error: ValidationError) -> str:
    if error.validator == "format":
        hint = _format_hint(error)
        return f"{shown(error.instance)} is not a valid {error.validator_value} ({hint})"
    if error.validator == "type":
        return f"must be of JSON type {error.validator_value}, not {shown(error.instance)}"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{shown(error.instance)} is not one of {allowed}"
    message = str(error.message)
    return message if len(message) <= 300 else message[:300] + "…"


def _format_hint(error: ValidationError) -> str:
    hints = {
        "uuid": "a UUID such as 0176a8c2-fe01-7439-87e6-56a1a1b4029f",
        "date-time": "an RFC 3339 date-time with a zone, such as 2024-01-20T10:00:00Z",
        "uri": "an absolute URI",
    }
    return str(hints.get(str(error.validator_value), "see the OpenLineage schema"))


def main() -> None:
    """Print the schema (``python -m lineage.openlineage.schema``)."""
    json.dump(schema_document(), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
