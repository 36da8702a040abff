"""Node and edge kinds (W3C PROV shaped) and the store-level graph values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from lineage.errors import InvalidError, shown
from lineage.model.canonical import canonical_json, json_string, sha256_text
from lineage.model.times import require_aware, to_text


class ProvClass(StrEnum):
    """The W3C PROV class a node kind maps to."""

    ENTITY = "prov:Entity"
    ACTIVITY = "prov:Activity"
    AGENT = "prov:Agent"


class NodeKind(StrEnum):
    """Every kind of node; the value doubles as the Neo4j label."""

    DATASET = "Dataset"
    DATASET_VERSION = "DatasetVersion"
    FEATURE = "Feature"
    FEATURE_SNAPSHOT = "FeatureSnapshot"
    TRAINING_RUN = "TrainingRun"
    MODEL = "Model"
    MODEL_VERSION = "ModelVersion"
    EVALUATION = "Evaluation"
    RISK_ASSESSMENT = "RiskAssessment"
    APPROVAL = "Approval"
    PERSON = "Person"
    PIPELINE = "Pipeline"
    DEPLOYMENT = "Deployment"
    INFERENCE_BATCH = "InferenceBatch"
    INCIDENT = "Incident"
    MONITOR = "Monitor"
    DRILL = "Drill"
    PLAYBOOK = "Playbook"
    CREDENTIAL = "Credential"
    CORRECTION = "Correction"
    DECISION_RULES = "DecisionRules"
    GATE_RESULT = "GateResult"
    TOMBSTONE = "Tombstone"
    LEGAL_HOLD = "LegalHold"
    ERASURE = "Erasure"
    JOB_RUN = "JobRun"
    # OpenLineage (lineage.openlineage): a job is a PROV Plan, its runs activities, and the
    # columns of a dataset entities that column lineage connects.
    JOB = "Job"
    PIPELINE_RUN = "PipelineRun"
    COLUMN = "Column"

    @property
    def prov(self) -> ProvClass:
        """The PROV class of this kind."""
        return _PROV_CLASS[self]

    @classmethod
    def parse(cls, value: str, field: str = "kind") -> NodeKind:
        """Accept a kind in every spelling the API shows: its value (``DatasetVersion``), its
        name (``DATASET_VERSION``), either in any case, or its ID prefix (``dataset`` is a
        Dataset, ``dataset@`` a DatasetVersion, ``snapshot`` a FeatureSnapshot)."""
        # The prefixes are the IDs' vocabulary, and lineage.model.ids builds on this module.
        from lineage.model.ids import PREFIXES

        text = value.strip() if isinstance(value, str) else ""
        folded = text.replace("_", "").lower()
        for kind in cls:
            if folded == kind.value.lower():
                return kind
        prefix, at, rest = text.lower().partition("@")
        if prefix in PREFIXES and not rest:
            found = PREFIXES[prefix][1 if at else 0]
            if found is not None:
                return found
        known = ", ".join(k.value for k in cls)
        raise InvalidError(
            f"unknown node kind {shown(value)}; known kinds: {known} (or their UPPER_CASE "
            "names, or ID prefixes such as dataset, dataset@, snapshot)",
            field=field,
        )


_PROV_CLASS: dict[NodeKind, ProvClass] = {
    NodeKind.DATASET: ProvClass.ENTITY,
    NodeKind.DATASET_VERSION: ProvClass.ENTITY,
    NodeKind.FEATURE: ProvClass.ENTITY,
    NodeKind.FEATURE_SNAPSHOT: ProvClass.ENTITY,
    NodeKind.MODEL: ProvClass.ENTITY,
    NodeKind.MODEL_VERSION: ProvClass.ENTITY,
    NodeKind.PLAYBOOK: ProvClass.ENTITY,
    NodeKind.CREDENTIAL: ProvClass.ENTITY,
    NodeKind.DECISION_RULES: ProvClass.ENTITY,
    NodeKind.INCIDENT: ProvClass.ENTITY,
    NodeKind.RISK_ASSESSMENT: ProvClass.ENTITY,
    NodeKind.GATE_RESULT: ProvClass.ENTITY,
    NodeKind.TOMBSTONE: ProvClass.ENTITY,
    NodeKind.LEGAL_HOLD: ProvClass.ENTITY,
    NodeKind.ERASURE: ProvClass.ACTIVITY,
    NodeKind.APPROVAL: ProvClass.ACTIVITY,
    NodeKind.TRAINING_RUN: ProvClass.ACTIVITY,
    NodeKind.EVALUATION: ProvClass.ACTIVITY,
    NodeKind.DEPLOYMENT: ProvClass.ACTIVITY,
    NodeKind.INFERENCE_BATCH: ProvClass.ACTIVITY,
    NodeKind.DRILL: ProvClass.ACTIVITY,
    NodeKind.CORRECTION: ProvClass.ACTIVITY,
    NodeKind.JOB_RUN: ProvClass.ACTIVITY,
    NodeKind.JOB: ProvClass.ENTITY,  # a prov:Plan, which PROV defines as an Entity
    NodeKind.PIPELINE_RUN: ProvClass.ACTIVITY,
    NodeKind.COLUMN: ProvClass.ENTITY,
    NodeKind.PERSON: ProvClass.AGENT,
    NodeKind.PIPELINE: ProvClass.AGENT,
    NodeKind.MONITOR: ProvClass.AGENT,
}


class EdgeKind(StrEnum):
    """Every kind of edge; the value doubles as the Neo4j relationship type.

    Edges point from the dependent node to what it depends on, as PROV does
    (``model_version -WAS_GENERATED_BY-> training_run -USED-> snapshot``), so following edges
    forward walks *upstream* and following them backward walks *downstream*.
    """

    USED = "USED"
    WAS_GENERATED_BY = "WAS_GENERATED_BY"
    WAS_DERIVED_FROM = "WAS_DERIVED_FROM"
    WAS_ASSOCIATED_WITH = "WAS_ASSOCIATED_WITH"
    WAS_ATTRIBUTED_TO = "WAS_ATTRIBUTED_TO"
    ACTED_ON_BEHALF_OF = "ACTED_ON_BEHALF_OF"
    SPECIALIZATION_OF = "SPECIALIZATION_OF"
    HAD_MEMBER = "HAD_MEMBER"
    SERVED = "SERVED"
    SCORED_WITH = "SCORED_WITH"
    AFFECTED = "AFFECTED"
    CORRECTS = "CORRECTS"
    STANDS_BY = "STANDS_BY"
    HAS_FALLBACK = "HAS_FALLBACK"
    FELL_BACK_TO = "FELL_BACK_TO"
    ROLLED_BACK_FOR = "ROLLED_BACK_FOR"
    FOLLOWS = "FOLLOWS"
    HOLDS = "HOLDS"
    ERASED = "ERASED"
    HAD_PLAN = "HAD_PLAN"
    WAS_INFORMED_BY = "WAS_INFORMED_BY"
    ALTERNATE_OF = "ALTERNATE_OF"

    @property
    def prov(self) -> str:
        """The PROV relation this edge kind exports as."""
        return _PROV_RELATION[self]

    @classmethod
    def parse(cls, value: str, field: str = "kind") -> EdgeKind:
        """Accept an edge kind by value, case-insensitively."""
        for kind in cls:
            if value.upper() == kind.value:
                return kind
        known = ", ".join(k.value for k in cls)
        raise InvalidError(f"unknown edge kind {shown(value)}; known kinds: {known}", field=field)


_PROV_RELATION: dict[EdgeKind, str] = {
    EdgeKind.USED: "prov:used",
    EdgeKind.WAS_GENERATED_BY: "prov:wasGeneratedBy",
    EdgeKind.WAS_DERIVED_FROM: "prov:wasDerivedFrom",
    EdgeKind.WAS_ASSOCIATED_WITH: "prov:wasAssociatedWith",
    EdgeKind.WAS_ATTRIBUTED_TO: "prov:wasAttributedTo",
    EdgeKind.ACTED_ON_BEHALF_OF: "prov:actedOnBehalfOf",
    EdgeKind.SPECIALIZATION_OF: "prov:specializationOf",
    EdgeKind.HAD_MEMBER: "prov:hadMember",
    # A deployment (activity) used the model version it served, for a validity interval.
    EdgeKind.SERVED: "prov:used",
    # An inference batch (activity) used the model version and feature snapshot it scored with.
    # Kept apart from USED so training-lineage walks need not wade through every batch.
    EdgeKind.SCORED_WITH: "prov:used",
    # An incident (entity) influenced by what it affects.
    EdgeKind.AFFECTED: "prov:wasInfluencedBy",
    # A correction (activity) used the node it corrects; the node itself is never rewritten.
    EdgeKind.CORRECTS: "prov:used",
    # A deployment (activity) holding a version ready without sending it traffic (warm standby,
    # cold backup), for a validity interval; SERVED stays "receiving traffic".
    EdgeKind.STANDS_BY: "prov:used",
    # A deployment (activity) and the decision rules it would fall back to, for an interval.
    EdgeKind.HAS_FALLBACK: "prov:used",
    # A deployment (activity) deciding by its rules instead of a model: the kill switch was on.
    EdgeKind.FELL_BACK_TO: "prov:used",
    # A deployment (activity) rolled back because of an incident (entity).
    EdgeKind.ROLLED_BACK_FOR: "prov:wasInfluencedBy",
    # A legal hold (entity) on a node, for a validity interval: from placed to lifted.
    EdgeKind.HOLDS: "prov:wasInfluencedBy",
    # An incident (entity) handled by the playbook (entity) of its signal.
    EdgeKind.FOLLOWS: "prov:wasInfluencedBy",
    # An erasure (activity) used the batch whose records it redacted; the batch is unchanged.
    EdgeKind.ERASED: "prov:used",
    # A run (activity) and the job (plan) it executed: PROV's qualified association's plan.
    EdgeKind.HAD_PLAN: "prov:hadPlan",
    # A run (activity) started by its parent run (an OpenLineage parent run facet).
    EdgeKind.WAS_INFORMED_BY: "prov:wasInformedBy",
    # Two names of one dataset (an OpenLineage symlinks facet).
    EdgeKind.ALTERNATE_OF: "prov:alternateOf",
}


class Direction(StrEnum):
    """Which way a traversal follows edges."""

    OUT = "OUT"  # src -> dst: upstream, towards what a node was derived from
    IN = "IN"  # dst -> src: downstream, towards what depends on a node
    BOTH = "BOTH"


def _check_window(valid_from: datetime | None, valid_to: datetime | None) -> None:
    if valid_from is not None:
        require_aware(valid_from, "valid_from")
    if valid_to is not None:
        require_aware(valid_to, "valid_to")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise InvalidError("valid_to must be after valid_from", field="valid_to")


_set = object.__setattr__  # what an immutable value uses to fill itself in


class _Record:
    """Immutable values whose ``props`` are kept as canonical JSON text and decoded on demand.

    A traversal rebuilds thousands of nodes and edges from rows, and most callers read only IDs,
    kinds and times: decoding every ``props`` up front was the larger part of a traversal's cost.
    The canonical text is also what the store writes and the audit chain hashes, so it is computed
    at most once per value, and so is the content hash. ``props`` must not be mutated once the
    value is built.
    """

    __slots__ = ("_hash", "_props", "_props_json")
    _FIELDS: tuple[str, ...] = ()
    _props: dict[str, Any] | None
    _props_json: str | None
    _hash: str | None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _init(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def props(self) -> dict[str, Any]:
        """The properties (decoded from the stored JSON on first access)."""
        if self._props is None:
            assert self._props_json is not None
            object.__setattr__(self, "_props", json.loads(self._props_json))
        assert self._props is not None
        return self._props

    def props_json(self) -> str:
        """The canonical JSON of ``props``."""
        if self._props_json is None:
            object.__setattr__(self, "_props_json", canonical_json(self._props))
        assert self._props_json is not None
        return self._props_json

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of everything that defines the value."""
        if self._hash is None:
            object.__setattr__(self, "_hash", sha256_text(self._canonical()))
        assert self._hash is not None
        return self._hash

    def _canonical(self) -> str:
        raise NotImplementedError

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.props if f == "props" else getattr(self, f) for f in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Record)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # props is a dict: values are not hashable

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(self._FIELDS, self._values(), strict=True))
        return f"{type(self).__name__}({inner})"


