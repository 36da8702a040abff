"""Node IDs and content hashes: what is accepted, and that everything else is rejected by field."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.errors import InvalidError
from lineage.model.graph import NodeKind
from lineage.model.ids import PREFIXES, kind_of, make_id, parse_id
from lineage.model.records import DatasetVersionRecord, parse_record

NAME_CHARS = string.ascii_letters + string.digits + "_.-"
names = st.text(NAME_CHARS, min_size=1, max_size=40).filter(lambda s: s[0].isalnum())


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("dataset:applications@v2", NodeKind.DATASET_VERSION),
        ("dataset:applications", NodeKind.DATASET),
        ("model:lending_approval@v12", NodeKind.MODEL_VERSION),
        ("snapshot:credit_model_training_2024_01_20", NodeKind.FEATURE_SNAPSHOT),
        ("person:head_of_lending", NodeKind.PERSON),
    ],
)
def test_design_examples_parse_to_their_kind(value: str, kind: NodeKind) -> None:
    assert kind_of(value) is kind
    assert str(parse_id(value)) == value


@given(prefix=st.sampled_from(sorted(PREFIXES)), name=names, version=st.none() | names)
def test_every_well_formed_id_round_trips_or_is_rejected_for_its_version(
    prefix: str, name: str, version: str | None
) -> None:
    plain, versioned = PREFIXES[prefix]
    value = f"{prefix}:{name}" + (f"@{version}" if version else "")
    expected = versioned if version else plain
    if expected is None:
        with pytest.raises(InvalidError) as info:
            parse_id(value, "model_version")
        assert info.value.field == "model_version"
    else:
        parsed = parse_id(value)
        assert parsed.kind is expected
        assert make_id(expected, name, version) == value


@given(st.text(max_size=60))
def test_arbitrary_text_is_an_id_or_an_invalid_error_naming_the_field(value: str) -> None:
    try:
        parsed = parse_id(value, "snapshot")
    except InvalidError as exc:
        assert exc.field == "snapshot"
    else:
        assert str(parsed) == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("applications@v2", "not a node ID"),
        ("widget:x", "unknown ID kind"),
        ("model:lending approval", "not a node ID"),
        ("person:x@v1", "cannot carry an @version"),
        ("dataset:", "not a node ID"),
        ("dataset:a@", "not a node ID"),
    ],
)
def test_malformed_ids_say_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidError, match=reason):
        parse_id(value)


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


VALID = {"id": "dataset:applications@v2", "record_count": 1, "created_at": "2024-01-15T00:00:00Z"}


@given(st.text("0123456789abcdef", min_size=64, max_size=64))
def test_any_64_lowercase_hex_digest_is_accepted_as_given(digest: str) -> None:
    record = parse_record(DatasetVersionRecord, {**VALID, "content_hash": digest})
    assert record.content_hash == digest


@given(st.text(max_size=80).filter(lambda s: not _is_digest(s)))
def test_anything_but_a_sha256_digest_is_rejected_naming_content_hash(digest: str) -> None:
    with pytest.raises(InvalidError) as info:
        parse_record(DatasetVersionRecord, {**VALID, "content_hash": digest})
    assert info.value.field == "content_hash"
