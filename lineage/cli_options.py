"""The options every ``lineage`` command spells the same way."""

from __future__ import annotations

from typing import Annotated

import typer

from lineage.errors import ErrorCode, LineageError

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

# One exit-code rule for every command (README, "Exit codes").
ANSWERED, REFUSED, USAGE, UNAVAILABLE = 0, 1, 2, 3


def exit_for(exc: LineageError) -> int:
    """The exit code of a command stopped by ``exc`` before it could answer: UNAVAILABLE (the
    store or server cannot answer now) is 3, anything else is the command line's (2)."""
    return UNAVAILABLE if exc.code is ErrorCode.UNAVAILABLE else USAGE
