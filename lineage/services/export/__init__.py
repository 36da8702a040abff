"""The regulator evidence export: a model's, version's or deployment's provenance, governance
and monitoring records as a bundle others can read and verify without trusting us.

:func:`export_bundle` writes it (:mod:`.bundle`), :func:`verify_bundle` checks it
(:mod:`.verify`); :mod:`.scope` decides what it covers, :mod:`.handout` keeps the bundles the
API hands out.
"""

from __future__ import annotations

from lineage.services.export.bundle import ExportRequest, ExportResult, export_bundle
from lineage.services.export.scope import Window
from lineage.services.export.verify import BundleCheck, verify_bundle

__all__ = [
    "BundleCheck",
    "ExportRequest",
    "ExportResult",
    "Window",
    "export_bundle",
    "verify_bundle",
]
