"""What a gate decides, as values: its checks, its verdict, the inputs it hashes, the node.

A recorded result is a ``GateResult`` node (``gate:<gate>-<40 hex>``, PROV entity) whose ID is
the SHA-256 of the gate's inputs (the gate, the rules' version, the model version, the
thresholds, the content hashes of the evidence read, and the numbers computed from them,
features included), so the same evidence gives the same node and new or corrected evidence a
new one. It holds ``gate``, ``model_version``, ``model``, ``verdict`` (PASS / FAIL),
``checks`` (name, passed, detail in words, value, threshold, subject), ``numbers``,
``thresholds``, ``evidence`` (node ID -> content hash), ``inputs_hash`` and ``rules_version``;
its edges are ``-USED-> model version`` (role ``gated``) and ``-USED->`` each evidence node
(role ``evidence``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from lineage.model.canonical import canonical_json, sha256_text
from lineage.model.graph import Edge, EdgeKind, Node, NodeKind
from lineage.services.governance.evidence import Evidence

PERFORMANCE = "performance"
RISK = "risk"
# Bump when the rules change meaning, so results of the old rules keep their own IDs.
RULES_VERSION = 1
_ID_HEX = 40


class Verdict(StrEnum):
    """A gate's verdict."""

    PASS = "PASS"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Check:
    """One condition of a gate: what was compared, and whether it held."""

    name: str
    passed: bool
    detail: str  # the numbers, in words
    value: float | None = None
    threshold: float | None = None
    subject: str | None = None  # the evidence node it is about

    def as_json(self) -> dict[str, Any]:
        """The check as a gate node stores it."""
        found: dict[str, Any] = {"name": self.name, "passed": self.passed, "detail": self.detail}
        for key in ("value", "threshold", "subject"):
            if getattr(self, key) is not None:
                found[key] = getattr(self, key)
        return found


@dataclass(frozen=True, slots=True)
class GateResult:
    """A gate's verdict on a version, with everything it used.

    ``evidence`` maps each node it read to its content hash; ``id`` is the ID of the GateResult
    node these inputs give; ``recorded`` is that node when it was recorded by the instant asked
    about.
    """

    gate: str
    model_version: str
    model: str
    verdict: Verdict
    checks: list[Check]
    numbers: dict[str, Any]
    thresholds: dict[str, Any]
    evidence: dict[str, str]
    inputs_hash: str
    recorded: Node | None = None

    @property
    def id(self) -> str:
        """The GateResult node ID: the gate's name and a hash of its inputs."""
        return f"gate:{self.gate}-{self.inputs_hash[:_ID_HEX]}"

    @property
    def passed(self) -> bool:
        """Whether the verdict is PASS."""
        return self.verdict is Verdict.PASS

    @property
    def failures(self) -> list[Check]:
        """The checks that did not hold."""
        return [c for c in self.checks if not c.passed]

    def node(self, at: datetime) -> Node:
        """The GateResult node that records this result, evaluated at ``at``."""
        props = {
            "gate": self.gate,
            "model_version": self.model_version,
            "model": self.model,
            "verdict": self.verdict.value,
            "checks": [c.as_json() for c in self.checks],
            "numbers": self.numbers,
            "thresholds": self.thresholds,
            "evidence": self.evidence,
            "inputs_hash": self.inputs_hash,
            "rules_version": RULES_VERSION,
        }
        return Node(self.id, NodeKind.GATE_RESULT, at, props)

    def edges(self) -> list[Edge]:
        """The recorded node's edges: to the version, and to each evidence node it read."""
        found = [Edge(self.id, EdgeKind.USED, self.model_version, {"role": "gated"})]
        found += [
            Edge(self.id, EdgeKind.USED, node_id, {"role": "evidence"})
            for node_id in sorted(self.evidence)
        ]
        return found


@dataclass(frozen=True, slots=True)
class GateReport:
    """Both gates of a version side by side, as known at ``at``."""

    model_version: Node
    at: datetime
    performance: GateResult
    risk: GateResult
    truncated: bool = False  # the evidence walk hit its budget: the verdicts are not reliable

    @property
    def passed(self) -> bool:
        """Both gates pass (and all the evidence was read)."""
        return self.performance.passed and self.risk.passed and not self.truncated

    @property
    def results(self) -> tuple[GateResult, GateResult]:
        """The two results, performance first."""
        return (self.performance, self.risk)


def with_recorded(report: GateReport, nodes: Mapping[str, Node]) -> GateReport:
    """``report`` with each result's ``recorded`` node among ``nodes``, if recorded by its
    instant."""
    found = []
    for result in report.results:
        node = nodes.get(result.id)
        recorded = node if node is not None and node.valid_from <= report.at else None
        found.append(replace(result, recorded=recorded))
    return replace(report, performance=found[0], risk=found[1])


def result_of(
    gate: str,
    evidence: Evidence,
    checks: list[Check],
    numbers: dict[str, Any],
    thresholds: dict[str, Any],
    used: dict[str, str],
) -> GateResult:
    """The result of ``gate`` from its checks; its verdict is PASS when every check held."""
    inputs = {
        "gate": gate,
        "rules_version": RULES_VERSION,
        "model_version": evidence.version.id,
        "thresholds": thresholds,
        "evidence": used,
        "numbers": numbers,
    }
    return GateResult(
        gate=gate,
        model_version=evidence.version.id,
        model=evidence.model.id,
        verdict=Verdict.PASS if all(c.passed for c in checks) else Verdict.FAIL,
        checks=checks,
        numbers=numbers,
        thresholds=thresholds,
        evidence=used,
        inputs_hash=sha256_text(canonical_json(inputs)),
    )
