"""Stable node IDs: ``kind:name`` and ``kind:name@version``.

The prefix names the kind (``dataset``, ``model``, ``snapshot`` ...); a version suffix turns the
versioned kinds into their version node (``dataset:applications@v2`` is a DatasetVersion,
``dataset:applications`` the Dataset it specialises).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lineage.errors import InvalidError, shown
from lineage.model.graph import NodeKind

_PART = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}"
_ID = re.compile(rf"^(?P<prefix>[a-z][a-z_]{{0,31}}):(?P<name>{_PART})(?:@(?P<version>{_PART}))?$")

# prefix -> (kind without a version, kind with one); None where that form is not allowed.
PREFIXES: dict[str, tuple[NodeKind | None, NodeKind | None]] = {
    "dataset": (NodeKind.DATASET, NodeKind.DATASET_VERSION),
    "model": (NodeKind.MODEL, NodeKind.MODEL_VERSION),
    "feature": (NodeKind.FEATURE, None),
    "snapshot": (NodeKind.FEATURE_SNAPSHOT, None),
    "run": (NodeKind.TRAINING_RUN, None),
    "evaluation": (NodeKind.EVALUATION, None),
    "risk": (NodeKind.RISK_ASSESSMENT, None),
    "approval": (NodeKind.APPROVAL, None),
    "person": (NodeKind.PERSON, None),
    "pipeline": (NodeKind.PIPELINE, None),
    "deployment": (NodeKind.DEPLOYMENT, None),
    "batch": (NodeKind.INFERENCE_BATCH, None),
    "incident": (NodeKind.INCIDENT, None),
    "monitor": (NodeKind.MONITOR, None),
    "drill": (NodeKind.DRILL, None),
    "playbook": (NodeKind.PLAYBOOK, None),
    "credential": (NodeKind.CREDENTIAL, None),
    "correction": (NodeKind.CORRECTION, None),
    "rules": (NodeKind.DECISION_RULES, None),
    "gate": (NodeKind.GATE_RESULT, None),
    "tombstone": (NodeKind.TOMBSTONE, None),
    "hold": (NodeKind.LEGAL_HOLD, None),
    "erasure": (NodeKind.ERASURE, None),
    "jobrun": (NodeKind.JOB_RUN, None),
    "job": (NodeKind.JOB, None),
    "pipelinerun": (NodeKind.PIPELINE_RUN, None),
    "column": (NodeKind.COLUMN, None),
}
PREFIX_OF: dict[NodeKind, str] = {
    kind: prefix for prefix, kinds in PREFIXES.items() for kind in kinds if kind is not None
}


@dataclass(frozen=True, slots=True)
class NodeId:
    """A parsed node ID."""

    prefix: str
    name: str
    version: str | None
    kind: NodeKind

    def __str__(self) -> str:
        return f"{self.prefix}:{self.name}" + (f"@{self.version}" if self.version else "")

    @property
    def unversioned(self) -> str:
        """The ID without its version: the Dataset of a DatasetVersion, the Model of a version."""
        return f"{self.prefix}:{self.name}"


def parse_id(value: str, field: str = "id") -> NodeId:
    """Parse and validate an ID, raising INVALID that names ``field`` and the reason."""
    if not isinstance(value, str):
        raise InvalidError("ID must be a string", field=field)
    match = _ID.match(value)
    if match is None:
        raise InvalidError(
            f"{shown(value)} is not a node ID of the form kind:name or kind:name@version "
            "(kind: at most 32 lowercase letters or '_'; name and version: letters, digits, "
            "'_', '.', '-', at most 200 characters each)",
            field=field,
        )
    prefix, name, version = match["prefix"], match["name"], match["version"]
    if prefix not in PREFIXES:
        known = ", ".join(sorted(PREFIXES))
        raise InvalidError(f"unknown ID kind {prefix!r}; known kinds: {known}", field=field)
    plain, versioned = PREFIXES[prefix]
    kind = versioned if version is not None else plain
    if kind is None:
        form = "must carry" if version is None else "cannot carry"
        raise InvalidError(f"a {prefix!r} ID {form} an @version", field=field)
    return NodeId(prefix=prefix, name=name, version=version, kind=kind)


def kind_of(value: str, field: str = "id") -> NodeKind:
    """The node kind an ID denotes."""
    return parse_id(value, field).kind


def make_id(kind: NodeKind, name: str, version: str | None = None) -> str:
    """Build (and validate) the ID of a node of ``kind``."""
    built = f"{PREFIX_OF[kind]}:{name}" + (f"@{version}" if version is not None else "")
    if parse_id(built).kind is not kind:
        raise InvalidError(f"{built!r} does not denote a {kind.value}", field="id")
    return built


def require_kind(value: str, field: str, *kinds: NodeKind) -> NodeId:
    """Parse ``value`` and insist it denotes one of ``kinds``."""
    parsed = parse_id(value, field)
    if parsed.kind not in kinds:
        wanted = " or ".join(k.value for k in kinds)
        raise InvalidError(
            f"{shown(value)} is a {parsed.kind.value}, expected {wanted}", field=field
        )
    return parsed
