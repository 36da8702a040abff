"""The evidence export over the API: the ``exportSubgraph`` mutation and the download route
``GET /exports/{exportId}.zip``.

Both need the ``compliance`` or ``admin`` role and the same bearer token rules as ``/graphql``.
The mutation is thin: :func:`lineage.services.export.handout.hand_out` writes the bundle as a
.zip in the exports folder (``LINEAGE_EXPORTS_DIR``, default ``lineage-exports`` beside the
records directory) and records the hand-out in the audit chain; an identical retry while
nothing else was written answers the same bundle with ``created: false``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import graphene
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from lineage.errors import ErrorCode, LineageError
from lineage.graphql.context import context_of
from lineage.graphql.endpoint import authenticated, failure
from lineage.graphql.scalars import JSON, DateTime
from lineage.services.export import ExportRequest, Window
from lineage.services.export.handout import bundle_path, hand_out
from lineage.services.export.redaction import Redactor, redaction_key
from lineage.services.tokens import Role

EXPORTERS = frozenset({Role.COMPLIANCE, Role.ADMIN})
DOWNLOAD_PATH = "/exports/{export_id}.zip"


def exports_dir(records_root: Path, configured: str) -> Path:
    """The exports folder: ``configured`` when set, else ``lineage-exports`` beside the records
    directory (what :meth:`Settings.exports_path` answers for the same settings)."""
    return Path(configured) if configured else records_root.resolve().parent / "lineage-exports"


def download_url(export_id: str) -> str:
    """The path the bundle is served at."""
    return DOWNLOAD_PATH.replace("{export_id}", export_id)


class ExportSubgraph(graphene.Mutation):  # type: ignore[misc]
    """Write the regulator evidence bundle of a model, model version or deployment (role
    compliance or admin) and answer where to download it."""

    class Meta:
        name = "ExportSubgraphPayload"

    class Arguments:
        node = graphene.ID(
            required=True,
            description="A Model, ModelVersion or Deployment: an ID "
            "(`model:lending_approval@v12`) or a short name (`lending_approval@v12`).",
        )
        from_ = DateTime(
            name="from", description="Inference batches, incidents and drills from this instant."
        )
        to = DateTime(
            description="... up to this instant (excluded); also the instant the versions' "
            "deployability is asked at. Default: now."
        )
        redact = graphene.Boolean(
            default_value=False,
            description="Replace personal identifiers in decision records by keyed hashes.",
        )

    export_id = graphene.String(required=True, description="The bundle's ID (32 hex digits).")
    download_url = graphene.String(
        required=True,
        description="Where to GET the .zip, with the same bearer token (compliance or admin).",
    )
    manifest_sha256 = graphene.String(required=True, description="SHA-256 of manifest.json.")
    audit_head = graphene.Field(
        JSON, description="The audit chain's head the bundle is verified against: {seq, hash}."
    )
    generated_at = graphene.String(required=True, description="When the bundle was generated.")
    created = graphene.Boolean(
        required=True,
        description="False when an identical export since the last write was answered again.",
    )
    audit_seq = graphene.Int(
        description="The audit event recording the hand-out; null when nothing was written."
    )

    @staticmethod
    def mutate(
        _root: Any,
        info: Any,
        node: str,
        from_: datetime | None = None,
        to: datetime | None = None,
        redact: bool = False,
    ) -> dict[str, Any]:
        """Export as the caller."""
        context = context_of(info)
        context.require(EXPORTERS, "export evidence")
        settings = context.settings
        request = ExportRequest(node, Window(from_, to), redact)
        redactor = (
            Redactor(redaction_key(settings.export_redaction_key, context.records.root))
            if redact
            else None
        )
        done = hand_out(
            context.store,
            context.records,
            exports_dir(context.records.root, settings.exports_dir),
            request,
            actor=context.principal.id,
            redactor=redactor,
        )
        return {
            "export_id": done.export_id,
            "download_url": download_url(done.export_id),
            "manifest_sha256": done.manifest_sha256,
            "audit_head": done.audit_head,
            "generated_at": done.generated_at,
            "created": done.created,
            "audit_seq": done.audit_seq,
        }


class ExportsMutation(graphene.ObjectType):  # type: ignore[misc]
    """The evidence export (mixed into the root Mutation)."""

    export_subgraph = ExportSubgraph.Field(
        description="Write the evidence bundle of a model, model version or deployment "
        "(compliance or admin): provenance (PROV-JSON, GraphML), the Annex IV dossier, the "
        "audit proof, decisions and a report page, verifiable with `lineage verify-bundle`. "
        "Recorded in the audit chain; download it from `downloadUrl`."
    )


async def download(request: Request) -> Response:
    """``GET /exports/{export_id}.zip``: the bundle, for a compliance or admin token."""
    principal, refused = await authenticated(request, "application/json")
    if refused is not None:
        return refused
    if not principal.has_any([Role.COMPLIANCE, Role.ADMIN]):
        held = ", ".join(sorted(r.value for r in principal.roles)) or "no role"
        return failure(
            f"{principal.id} ({held}) may not download evidence; it needs the compliance or "
            "admin role",
            ErrorCode.FORBIDDEN.value,
            403,
        )
    state = request.app.state
    folder = exports_dir(state.records.root, state.settings.exports_dir)
    try:
        path = bundle_path(folder, str(request.path_params["export_id"]))
    except LineageError as exc:
        return failure(exc.message, exc.code.value, 400, field="exportId")
    if not await run_in_threadpool(path.is_file):
        return failure(f"no bundle {path.stem}", ErrorCode.NOT_FOUND.value, 404, field="exportId")
    return FileResponse(path, media_type="application/zip", filename=f"evidence-{path.name}")