class Node(_Record):
    """A node as the store holds it.

    ``valid_from`` is when the thing came into being in the domain (a dataset version's creation,
    a run's start); ``valid_to`` when it stopped being true (a person leaving), open if None.
    ``recorded_at`` is set by the store on first write and never changes.
    """

    __slots__ = ("id", "kind", "recorded_at", "valid_from", "valid_to")
    _FIELDS = ("id", "kind", "valid_from", "props", "valid_to", "recorded_at")
    id: str
    kind: NodeKind
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime | None

    def __init__(
        self,
        id: str,
        kind: NodeKind,
        valid_from: datetime,
        props: dict[str, Any] | None = None,
        valid_to: datetime | None = None,
        recorded_at: datetime | None = None,
    ) -> None:
        from lineage.model.ids import parse_id  # ids imports this module

        if not isinstance(kind, NodeKind):
            raise InvalidError(f"unknown node kind {kind!r}", field="kind")
        if parse_id(id).kind is not kind:
            raise InvalidError(f"{id!r} does not denote a {kind.value}", field="id")
        _check_window(valid_from, valid_to)
        self._init(
            {
                "id": id,
                "kind": kind,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "recorded_at": recorded_at,
                "_props": {} if props is None else props,
                "_props_json": None,
                "_hash": None,
            }
        )

    @classmethod
    def stored(
        cls,
        id: str,
        kind: NodeKind,
        valid_from: datetime,
        props_json: str,
        valid_to: datetime | None,
        recorded_at: datetime | None,
    ) -> Node:
        """A node read back from a store: what the store validated on the way in is not
        validated again, and its props stay JSON until read."""
        node = object.__new__(cls)
        _set(node, "id", id)
        _set(node, "kind", kind)
        _set(node, "valid_from", valid_from)
        _set(node, "valid_to", valid_to)
        _set(node, "recorded_at", recorded_at)
        _set(node, "_props", None)
        _set(node, "_props_json", props_json)
        _set(node, "_hash", None)
        return node

    def _canonical(self) -> str:
        # The canonical JSON of {id, kind, props, valid_from, valid_to} (not recorded_at),
        # assembled in sorted key order around the already-encoded props.
        valid_to = json_string(to_text(self.valid_to)) if self.valid_to else "null"
        return (
            f'{{"id":{json_string(self.id)},"kind":{json_string(self.kind)},'
            f'"props":{self.props_json()},"valid_from":{json_string(to_text(self.valid_from))},'
            f'"valid_to":{valid_to}}}'
        )


