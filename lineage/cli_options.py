"""The options every ``lineage`` command spells the same way."""

from __future__ import annotations

from typing import Annotated

import typer

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URI (default: $LINEAGE_STORE or sqlite:///./lineage.db)."),
]
RecordsOption = Annotated[
    str | None,
    typer.Option(
        "--records-dir",
        help="Record store directory (default: $LINEAGE_RECORDS_DIR or ./lineage-records).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
