"""OpenLineage events as values: what the mapping reads from a schema-valid event.

:func:`parse` takes an event :func:`lineage.openlineage.schema.validate` accepted and returns a
:class:`ParsedEvent`. Beyond the published schema, two checks are this service's own: the
``contentHash`` facet (this service's, so no published schema has it) is checked field by field,
and the names ``symlinks``, ``ownership`` and ``sourceCode`` give must be non-empty (node IDs are
made of them), INVALID naming the path. Every facet, read or not, is kept as sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lineage.errors import InvalidError, shown
from lineage.model.canonical import canonical_json, sha256_text
from lineage.openlineage.schema import EventKind

# A facet this service defines: a content address of a dataset version's bytes, as
# ``lineage hash`` computes it. ``{"_producer", "_schemaURL", "sha256": "<64 hex>"}``.
CONTENT_HASH_FACET = "contentHash"
TERMINAL = ("COMPLETE", "FAIL", "ABORT")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FRACTION = re.compile(r"\.(\d+)")


@dataclass(frozen=True, slots=True)
class ColumnSource:
    """An input column an output column derives from (a ``columnLineage`` input field)."""

    namespace: str
    name: str
    field: str


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset as an event names it, with what its facets say."""

    path: str  # where it sits in the event: inputs.0, outputs.1, dataset
    namespace: str
    name: str
    facets: dict[str, Any]
    io_facets: dict[str, Any]  # inputFacets or outputFacets
    version: str | None = None
    content_hash: str | None = None
    columns: list[dict[str, str]] = field(default_factory=list)
    lineage: dict[str, list[ColumnSource]] = field(default_factory=dict)
    row_count: int | None = None
    size_bytes: int | None = None
    quality: dict[str, Any] | None = None
    owners: list[dict[str, str]] = field(default_factory=list)
    aliases: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """One event. ``hash`` is the SHA-256 of its canonical JSON: the same event sent twice has
    the same hash, whatever its key order or spacing."""

    kind: EventKind
    hash: str
    event_time: datetime
    event_time_text: str
    producer: str
    schema_url: str
    event_type: str | None = None
    run_id: str | None = None
    run_facets: dict[str, Any] = field(default_factory=dict)
    job_namespace: str | None = None
    job_name: str | None = None
    job_facets: dict[str, Any] = field(default_factory=dict)
    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    dataset: DatasetRef | None = None

    @property
    def parent(self) -> tuple[str, str, str] | None:
        """(run ID, job namespace, job name) of the parent run facet, if any."""
        facet = self.run_facets.get("parent")
        if not isinstance(facet, dict) or facet.get("_deleted") is True:
            return None
        run, job = facet.get("run") or {}, facet.get("job") or {}
        return str(run["runId"]).lower(), str(job["namespace"]), str(job["name"])


def parse_time(text: str, field_name: str) -> datetime:
    """An RFC 3339 instant (the schema checked its form) in UTC; digits past microseconds,
    which some emitters send, are dropped."""
    trimmed = _FRACTION.sub(lambda m: "." + m[1][:6], text, count=1)
    try:
        value = datetime.fromisoformat(trimmed.replace("z", "Z"))
    except ValueError:
        raise InvalidError(
            f"{shown(text)} is not an RFC 3339 date-time", field=field_name
        ) from None
    if value.tzinfo is None:
        raise InvalidError("a date-time must carry its zone", field=field_name)
    return value.astimezone(UTC)


