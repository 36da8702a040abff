"""The bundles the API hands out: one .zip per request in the exports folder, named by an
export ID, and found again for an identical retry.

An export ID is derived from the request and the audit head it saw, ignoring the ``export``
events themselves (recording a hand-out changes nothing that is exported). So repeating a
request while nothing else was written answers the bundle already made (``created: False``,
no second audit event), which keeps the API's rule that an identical retry is a safe no-op;
any other write in between gives a new bundle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lineage.errors import InvalidError
from lineage.model.canonical import canonical_json, sha256_text
from lineage.services.export.bundle import ExportRequest, export_bundle, request_payload
from lineage.services.export.redaction import Redactor
from lineage.services.record_store import RecordStore
from lineage.store.base import AuditEvent, GraphStore

EXPORT_ID = re.compile(r"^[0-9a-f]{32}$")
_LOOKBACK = 1_000  # trailing export events searched for an identical request


@dataclass(frozen=True, slots=True)
class Handout:
    """A bundle handed out: its ID, file, manifest hash, and the audit event recording it
    (None when this request repeated one already handed out)."""

    export_id: str
    path: Path
    manifest_sha256: str
    audit_head: dict[str, Any] | None
    audit_seq: int | None
    created: bool
    generated_at: str


def bundle_path(exports_dir: Path, export_id: str) -> Path:
    """Where the bundle of ``export_id`` is kept; INVALID (``export_id``) for anything but 32
    hex digits, so a path can never be smuggled in."""
    if not EXPORT_ID.match(export_id):
        raise InvalidError("an export ID is 32 hexadecimal digits", field="export_id")
    return exports_dir / f"{export_id}.zip"


def hand_out(
    store: GraphStore,
    records: RecordStore,
    exports_dir: Path,
    request: ExportRequest,
    *,
    actor: str,
    redactor: Redactor | None,
    now: datetime | None = None,
) -> Handout:
    """Export ``request`` as ``actor`` into ``exports_dir``, or answer the identical export
    made since the last write."""
    base, previous = _base_and_exports(store)
    key = canonical_json({"request": request_payload(request), "head": base})
    export_id = sha256_text(key)[:32]
    path = bundle_path(exports_dir, export_id)
    for event in previous:
        payload = event.payload or {}
        if payload.get("export_id") == export_id and path.is_file():
            return Handout(
                export_id=export_id,
                path=path,
                manifest_sha256=str(payload.get("manifest_sha256")),
                audit_head=payload.get("bundle_audit_head"),
                audit_seq=None,
                created=False,
                generated_at=str(payload.get("generated_at")),
            )
    path.unlink(missing_ok=True)  # a bundle whose hand-out was never recorded
    result = export_bundle(
        store,
        records,
        request,
        path,
        actor=actor,
        redactor=redactor,
        generated_at=now,
        export_id=export_id,
    )
    return Handout(
        export_id=export_id,
        path=path,
        manifest_sha256=result.manifest_sha256,
        audit_head=result.manifest["audit_head"],
        audit_seq=result.audit_seq,
        created=True,
        generated_at=str(result.manifest["generated_at"]),
    )


def _base_and_exports(store: GraphStore) -> tuple[str | None, list[AuditEvent]]:
    """The hash of the newest event that is not an export, and the export events after it,
    newest first."""
    head = store.audit_head()
    if head is None:
        return None, []
    if head.action != "export":
        return head.hash, []
    events = store.audit_events(after_seq=max(0, head.seq - _LOOKBACK), limit=_LOOKBACK)
    exports: list[AuditEvent] = []
    for event in reversed(events):
        if event.action != "export":
            return event.hash, exports
        exports.append(event)
    return (events[0].prev_hash if events else head.hash), exports
