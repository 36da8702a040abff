"""The root Mutation: how pipelines register provenance.

Every mutation needs the ``pipeline`` or ``admin`` role, runs the registration service as the
token's principal (the audit chain's actor is never a field of the request), and is idempotent as
the service is: the same input again returns ``created: false``. A conflict, a missing reference
or an invalid field is a GraphQL error with ``extensions.code`` and ``extensions.field`` (a path
into the arguments, e.g. ``input.datasets.0.contentHash``), and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import graphene

from lineage.errors import LineageError
from lineage.graphql import inputs
from lineage.graphql.context import context_of
from lineage.graphql.nodes import (
    DatasetVersion,
    Evaluation,
    FeatureSnapshot,
    InferenceBatch,
    Model,
    ModelVersion,
    Person,
)
from lineage.services.registry import Registration, Registry
from lineage.services.tokens import Role

WRITERS = frozenset({Role.PIPELINE, Role.ADMIN})
_CREATED = "False when this exact registration already existed (an idempotent no-op)."
_AUDIT_SEQ = "The audit log sequence number of the write; null when nothing was written."
_REASON = "Why, for the audit log."


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
        exc.field = f"{argument}.{exc.field}" if exc.field else argument
        for item in exc.details.get("errors", []):
            if isinstance(item, dict) and isinstance(item.get("field"), str):
                item["field"] = f"{argument}.{item['field']}"
        raise


def register(
    info: Any,
    action: str,
    operation: Callable[..., Registration],
    data: Mapping[str, Any],
    reason: str | None,
    defaults: Callable[[str], dict[str, Any]] | None = None,
) -> Registration:
    """Check the caller's role, then run one registration as the caller."""
    context = context_of(info)
    context.require(WRITERS, f"call {action}")
    registry = Registry(context.store, context.records, actor=context.principal.id)
    record = plain(data)
    if defaults is not None:
        record = defaults(context.principal.id) | {k: v for k, v in record.items() if v is not None}
    with input_errors():
        if reason is None:
            return operation(registry, record)
        return operation(registry, record, reason)


def payload(field: str, done: Registration) -> dict[str, Any]:
    """A mutation's answer: the node under ``field``, whether it was created, the audit seq."""
    return {field: done.node, "created": done.created, "audit_seq": done.audit_seq}


class RegisterPerson(graphene.Mutation):  # type: ignore[misc]
    """What registerPerson did."""

    class Meta:
        name = "RegisterPersonPayload"

    class Arguments:
        input = inputs.PersonInput(required=True, description="The person.")
        reason = graphene.String(description=_REASON)

    person = graphene.Field(Person, required=True, description="The registered person.")
    created = graphene.Boolean(required=True, description=_CREATED)
    audit_seq = graphene.Int(description=_AUDIT_SEQ)

    @staticmethod
    def mutate(_root: Any, info: Any, input: Any, reason: str | None = None) -> dict[str, Any]:
        """Register the person."""
        done = register(info, "registerPerson", Registry.register_person, input, reason)
        return payload("person", done)


class RegisterDatasetVersion(graphene.Mutation):  # type: ignore[misc]
    """What registerDatasetVersion did."""

    class Meta:
        name = "RegisterDatasetVersionPayload"

    class Arguments:
        input = inputs.DatasetVersionInput(required=True, description="The dataset version.")
        reason = graphene.String(description=_REASON)

    dataset_version = graphene.Field(
        DatasetVersion, required=True, description="The registered dataset version."
    )
    created = graphene.Boolean(required=True, description=_CREATED)
    audit_seq = graphene.Int(description=_AUDIT_SEQ)

    @staticmethod
    def mutate(_root: Any, info: Any, input: Any, reason: str | None = None) -> dict[str, Any]:
        """Register the dataset version."""
        done = register(
            info, "registerDatasetVersion", Registry.register_dataset_version, input, reason
        )
        return payload("dataset_version", done)


class RegisterFeatureSnapshot(graphene.Mutation):  # type: ignore[misc]
    """What registerFeatureSnapshot did."""

    class Meta:
        name = "RegisterFeatureSnapshotPayload"

    class Arguments:
        input = inputs.FeatureSnapshotInput(required=True, description="The feature snapshot.")
        reason = graphene.String(description=_REASON)

    snapshot = graphene.Field(
        FeatureSnapshot, required=True, description="The registered snapshot."
    )
    created = graphene.Boolean(required=True, description=_CREATED)
    audit_seq = graphene.Int(description=_AUDIT_SEQ)

    @staticmethod
    def mutate(_root: Any, info: Any, input: Any, reason: str | None = None) -> dict[str, Any]:
        """Register the snapshot."""
        done = register(
            info, "registerFeatureSnapshot", Registry.register_feature_snapshot, input, reason
        )
        return payload("snapshot", done)