def event_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON."""
    return sha256_text(canonical_json(dict(event)))


def parse(event: Mapping[str, Any], kind: EventKind, prefix: str = "") -> ParsedEvent:
    """The values of a schema-valid event; INVALID naming the path for a facet of bad shape."""
    time_text = str(event["eventTime"])
    common: dict[str, Any] = {
        "kind": kind,
        "hash": event_hash(event),
        "event_time": parse_time(time_text, f"{prefix}eventTime"),
        "event_time_text": time_text,
        "producer": str(event["producer"]),
        "schema_url": str(event["schemaURL"]),
    }
    if kind is EventKind.DATASET:
        return ParsedEvent(dataset=_dataset(event["dataset"], f"{prefix}dataset", ""), **common)
    job = event["job"]
    job_facets = dict(job.get("facets") or {})
    _check_source_code(job_facets, f"{prefix}job.facets")
    values = common | {
        "job_namespace": str(job["namespace"]),
        "job_name": str(job["name"]),
        "job_facets": job_facets,
        "inputs": [
            _dataset(d, f"{prefix}inputs.{i}", "inputFacets")
            for i, d in enumerate(event.get("inputs") or [])
        ],
        "outputs": [
            _dataset(d, f"{prefix}outputs.{i}", "outputFacets")
            for i, d in enumerate(event.get("outputs") or [])
        ],
    }
    if kind is EventKind.JOB:
        return ParsedEvent(**values)
    run = event["run"]
    run_facets = dict(run.get("facets") or {})
    nominal = run_facets.get("nominalTime")
    if isinstance(nominal, dict):
        for key in ("nominalStartTime", "nominalEndTime"):
            if isinstance(nominal.get(key), str):
                parse_time(nominal[key], f"{prefix}run.facets.nominalTime.{key}")
    return ParsedEvent(
        event_type=str(event.get("eventType") or "OTHER"),
        run_id=str(run["runId"]).lower(),
        run_facets=run_facets,
        **values,
    )


def _live(facets: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = facets.get(key)
    if isinstance(value, dict) and value.get("_deleted") is not True:
        return value
    return None


def _dataset(value: Mapping[str, Any], path: str, io_key: str) -> DatasetRef:
    facets = dict(value.get("facets") or {})
    io_facets = dict(value.get(io_key) or {}) if io_key else {}
    version_facet = _live(facets, "version")
    schema_facet = _live(facets, "schema")
    stats = _live(io_facets, "outputStatistics")
    return DatasetRef(
        path=path,
        namespace=str(value["namespace"]),
        name=str(value["name"]),
        facets=facets,
        io_facets=io_facets,
        version=str(version_facet["datasetVersion"]) if version_facet else None,
        content_hash=_content_hash(facets, f"{path}.facets.{CONTENT_HASH_FACET}"),
        columns=[
            {k: str(f[k]) for k in ("name", "type", "description") if f.get(k) is not None}
            for f in (schema_facet or {}).get("fields") or []
        ],
        lineage=_column_lineage(facets),
        row_count=stats.get("rowCount") if stats else None,
        size_bytes=stats.get("size") if stats else None,
        quality=_live(io_facets, "dataQualityMetrics"),
        owners=_owners(facets, f"{path}.facets.ownership"),
        aliases=_aliases(facets, f"{path}.facets.symlinks"),
    )


def _column_lineage(facets: Mapping[str, Any]) -> dict[str, list[ColumnSource]]:
    facet = _live(facets, "columnLineage")
    if facet is None:
        return {}
    return {
        column: [
            ColumnSource(str(s["namespace"]), str(s["name"]), str(s["field"]))
            for s in spec.get("inputFields") or []
        ]
        for column, spec in (facet.get("fields") or {}).items()
    }


def _content_hash(facets: Mapping[str, Any], path: str) -> str | None:
    facet = _live(facets, CONTENT_HASH_FACET)
    if facet is None:
        return None
    digest = facet.get("sha256")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise InvalidError(
            "must be a SHA-256 digest of 64 lowercase hexadecimal characters, "
            f"not {shown(digest)}",
            field=f"{path}.sha256",
        )
    return digest


def _strings(
    item: object, path: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, str]:
    if not isinstance(item, dict):
        raise InvalidError("must be a JSON object", field=path)
    found: dict[str, str] = {}
    for key in (*required, *optional):
        value = item.get(key)
        if value is None and key in optional:
            continue
        if not isinstance(value, str) or (key in required and not value):
            raise InvalidError("must be a non-empty string", field=f"{path}.{key}")
        found[key] = value
    return found


def _items(facet: Mapping[str, Any], key: str, path: str) -> list[object]:
    items = facet.get(key, [])
    if not isinstance(items, list):
        raise InvalidError("must be a JSON array", field=f"{path}.{key}")
    return items


def _owners(facets: Mapping[str, Any], path: str) -> list[dict[str, str]]:
    facet = _live(facets, "ownership")
    if facet is None:
        return []
    return [
        _strings(owner, f"{path}.owners.{i}", ("name",), ("type",))
        for i, owner in enumerate(_items(facet, "owners", path))
    ]


def _aliases(facets: Mapping[str, Any], path: str) -> list[tuple[str, str, str]]:
    facet = _live(facets, "symlinks")
    if facet is None:
        return []
    found = []
    for i, item in enumerate(_items(facet, "identifiers", path)):
        values = _strings(item, f"{path}.identifiers.{i}", ("namespace", "name"), ("type",))
        found.append((values["namespace"], values["name"], values.get("type", "")))
    return found


def _check_source_code(facets: Mapping[str, Any], path: str) -> None:
    facet = _live(facets, "sourceCode")
    if facet is not None:
        _strings(facet, f"{path}.sourceCode", ("language", "sourceCode"), ())
