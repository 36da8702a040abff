"""GraphQL input types: the registration records of :mod:`lineage.model.records`, camelCased.

The records validate; these types only shape the input (a test keeps both field sets equal).
:func:`plain` hands an input to a record, :func:`input_errors` makes the fields of the record's
errors paths into the mutation's arguments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import graphene

from lineage.errors import ErrorCode, LineageError
from lineage.graphql.scalars import JSON, BigInt, DateTime


def plain(value: Any) -> Any:
    """Graphene's input containers as plain dicts and lists, for the pydantic records."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


@contextmanager
def input_errors(argument: str = "input") -> Iterator[None]:
    """Make a service error's field a path into the mutation's arguments."""
    try:
        yield
    except LineageError as exc:
        if exc.code is ErrorCode.UNAVAILABLE:
            raise  # a store fault: its field names the store, not an argument
        exc.field = f"{argument}.{exc.field}" if exc.field else argument
        for item in exc.details.get("errors", []):
            if isinstance(item, dict) and isinstance(item.get("field"), str):
                item["field"] = f"{argument}.{item['field']}"
        raise


class PersonInput(graphene.InputObjectType):  # type: ignore[misc]
    """A person who owns, approves, trains or investigates."""

    id = graphene.ID(required=True, description="`person:<name>`.")
    name = graphene.String(required=True, description="Display name.")
    email = graphene.String(description="Email address.")
    title = graphene.String(description="Job title.")
    manager = graphene.ID(description="The Person they act on behalf of.")
    since = DateTime(description="Since when (default: now).")


class DatasetVersionInput(graphene.InputObjectType):  # type: ignore[misc]
    """An immutable, content-addressed dataset version."""

    id = graphene.ID(required=True, description="`dataset:<name>@<version>`.")
    content_hash = graphene.String(
        required=True, description="SHA-256 of the content (`lineage hash PATH` computes it)."
    )
    record_count = BigInt(required=True, description="How many records it holds.")
    created_at = DateTime(required=True, description="When the version was created.")
    uri = graphene.String(description="Where the content is stored.")
    description = graphene.String(description="Free text.")
    retention_class = graphene.String(
        description="Retention class, a name of `jobs/retention.toml` (`regulated`: 7 years, "
        "`standard`: 2 years); what is derived from the version keeps the strictest class."
    )
    consent_basis = graphene.String(
        description="Lawful basis of processing (GDPR art. 6): `consent`, `contract`, "
        "`legal_obligation`, `vital_interests`, `public_task` or `legitimate_interests`."
    )
    sensitivity = graphene.String(
        description="`public`, `internal`, `confidential`, `personal` or `special_category` "
        "(GDPR art. 9 data)."
    )


class FeatureSnapshotInput(graphene.InputObjectType):  # type: ignore[misc]
    """A content-addressed set of computed features over registered dataset versions."""

    id = graphene.ID(required=True, description="`snapshot:<name>`.")
    features = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Feature names (`credit_score`) or IDs (`feature:credit_score`).",
    )
    sources = graphene.List(
        graphene.NonNull(graphene.ID),
        required=True,
        description="The registered DatasetVersions it was computed from.",
    )
    content_hash = graphene.String(required=True, description="SHA-256 of the snapshot.")
    computed_by = graphene.String(required=True, description="What computed it, e.g. `feast v3.1`.")
    created_at = DateTime(required=True, description="When it was computed.")
    record_count = BigInt(description="How many rows it holds.")


class RiskThresholdsInput(graphene.InputObjectType):  # type: ignore[misc]
    """The risk gate's limits for a model's versions; one left out takes the default."""

    min_disparate_impact = graphene.Float(
        description="Lowest group approval rate / highest, at least this (default 0.80)."
    )
    max_rate_gap = graphene.Float(
        description="Largest gap between group approval rates, below this (default 0.05)."
    )


class ModelInput(graphene.InputObjectType):  # type: ignore[misc]
    """A model, the people accountable for it, and its scoping facts (a model registered
    without them is unscoped: its risk tier cannot be computed and none of its versions may be
    deployed until a correction scopes it)."""

    id = graphene.ID(required=True, description="`model:<name>`.")
    description = graphene.String(description="Free text.")
    owner = graphene.ID(required=True, description="The owning Person.")
    technical_steward = graphene.ID(required=True, description="The technical steward (Person).")
    risk_approver = graphene.ID(
        required=True, description="The independent risk approver (a Person, not the owner)."
    )
    intended_use = graphene.String(
        description="What it is for, e.g. `credit approval for applicants aged 18-75`."
    )
    scope = graphene.String(description="Where it applies, e.g. `US applicants only`.")
    assumptions = graphene.List(
        graphene.NonNull(graphene.String), description="Its documented assumptions."
    )
    forbidden_features = graphene.List(
        graphene.NonNull(graphene.String),
        description="Features or proxies it must not use, e.g. `zip_code` (the risk gate checks "
        "the training snapshot).",
    )
    automation_level = graphene.String(
        description="`autonomous` or `human_in_the_loop` (a fact the risk tier is computed from)."
    )
    affected_population = BigInt(description="How many people its decisions affect.")
    reversibility = graphene.String(description="`easy` or `permanent`: can a decision be undone.")
    performance_thresholds = JSON(
        description="Metric name to the minimum every evaluation must reach, e.g. {auc: 0.85}."
    )
    risk_thresholds = graphene.InputField(
        RiskThresholdsInput, description="The risk gate's limits (defaults 0.80 and 0.05)."
    )
    input_bounds = JSON(
        description="Input name to the values its intended use covers, e.g. {age: {min: 18, "
        "max: 75}}: the policy monitor flags decisions outside them."
    )
    since = DateTime(description="Since when the roles hold (default: now).")