class Edge(_Record):
    """A typed, directed edge; ``(src, kind, dst, valid_from)`` is its identity.

    Structural edges have no validity window. Edges that change over time (a deployment serving a
    version, an owner of a model) carry ``valid_from`` and, once closed, ``valid_to``.
    """

    __slots__ = ("dst", "kind", "src", "valid_from", "valid_to")
    _FIELDS = ("src", "kind", "dst", "props", "valid_from", "valid_to")
    src: str
    kind: EdgeKind
    dst: str
    valid_from: datetime | None
    valid_to: datetime | None

    def __init__(
        self,
        src: str,
        kind: EdgeKind,
        dst: str,
        props: dict[str, Any] | None = None,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
    ) -> None:
        from lineage.model.ids import parse_id

        if not isinstance(kind, EdgeKind):
            raise InvalidError(f"unknown edge kind {kind!r}", field="kind")
        parse_id(src, "src")
        parse_id(dst, "dst")
        _check_window(valid_from, valid_to)
        self._init(
            {
                "src": src,
                "kind": kind,
                "dst": dst,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "_props": {} if props is None else props,
                "_props_json": None,
                "_hash": None,
            }
        )

    @classmethod
    def stored(
        cls,
        src: str,
        kind: EdgeKind,
        dst: str,
        props_json: str,
        valid_from: datetime | None,
        valid_to: datetime | None,
    ) -> Edge:
        """An edge read back from a store, not validated again (see :meth:`Node.stored`)."""
        edge = object.__new__(cls)
        _set(edge, "src", src)
        _set(edge, "kind", kind)
        _set(edge, "dst", dst)
        _set(edge, "valid_from", valid_from)
        _set(edge, "valid_to", valid_to)
        _set(edge, "_props", None)
        _set(edge, "_props_json", props_json)
        _set(edge, "_hash", None)
        return edge

    @property
    def key(self) -> str:
        """A string form of the identity, stable across backends."""
        start = to_text(self.valid_from) if self.valid_from else ""
        return f"{self.src}|{self.kind}|{self.dst}|{start}"  # a StrEnum formats as its value

    def valid_at(self, instant: datetime) -> bool:
        """Whether the edge held at ``instant``."""
        return (self.valid_from is None or self.valid_from <= instant) and (
            self.valid_to is None or instant < self.valid_to
        )

    def _canonical(self) -> str:
        # The canonical JSON of {key, props, valid_to}, assembled as for Node.
        valid_to = json_string(to_text(self.valid_to)) if self.valid_to else "null"
        return (
            f'{{"key":{json_string(self.key)},"props":{self.props_json()},"valid_to":{valid_to}}}'
        )


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; ``next_cursor`` is None on the last page."""

    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Subgraph:
    """What a bounded traversal reached.

    ``truncated`` is True when the depth limit or the node budget stopped the walk before it
    reached everything: callers must surface it, never hide it.
    """

    nodes: list[Node]
    edges: list[Edge]
    truncated: bool
    depths: dict[str, int] = field(default_factory=dict)
