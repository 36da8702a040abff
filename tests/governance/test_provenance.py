"""trainingProvenance shows a version's gates, bias audits and sign-offs as known at its
instant; the scenario's governance steps are idempotent and leave the audit chain intact."""

from __future__ import annotations

from lineage.services import investigation as inv
from lineage.services.audit import verify
from lineage.services.governance.scenario_steps import load_governance, steps_size
from lineage.services.record_store import RecordStore
from lineage.services.scenario import DEMO_ACTOR
from lineage.store import GraphStore
from tests.governance.lending import V12, V12_RC1, at, head_seq


def test_provenance_shows_the_gates_side_by_side_with_the_approvals(
    governed_store: GraphStore,
) -> None:
    answer = inv.training_provenance(governed_store, "lending_approval", at("2024-01-24T00:00"))
    assert answer.model_version.id == V12
    assert [a.props["role"] for a in answer.approvals] == ["owner", "risk_approver"]
    assert [n.id for n in answer.risk_assessments] == ["risk:lending_approval_v12_bias_audit"]
    assert sorted(n.props["gate"] for n in answer.gate_results) == ["performance", "risk"]
    assert answer.gates is not None and answer.gates.passed
    assert {r.id for r in answer.gates.results} == {n.id for n in answer.gate_results}


def test_provenance_of_the_candidate_shows_its_failed_risk_gate_and_the_block(
    governed_store: GraphStore,
) -> None:
    answer = inv.training_provenance(governed_store, V12_RC1, at("2024-01-24T00:00"))
    assert answer.gates is not None
    assert answer.gates.performance.passed and not answer.gates.risk.passed
    assert [a.props["decision"] for a in answer.approvals] == ["blocked"]


def test_provenance_before_the_audit_shows_no_gate_result_yet(
    governed_store: GraphStore,
) -> None:
    answer = inv.training_provenance(governed_store, V12, at("2024-01-21T05:00"))
    assert answer.risk_assessments == [] and answer.gate_results == []
    assert answer.gates is not None and not answer.gates.risk.passed


def test_loading_the_governance_steps_again_writes_nothing(
    governed_store: GraphStore, records: RecordStore
) -> None:
    seq = head_seq(governed_store)
    again = load_governance(governed_store, records, DEMO_ACTOR)
    assert len(again) == steps_size()
    assert head_seq(governed_store) == seq
    assert verify(governed_store).ok
