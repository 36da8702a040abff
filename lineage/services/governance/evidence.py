"""What the governance decisions read about a model version, as known at an instant.

A gate, a sign-off and the deploy check all decide from the same facts: the version, its model
(scoping, thresholds, forbidden features), its training run and snapshot, and the evidence
recorded against it (evaluations, bias audits, gate results, sign-offs). Each is read as known
at the instant ``at``: evidence whose domain time (``valid_from``) is at or before it, with the
corrections recorded by then applied, as every question of the service reads.

Evidence points at the version with a ``USED`` edge (``evaluation -USED-> version``), so it is
one walk of one hop; batches (``SCORED_WITH``) and deployments (``SERVED``) are not walked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from lineage.errors import InvalidError, NotFoundError
from lineage.model.graph import Direction, EdgeKind, Node, NodeKind
from lineage.model.ids import require_kind
from lineage.model.times import require_aware
from lineage.services.consistency import when
from lineage.services.corrected import CorrectedReads
from lineage.store.base import MAX_NODES, GraphStore, TraversalSpec

EVIDENCE_KINDS = frozenset(
    {NodeKind.EVALUATION, NodeKind.RISK_ASSESSMENT, NodeKind.GATE_RESULT, NodeKind.APPROVAL}
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A model version and what is known about it at ``at`` (corrected as known then).

    Lists are oldest first (by ``valid_from``, then ID). ``sign_offs`` are the Approval nodes
    (approvals and blocks) known at ``at``; ``all_sign_offs`` every one stored, later ones too.
    ``corrections`` maps each node read to the corrections applied to it. ``truncated`` is True
    when the evidence walk hit its node budget: a decision must not be made on part of it.
    """

    at: datetime
    version: Node
    model: Node
    run: Node | None
    snapshot: Node | None
    evaluations: list[Node]
    audits: list[Node]
    gate_results: list[Node]
    sign_offs: list[Node]
    all_sign_offs: list[Node]
    corrections: dict[str, list[Node]] = field(default_factory=dict)
    truncated: bool = False

    @property
    def latest_audit(self) -> Node | None:
        """The most recent bias audit known at ``at``: a re-audit supersedes an earlier one."""
        return self.audits[-1] if self.audits else None

    def artifact(self) -> dict[str, str]:
        """The identity an approval binds: the trained artifact's hash when the training run
        recorded one, else the content hash of the model version node (as corrected)."""
        digest = self.version.props.get("artifact_hash")
        if isinstance(digest, str):
            return {"hash": digest, "source": "artifact_hash"}
        return {"hash": self.version.content_hash(), "source": "model_version"}

    def bound(self) -> dict[str, str]:
        """What an approval made now binds: evaluations and bias audits with content hashes."""
        return {n.id: n.content_hash() for n in (*self.evaluations, *self.audits)}


def read_evidence(store: GraphStore, version: str, at: datetime) -> Evidence:
    """The version ``version`` and its evidence as known at ``at``.

    INVALID (field ``version``) for an ID that is not a model version's, or (``at``) a naive
    instant; NOT_FOUND (``version``) when it is not registered, or was not by ``at`` (its
    training run ended later). Four round trips: whether corrections exist, the version, its
    model, run and snapshot, and one walk of its evidence.
    """
    require_kind(version, "version", NodeKind.MODEL_VERSION)
    instant = require_aware(at, "at")
    reads = CorrectedReads(store, instant)
    found = reads.get_nodes([version]).get(version)
    if found is None:
        raise NotFoundError(f"{version} is not registered", field="version")
    if found.kind is not NodeKind.MODEL_VERSION:
        raise InvalidError(
            f"{version} is a {found.kind.value}, not a model version", field="version"
        )
    if found.valid_from > instant:
        raise NotFoundError(
            f"{version} did not exist at {when(instant)}: its training run ended at "
            f"{when(found.valid_from)}",
            field="version",
        )
    model_id = str(found.props.get("model"))
    run_id = found.props.get("training_run")
    snapshot_id = found.props.get("snapshot")
    related = reads.get_nodes(
        sorted({model_id, *(i for i in (run_id, snapshot_id) if isinstance(i, str))})
    )
    model = related.get(model_id)
    if model is None:
        raise NotFoundError(
            f"{model_id}, the model of {version}, is not registered", field="version"
        )
    # Every sign-off is read, later ones too: an approval's sequence number counts them all.
    walk = reads.traverse(
        TraversalSpec(
            start=version,
            direction=Direction.IN,
            edge_kinds=frozenset({EdgeKind.USED}),
            node_kinds=EVIDENCE_KINDS,
            max_depth=1,
            max_nodes=MAX_NODES,
        )
    )
    reached = [n for n in walk.nodes if n.id != version and n.kind in EVIDENCE_KINDS]
    known = [n for n in reached if n.valid_from <= instant]
    corrections = {
        n.id: reads.applied(n.id) for n in (found, model, *known) if getattr(n, "corrected_by", ())
    }
    return evidence_of(
        found,
        model,
        related.get(run_id) if isinstance(run_id, str) else None,
        related.get(snapshot_id) if isinstance(snapshot_id, str) else None,
        reached,
        instant,
        corrections=corrections,
        truncated=walk.truncated,
    )


def evidence_of(
    version: Node,
    model: Node,
    run: Node | None,
    snapshot: Node | None,
    nodes: Iterable[Node],
    at: datetime,
    *,
    corrections: dict[str, list[Node]] | None = None,
    truncated: bool = False,
) -> Evidence:
    """Evidence from nodes already read (as corrected at ``at``): ``nodes`` are what points at
    the version; those of other kinds, or dated after ``at`` (but sign-offs), are left out."""
    reached = sorted(
        (n for n in nodes if n.id != version.id and n.kind in EVIDENCE_KINDS),
        key=lambda n: (n.valid_from, n.id),
    )
    known = [n for n in reached if n.valid_from <= at]
    return Evidence(
        at=at,
        version=version,
        model=model,
        run=run,
        snapshot=snapshot,
        evaluations=[n for n in known if n.kind is NodeKind.EVALUATION],
        audits=[n for n in known if n.kind is NodeKind.RISK_ASSESSMENT],
        gate_results=[n for n in known if n.kind is NodeKind.GATE_RESULT],
        sign_offs=[n for n in known if n.kind is NodeKind.APPROVAL],
        all_sign_offs=[n for n in reached if n.kind is NodeKind.APPROVAL],
        corrections=corrections or {},
        truncated=truncated,
    )
