"""The pieces every dossier section is made of: facts, tables, and the words for an empty
section (:mod:`lineage.services.export.dossier`)."""

from __future__ import annotations

from typing import Any

from lineage.model.graph import Node
from lineage.model.times import to_text

Section = dict[str, Any]
NOTHING = "nothing recorded"
NOT_RECORDED = "(not recorded)"


def when(node: Node) -> str:
    """A node's ``valid_from`` as text."""
    return to_text(node.valid_from)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """A table of a section."""
    return {"title": title, "columns": columns, "rows": rows}


def section(
    number: str,
    title: str,
    annex: str,
    facts: dict[str, Any],
    tables: list[dict[str, Any]],
    empty: str,
) -> Section:
    """A section; with no fact and no row, it says ``Nothing recorded: <empty>``."""
    recorded = bool(facts) or any(t["rows"] for t in tables)
    return {
        "number": number,
        "title": title,
        "annex_iv": annex,
        "status": "recorded" if recorded else NOTHING,
        "statement": "" if recorded else f"Nothing recorded: {empty}",
        "facts": facts,
        "tables": [t for t in tables if t["rows"]],
    }


def instant(value: Any) -> str:
    """An optional instant as text ('' for none)."""
    return to_text(value) if value is not None else ""
