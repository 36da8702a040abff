"""Events in the shapes the Airflow, Spark and dbt integrations emit (``events/``), the training
rule the tests configure, and the scenario's pipeline that sends them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from lineage.openlineage.mapping import Ingested
from lineage.openlineage.training import OpenLineageSettings, TrainingRule

EVENTS = Path(__file__).parent / "events"
PIPELINE = "pipeline:credit_training"  # a registered pipeline of the lending scenario
TRAINING = OpenLineageSettings(
    training=[
        TrainingRule(
            job="airflow-prod/lending_training.*",
            model="lending_approval_ol",
            artifact="s3://models/*",
        )
    ]
)

Event = dict[str, Any]
Send = Callable[..., list[Ingested]]  # the ``send`` fixture: events in, what each did out


@dataclass
class Served:
    """The app over the scenario's store, its URL when served over HTTP, and a token per use."""

    app: Starlette
    pipeline: str  # the scenario's training pipeline, role pipeline
    reader: str  # the on-call engineer, role reader
    url: str = ""


def event(name: str, **changes: Any) -> Event:
    """A fixture event (``events/<name>.json``), with top-level keys replaced."""
    loaded: Event = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(loaded) | changes


def with_run(value: Event, run_id: str) -> Event:
    """``value`` as another run of its job."""
    changed = copy.deepcopy(value)
    changed["run"]["runId"] = run_id
    return changed
