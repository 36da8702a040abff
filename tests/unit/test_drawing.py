"""The server-side drawing: layered layout and self-contained SVG (lineage.drawing)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from lineage.drawing import DrawEdge, DrawNode, from_subgraph, layered_svg
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind, Subgraph

SVG = "{http://www.w3.org/2000/svg}"


def _node(node_id: str, kind: str = "DatasetVersion", *, focus: bool = False) -> DrawNode:
    return DrawNode(id=node_id, label=node_id.split(":", 1)[1], kind=kind, focus=focus)


def _centres(svg: str) -> dict[str, tuple[float, float]]:
    """The centre of every drawn node, read back from the SVG."""
    root = ET.fromstring(svg)
    centres: dict[str, tuple[float, float]] = {}
    for group in root.iter(f"{SVG}g"):
        node_id = group.get("data-id")
        if node_id is None:
            continue
        for shape in group:
            if shape.tag == f"{SVG}ellipse":
                centres[node_id] = (float(shape.get("cx", 0)), float(shape.get("cy", 0)))
            elif shape.tag == f"{SVG}rect":
                x, w = float(shape.get("x", 0)), float(shape.get("width", 0))
                y, h = float(shape.get("y", 0)), float(shape.get("height", 0))
                centres[node_id] = (x + w / 2, y + h / 2)
            elif shape.tag == f"{SVG}polygon":
                xs = [float(p.split(",")[0]) for p in shape.get("points", "").split()]
                ys = [float(p.split(",")[1]) for p in shape.get("points", "").split()]
                centres[node_id] = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    return centres


CHAIN_NODES = [
    _node("model:m@v1", "ModelVersion", focus=True),
    _node("run:r1", "TrainingRun"),
    _node("snapshot:s1", "FeatureSnapshot"),
    _node("dataset:d@v1"),
    _node("batch:b1", "InferenceBatch"),
    _node("person:owner", "Person"),
]
CHAIN_EDGES = [
    DrawEdge("model:m@v1", "run:r1", "wasGeneratedBy"),
    DrawEdge("run:r1", "snapshot:s1", "used"),
    DrawEdge("snapshot:s1", "dataset:d@v1", "wasDerivedFrom"),
    DrawEdge("batch:b1", "model:m@v1", "scoredWith"),
    DrawEdge("run:r1", "person:owner", "wasAssociatedWith"),
    DrawEdge("batch:b1", "dataset:d@v1", "used"),  # a long edge over three columns
]


def test_upstream_is_drawn_left_of_downstream() -> None:
    drawing = layered_svg(CHAIN_NODES, CHAIN_EDGES, title="m v1")
    at = _centres(drawing.svg)
    assert at["dataset:d@v1"][0] < at["snapshot:s1"][0] < at["run:r1"][0]
    assert at["run:r1"][0] < at["model:m@v1"][0] < at["batch:b1"][0]
    assert at["person:owner"][0] < at["run:r1"][0]
    assert not drawing.truncated
    assert drawing.width > 0 and drawing.height > 0


def test_same_input_renders_the_same_bytes() -> None:
    first = layered_svg(CHAIN_NODES, CHAIN_EDGES, title="m v1").svg
    again = layered_svg(list(CHAIN_NODES), list(CHAIN_EDGES), title="m v1").svg
    assert first == again


def test_two_drawings_do_not_share_marker_ids() -> None:
    one = layered_svg(CHAIN_NODES, CHAIN_EDGES, title="one").svg
    two = layered_svg(CHAIN_NODES[:3], CHAIN_EDGES[:2], title="two").svg
    ids_one = {e.get("id") for e in ET.fromstring(one).iter() if e.get("id")}
    ids_two = {e.get("id") for e in ET.fromstring(two).iter() if e.get("id")}
    assert ids_one and ids_two and not ids_one & ids_two


def test_labels_are_escaped_and_the_svg_has_no_script_or_external_reference() -> None:
    nodes = [
        DrawNode("dataset:x@v1", "<script>alert(1)</script>", "DatasetVersion", detail='"&<>'),
        DrawNode("run:r", "r", "TrainingRun", href="/ui/node/run:r?a=1&b=2"),
    ]
    edges = [DrawEdge("run:r", "dataset:x@v1", "<b>used</b>")]
    svg = layered_svg(nodes, edges, title="<title>").svg
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img"
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert links == ["/ui/node/run:r?a=1&b=2"]
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in svg and "@import" not in svg and "url(http" not in svg
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "dataset:x@v1" in titles and "run:r" in titles


def test_long_labels_are_shortened_with_an_ellipsis_keeping_the_version() -> None:
    long_id = "snapshot:credit_model_training_2024_01_20_with_a_much_longer_name"
    svg = layered_svg([_node(long_id, "FeatureSnapshot")], [], title="long").svg
    texts = [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]
    shortened = [t for t in texts if "…" in t]
    assert shortened and shortened[0].endswith("longer_name"[-5:])
    assert all(len(t) <= 40 for t in texts)
    assert long_id in svg  # the full ID stays in the node's <title>


def test_prov_shapes_follow_the_kind() -> None:
    nodes = [_node("dataset:d@v1"), _node("run:r", "TrainingRun"), _node("person:p", "Person")]
    root = ET.fromstring(layered_svg(nodes, [], title="shapes").svg)
    shape_of = {
        g.get("data-id"): next(c.tag.removeprefix(SVG) for c in g if c.tag != f"{SVG}title")
        for g in root.iter(f"{SVG}g")
        if g.get("data-id")
    }
    assert shape_of == {"dataset:d@v1": "ellipse", "run:r": "rect", "person:p": "polygon"}


def test_cycles_self_loops_and_disconnected_parts_are_drawn() -> None:
    nodes = [_node("dataset:a@v1"), _node("dataset:b@v1"), _node("dataset:c@v1")]
    nodes += [_node("dataset:lonely@v1"), _node("run:x", "TrainingRun")]
    edges = [
        DrawEdge("dataset:a@v1", "dataset:b@v1", "wasDerivedFrom"),
        DrawEdge("dataset:b@v1", "dataset:c@v1", "wasDerivedFrom"),
        DrawEdge("dataset:c@v1", "dataset:a@v1", "wasDerivedFrom"),
        DrawEdge("run:x", "run:x", "used"),
    ]
    drawing = layered_svg(nodes, edges, title="cycle")
    assert set(_centres(drawing.svg)) == {n.id for n in nodes}
    assert len(list(ET.fromstring(drawing.svg).iter(f"{SVG}path"))) >= 5  # 4 edges + marker


def test_nothing_to_draw_says_so() -> None:
    drawing = layered_svg([], [], title="empty")
    assert "Nothing to draw" in drawing.svg
    assert not drawing.truncated
    ET.fromstring(drawing.svg)


def test_over_the_budget_the_focus_and_its_neighbours_are_kept_and_it_says_truncated() -> None:
    focus = _node("model:m@v1", "ModelVersion", focus=True)
    others = [_node(f"dataset:d{i}@v1") for i in range(30)]
    edges = [DrawEdge("model:m@v1", "dataset:d0@v1", "used")]
    drawing = layered_svg([*others, focus], edges, title="big", max_nodes=10)
    drawn = _centres(drawing.svg)
    assert drawing.truncated
    assert len(drawn) == 10 and "model:m@v1" in drawn and "dataset:d0@v1" in drawn
    assert "Truncated: 10 of 31 nodes drawn." in drawing.svg


def test_a_partial_input_is_marked_truncated() -> None:
    drawing = layered_svg(CHAIN_NODES, CHAIN_EDGES, title="partial", truncated=True)
    assert drawing.truncated
    assert "depth or node limit" in drawing.svg


def test_from_subgraph_labels_links_and_marks_the_focus() -> None:
    at = datetime(2024, 1, 22, tzinfo=UTC)
    subgraph = Subgraph(
        nodes=[
            Node("model:lending@v12", NodeKind.MODEL_VERSION, at),
            Node("run:train_v12", NodeKind.TRAINING_RUN, datetime(2024, 1, 20, 14, tzinfo=UTC)),
        ],
        edges=[
            Edge("model:lending@v12", EdgeKind.WAS_GENERATED_BY, "run:train_v12"),
            Edge("run:train_v12", EdgeKind.USED, "snapshot:not_in_the_subgraph"),
        ],
        truncated=False,
    )
    nodes, edges = from_subgraph(
        subgraph, focus="model:lending@v12", href=lambda node_id: f"/ui/node/{node_id}"
    )
    assert [(n.label, n.kind, n.detail, n.focus) for n in nodes] == [
        ("lending@v12", "ModelVersion", "2024-01-22", True),
        ("train_v12", "TrainingRun", "2024-01-20 14:00", False),
    ]
    assert nodes[0].href == "/ui/node/model:lending@v12"
    assert edges == [DrawEdge("model:lending@v12", "run:train_v12", "wasGeneratedBy")]
