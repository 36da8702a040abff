"""ML provenance graph and incident investigation service."""

from __future__ import annotations

__version__ = "0.1.0"
