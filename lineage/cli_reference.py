"""``lineage reference``: print the Registry's record reference (docs/registry.md)."""

from __future__ import annotations

import sys

from lineage.model.reference import reference


def reference_command() -> None:
    """Print the reference of the registration records, generated from the pydantic models
    (the committed copy is docs/registry.md: `lineage reference > docs/registry.md`)."""
    sys.stdout.write(reference())
