"""The contract file graphql/schema.graphql is the printed schema, and the schema documents
itself: descriptions everywhere, input types that match the registration records."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphene.utils.str_converters import to_camel_case
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)
from pydantic import BaseModel

from lineage.graphql.schema import graphql_schema, schema_sdl
from lineage.model import records

CONTRACT = Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql"
BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def test_schema_file_matches_the_code() -> None:
    saved = CONTRACT.read_text()
    current = schema_sdl()
    if saved == current:
        return
    # Compare SDL with SDL: graphene's own type classes would all look "changed in kind".
    old, new = build_schema(saved), build_schema(current)
    breaking = find_breaking_changes(old, new)
    dangerous = find_dangerous_changes(old, new)
    lines = [
        "graphql/schema.graphql differs from the schema in code.",
        "If the change is intended: lineage schema > graphql/schema.graphql",
        f"Breaking changes (clients lose these): {len(breaking)}",
        *(f"  - {c.type.name}: {c.description}" for c in breaking),
        f"Dangerous changes: {len(dangerous)}",
        *(f"  - {c.type.name}: {c.description}" for c in dangerous),
    ]
    pytest.fail("\n".join(lines))


def test_every_type_field_argument_and_value_has_a_description() -> None:
    missing: list[str] = []
    for name, kind in graphql_schema().type_map.items():
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in kind.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})"
                    for arg, value in field.args.items()
                    if not value.description
                ]
        elif isinstance(kind, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, v in kind.fields.items() if not v.description]
        elif isinstance(kind, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, d in kind.values.items() if not d.description]
        else:
            assert isinstance(kind, GraphQLScalarType)
    assert not missing, f"undocumented: {missing}"


INPUTS: dict[str, type[BaseModel]] = {
    "PersonInput": records.PersonRecord,
    "DatasetVersionInput": records.DatasetVersionRecord,
    "FeatureSnapshotInput": records.FeatureSnapshotRecord,
    "ModelInput": records.ModelRecord,
    "DataBindingInput": records.DataBinding,
    "TrainingRunInput": records.TrainingRunRecord,
    "EvaluationInput": records.EvaluationRecord,
    "InferenceBatchInput": records.InferenceBatchRecord,
}


@pytest.mark.parametrize("input_name", sorted(INPUTS))
def test_input_types_carry_exactly_the_fields_of_their_records(input_name: str) -> None:
    kind = graphql_schema().type_map[input_name]
    assert isinstance(kind, GraphQLInputObjectType)
    expected = {to_camel_case(name) for name in INPUTS[input_name].model_fields}
    assert set(kind.fields) == expected


def test_every_node_kind_has_an_object_type_implementing_node() -> None:
    from lineage.model.graph import NodeKind

    schema = graphql_schema()
    node = schema.type_map["Node"]
    assert isinstance(node, GraphQLInterfaceType)
    implementations = {t.name for t in schema.get_implementations(node).objects}
    assert implementations == {k.value for k in NodeKind}
