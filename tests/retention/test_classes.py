"""Retention classes: the metadata registered on dataset versions, the configuration, and the
strictest class a batch takes from everything upstream of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lineage.errors import InvalidError
from lineage.jobs.retention import load_config
from lineage.model.graph import Node
from lineage.model.records import DatasetVersionRecord
from lineage.model.times import to_text
from lineage.services.retention_classes import (
    CONSENT_BASES,
    SENSITIVITIES,
    Policy,
    RetentionClass,
    Upstream,
)
from lineage.store.base import GraphStore
from tests.retention.world import DAY, NOW, T0, World, sha


def classify(world: World, policy: Policy, batch: str) -> RetentionClass | None:
    node = world.store.get_nodes([batch])[batch]
    upstream = Upstream(world.store, policy, NOW)
    return upstream.classify(node, upstream.lineages([node])[batch]).retention


def test_dataset_version_keeps_its_governance_metadata(world: World) -> None:
    node = world.store.get_nodes(["dataset:applications@v1"])["dataset:applications@v1"]
    assert node.props["retention_class"] == "standard"
    assert node.props["sensitivity"] == "personal"
    bureau = world.store.get_nodes(["dataset:bureau@v1"])["dataset:bureau@v1"]
    assert bureau.props["consent_basis"] == "contract"


@pytest.mark.parametrize("name", ["Regulated", "7years", "with space", "x" * 33, ""])
def test_a_retention_class_must_be_a_lowercase_identifier(world: World, name: str) -> None:
    with pytest.raises(InvalidError) as caught:
        world.registry.register_dataset_version(
            {
                "id": "dataset:other@v1",
                "content_hash": sha("other"),
                "record_count": 1,
                "created_at": to_text(T0),
                "retention_class": name,
            }
        )
    assert caught.value.field == "retention_class"
    assert not world.store.get_nodes(["dataset:other@v1"])


def test_a_class_unknown_to_the_configuration_is_accepted_at_registration(world: World) -> None:
    # The configuration may gain the class later; pruning reports it meanwhile.
    world.registry.register_dataset_version(
        {
            "id": "dataset:other@v1",
            "content_hash": sha("other"),
            "record_count": 1,
            "created_at": to_text(T0),
            "retention_class": "tax_records",
        }
    )
    assert world.store.get_nodes(["dataset:other@v1"])


@pytest.mark.parametrize(
    ("field", "allowed"), [("consent_basis", CONSENT_BASES), ("sensitivity", SENSITIVITIES)]
)
def test_consent_basis_and_sensitivity_take_the_documented_values_only(
    field: str, allowed: tuple[str, ...]
) -> None:
    base = {"id": "dataset:d@v1", "content_hash": sha("d"), "record_count": 1}
    base["created_at"] = to_text(T0)
    for value in allowed:
        assert getattr(DatasetVersionRecord.model_validate(base | {field: value}), field) == value
    with pytest.raises(ValueError, match=field):
        DatasetVersionRecord.model_validate(base | {field: "whatever"})


def test_a_batch_takes_the_class_of_its_data(world: World, policy: Policy) -> None:
    batch = world.batch("b1", "model:m@v1")
    found = classify(world, policy, batch)
    assert found is not None and found.name == "standard"


def test_a_batch_takes_the_strictest_class_of_its_snapshots_sources(
    world: World, policy: Policy
) -> None:
    batch = world.batch("b2", "model:m@v2")  # snapshot:mixed: standard and regulated
    found = classify(world, policy, batch)
    assert found is not None and found.name == "regulated"


def test_a_class_flows_through_the_training_run_too(world: World, policy: Policy) -> None:
    # v3 scores with snapshot:std (standard) but its run bound bureau (regulated).
    batch = world.batch("b3", "model:m@v3")
    found = classify(world, policy, batch)
    assert found is not None and found.name == "regulated"


def test_data_registered_without_a_class_takes_the_default(world: World, policy: Policy) -> None:
    batch = world.batch("b4", "model:c@v1")
    found = classify(world, policy, batch)
    assert found is not None and found.name == policy.default_class == "regulated"


def test_a_class_missing_from_the_configuration_cannot_be_judged(
    world: World, policy: Policy
) -> None:
    batch = world.batch("b5", "model:m@v1")
    narrow = Policy({"regulated": policy.classes["regulated"]}, "regulated")
    node = world.store.get_nodes([batch])[batch]
    upstream = Upstream(world.store, narrow, NOW)
    judged = upstream.classify(node, upstream.lineages([node])[batch])
    assert judged.retention is None and judged.unknown == {"standard"}


def test_the_strictest_class_is_the_one_that_keeps_longest(world: World) -> None:
    batch = world.batch("b6", "model:m@v2")
    # Here "standard" keeps longer than "regulated": the strictest is still the longest.
    odd = Policy(
        {
            "regulated": RetentionClass("regulated", days=30),
            "standard": RetentionClass("standard", years=3),
        },
        "regulated",
    )
    found = classify(world, odd, batch)
    assert found is not None and found.name == "standard"


def test_a_period_counts_calendar_years_and_days() -> None:
    leap = datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert RetentionClass("r", years=7).expires(leap) == datetime(2031, 2, 28, 12, tzinfo=UTC)
    assert RetentionClass("s", years=2, days=1).expires(leap) == datetime(
        2026, 3, 1, 12, tzinfo=UTC
    )
    assert RetentionClass("s", years=2).period == "2 years"


def test_a_class_needs_a_positive_period() -> None:
    with pytest.raises(InvalidError):
        RetentionClass("empty")


def test_the_shipped_configuration_keeps_regulated_7_and_standard_2_years(
    policy: Policy,
) -> None:
    assert (policy.classes["regulated"].years, policy.classes["standard"].years) == (7, 2)
    assert policy.default_class == "regulated"


def test_a_malformed_configuration_is_refused_naming_file_line_and_reason(tmp_path: Path) -> None:
    (tmp_path / "retention.toml").write_text(
        'default_class = "regulated"\n\n[classes.regulated]\nyears = "seven"\n'
    )
    with pytest.raises(InvalidError) as caught:
        load_config(tmp_path)
    assert caught.value.message.startswith(
        f"{tmp_path / 'retention.toml'}:4: classes.regulated.years"
    )


def test_a_configuration_whose_default_class_is_not_configured_is_refused(tmp_path: Path) -> None:
    (tmp_path / "retention.toml").write_text(
        'default_class = "archive"\n[classes.standard]\nyears = 2\n'
    )
    with pytest.raises(InvalidError, match="default_class"):
        load_config(tmp_path)


def test_a_toml_syntax_error_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "retention.toml").write_text("[classes.standard]\nyears = = 2\n")
    with pytest.raises(InvalidError, match=r"retention.toml:2:"):
        load_config(tmp_path)


def test_a_second_page_of_the_same_lineage_reads_nothing_new(
    world: World, policy: Policy, store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = [world.batch(f"many{i}", "model:m@v2", T0 + (30 + i) * DAY) for i in range(5)]
    nodes = store.get_nodes(batches)
    upstream = Upstream(store, policy, NOW)
    upstream.lineages([nodes[b] for b in batches[:2]])
    asked: list[list[str]] = []
    real = store.get_nodes

    def counting(ids: Sequence[str]) -> dict[str, Node]:
        asked.append(list(ids))
        return real(ids)

    monkeypatch.setattr(store, "get_nodes", counting)
    lineages = upstream.lineages([nodes[b] for b in batches[2:]])
    assert not [ids for ids in asked if not all(i.startswith("correction:") for i in ids)]
    assert {"model:m@v2", "dataset:bureau@v1", "feature:income"} <= lineages[batches[2]].ids
