"""What the deployment tests share: the deployer, an approved v14, the lending fallback rules.

After the reference scenario the production deployment holds v12 (current, all the traffic
since the rollback of Jan 25 11:47), v13 (standby) and v11 (backup).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lineage.model.graph import Edge, EdgeKind
from lineage.services.governance.assessments import Assessments
from lineage.services.governance.deployment import Deployments
from lineage.services.governance.signoff import SignOff
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR, DEPLOYMENT, MODEL
from lineage.store import EdgeQuery, GraphStore
from tests.governance.lending import OWNER, RISK, V14, at, audit_v14, register_v14

OPERATOR = "person:oncall_ml_engineer"
RULES = "rules:lending_approval_fallback"
INCIDENT = "incident:lending_approval_2024_01_25"
# The seed's fallback for the lending model: income > $50K and credit score > 650 -> APPROVE;
# income < $50K and credit score > 700 -> REVIEW; else DECLINE.
LENDING_RULES: list[dict[str, Any]] = [
    {"when": {"income": {"gt": 50_000}, "credit_score": {"gt": 650}}, "decision": "APPROVE"},
    {"when": {"income": {"lt": 50_000}, "credit_score": {"gt": 700}}, "decision": "REVIEW"},
]


def deployer(store: GraphStore, records: RecordStore | None = None) -> Deployments:
    """Deployment changes as the on-call engineer."""
    return Deployments(store, records, OPERATOR)


def approved_v14(store: GraphStore, records: RecordStore) -> str:
    """v14 trained, evaluated, audited, through both gates and approved by both roles (Jan 26)."""
    register_v14(Registry(store, records, actor=DEMO_ACTOR))
    assessments = Assessments(store, records, DEMO_ACTOR)
    assessments.register_bias_audit(audit_v14())
    assessments.evaluate_gates(V14, at("2024-01-26T06:30:00"))
    SignOff(store, records, OWNER).approve(V14, "owner", "gates passed", at("2024-01-26T08:00:00"))
    SignOff(store, records, RISK).approve(
        V14, "risk_approver", "disparate impact 0.99", at("2024-01-26T09:00:00")
    )
    return V14


def with_fallback_rules(store: GraphStore, at: datetime | None = None) -> str:
    """The lending fallback rules registered and linked to the production deployment (from
    ``at``, default now)."""
    deployments = deployer(store)
    deployments.register_fallback_rules(RULES, MODEL, LENDING_RULES, "DECLINE")
    deployments.set_fallback_rules(DEPLOYMENT, RULES, "the credit policy's manual rules", at)
    return RULES


def open_edges(store: GraphStore, kind: EdgeKind) -> dict[str, Edge]:
    """The deployment's open edges of ``kind``, by target."""
    edges = store.find_edges(EdgeQuery(src=DEPLOYMENT, kinds=frozenset({kind}))).items
    return {e.dst: e for e in edges if e.valid_to is None}


def head_seq(store: GraphStore) -> int:
    """The audit chain's length."""
    head = store.audit_head()
    return head.seq if head else 0
