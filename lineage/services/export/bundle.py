"""Writing an evidence bundle: its files, ``manifest.json``, ``SHA256SUMS``, a .zip on demand,
and the audit event that records the hand-out.

A folder bundle is written into a staging folder beside the destination and renamed into place
when complete; a .zip is written straight into a hidden partial file, renamed when complete; so
a failed export leaves nothing that looks like a bundle. Large files are streamed as they are
produced (PROV-JSON and GraphML a record at a time, the decisions one batch at a time) and
hashed on the way (:mod:`.writer`), so memory does not grow with the number of decisions.
Given the same store state and ``generated_at`` the bundle is byte for byte the same.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from lineage import __version__
from lineage.errors import InvalidError, NotFoundError
from lineage.model.canonical import canonical_json
from lineage.model.times import to_text, utcnow
from lineage.services.audit import append_event
from lineage.services.consistency import require_agent
from lineage.services.export import (
    audit_proof,
    dossier,
    dossier_md,
    graphml,
    prov_json,
    report_html,
)
from lineage.services.export.redaction import Redactor
from lineage.services.export.scope import ROOT_KINDS, Scope, Window, collect_scope
from lineage.services.export.writer import BundleWriter
from lineage.services.names import resolve
from lineage.services.record_store import RecordStore
from lineage.store.base import AuditEvent, GraphStore

FORMAT = "lineage-evidence-bundle/1"
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
DECISIONS_DIR = "decisions"
Progress = Callable[[str, int, int | None], None]  # stage, done, total when known


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export: a Model, ModelVersion or Deployment (ID or short name), the window, and
    redaction."""

    node: str
    window: Window = field(default_factory=Window)
    redact: bool = False

    def __post_init__(self) -> None:
        # A short name (``lending_approval@v12``) is read as the questions read it; INVALID
        # (field ``node``) for a malformed ID or one of another kind.
        resolved = resolve(self.node, "node", *ROOT_KINDS)
        object.__setattr__(self, "node", str(resolved))


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote: where, the manifest and its SHA-256, the audit event recording
    the hand-out (None when ``record`` was off)."""

    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    audit_seq: int | None
    counts: dict[str, int]


def export_bundle(
    store: GraphStore,
    records: RecordStore,
    request: ExportRequest,
    out: Path,
    *,
    actor: str,
    redactor: Redactor | None = None,
    generated_at: datetime | None = None,
    progress: Progress | None = None,
    record: bool = True,
    export_id: str | None = None,
) -> ExportResult:
    """Write the bundle of ``request`` to ``out`` (a folder, or a .zip when the name ends so)
    and, with ``record``, append an ``export`` audit event (actor, scope, manifest hash and
    ``export_id``, the API's name for the bundle).

    INVALID (``out``) when ``out`` exists already; INVALID (``redact``) for a redacted export
    without a redactor; INVALID (``actor``) when the actor is not a registered agent; the
    scope's errors (field ``node``, ``from``, ``to``) as :func:`collect_scope` raises them.
    """
    tick = progress or (lambda _s, _d, _t: None)
    if out.exists():
        raise InvalidError(f"{out} exists already; give a new path", field="out")
    if request.redact and redactor is None:
        raise InvalidError("a redacted export needs the service's redaction key", field="redact")
    if record:
        require_agent(store, actor, utcnow())
    at = generated_at or utcnow()
    scope = collect_scope(
        store,
        request.node,
        request.window,
        request.window.end or at,
        lambda what, n: tick(f"reading {what}", n, None),
    )
    head = store.audit_head()
    out.parent.mkdir(parents=True, exist_ok=True)
    redacting = redactor if request.redact else None
    if out.suffix.lower() == ".zip":
        partial = out.with_name(f".{out.name}.partial")
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                writer = BundleWriter(out, archive)
                manifest, manifest_sha = _write_all(
                    store, records, scope, request, writer, head, at, redacting, tick
                )
            partial.rename(out)
        finally:
            partial.unlink(missing_ok=True)
    else:
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
        staging.chmod(0o755)  # a folder bundle is for others to read
        try:
            writer = BundleWriter(staging)
            manifest, manifest_sha = _write_all(
                store, records, scope, request, writer, head, at, redacting, tick
            )
            staging.rename(out)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    event = _record(store, actor, request, manifest, manifest_sha, export_id) if record else None
    return ExportResult(
        path=out,
        manifest=manifest,
        manifest_sha256=manifest_sha,
        audit_seq=event.seq if event else None,
        counts=dict(manifest["counts"]),
    )


def _write_all(
    store: GraphStore,
    records: RecordStore,
    scope: Scope,
    request: ExportRequest,
    writer: BundleWriter,
    head: AuditEvent | None,
    at: datetime,
    redactor: Redactor | None,
    tick: Progress,
) -> tuple[dict[str, Any], str]:
    """Every file, then the manifest and SHA256SUMS; the manifest and its SHA-256."""
    manifest = _write_files(store, records, scope, request, writer, head, at, redactor, tick)
    manifest_text = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    writer.write_text(MANIFEST, manifest_text)
    sums = dict(sorted(writer.files.items()))
    writer.write_text(SUMS, "".join(f"{digest}  {name}\n" for name, digest in sums.items()))
    return manifest, writer.files[MANIFEST]


def _write_files(
    store: GraphStore,
    records: RecordStore,
    scope: Scope,
    request: ExportRequest,
    writer: BundleWriter,
    head: AuditEvent | None,
    at: datetime,
    redactor: Redactor | None,
    tick: Progress,
) -> dict[str, Any]:
    nodes = [*scope.sorted_nodes(), *scope.batches]
    edges = [*scope.sorted_edges(), *scope.batch_edges]
    notes = list(scope.notes)
    tick("writing PROV", 0, None)
    small = len(nodes) + len(edges) <= prov_json.PROVN_LIMIT
    kept = io.StringIO() if small else None
    with writer.text("provenance.json") as handle:
        prov_counts = prov_json.write_json(_Tee(handle, kept), nodes, edges)
    if kept is not None:
        writer.write_text("provenance.provn", prov_json.provn_text(kept.getvalue()))
    else:
        notes.append(
            f"provenance.provn is left out above {prov_json.PROVN_LIMIT:,} records (the prov "
            "package that writes it holds the whole document in memory); provenance.json "
            "holds the same document"
        )
    tick("writing GraphML", 0, None)
    with writer.text("graph.graphml") as handle:
        graphml.write(handle, nodes, edges)
    tick("writing the audit proof", 0, None)
    with writer.text(audit_proof.FILE) as handle:
        proof = audit_proof.write_proof(
            store,
            handle,
            head,
            audit_proof.subjects_of(nodes, edges),
            lambda n: tick("writing the audit proof", n, head.seq if head else 0),
        )
    decisions, missing = _write_decisions(records, scope, writer, redactor, tick)
    if missing:
        notes.append(
            f"{len(missing)} batches have no records file any more (pruned by retention), "
            f"e.g. {missing[0]}: their decisions are not in decisions/"
        )
    head_json = {"seq": head.seq, "hash": head.hash} if head else None
    meta = {
        "format": FORMAT,
        "generated_at": to_text(at),
        "generator": {"name": "lineage", "version": __version__},
        "redacted": redactor is not None,
        "version": __version__,
    }
    book = dossier.build(scope)
    writer.write_text(
        "dossier.json", json.dumps(book, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    )
    writer.write_text("dossier.md", dossier_md.markdown(book))
    tick("drawing the report", 0, None)
    head_text = f"event {head.seq}, {head.hash}" if head else "empty chain"
    writer.write_text("report.html", report_html.render(scope, book, head_text, meta))
    return {
        "format": FORMAT,
        "scope": {
            "node": scope.root.id,
            "kind": scope.root.kind.value,
            "from": to_text(request.window.start) if request.window.start else None,
            "to": to_text(request.window.end) if request.window.end else None,
            "as_of": to_text(scope.as_of),
            "models": scope.models,
            "versions": scope.versions,
            "deployments": scope.deployments,
        },
        "generated_at": meta["generated_at"],
        "generator": meta["generator"],
        "audit_head": head_json,
        "redacted": redactor is not None,
        "redaction": redactor.describe() if redactor is not None else None,
        "truncated": scope.truncated,
        "notes": notes,
        "counts": {
            "nodes": len(nodes),
            "edges": len(edges),
            "inference_batches": len(scope.batches),
            "decisions": decisions,
            "audit_events": proof.events,
            "audit_events_concerning": proof.concerning,
            "certified_subjects": proof.subjects,
        },
        "prov_counts": prov_counts,
        "files": dict(sorted(writer.files.items())),
    }


class _Tee:
    """Writes to a stream and, when given, keeps a copy (the PROV-JSON PROV-N is made from)."""

    def __init__(self, out: IO[str], copy: io.StringIO | None) -> None:
        self.out, self.copy = out, copy

    def write(self, text: str) -> int:
        if self.copy is not None:
            self.copy.write(text)
        return self.out.write(text)


def _write_decisions(
    records: RecordStore,
    scope: Scope,
    writer: BundleWriter,
    redactor: Redactor | None,
    tick: Progress,
) -> tuple[int, list[str]]:
    """Copy each batch's decisions to ``decisions/<batch name>.jsonl``: the records file
    itself (its SHA-256 is the batch's records hash, or the erasure's redacted hash), or with
    ``redactor`` the same lines with personal identifiers replaced. Returns the decisions
    copied and the batches whose file is gone."""
    count, missing = 0, []
    for done, batch in enumerate(scope.batches, start=1):
        digest = scope.records.get(batch.id)
        name = f"{DECISIONS_DIR}/{batch.id.split(':', 1)[1]}.jsonl"
        try:
            data = records.read(digest) if digest is not None else None
        except NotFoundError:
            data = None
        if data is None:
            missing.append(batch.id)
            continue
        if redactor is None:
            writer.write_bytes(name, data)
            count += data.count(b"\n")
        else:
            lines = [
                canonical_json(redactor.record(json.loads(line)))
                for line in data.decode("utf-8").splitlines()
                if line
            ]
            writer.write_text(name, "".join(line + "\n" for line in lines))
            count += len(lines)
        if done % 500 == 0 or done == len(scope.batches):
            tick("copying decisions", done, len(scope.batches))
    return count, missing


def request_payload(request: ExportRequest) -> dict[str, Any]:
    """The request as the export's audit event records it."""
    return {
        "node": request.node,
        "from": to_text(request.window.start) if request.window.start else None,
        "to": to_text(request.window.end) if request.window.end else None,
        "redact": request.redact,
    }


def _record(
    store: GraphStore,
    actor: str,
    request: ExportRequest,
    manifest: dict[str, Any],
    manifest_sha: str,
    export_id: str | None,
) -> AuditEvent:
    payload = {
        "export_id": export_id,
        "request": request_payload(request),
        "manifest_sha256": manifest_sha,
        "generated_at": manifest["generated_at"],
        "bundle_audit_head": manifest["audit_head"],
        "redacted": manifest["redacted"],
    }
    with store.transaction():
        return append_event(
            store,
            actor=actor,
            action="export",
            reason=f"evidence bundle of {request.node} handed out",
            payload=payload,
        )
