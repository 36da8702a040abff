"""docs/registry.md is generated from the pydantic records, and says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli import app
from lineage.graphql.schema import graphql_schema
from lineage.model import records
from lineage.model.graph import NodeKind
from lineage.model.reference import ALIASES, OPERATIONS, reference
from lineage.services.registry import Registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "registry.md"


def test_the_committed_reference_matches_the_records() -> None:
    assert DOC.read_text() == reference(), (
        "docs/registry.md differs from the records; if intended: lineage reference > "
        "docs/registry.md"
    )


def test_lineage_reference_prints_the_reference() -> None:
    result = CliRunner().invoke(app, ["reference"])
    assert result.exit_code == 0 and result.stdout == reference()


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.method)
def test_every_listed_registration_exists_in_python_and_graphql(op: object) -> None:
    assert callable(getattr(Registry, op.method))  # type: ignore[attr-defined]
    assert op.mutation in graphql_schema().mutation_type.fields  # type: ignore[attr-defined,union-attr]


def test_every_type_a_record_spells_is_explained() -> None:
    known = set(ALIASES) | {
        name for name, value in vars(records).items() if isinstance(value, type)
    }
    spelled = set(re.findall(r"\| `([^`]*)` \| (?:yes|no) \|", reference()))
    names = {word for text in spelled for word in re.findall(r"\b[A-Z]\w*", text)}
    kinds = {kind.value for kind in NodeKind}  # "ID of a Pipeline"
    assert names - known - kinds - {"None", "ID"} == set()


def test_every_record_has_a_section() -> None:
    text = reference()
    for name, value in vars(records).items():
        if isinstance(value, type) and issubclass(value, records.Record) and name != "Record":
            assert f"## {name}\n" in text
