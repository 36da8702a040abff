"""The monitors' configuration: ``jobs/monitors.toml`` and one playbook per signal.

Every signal has a table ``[signals.<name>]`` (a signal left out keeps the defaults below); an
unknown signal, an unknown key or a threshold of the wrong type is refused at load, naming the
file, the line and the reason (:func:`lineage.jobs.toml_config.load_toml`), and so is an enabled
signal without its playbook ``jobs/playbooks/<signal>.md``. Per-model overrides live in the
graph (:mod:`lineage.jobs.monitors.overrides`) and are validated by the same models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from lineage.errors import InvalidError, LineageError
from lineage.jobs.toml_config import line_of, load_toml
from lineage.services.playbooks import Playbook, load_playbook, playbook_path

MONITORS_FILE = "monitors.toml"
PLAYBOOKS_DIR = "playbooks"
MONITORS_ACTOR = "pipeline:lineage_monitors"


def _number(value: Any) -> Any:
    # TOML has integers and floats; a threshold written "0.1" (a string) or true is refused.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {value!r}")
    return value


Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
Fraction = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)]
Positive = Annotated[float, BeforeValidator(_number), Field(gt=0)]
Count = Annotated[StrictInt, Field(ge=1)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    """Unknown keys refused; values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalSettings(Strict):
    """What every signal has: whether it runs, how bad it is, its playbook."""

    enabled: StrictBool = True
    severity: Severity = "SEV3"


class NullRate(SignalSettings):
    """Per feature: the share of decisions whose value was missing. Baseline: trailing window."""

    max_increase: Fraction = 0.05  # above the baseline's rate, in absolute points
    max_rate: Fraction = 0.2  # fires at this rate whatever the baseline


class ValueRange(SignalSettings):
    """Per feature: values outside the trailing window's min/max, widened by ``tolerance`` of
    its span (random samples set new extremes now and then)."""

    tolerance: Annotated[float, BeforeValidator(_number), Field(ge=0)] = 0.1


class PredictionShift(SignalSettings):
    """The positive rate (overall, and per segment) and the PSI of the prediction distribution
    against the trailing window."""

    severity: Severity = "SEV2"
    positive: Name = "APPROVED"
    max_rate_change: Fraction = 0.15
    max_psi: Positive = 0.2
    min_z: Positive = 3.0
    # Segment attribute (statistics "approval_rate_by_<segment>") -> the feature it comes from.
    segments: dict[Name, Name] = Field(default_factory=dict)


class OverrideRate(SignalSettings):
    """The share of decisions a person overrode, against the trailing window."""

    max_increase: Fraction = 0.1
    min_z: Positive = 3.0


class LatencyP99(SignalSettings):
    """The batch's p99 latency: above ``max_ms``, or ``max_ratio`` times the window's median."""

    max_ms: Positive = 1_000.0
    max_ratio: Positive = 2.0


class DemographicParity(SignalSettings):
    """Within a batch: each group's positive rate against the best-treated group's (disparate
    impact ratio and gap), for groups with ``min_group_count`` decisions, when the gap is
    significant (``min_z``). ``groups`` maps a group attribute (statistics
    ``approval_rate_by_<attribute>``) to the feature it is derived from."""

    severity: Severity = "SEV1"
    min_disparate_impact: Fraction = 0.8
    min_gap: Fraction = 0.1
    min_z: Positive = 3.0
    min_group_count: Count = 20
    groups: dict[Name, Name] = Field(default_factory=lambda: {"age_band": "age"})


class CustomMetric(Strict):
    """A business metric of one model, read at ``path`` (dotted) in its batches' statistics."""

    model: Name
    name: Name
    path: Name
    min: Annotated[float, BeforeValidator(_number)] | None = None
    max: Annotated[float, BeforeValidator(_number)] | None = None
    max_drop: Fraction | None = None  # relative to the trailing window's mean
    max_rise: Positive | None = None


class BusinessMetric(SignalSettings):
    """The custom business metrics declared per model."""

    metrics: list[CustomMetric] = Field(default_factory=list)


