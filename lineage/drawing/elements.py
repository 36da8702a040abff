"""What a drawing is made of: nodes and edges to draw, and the finished drawing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DrawNode:
    """A node to draw.

    ``kind`` is a node kind's value (``DatasetVersion``); it picks the PROV shape. ``label`` is
    what the box says (the ID without its ``kind:`` prefix), ``detail`` a short fact under it,
    ``href`` makes the node a link, ``focus`` marks the node the drawing is about.
    """

    id: str
    label: str
    kind: str
    detail: str = ""
    href: str | None = None
    focus: bool = False


@dataclass(frozen=True, slots=True)
class DrawEdge:
    """An edge to draw: ``src`` depends on ``dst`` (the PROV direction,
    ``model_version -WAS_GENERATED_BY-> run -USED-> snapshot``), so ``dst`` is drawn left of
    ``src``: upstream on the left, downstream on the right."""

    src: str
    dst: str
    label: str


@dataclass(frozen=True, slots=True)
class Drawing:
    """A self-contained inline SVG and its size in pixels; ``truncated`` when some nodes were
    left out (the drawing then says so in words)."""

    svg: str
    truncated: bool
    width: int
    height: int
