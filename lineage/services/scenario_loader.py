"""Loading the reference scenario: ``load_scenario`` registers the story of
:mod:`lineage.services.scenario` through the ordinary registration and governance services, so
it is idempotent (a second load changes nothing) and exercises exactly the paths pipelines use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lineage.services.batch_hooks import BatchHook, after_batch
from lineage.services.governance.deployment import Deployments
from lineage.services.governance.scenario_steps import (
    FALLBACK_DEFAULT,
    FALLBACK_RULES,
    FALLBACK_RULES_ID,
    MODEL_SCOPING,
    governance_steps,
    run_step,
)
from lineage.services.governance.scenario_steps import Step as GovernanceStep
from lineage.services.registry import Registry
from lineage.services.scenario import (
    DEPLOYMENT,
    DEPLOYS,
    FALLBACK_LINKED_AT,
    INCIDENT_ID,
    INPUT_BOUNDS,
    MODEL,
    OPERATOR,
    ROLLBACK_AT,
    inference_batches,
    instant,
    registrations,
)
from lineage.services.write_plan import Registration

Action = Callable[[Registry], object]


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step of the scenario did: ``created`` is False when it was already there."""

    label: str
    created: bool
    result: object


def _register(operation: str, data: dict[str, Any], governed: bool) -> Action:
    if operation == "register_model" and governed:
        data = data | MODEL_SCOPING | {"input_bounds": INPUT_BOUNDS}
    return lambda registry: getattr(registry, operation)(data)


def _batch(data: dict[str, Any], monitors: BatchHook) -> Action:
    """Register a batch, then run the monitors on it as of its window's end: the detection
    instant of this historical data."""

    def register(registry: Registry) -> object:
        done: Registration = registry.register_inference_batch(data)
        after_batch([monitors], registry.store, registry.records, done, now=data["window_end"])
        return done

    return register


def _deployments(registry: Registry) -> Deployments:
    return Deployments(registry.store, registry.records, OPERATOR)


def _deploy(version: str, at: str, reason: str) -> Action:
    model_version = f"{MODEL}@{version}"
    return lambda r: _deployments(r).deploy(model_version, DEPLOYMENT, reason, at=instant(at))


def _rollback(version: str, at: str, reason: str) -> Action:
    model_version = f"{MODEL}@{version}"
    return lambda r: _deployments(r).rollback(
        DEPLOYMENT, reason, to_version=model_version, incident=INCIDENT_ID, at=instant(at)
    )


def _fallback_rules(registry: Registry) -> object:
    return _deployments(registry).register_fallback_rules(
        FALLBACK_RULES_ID,
        MODEL,
        FALLBACK_RULES,
        FALLBACK_DEFAULT,
        description="The credit policy's manual rules, for the kill switch",
        created_at=instant("2024-01-02T00:00:00"),
    )


def _link_rules(registry: Registry) -> object:
    return _deployments(registry).set_fallback_rules(
        DEPLOYMENT,
        FALLBACK_RULES_ID,
        "the credit policy's manual rules",
        at=instant(FALLBACK_LINKED_AT),
    )


def _governance(step: GovernanceStep) -> Action:
    return lambda r: run_step(r.store, r.records, r.actor, step)


def _steps(governed: bool, monitors: BatchHook) -> Iterator[tuple[str, Action]]:
    """(label, action) in order. Governed: the model is scoped, its versions audited, gated and
    signed off, then deployed through the gates and rolled back with the incident linked.
    Otherwise the story as bare history: an unscoped model, deployments backfilled.

    The batches up to the rollback are registered before it, each judged by the monitors as it
    lands, so the incident the rollback answers is the one the monitors opened."""
    for operation, label, data in registrations():
        yield label, _register(operation, data, governed)
    if governed:
        yield FALLBACK_RULES_ID, _fallback_rules
        for step in governance_steps():
            yield step[2], _governance(step)
    batches = list(inference_batches())
    for version, at, reason in DEPLOYS:
        if at.startswith(ROLLBACK_AT):
            for _operation, label, data in batches:
                if data["window_end"] <= instant(ROLLBACK_AT):
                    yield label, _batch(data, monitors)
        if not governed:
            record = {
                "deployment": DEPLOYMENT,
                "model_version": f"{MODEL}@{version}",
                "at": instant(at),
                "reason": reason,
            }
            yield f"{version}@{at}", _register("backfill_deploy", record, governed)
        elif at.startswith(ROLLBACK_AT):
            yield f"rollback to {version}@{at}", _rollback(version, at, reason)
        else:
            yield f"{version}@{at}", _deploy(version, at, reason)
        if governed and at == DEPLOYS[0][1]:
            yield "fallback rules linked", _link_rules
    for _operation, label, data in batches:
        if data["window_end"] > instant(ROLLBACK_AT):
            yield label, _batch(data, monitors)


def _no_monitors(_store: object, _records: object, _batch: object, _now: object) -> None:
    return None


def _default_monitors() -> BatchHook:
    # Imported here: the monitors are a job over the services, and the story is told by the
    # services; only loading it with the monitors running ties the two together.
    from lineage.jobs.monitors import hook_from

    return hook_from()


def scenario_size(governed: bool = True) -> int:
    """How many steps the scenario takes (for progress bars)."""
    return sum(1 for _ in _steps(governed, _no_monitors))


def load_scenario(
    registry: Registry,
    progress: Callable[[str, StepResult], None] | None = None,
    *,
    governed: bool = True,
    monitors: BatchHook | None = None,
) -> list[StepResult]:
    """Load the whole story as ``registry``'s actor (deployments as the operator, sign-offs as
    their approvers); idempotent: a second load changes nothing.

    ``governed=False`` loads the history without governance (an unscoped model, deployments
    backfilled), for tests of what governance adds. ``monitors`` judges each batch as it is
    registered (default: the monitors of ``jobs/monitors.toml``); the governed rollback needs
    the incident they open on v13's first batch.
    """
    hook = monitors if monitors is not None else _default_monitors()
    done = []
    for label, action in _steps(governed, hook):
        result = action(registry)
        step = StepResult(label, bool(getattr(result, "created", False)), result)
        done.append(step)
        if progress is not None:
            progress(label, step)
    return done
