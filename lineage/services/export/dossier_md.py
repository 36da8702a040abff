"""Rendering the dossier for people: ``dossier.md``, and the cell text the report shares."""

from __future__ import annotations

import json
from typing import Any


def cell(value: Any) -> str:
    """A value as a table cell's text."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def markdown(dossier: dict[str, Any]) -> str:
    """``dossier.md``: the same content for people."""
    lines = [
        f"# Technical documentation: {dossier['subject']}",
        "",
        f"Structured after Annex IV of the EU AI Act; facts as recorded at {dossier['as_of']}.",
        "",
    ]
    for section in dossier["sections"]:
        lines += [f"## {section['number']}. {section['title']} ({section['annex_iv']})", ""]
        if section["statement"]:
            lines += [f"**{section['statement']}**", ""]
        for name, value in section["facts"].items():
            lines.append(f"- **{name}**: {_md(cell(value))}")
        if section["facts"]:
            lines.append("")
        for table in section["tables"]:
            lines += [f"### {table['title']}", ""]
            lines.append("| " + " | ".join(table["columns"]) + " |")
            lines.append("|" + "---|" * len(table["columns"]))
            lines += ["| " + " | ".join(_md(cell(v)) for v in row) + " |" for row in table["rows"]]
            lines.append("")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