class DecisionVolatility(SignalSettings):
    """The same input (hash of the model's input features, read from the records files)
    receiving different decisions within the batch and the trailing window."""

    severity: Severity = "SEV2"
    decision_field: Name = "decision"
    max_rate: Fraction = 0.05
    min_repeats: Count = 5


class PolicyViolation(SignalSettings):
    """Decisions on inputs outside the model's recorded intended use (``input_bounds``)."""

    severity: Severity = "SEV2"


class Signals(Strict):
    """One table per signal."""

    null_rate: NullRate = NullRate()
    value_range: ValueRange = ValueRange()
    prediction_shift: PredictionShift = PredictionShift()
    override_rate: OverrideRate = OverrideRate()
    latency_p99: LatencyP99 = LatencyP99()
    demographic_parity: DemographicParity = DemographicParity()
    business_metric: BusinessMetric = BusinessMetric()
    decision_volatility: DecisionVolatility = DecisionVolatility()
    policy_violation: PolicyViolation = PolicyViolation()


class BaselineSettings(Strict):
    """The trailing window a batch is compared with: earlier batches of the same model that
    ended by its start, within ``window_days``, at most ``max_batches``; signals that need a
    baseline skip a batch whose window holds fewer than ``min_decisions`` decisions."""

    window_days: Annotated[StrictInt, Field(ge=1, le=365)] = 7
    max_batches: Annotated[StrictInt, Field(ge=1, le=10_000)] = 50
    min_decisions: Annotated[StrictInt, Field(ge=1)] = 50


class RunSettings(Strict):
    """The scheduled run: which batches it looks at (those that started in the last
    ``lookback_days``; all when left out) and the agent it writes as."""

    lookback_days: Annotated[StrictInt, Field(ge=1)] | None = None
    actor: Name = MONITORS_ACTOR


class MonitorsFile(Strict):
    """``jobs/monitors.toml``."""

    run: RunSettings = RunSettings()
    baseline: BaselineSettings = BaselineSettings()
    signals: Signals = Signals()


SIGNALS: tuple[str, ...] = tuple(Signals.model_fields)


@dataclass(frozen=True, slots=True)
class MonitorsConfig:
    """The validated file and the playbook of every enabled signal."""

    settings: MonitorsFile
    playbooks: dict[str, Playbook]
    path: str = ""

    def signal(self, name: str) -> SignalSettings:
        """The settings of signal ``name``."""
        found: SignalSettings = getattr(self.settings.signals, name)
        return found

    def enabled(self) -> list[str]:
        """The enabled signals, in the file's order."""
        return [name for name in SIGNALS if self.signal(name).enabled]


def load_config(jobs_dir: Path | str) -> MonitorsConfig:
    """``<jobs_dir>/monitors.toml`` and ``<jobs_dir>/playbooks/<signal>.md`` for every enabled
    signal; INVALID naming ``path:line`` and the reason otherwise."""
    root = Path(jobs_dir)
    path = root / MONITORS_FILE
    settings = load_toml(path, MonitorsFile)
    text = path.read_text(encoding="utf-8")
    playbooks: dict[str, Playbook] = {}
    for name in SIGNALS:
        if not getattr(settings.signals, name).enabled:
            continue
        where = playbook_path(root / PLAYBOOKS_DIR, name)
        line = line_of(text, ["signals", name])
        if not where.is_file():
            raise InvalidError(
                f"{path}:{line}: signals.{name}: no playbook: {where} does not exist "
                "(every monitor needs one)",
                field=f"signals.{name}",
            )
        try:
            playbooks[name] = load_playbook(where, name)
        except LineageError as exc:
            raise InvalidError(
                f"{path}:{line}: signals.{name}: {exc.message}", field=f"signals.{name}"
            ) from None
    return MonitorsConfig(settings=settings, playbooks=playbooks, path=str(path))


def default_jobs_dir() -> Path:
    """``$LINEAGE_JOBS_DIR``, else ``./jobs`` when it holds the monitors' file, else the
    repository's ``jobs/`` beside the package (a checkout or an editable install)."""
    given = os.environ.get("LINEAGE_JOBS_DIR")
    if given:
        return Path(given)
    here = Path("jobs")
    if (here / MONITORS_FILE).is_file():
        return here
    return Path(__file__).resolve().parents[3] / "jobs"