class DataBindingInput(graphene.InputObjectType):  # type: ignore[misc]
    """A training input bound by exact content hash."""

    id = graphene.ID(required=True, description="A registered DatasetVersion.")
    content_hash = graphene.String(
        required=True, description="The hash training read; must equal the registered one."
    )


class TrainingRunInput(graphene.InputObjectType):  # type: ignore[misc]
    """A training run and the model version it produced."""

    id = graphene.ID(required=True, description="`run:<name>`.")
    model_version = graphene.ID(
        required=True, description="The version it produced, `model:<name>@<version>`."
    )
    snapshot = graphene.ID(required=True, description="The FeatureSnapshot it trained on.")
    datasets = graphene.List(
        graphene.NonNull(DataBindingInput),
        required=True,
        description="The source dataset versions, bound by hash.",
    )
    code_commit = graphene.String(required=True, description="Git commit of the training code.")
    parameters = JSON(description="Hyper-parameters.")
    split = JSON(description="Fractions adding up to 1, e.g. {train: 0.8, test: 0.2}.")
    seed = graphene.Int(description="Random seed.")
    records_available = BigInt(required=True, description="Records available.")
    records_used = BigInt(required=True, description="Records used.")
    triggered_by = graphene.ID(
        description="The Person or Pipeline that ran it (default: the caller)."
    )
    reason = graphene.String(required=True, description="Why it ran.")
    artifact_hash = graphene.String(
        description="SHA-256 of the model artifact it produced; approvals bind it."
    )
    started_at = DateTime(required=True, description="When it started.")
    ended_at = DateTime(required=True, description="When it ended.")


class EvaluationInput(graphene.InputObjectType):  # type: ignore[misc]
    """Metrics of a model version on some data."""

    id = graphene.ID(required=True, description="`evaluation:<name>`.")
    model_version = graphene.ID(required=True, description="The evaluated ModelVersion.")
    metrics = JSON(required=True, description="Metric name to finite number.")
    evaluated_at = DateTime(required=True, description="When.")
    dataset = graphene.ID(description="The DatasetVersion evaluated on.")
    evaluator = graphene.ID(description="The Person or Pipeline that evaluated.")
    notes = graphene.String(description="Free text.")


class InferenceBatchInput(graphene.InputObjectType):  # type: ignore[misc]
    """A window of decisions; give `records` inline or the `recordsHash` of an uploaded file."""

    id = graphene.ID(required=True, description="`batch:<name>`.")
    model_version = graphene.ID(required=True, description="The ModelVersion that decided.")
    snapshot = graphene.ID(required=True, description="The FeatureSnapshot it used.")
    window_start = DateTime(required=True, description="Start of the window.")
    window_end = DateTime(required=True, description="End of the window (exclusive).")
    record_count = BigInt(required=True, description="How many decisions.")
    counts = JSON(description="Decisions per outcome, e.g. {APPROVED: 11, DECLINED: 13}.")
    statistics = JSON(description="Summary statistics (null rates, ranges, rates by group...).")
    records_hash = graphene.String(
        description="SHA-256 of a records file already uploaded with `POST /records`."
    )
    records = graphene.List(
        graphene.NonNull(JSON), description="The decisions inline, one JSON object each."
    )
    deployment = graphene.ID(description="The Deployment that served it.")
    skew_reason = graphene.String(
        description="Why the batch was scored with another feature snapshot than its model "
        "version was trained on (1 to 2,000 characters). Required for such a batch, refused "
        "for one that uses the trained snapshot; recorded on the batch as `snapshot_skew`."
    )


class StressTestInput(graphene.InputObjectType):  # type: ignore[misc]
    """A stress test run for a bias audit."""

    name = graphene.String(required=True, description="The test.")
    passed = graphene.Boolean(required=True, description="Whether the model passed it.")
    result = graphene.String(description="What it found.")


class BiasAuditInput(graphene.InputObjectType):  # type: ignore[misc]
    """A bias audit of a model version: decisions and approvals counted per group (the risk gate
    computes the rates and ratios; they are never typed in)."""

    id = graphene.ID(required=True, description="`risk:<name>`.")
    model_version = graphene.ID(required=True, description="The audited ModelVersion.")
    group_attribute = graphene.String(required=True, description="e.g. `age_band`.")
    counts = JSON(
        required=True,
        description="Group to {decisions, approved}, e.g. {\"65+\": {decisions: 250, approved: "
        "120}}.",
    )
    human_override_path = graphene.String(
        description="How a person overrides a decision (the risk gate requires one)."
    )
    stress_tests = graphene.List(
        graphene.NonNull(StressTestInput), description="Stress tests run (at least one passed)."
    )
    audited_at = DateTime(required=True, description="When.")
    auditor = graphene.ID(required=True, description="The Person or Pipeline that audited.")
    dataset = graphene.ID(description="The DatasetVersion audited on.")
    notes = graphene.String(description="Free text.")
