"""The root Mutation: how pipelines register provenance, and correct what got in wrong.

Every mutation needs the ``pipeline`` or ``admin`` role, runs the registration service as the
token's principal (the audit chain's actor is never a field of the request), and is idempotent as
the service is: the same input again returns ``created: false``. A conflict, a missing reference
or an invalid field is a GraphQL error with ``extensions.code`` and ``extensions.field`` (a path
into the arguments, e.g. ``input.datasets.0.contentHash``), and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case, to_snake_case

from lineage.errors import InvalidError
from lineage.graphql import inputs
from lineage.graphql.context import WRITERS, context_of
from lineage.graphql.deployments import DeploymentMutation
from lineage.graphql.exports import ExportsMutation
from lineage.graphql.governance import GovernanceMutation
from lineage.graphql.incidents import IncidentsMutation
from lineage.graphql.inputs import input_errors, plain
from lineage.graphql.node_records import Correction, Incident
from lineage.graphql.nodes import (
    DatasetVersion,
    Evaluation,
    FeatureSnapshot,
    InferenceBatch,
    Model,
    ModelVersion,
    Node,
    Person,
    Pipeline,
)
from lineage.graphql.registrations import AssignRole, IncidentInput, PipelineInput
from lineage.graphql.scalars import JSON
from lineage.services.batch_hooks import after_batch
from lineage.services.corrections import Corrections
from lineage.services.registry import Registry
from lineage.services.write_plan import Registration

_CREATED = "False when this exact registration already existed (an idempotent no-op)."
_AUDIT_SEQ = "The audit log sequence number of the write; null when nothing was written."
_REASON = "Why, for the audit log."


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


def registration(
    name: str,
    operation: Callable[..., Registration],
    input_type: type[Any],
    input_description: str,
    node_field: str,
    node_type: type[Any],
    node_description: str,
    *,
    with_reason: bool = True,
    defaults: Callable[[str], dict[str, Any]] | None = None,
    after: Callable[[Any, Registration], None] | None = None,
) -> type[Any]:
    """One register* mutation: ``input`` (and ``reason``) in; the node, ``created`` and
    ``auditSeq`` out. Built by a function because they differ only in these parameters."""
    arguments: dict[str, Any] = {"input": input_type(required=True, description=input_description)}
    if with_reason:
        arguments["reason"] = graphene.String(description=_REASON)

    def mutate(_root: Any, info: Any, input: Any, reason: str | None = None) -> dict[str, Any]:
        done = register(info, name, operation, input, reason, defaults=defaults)
        if after is not None:
            after(info, done)
        return payload(node_field, done)

    payload_name = name[0].upper() + name[1:]
    return type(
        payload_name,
        (graphene.Mutation,),
        {
            "__doc__": f"What {name} did.",
            "Meta": type("Meta", (), {"name": f"{payload_name}Payload"}),
            "Arguments": type("Arguments", (), arguments),
            node_field: graphene.Field(node_type, required=True, description=node_description),
            "created": graphene.Boolean(required=True, description=_CREATED),
            "audit_seq": graphene.Int(description=_AUDIT_SEQ),
            "mutate": staticmethod(mutate),
        },
    )


RegisterPerson = registration(
    "registerPerson",
    Registry.register_person,
    inputs.PersonInput,
    "The person.",
    "person",
    Person,
    "The registered person.",
)
RegisterPipeline = registration(
    "registerPipeline",
    Registry.register_pipeline,
    PipelineInput,
    "The pipeline.",
    "pipeline",
    Pipeline,
    "The registered pipeline.",
)
RegisterIncident = registration(
    "registerIncident",
    Registry.register_incident,
    IncidentInput,
    "The incident and what it affected.",
    "incident",
    Incident,
    "The registered incident (status `open`).",
)
RegisterDatasetVersion = registration(
    "registerDatasetVersion",
    Registry.register_dataset_version,
    inputs.DatasetVersionInput,
    "The dataset version.",
    "dataset_version",
    DatasetVersion,
    "The registered dataset version.",
)
RegisterFeatureSnapshot = registration(
    "registerFeatureSnapshot",
    Registry.register_feature_snapshot,
    inputs.FeatureSnapshotInput,
    "The feature snapshot.",
    "snapshot",
    FeatureSnapshot,
    "The registered snapshot.",
)
RegisterModel = registration(
    "registerModel",
    Registry.register_model,
    inputs.ModelInput,
    "The model and its people.",
    "model",
    Model,
    "The registered model.",
)
# triggeredBy defaults to the caller; the run's own ``reason`` field is its audit reason.
RegisterTrainingRun = registration(
    "registerTrainingRun",
    Registry.register_training_run,
    inputs.TrainingRunInput,
    "The training run.",
    "model_version",
    ModelVersion,
    "The model version the run produced.",
    with_reason=False,
    defaults=lambda principal: {"triggered_by": principal},
)
RegisterEvaluation = registration(
    "registerEvaluation",
    Registry.register_evaluation,
    inputs.EvaluationInput,
    "The evaluation.",
    "evaluation",
    Evaluation,
    "The registered evaluation.",
)
def run_batch_hooks(info: Any, done: Registration) -> None:
    """Hand a registered batch to the app's batch hooks (the monitors) once it has committed;
    a hook never fails the registration (lineage.services.batch_hooks)."""
    context = context_of(info)
    after_batch(context.after_batch, context.store, context.records, done)


# Inline records go to the record store before the batch is registered.
RegisterInferenceBatch = registration(
    "registerInferenceBatch",
    Registry.register_inference_batch,
    inputs.InferenceBatchInput,
    "The batch.",
    "batch",
    InferenceBatch,
    "The registered batch.",
    after=run_batch_hooks,
)


def service_fields(changes: Any) -> dict[str, Any]:
    """A correction's fields, spelled by the API (``recordsUsed``), as the service spells them
    (``records_used``); INVALID naming the field for any other spelling."""
    if not isinstance(changes, Mapping):
        raise InvalidError(
            "must be an object of fields and their corrected values", field="changes"
        )
    fields: dict[str, Any] = {}
    for name, value in changes.items():
        snake = to_snake_case(name)
        if to_camel_case(snake) != name:
            raise InvalidError(
                f"spell fields as the node type does: {to_camel_case(snake)}",
                field=f"changes.{name}",
            )
        fields[snake] = value
    return fields


class CorrectNode(graphene.Mutation):  # type: ignore[misc]
    """What correctNode did."""

    class Meta:
        name = "CorrectNodePayload"

    class Arguments:
        target = graphene.ID(
            required=True, description="The node to correct, e.g. `dataset:applications@v2`."
        )
        changes = JSON(
            required=True,
            description="The corrected fields, spelled as the node type spells them, and their "
            'values, e.g. `{"uri": "s3://..."}`; null removes a field. Fields that define what '
            "was registered (IDs, hashes, inputs, times) cannot be corrected.",
        )
        reason = graphene.String(
            required=True, description="Why, for the audit log and every reader of the fact."
        )

    correction = graphene.Field(
        Correction,
        required=True,
        description="The correction recorded (for an idempotent repeat, the one repeated).",
    )
    node = graphene.Field(Node, required=True, description="The node as corrected now.")
    created = graphene.Boolean(
        required=True, description="False when this repeated the latest correction exactly."
    )
    audit_seq = graphene.Int(description=_AUDIT_SEQ)

    @staticmethod
    def mutate(_root: Any, info: Any, target: str, changes: Any, reason: str) -> dict[str, Any]:
        """Correct the node as the caller."""
        context = context_of(info)
        context.require(WRITERS, "call correctNode")
        service = Corrections(context.store, context.records, actor=context.principal.id)
        done = service.correct(target, service_fields(changes), reason)
        return {
            "correction": done.correction,
            "node": done.node,
            "created": done.created,
            "audit_seq": done.audit_seq,
        }


class Mutation(GovernanceMutation, DeploymentMutation, IncidentsMutation, ExportsMutation):
    """Registrations for pipelines, and corrections of what got in wrong. Each needs the
    pipeline or admin role, is idempotent, and writes nothing when it fails."""

    register_person = RegisterPerson.Field(
        description="Register a person (owner, approver, engineer)."
    )
    register_pipeline = RegisterPipeline.Field(
        description="Register an automated agent (a training, feature or inference job) and the "
        "person it acts on behalf of."
    )
    register_incident = RegisterIncident.Field(
        description="Record an incident opened by hand and the registered nodes it affected "
        "(monitors open theirs themselves)."
    )
    assign_role = AssignRole.Field(
        description="Hand a model's owner, technical steward or risk approver role to another "
        "person from an instant, closing the current holder's term. The risk approver cannot "
        "be the owner. Repeating it is a no-op."
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
    correct_node = CorrectNode.Field(
        description="Correct a registered node without rewriting it: records who, when, why "
        "and what changed, linked to the node. Questions answer with the corrected facts; asked "
        "`asOf` an earlier instant, as the graph stood then. Repeating the latest correction "
        "exactly is a no-op."
    )