class RegisterModel(graphene.Mutation):  # type: ignore[misc]
    """What registerModel did."""

    class Meta:
        name = "RegisterModelPayload"

    class Arguments:
        input = inputs.ModelInput(required=True, description="The model and its people.")
        reason = graphene.String(description=_REASON)

    model = graphene.Field(Model, required=True, description="The registered model.")
    created = graphene.Boolean(required=True, description=_CREATED)
    audit_seq = graphene.Int(description=_AUDIT_SEQ)

    @staticmethod
    def mutate(_root: Any, info: Any, input: Any, reason: str | None = None) -> dict[str, Any]:
        """Register the model."""
        done = register(info, "registerModel", Registry.register_model, input, reason)
        return payload("model", done)


class RegisterTrainingRun(graphene.Mutation):  # type: ignore[misc]
    """What registerTrainingRun did."""

    class Meta:
        name = "RegisterTrainingRunPayload"

    class Arguments:
        input = inputs.TrainingRunInput(required=True, description="The training run.")

    model_version = graphene.Field(
        ModelVersion, required=True, description="The model version the run produced."
    )
    created = graphene.Boolean(required=True, description=_CREATED)
    audit_seq = graphene.Int(description=_AUDIT_SEQ)

    @staticmethod
    def mutate(_root: Any, info: Any, input: Any) -> dict[str, Any]:
        """Register the run and its model version; ``triggeredBy`` defaults to the caller."""
        done = register(
            info,
            "registerTrainingRun",
            Registry.register_training_run,
            input,
            None,
            defaults=lambda principal: {"triggered_by": principal},
        )
        return payload("model_version", done)


class RegisterEvaluation(graphene.Mutation):  # type: ignore[misc]
    """What registerEvaluation did."""

    class Meta:
        name = "RegisterEvaluationPayload"

    class Arguments:
        input = inputs.EvaluationInput(required=True, description="The evaluation.")
        reason = graphene.String(description=_REASON)

    evaluation = graphene.Field(Evaluation, required=True, description="The registered evaluation.")
    created = graphene.Boolean(required=True, description=_CREATED)
    audit_seq = graphene.Int(description=_AUDIT_SEQ)

    @staticmethod
    def mutate(_root: Any, info: Any, input: Any, reason: str | None = None) -> dict[str, Any]:
        """Register the evaluation."""
        done = register(info, "registerEvaluation", Registry.register_evaluation, input, reason)
        return payload("evaluation", done)


class RegisterInferenceBatch(graphene.Mutation):  # type: ignore[misc]
    """What registerInferenceBatch did."""

    class Meta:
        name = "RegisterInferenceBatchPayload"

    class Arguments:
        input = inputs.InferenceBatchInput(required=True, description="The batch.")
        reason = graphene.String(description=_REASON)

    batch = graphene.Field(InferenceBatch, required=True, description="The registered batch.")
    created = graphene.Boolean(required=True, description=_CREATED)
    audit_seq = graphene.Int(description=_AUDIT_SEQ)

    @staticmethod
    def mutate(_root: Any, info: Any, input: Any, reason: str | None = None) -> dict[str, Any]:
        """Register the batch; inline records go to the record store first."""
        done = register(
            info, "registerInferenceBatch", Registry.register_inference_batch, input, reason
        )
        return payload("batch", done)


class Mutation(graphene.ObjectType):  # type: ignore[misc]
    """Registrations for pipelines. Each needs the pipeline or admin role, is idempotent, and
    writes nothing when it fails."""

    register_person = RegisterPerson.Field(
        description="Register a person (owner, approver, engineer)."
    )
    register_dataset_version = RegisterDatasetVersion.Field(
        description="Register an immutable, content-addressed dataset version. The same ID with "
        "the same hash is a no-op; with another hash it is a CONFLICT."
    )
    register_feature_snapshot = RegisterFeatureSnapshot.Field(
        description="Register a feature snapshot over registered dataset versions."
    )
    register_model = RegisterModel.Field(
        description="Register a model with its owner, technical steward and risk approver."
    )
    register_training_run = RegisterTrainingRun.Field(
        description="Register a training run; datasets are bound by exact hash. Returns the "
        "model version it produced."
    )
    register_evaluation = RegisterEvaluation.Field(
        description="Register the metrics of a model version."
    )
    register_inference_batch = RegisterInferenceBatch.Field(
        description="Register a window of decisions, with the records inline or by the hash of "
        "a file uploaded with `POST /records`."
    )
