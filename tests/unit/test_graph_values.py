"""Nodes and edges as values: hashes, lazily decoded props, immutability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.model.canonical import canonical_json, sha256_text
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import to_text

T0 = datetime(2024, 1, 10, tzinfo=UTC)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
props = st.dictionaries(st.text(), json_values, max_size=5)


@given(props, st.booleans())
def test_node_hash_is_the_sha256_of_its_canonical_json(
    values: dict[str, Any], closed: bool
) -> None:
    valid_to = T0 + timedelta(days=1) if closed else None
    node = Node("person:p", NodeKind.PERSON, T0, values, valid_to)
    document = {
        "id": node.id,
        "kind": "Person",
        "props": values,
        "valid_from": to_text(T0),
        "valid_to": to_text(valid_to) if valid_to else None,
    }
    assert node.content_hash() == sha256_text(canonical_json(document))


@given(props)
def test_edge_hash_is_the_sha256_of_its_canonical_json(values: dict[str, Any]) -> None:
    edge = Edge("person:a", EdgeKind.ACTED_ON_BEHALF_OF, "person:b", values, T0)
    document = {"key": edge.key, "props": values, "valid_to": None}
    assert edge.content_hash() == sha256_text(canonical_json(document))


def test_a_stored_node_decodes_props_on_demand_and_equals_the_original() -> None:
    original = Node("person:p", NodeKind.PERSON, T0, {"name": "P", "tags": [1, 2]})
    stored = Node.stored("person:p", NodeKind.PERSON, T0, original.props_json(), None, None)
    assert stored == original and stored.props == {"name": "P", "tags": [1, 2]}
    assert stored.content_hash() == original.content_hash()


def test_nodes_and_edges_are_immutable() -> None:
    node = Node("person:p", NodeKind.PERSON, T0)
    with pytest.raises(AttributeError):
        node.id = "person:q"  # type: ignore[misc]
    edge = Edge("person:p", EdgeKind.ACTED_ON_BEHALF_OF, "person:q")
    with pytest.raises(AttributeError):
        edge.valid_to = T0  # type: ignore[misc]
