"""The fast canonical encoder writes exactly the bytes of the reference one, or refuses alike."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.errors import InvalidError
from lineage.model.canonical import canonical_json, reference_json

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.sampled_from([1e-5, 1e-9, 1e-10, 1e16, 1e22, 5e-324, -0.0, math.nan, math.inf])
    | st.text()
    | st.text(alphabet=st.characters(codec="utf-8"))
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _outcome(encode: Any, value: Any) -> str:
    try:
        return str(encode(value))
    except InvalidError as exc:
        return f"refused: {exc.code}"


@settings(max_examples=1000)
@given(values)
def test_fast_encoder_agrees_with_the_reference(value: Any) -> None:
    assert _outcome(canonical_json, value) == _outcome(reference_json, value)


def test_floats_of_every_decade_encode_as_repr_does() -> None:
    rng = random.Random(20240125)
    floats = [rng.random() * 10.0**e for e in range(-30, 31) for _ in range(200)]
    assert canonical_json(floats) == reference_json(floats)
    assert [canonical_json(f) for f in floats] == [repr(f) for f in floats]


class Colour(Enum):
    RED = "red"


@dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [1.5, 1e-05, 1e16]}, '{"a":[1.5,1e-05,1e+16],"b":1}'),
        ({"é": "ü", "z": None}, '{"z":null,"é":"ü"}'),
        ({"big": 2**80}, '{"big":1208925819614629174706176}'),
        ({1: "a"}, '{"1":"a"}'),
        ({"c": Colour.RED, "u": UUID(int=1)}, f'{{"c":"red","u":"{UUID(int=1)}"}}'),
    ],
)
def test_canonical_form_is_the_standard_librarys(value: Any, expected: str) -> None:
    assert canonical_json(value) == expected


@pytest.mark.parametrize(
    "value",
    [{"x": math.nan}, {"x": -math.inf}, {"at": datetime(2024, 1, 25, tzinfo=UTC)}, {"p": Point(1)}],
)
def test_values_json_cannot_hold_are_refused_naming_props(value: Any) -> None:
    with pytest.raises(InvalidError) as caught:
        canonical_json(value)
    assert caught.value.field == "props"
