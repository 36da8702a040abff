"""Render a layered layout as a self-contained inline SVG in W3C PROV's visual convention.

Entities are yellow ellipses, activities blue rectangles, agents orange "house" pentagons, with
dark text on light fills so a printed page stays readable. The SVG has no script and loads
nothing (no font, style sheet or image), its ids carry a prefix derived from its content so two
drawings on one page do not share markers, and the same input renders to the same bytes (the
regulator export hashes them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from html import escape

from lineage.drawing.elements import DrawEdge, Drawing, DrawNode
from lineage.drawing.layout import NODE_HEIGHT, NODE_WIDTH, PlacedEdge, PlacedNode, layered
from lineage.model.graph import NodeKind, ProvClass

FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
TEXT = "#111111"
EDGE = "#4d4d4d"
FILLS: dict[ProvClass, tuple[str, str]] = {  # (fill, stroke)
    ProvClass.ENTITY: ("#fffc87", "#8a8500"),
    ProvClass.ACTIVITY: ("#9fb1fc", "#2b3f99"),
    ProvClass.AGENT: ("#fed37f", "#8a5a00"),
}
LABEL_CHARS = 24
DETAIL_CHARS = 34
EDGE_LABEL_CHARS = 28
NOTE_HEIGHT = 26
MIN_NOTE_WIDTH = 520


def layered_svg(
    nodes: Sequence[DrawNode],
    edges: Sequence[DrawEdge],
    *,
    title: str,
    max_nodes: int = 200,
    truncated: bool = False,
) -> Drawing:
    """Draw ``nodes`` and ``edges`` as a layered provenance graph: what an edge's ``dst`` is
    (upstream) left of its ``src`` (downstream), crossings reduced, cycles and disconnected
    parts drawn too. At most ``max_nodes`` nodes are drawn, the focus and its nearest
    neighbours first; ``truncated`` says the input itself is partial (a traversal that hit its
    limits). Either way the drawing then says so in a visible note and ``Drawing.truncated``
    is True."""
    layout = layered(nodes, edges, max(max_nodes, 1))
    prefix = _prefix(nodes, edges, title, max_nodes, truncated)
    notes = []
    if layout.dropped:
        shown = len(layout.nodes)
        notes.append(f"Truncated: {shown} of {shown + layout.dropped} nodes drawn.")
    if truncated:
        notes.append("The walk stopped at its depth or node limit: more nodes exist.")
    if not layout.nodes:
        return _empty(title, prefix, notes)
    width = max(layout.width, MIN_NOTE_WIDTH) if notes else layout.width
    height = layout.height + (NOTE_HEIGHT if notes else 0)
    parts = [_open(title, prefix, width, height)]
    parts.append(
        f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        f'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{EDGE}"/></marker></defs>'
    )
    parts.append(f'<g font-family="{FONT}" fill="{TEXT}">')
    parts.extend(_edge(edge, prefix) for edge in layout.edges)
    parts.extend(_node(placed) for placed in layout.nodes)
    if notes:
        parts.append(_note(" ".join(notes), layout.height + NOTE_HEIGHT // 2 + 4))
    parts.append("</g></svg>")
    return Drawing("".join(parts), bool(notes), width, height)


def _prefix(
    nodes: Sequence[DrawNode],
    edges: Sequence[DrawEdge],
    title: str,
    max_nodes: int,
    truncated: bool,
) -> str:
    digest = hashlib.sha256(repr((title, max_nodes, truncated, nodes, edges)).encode()).hexdigest()
    return f"lg{digest[:10]}"


def _open(title: str, prefix: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{prefix}-title" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="lineage-drawing">'
        f'<title id="{prefix}-title">{escape(title)}</title>'
    )


def _empty(title: str, prefix: str, notes: list[str]) -> Drawing:
    width, height = MIN_NOTE_WIDTH, 60
    words = " ".join(["Nothing to draw.", *notes])
    svg = (
        _open(title, prefix, width, height)
        + f'<g font-family="{FONT}" fill="{TEXT}">'
        + _note(words, height // 2 + 4)
        + "</g></svg>"
    )
    return Drawing(svg, bool(notes), width, height)


def _note(words: str, y: int) -> str:
    return f'<text x="16" y="{y}" font-size="13" font-style="italic">{escape(words)}</text>'


def shorten(text: str, limit: int, *, middle: bool = False) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (in the middle for IDs, whose
    version or date is at the end)."""
    if len(text) <= limit:
        return text
    if middle:
        head = (limit - 1) // 2
        tail = limit - 1 - head
        return f"{text[:head]}…{text[-tail:]}"
    return f"{text[: limit - 1]}…"


