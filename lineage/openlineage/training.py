"""Which OpenLineage jobs train models: configured patterns on the job's namespace and name.

``LINEAGE_OPENLINEAGE_TRAINING`` holds a JSON list of rules, e.g.::

    [{"job": "airflow-prod/lending.train_*", "model": "lending_approval",
      "artifact": "s3://models/lending/*"}]

``job`` and ``artifact`` are shell-style patterns (:mod:`fnmatch`, case-sensitive) matched
against ``namespace/name``; ``artifact`` defaults to ``*``. A run of a matching job becomes a
TrainingRun; when it completes with an output matching ``artifact`` that output is the model
artifact, and the run produced a version of ``model``. The first matching rule applies.

A pattern was chosen over a job facet because emitters stay unchanged (Airflow's provider, Spark
and dbt send no facet saying "this trains a model", and adding one means code in every DAG),
and because every event names its job: whichever event of a run arrives first decides the run's
kind, so reordered delivery cannot make one run two kinds.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lineage.model.ids import parse_id


class TrainingRule(BaseModel):
    """One rule: runs of jobs matching ``job`` train ``model``; ``artifact`` picks the output."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    job: str = Field(min_length=1, max_length=500)
    model: str = Field(min_length=1, max_length=200)
    artifact: str = Field(default="*", min_length=1, max_length=500)

    def model_id(self) -> str:
        """The Model node the rule names (a bare name or a ``model:`` ID)."""
        text = self.model if ":" in self.model else f"model:{self.model}"
        return str(parse_id(text, "model"))


class OpenLineageSettings(BaseSettings):
    """The OpenLineage endpoint's configuration (prefix ``LINEAGE_OPENLINEAGE_``)."""

    model_config = SettingsConfigDict(
        env_prefix="LINEAGE_OPENLINEAGE_", extra="ignore", env_ignore_empty=True
    )

    training: list[TrainingRule] = Field(default_factory=list)
    # One event's size; a larger one is refused naming its largest part.
    max_event_bytes: int = Field(default=2 * 1024 * 1024, ge=1_024)
    # Events in one batch request.
    max_batch_events: int = Field(default=1_000, ge=1, le=100_000)


@dataclass(frozen=True, slots=True)
class TrainingJobs:
    """The training rules, matched against ``namespace/name``."""

    rules: tuple[TrainingRule, ...] = ()

    @classmethod
    def from_settings(cls, settings: OpenLineageSettings) -> TrainingJobs:
        """The rules of ``settings``, each model ID checked once."""
        for rule in settings.training:
            rule.model_id()
        return cls(tuple(settings.training))

    def rule_for(self, namespace: str, name: str) -> TrainingRule | None:
        """The first rule whose job pattern matches, or None: not a training job."""
        key = f"{namespace}/{name}"
        for rule in self.rules:
            if fnmatch.fnmatchcase(key, rule.job):
                return rule
        return None

    @staticmethod
    def is_artifact(rule: TrainingRule, namespace: str, name: str) -> bool:
        """Whether an output of a training run is its model artifact."""
        return fnmatch.fnmatchcase(f"{namespace}/{name}", rule.artifact)
