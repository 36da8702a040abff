"""What an OpenLineage event's facets say, as node IDs and properties (no reads, no writes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lineage.errors import LineageError
from lineage.model.canonical import sha256_text
from lineage.model.graph import NodeKind
from lineage.model.ids import make_id, parse_id
from lineage.model.times import from_text, to_text
from lineage.openlineage import ids
from lineage.openlineage.events import DatasetRef, ParsedEvent
from lineage.openlineage.training import TrainingRule

UNVERSIONED = "ol.unversioned"
# Facets a dataset's versions hold as facts; the Dataset node keeps the others.
VERSION_FACETS = frozenset({"schema", "columnLineage", "version", "contentHash"})


def touched(event: ParsedEvent, run_id: str, job: str) -> list[str]:
    """The nodes a run event reads, fetched in one round trip rather than one by one."""
    found = [run_id, job]
    for ref in event.inputs:
        found.append(ids.dataset_id(ref.namespace, ref.name))
        found.append(version_id(ref, version_name(ref, None)))
    for ref in event.outputs:
        found.append(ids.dataset_id(ref.namespace, ref.name))
        if event.event_type == "COMPLETE":  # only a completed run's outputs are versions
            found.append(version_id(ref, version_name(ref, event.run_id)))
            found += [ids.column_id(ref.namespace, ref.name, c["name"]) for c in ref.columns]
        for column, sources in ref.lineage.items():
            found.append(ids.column_id(ref.namespace, ref.name, column))
            for source in sources:
                found.append(ids.dataset_id(source.namespace, source.name))
                found.append(ids.column_id(source.namespace, source.name, source.field))
    return found


def run_node_id(run_uuid: str, rule: TrainingRule | None) -> str:
    kind = NodeKind.TRAINING_RUN if rule else NodeKind.PIPELINE_RUN
    return make_id(kind, run_uuid)


def run_identity(event: ParsedEvent, job: str, rule: TrainingRule | None) -> dict[str, Any]:
    assert event.run_id and event.job_namespace is not None and event.job_name is not None
    return run_identity_of(event.run_id, event.job_namespace, event.job_name, job, rule)


def run_identity_of(
    run_uuid: str, namespace: str, name: str, job: str, rule: TrainingRule | None
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "run_id": run_uuid,
        "job": job,
        "ol_job_namespace": namespace,
        "ol_job_name": name,
    }
    if rule is not None:
        props["trains"] = rule.model_id()
    return props


def run_details(props: dict[str, Any]) -> dict[str, Any]:
    """What the standard facets say, read from the merged facets of a run."""
    run_facets: dict[str, Any] = props.get("run_facets") or {}
    job_facets: dict[str, Any] = props.get("job_facets") or {}
    found: dict[str, Any] = {}
    nominal = run_facets.get("nominalTime")
    if isinstance(nominal, dict):
        found["nominal_start"] = nominal.get("nominalStartTime")
        if nominal.get("nominalEndTime"):
            found["nominal_end"] = nominal["nominalEndTime"]
    error = run_facets.get("errorMessage")
    if isinstance(error, dict):
        found["error_message"] = error.get("message")
    engine = run_facets.get("processing_engine")
    if isinstance(engine, dict):
        found["processing_engine"] = {
            k: engine[k] for k in ("name", "version", "openlineageAdapterVersion") if k in engine
        }
    parent = run_facets.get("parent")
    if isinstance(parent, dict) and isinstance(parent.get("run"), dict):
        found["parent_run"] = str(parent["run"].get("runId", "")).lower()
        job = parent.get("job") or {}
        found["parent_job"] = ids.job_id(str(job.get("namespace")), str(job.get("name")))
    location = job_facets.get("sourceCodeLocation")
    if isinstance(location, dict):
        found["source_code_location"] = {
            k: location[k] for k in ("type", "url", "repoUrl", "path", "version", "tag", "branch")
            if k in location
        }
        version = location.get("version")
        if isinstance(version, str) and _is_commit(version):
            found["code_commit"] = version.lower()
    code = job_facets.get("sourceCode")
    if isinstance(code, dict) and isinstance(code.get("sourceCode"), str):
        found["source_code"] = {
            "language": code.get("language"),
            "sha256": sha256_text(code["sourceCode"]),
        }
    return {k: v for k, v in found.items() if v is not None}


def _is_commit(text: str) -> bool:
    return 7 <= len(text) <= 64 and all(c in "0123456789abcdefABCDEF" for c in text)


def version_name(ref: DatasetRef, run_uuid: str | None) -> str:
    """A version's name: stated, else content-addressed, else by the run that wrote it (an
    output) or unstated (an input)."""
    if ref.version is not None:
        return ref.version
    if ref.content_hash is not None:
        return ref.content_hash
    return f"ol.run.{run_uuid}" if run_uuid else UNVERSIONED


def version_id(ref: DatasetRef, name: str) -> str:
    stated = ref.version is not None or ref.content_hash is not None
    return ids.dataset_version_id(ref.namespace, ref.name, name, stated=stated)


def version_identity(ref: DatasetRef, name: str) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "dataset": ids.dataset_id(ref.namespace, ref.name),
        "ol_namespace": ref.namespace,
        "ol_name": ref.name,
        "version": name,
        "content_addressed": ref.content_hash is not None,
    }
    if ref.content_hash is not None:
        facts["content_hash"] = ref.content_hash
    return facts


def person_of(name: str) -> str | None:
    """The person ID an owner name may denote: ``person:x``, or ``x`` of ``user:x``."""
    text = name.strip()
    candidate = text if text.startswith("person:") else "person:" + text.split(":", 1)[-1]
    try:
        return str(parse_id(candidate))
    except LineageError:
        return None


def instant(text: object) -> datetime | None:
    return from_text(text) if isinstance(text, str) else None


def payload(event: ParsedEvent) -> dict[str, Any]:
    """What the audit event records of an event: its hash and provenance, not its body."""
    payload: dict[str, Any] = {
        "event_hash": event.hash,
        "event_kind": event.kind.value,
        "event_time": to_text(event.event_time),
        "producer": event.producer,
        "schema_url": event.schema_url,
    }
    if event.event_type is not None:
        payload["event_type"] = event.event_type
    if event.run_id is not None:
        payload["run_id"] = event.run_id
    if event.job_namespace is not None:
        payload["job"] = {"namespace": event.job_namespace, "name": event.job_name}
    if event.dataset is not None:
        payload["dataset"] = {"namespace": event.dataset.namespace, "name": event.dataset.name}
    return payload