def prov_class(kind: str) -> ProvClass:
    """The PROV class of a kind's value; unknown kinds draw as entities."""
    try:
        return NodeKind(kind).prov
    except ValueError:
        return ProvClass.ENTITY


def _shape(node: DrawNode, x: int, y: int) -> str:
    cls = prov_class(node.kind)
    fill, stroke = FILLS[cls]
    width = "3" if node.focus else "1.2"
    if node.focus:
        stroke = TEXT
    paint = f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"'
    half_w, half_h = NODE_WIDTH // 2, NODE_HEIGHT // 2
    if cls is ProvClass.ACTIVITY:
        corner = f'x="{x - half_w}" y="{y - half_h}"'
        return f'<rect {corner} width="{NODE_WIDTH}" height="{NODE_HEIGHT}" {paint}/>'
    if cls is ProvClass.AGENT:
        top, eave, bottom = y - half_h, y - half_h + 12, y + half_h
        points = (
            f"{x - half_w},{eave} {x},{top} {x + half_w},{eave} "
            f"{x + half_w},{bottom} {x - half_w},{bottom}"
        )
        return f'<polygon points="{points}" {paint}/>'
    return f'<ellipse cx="{x}" cy="{y}" rx="{half_w}" ry="{half_h}" {paint}/>'


def _node(placed: PlacedNode) -> str:
    node, x, y = placed.node, placed.x, placed.y
    detail = f"{node.kind} · {node.detail}" if node.detail else node.kind
    lift = 3 if prov_class(node.kind) is ProvClass.AGENT else 0  # below the roof line
    body = (
        f"<title>{escape(node.id)}</title>"
        + _shape(node, x, y)
        + f'<text x="{x}" y="{y - 1 + lift}" text-anchor="middle" font-size="12" '
        f'font-weight="{"bold" if node.focus else "normal"}">'
        f"{escape(shorten(node.label, LABEL_CHARS, middle=True))}</text>"
        + f'<text x="{x}" y="{y + 13 + lift}" text-anchor="middle" font-size="10">'
        f"{escape(shorten(detail, DETAIL_CHARS))}</text>"
    )
    focus = ' data-focus="true"' if node.focus else ""
    group = f'<g class="node" data-id="{escape(node.id)}"{focus}>{body}</g>'
    if node.href is not None:
        return f'<a href="{escape(node.href)}">{group}</a>'
    return group


def _edge(placed: PlacedEdge, prefix: str) -> str:
    points = placed.points
    marker = f'marker-end="url(#{prefix}-arrow)"'
    paint = f'fill="none" stroke="{EDGE}" stroke-width="1.3" {marker}'
    if len(points) == 1:  # a node that depends on itself: a small loop over its top
        x, y = points[0]
        top = y - NODE_HEIGHT // 2
        path = f"M{x + 24},{top + 2} C{x + 24},{top - 22} {x - 24},{top - 22} {x - 24},{top + 2}"
        label_at = (x, top - 14)
    else:
        path, label_at = _route(points)
    label = shorten(placed.edge.label, EDGE_LABEL_CHARS)
    text = (
        f'<text x="{label_at[0]}" y="{label_at[1] - 3}" text-anchor="middle" font-size="10" '
        f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(label)}</text>'
    )
    title = escape(f"{placed.edge.src} {placed.edge.label} {placed.edge.dst}")
    return f'<g class="edge"><title>{title}</title><path d="{path}" {paint}/>{text}</g>'


def _route(points: tuple[tuple[int, int], ...]) -> tuple[str, tuple[int, int]]:
    """A smooth path from the side of the first box, through every virtual point (entering a
    column on its left, leaving on its right), to the side of the last box."""
    half = NODE_WIDTH // 2
    (sx, sy), (dx, dy) = points[0], points[-1]
    step = -1 if points[1][0] < sx else 1
    waypoints: list[tuple[int, int]] = [(sx + step * half, sy)]
    for vx, vy in points[1:-1]:
        waypoints.extend([(vx - step * half, vy), (vx + step * half, vy)])
    waypoints.append((dx - step * half, dy))
    path = [f"M{waypoints[0][0]},{waypoints[0][1]}"]
    for i in range(1, len(waypoints)):
        (ax, ay), (bx, by) = waypoints[i - 1], waypoints[i]
        if i % 2 == 0:  # inside a column the line runs straight
            path.append(f"L{bx},{by}")
            continue
        bend = (bx - ax) // 2
        path.append(f"C{ax + bend},{ay} {bx - bend},{by} {bx},{by}")
    # Labels sit on the first stretch, beside the dependent node: edges fanning into one node
    # would otherwise stack their labels in the same spot.
    (ax, ay), (bx, by) = waypoints[0], waypoints[1]
    return " ".join(path), ((ax + bx) // 2, (ay + by) // 2)


