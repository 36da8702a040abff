"""Reading the jobs' TOML files: a malformed file is refused at start, naming the file, the line
and the reason, so a scheduler never starts half-configured.

Each job module declares its configuration as pydantic models; :func:`load_toml` parses the
file with the standard library's ``tomllib`` and validates it, turning the first problem into
an :class:`~lineage.errors.InvalidError` whose message starts ``path:line:``. TOML syntax errors
carry their own line; for a value the schema refuses, the line is where its key is written.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from lineage.errors import InvalidError

M = TypeVar("M", bound=BaseModel)
_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def load_toml(path: Path | str, model: type[M]) -> M:
    """The file at ``path`` validated as ``model``; INVALID (field: the dotted key) naming
    ``path:line`` and the reason otherwise, or when the file cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidError(f"{path}: cannot be read: {exc.strerror}", field="config") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _LINE.search(str(exc))
        line = found.group(1) if found else "?"
        reason = _LINE.sub("", str(exc)).strip()
        raise InvalidError(f"{path}:{line}: {reason}", field="config") from None
    return validate(path, text, data, model)


def validate(path: Path, text: str, data: dict[str, Any], model: type[M]) -> M:
    """``data`` (parsed from ``text``) validated as ``model``, errors located in the file."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        keys = [str(part) for part in error["loc"]]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        line = line_of(text, keys)
        where = ".".join(keys) or "(file)"
        raise InvalidError(f"{path}:{line}: {where}: {message}", field=where) from None


def line_of(text: str, keys: list[str]) -> int:
    """The line (1-based) where the innermost of ``keys`` is written, as a key or a table
    header; 1 when it cannot be found (a key the file lacks)."""
    lines = text.splitlines()
    for key in reversed([k for k in keys if not k.isdigit()]):
        quoted = re.escape(key)
        pattern = re.compile(
            rf'^\s*(\[+\s*)?([\w.\-"]*\.)?("{quoted}"|{quoted})(\s*=|\s*\]|\.)'
        )
        for number, line in enumerate(lines, start=1):
            if pattern.search(line):
                return number
    return 1
