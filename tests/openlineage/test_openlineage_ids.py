"""The (namespace, name) -> node ID mapping is reversible and collision-free."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lineage.model.ids import parse_id
from lineage.openlineage import ids

names = st.text(min_size=0, max_size=60)


@given(names, names)
def test_a_dataset_id_reads_back_as_its_namespace_and_name(namespace: str, name: str) -> None:
    node_id = ids.dataset_id(namespace, name)
    parsed = parse_id(node_id)  # a valid node ID whatever the characters
    if not parsed.name.startswith(ids.HASHED):
        assert ids.dataset_key(parsed.name) == (namespace, name)


@given(names, names, names, names)
def test_two_different_pairs_never_share_an_id(a: str, b: str, c: str, d: str) -> None:
    if (a, b) != (c, d):
        assert ids.dataset_id(a, b) != ids.dataset_id(c, d)


def test_uri_namespaces_and_dotted_names_stay_readable() -> None:
    assert (
        ids.dataset_id("postgres://db:5432", "public.applications")
        == "dataset:ol.postgres-3a-2f-2fdb-3a5432--public.applications"
    )
    assert ids.dataset_key("ol.s3-3a-2f-2fbucket--a-2fb.csv") == ("s3://bucket", "a/b.csv")


def test_the_separator_cannot_be_forged_by_a_name_holding_dashes() -> None:
    assert ids.dataset_id("a--b", "c") != ids.dataset_id("a", "b--c")
    assert ids.dataset_key(ids.pair_name("a--b", "c")) == ("a--b", "c")


def test_a_pair_too_long_for_an_id_is_hashed_and_not_mistaken_for_an_escaped_one() -> None:
    long_name = "s3://bucket/" + "x" * 300
    node_id = ids.dataset_id("s3://bucket", long_name)
    name = parse_id(node_id).name
    assert name.startswith(ids.HASHED) and len(name) <= ids.MAX_NAME
    assert ids.dataset_key(name) is None
    assert node_id != ids.dataset_id("s3://bucket", long_name + "y")


def test_columns_and_versions_are_valid_ids_for_any_text() -> None:
    for text in ("", "-", "_x", "ünïcode col", "a" * 400, "ol.unversioned"):
        parse_id(ids.column_id("ns", "name", text))
        parse_id(ids.dataset_version_id("ns", "name", text))
        parse_id(f"feature:{ids.feature_name(text or 'x')}")
    assert ids.feature_name("debt_ratio") == "debt_ratio"
