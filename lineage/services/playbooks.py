"""Playbooks: what the person paged for a signal does first, as reviewed Markdown files.

A playbook is ``jobs/playbooks/<signal>.md``; its first ``# heading`` is its title. In the graph
it is the node ``playbook:<signal>`` holding the file's text and its SHA-256, written by
:class:`lineage.services.incidents.Incidents` the first time an incident links to it, and again
(same node, audited) when the file changed since. The link from an incident records the hash it
saw, so what the responder was told to do stays known after the file moves on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lineage.errors import InvalidError
from lineage.model.canonical import sha256_text
from lineage.model.graph import Node, NodeKind
from lineage.model.ids import make_id

SIGNAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_PLAYBOOK_CHARS = 64_000
_TITLE = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Playbook:
    """One signal's playbook as read from its file."""

    signal: str
    title: str
    text: str
    path: str

    @property
    def id(self) -> str:
        """The playbook's node ID, ``playbook:<signal>``."""
        return make_id(NodeKind.PLAYBOOK, self.signal)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the text."""
        return sha256_text(self.text)

    def node(self, valid_from: datetime) -> Node:
        """The Playbook node for this text."""
        return Node(
            self.id,
            NodeKind.PLAYBOOK,
            valid_from,
            {
                "signal": self.signal,
                "title": self.title,
                "text": self.text,
                "path": self.path,
                "content_hash": self.content_hash,
            },
        )


def playbook_path(playbooks_dir: Path, signal: str) -> Path:
    """Where the playbook of ``signal`` is expected."""
    return playbooks_dir / f"{signal}.md"


def load_playbook(path: Path | str, signal: str | None = None) -> Playbook:
    """The playbook at ``path`` (its signal is the file's stem unless given); INVALID naming the
    file when it cannot be read, is empty or too long, or has no ``# title`` line."""
    path = Path(path)
    name = signal or path.stem
    if not SIGNAL_NAME.match(name):
        raise InvalidError(f"{path}: {name!r} is not a signal name", field="playbook")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidError(f"{path}: cannot be read: {exc.strerror}", field="playbook") from None
    if not text.strip():
        raise InvalidError(f"{path}:1: the playbook is empty", field="playbook")
    if len(text) > MAX_PLAYBOOK_CHARS:
        raise InvalidError(f"{path}: longer than {MAX_PLAYBOOK_CHARS} characters", field="playbook")
    title = _TITLE.search(text)
    if title is None:
        raise InvalidError(f"{path}:1: a playbook starts with a '# title' line", field="playbook")
    return Playbook(signal=name, title=title.group(1), text=text, path=str(path))
