"""jobs/monitors.toml: the shipped file loads; an unknown signal, a threshold of the wrong type
and a monitor without its playbook are refused at load, naming the file, the line and why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lineage.errors import InvalidError
from lineage.jobs.monitors import SIGNALS, MonitorsConfig, load_config
from lineage.jobs.monitors.config import LatencyP99
from lineage.jobs.monitors.overrides import apply, overrides_of, register_override
from lineage.store import GraphStore
from tests.monitors.conftest import JOBS


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    """A copy of the shipped jobs folder to break."""
    copy = tmp_path / "jobs"
    shutil.copytree(JOBS, copy)
    return copy


def rewrite(jobs: Path, old: str, new: str) -> Path:
    path = jobs / "monitors.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_shipped_configuration_has_a_playbook_for_every_signal(config: MonitorsConfig) -> None:
    assert set(config.playbooks) == set(SIGNALS) == set(config.enabled())
    assert all(p.title and "## " in p.text for p in config.playbooks.values())


def test_an_unknown_signal_is_refused_with_its_line(jobs: Path) -> None:
    path = rewrite(jobs, "[signals.latency_p99]", "[signals.latency_p999]")
    with pytest.raises(InvalidError) as caught:
        load_config(jobs)
    assert caught.value.message.startswith(f"{path}:{line_of(path, 'latency_p999')}:")
    assert "latency_p999" in caught.value.message


def test_a_threshold_of_the_wrong_type_is_refused_with_its_line(jobs: Path) -> None:
    path = rewrite(jobs, "max_ms = 1000.0", 'max_ms = "1000"')
    with pytest.raises(InvalidError) as caught:
        load_config(jobs)
    assert caught.value.message.startswith(f"{path}:{line_of(path, 'max_ms')}:")
    assert "must be a number" in caught.value.message


def test_a_monitor_without_a_playbook_is_refused_with_its_line(jobs: Path) -> None:
    (jobs / "playbooks" / "null_rate.md").unlink()
    with pytest.raises(InvalidError) as caught:
        load_config(jobs)
    path = jobs / "monitors.toml"
    assert caught.value.message.startswith(f"{path}:{line_of(path, '[signals.null_rate]')}:")
    assert "no playbook" in caught.value.message


def test_a_disabled_monitor_needs_no_playbook(jobs: Path) -> None:
    rewrite(jobs, "[signals.null_rate]\n", "[signals.null_rate]\nenabled = false\n")
    (jobs / "playbooks" / "null_rate.md").unlink()
    assert "null_rate" not in load_config(jobs).enabled()


def test_a_model_override_replaces_only_the_thresholds_it_gives(
    store: GraphStore, config: MonitorsConfig, registry: object
) -> None:
    from lineage.services.registry import Registry

    assert isinstance(registry, Registry)
    registry.register_pipeline({"id": "pipeline:lineage_demo", "name": "demo"})
    for person in ("person:a", "person:b", "person:c"):
        registry.register_person({"id": person, "name": person})
    registry.register_model(
        {
            "id": "model:m",
            "owner": "person:a",
            "technical_steward": "person:b",
            "risk_approver": "person:c",
        }
    )
    node = register_override(
        store,
        config,
        "pipeline:lineage_demo",
        "model:m",
        "latency_p99",
        {"max_ms": 250},
        "this model answers online",
    )
    assert node.id == "monitor:m-latency_p99"
    applied = apply(config.signal("latency_p99"), overrides_of(store, "model:m")["latency_p99"])
    assert isinstance(applied, LatencyP99) and (applied.max_ms, applied.max_ratio) == (250, 2.0)
    with pytest.raises(InvalidError) as caught:
        register_override(
            store,
            config,
            "pipeline:lineage_demo",
            "model:m",
            "latency_p99",
            {"max_ms": "fast"},
            "typo",
        )
    assert caught.value.field == "thresholds.max_ms"
