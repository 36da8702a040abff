"""Replay a generated graph through the registration services, one audited record at a time.

The generator gives its nodes the properties the services would have given them, so each node
(and each ``SERVED`` edge, which is a deployment) maps back to the record a pipeline would send.
Nodes the services create on the side (datasets, features, model versions, deployments) and the
edges they draw are not sent: the services make them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.model.times import from_text

Call = tuple[str, dict[str, Any]]  # (Registry method, input)


def registration_calls(
    items: Iterable[Node | Edge], records_hash: str, record_count: int
) -> Iterator[Call]:
    """The Registry calls that build the graph of ``items``.

    Inference batches point at one records file already in the record store (``records_hash``
    with ``record_count`` decisions), since the services check the file exists and the count.
    """
    for item in items:
        if isinstance(item, Edge):
            if item.kind is EdgeKind.SERVED:
                yield (
                    "backfill_deploy",
                    {
                        "deployment": item.src,
                        "model_version": item.dst,
                        "at": item.valid_from,
                        "reason": str(item.props.get("reason", "release")),
                    },
                )
            continue
        call = _call_for(item, records_hash, record_count)
        if call is not None:
            yield call


def _call_for(node: Node, records_hash: str, record_count: int) -> Call | None:
    props = node.props
    match node.kind:
        case NodeKind.PERSON:
            return "register_person", {
                "id": node.id,
                "name": props["name"],
                "title": props.get("title"),
                "manager": props.get("manager"),
                "since": node.valid_from,
            }
        case NodeKind.PIPELINE:
            return "register_pipeline", {
                "id": node.id,
                "name": props["name"],
                "owner": props.get("owner"),
                "since": node.valid_from,
            }
        case NodeKind.DATASET_VERSION:
            return "register_dataset_version", {
                "id": node.id,
                "content_hash": props["content_hash"],
                "record_count": props["record_count"],
                "uri": props["uri"],
                "created_at": node.valid_from,
            }
        case NodeKind.FEATURE_SNAPSHOT:
            return "register_feature_snapshot", {
                "id": node.id,
                "features": props["features"],
                "sources": props["sources"],
                "content_hash": props["content_hash"],
                "computed_by": props["computed_by"],
                "record_count": props["record_count"],
                "created_at": node.valid_from,
            }
        case NodeKind.MODEL:
            return "register_model", {
                "id": node.id,
                "description": props["description"],
                "owner": props["owner"],
                "technical_steward": props["technical_steward"],
                "risk_approver": props["risk_approver"],
                "since": node.valid_from,
            }
        case NodeKind.TRAINING_RUN:
            fields = (
                "model_version",
                "snapshot",
                "code_commit",
                "parameters",
                "split",
                "seed",
                "records_available",
                "records_used",
                "triggered_by",
                "reason",
            )
            return "register_training_run", {
                "id": node.id,
                **{name: props[name] for name in fields},
                "datasets": [{"id": i, "content_hash": h} for i, h in props["datasets"].items()],
                "started_at": node.valid_from,
                "ended_at": from_text(props["ended_at"]),
            }
        case NodeKind.EVALUATION:
            return "register_evaluation", {
                "id": node.id,
                "model_version": props["model_version"],
                "metrics": props["metrics"],
                "evaluator": props.get("evaluator"),
                "evaluated_at": node.valid_from,
            }
        case NodeKind.INFERENCE_BATCH:
            approved = record_count // 2
            return "register_inference_batch", {
                "id": node.id,
                "model_version": props["model_version"],
                "snapshot": props["snapshot"],
                "window_start": node.valid_from,
                "window_end": from_text(props["window_end"]),
                "record_count": record_count,
                "counts": {"APPROVED": approved, "DECLINED": record_count - approved},
                "statistics": props["statistics"],
                "records_hash": records_hash,
                "deployment": props.get("deployment"),
            }
        case _:
            return None  # made by the services as a side effect
