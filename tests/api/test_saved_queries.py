"""Every saved operation in graphql/queries runs against the reference scenario and gives the
answers DESIGN.md section 8 tells."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lineage.services.scenario import JOHN_DOE, content_hash
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

QUERIES = Path(__file__).resolve().parents[2] / "graphql" / "queries"
V12 = "model:lending_approval@v12"
V13 = "model:lending_approval@v13"
JAN20 = "snapshot:credit_model_training_2024_01_20"


def ids(nodes: list[dict[str, Any]]) -> list[str]:
    return [n["id"] for n in nodes]


def check_models_using_dataset(data: dict[str, Any]) -> None:
    answer = data["modelsUsingDataset"]
    assert answer["truncated"] is False
    uses = {u["modelVersion"]["id"]: u for u in answer["uses"]}
    # v12 and its blocked candidate trained on applications v2 (v10 and v11 did not); v13 did
    # too, but was registered in the evening of Jan 24: asOf Jan 24 00:00 it did not exist.
    assert set(uses) == {V12, "model:lending_approval@v12-rc1"}
    assert ids(uses[V12]["path"]) == [
        "dataset:applications@v2",
        JAN20,
        "run:lending_approval_v12",
        V12,
    ]
    assert uses[V12]["deployed"] is True  # at 2024-01-24
    assert uses["model:lending_approval@v12-rc1"]["deployed"] is False
    assert uses[V12]["modelVersion"]["codeCommit"] == "abc123def456"


def check_training_provenance(data: dict[str, Any]) -> None:
    answer = data["trainingProvenance"]
    assert answer["modelVersion"]["id"] == V12 and answer["serving"] is True
    run = answer["trainingRun"]
    assert run["codeCommit"] == "abc123def456"
    assert run["seed"] == 42 and run["split"] == {"train": 0.8, "test": 0.2}
    assert (run["recordsUsed"], run["recordsAvailable"]) == (400_000, 510_000)
    snapshot = answer["snapshot"]
    assert snapshot["id"] == JAN20 and snapshot["computedBy"] == "feast v3.1"
    assert snapshot["contentHash"] == content_hash(JAN20)
    assert [f["name"] for f in answer["features"]] == [
        "credit_score",
        "income",
        "debt_ratio",
        "age",
    ]
    hashes = {d["id"]: d["contentHash"] for d in answer["datasets"]}
    assert hashes == {
        "dataset:applications@v2": content_hash("dataset:applications@v2"),
        "dataset:credit_bureau@v1": content_hash("dataset:credit_bureau@v1"),
    }
    counts = {d["id"]: (d["recordCount"], d["createdAt"]) for d in answer["datasets"]}
    assert counts["dataset:applications@v2"] == (510_000, "2024-01-15T06:00:00Z")
    assert counts["dataset:credit_bureau@v1"] == (2_100_000, "2024-01-10T06:00:00Z")
    assert {d["id"]: d["contentHash"] for d in run["datasets"]} == hashes
    (evaluation,) = answer["evaluations"]
    assert evaluation["metrics"] == {"auc": 0.87, "disparate_impact": 0.98}
    people = {a["role"]: a["agent"]["id"] for a in answer["accountable"]}
    assert people == {
        "owner": "person:head_of_lending",
        "technical_steward": "person:credit_ml_lead",
        "risk_approver": "person:model_risk_officer",
    }
    assert answer["triggeredBy"]["id"] == "pipeline:credit_training"
    assert answer["truncated"] is False


def check_feature_impact(data: dict[str, Any]) -> None:
    answer = data["featureImpact"]
    assert answer["truncated"] is False and answer["feature"]["id"] == "feature:credit_score"
    assert len(answer["snapshots"]) == 4 and JAN20 in ids(answer["snapshots"])
    assert {V12, "model:lending_approval@v13"} <= set(ids(answer["modelVersions"]))
    # Now (after the rollback) production serves v12.
    serving = [(s["deployment"]["id"], s["modelVersion"]["id"]) for s in answer["serving"]]
    assert serving == [("deployment:lending_approval_production", V12)]
    (model,) = answer["accountable"]
    assert model["model"] == "model:lending_approval"
    assert {a["role"] for a in model["accountable"]} == {
        "owner",
        "technical_steward",
        "risk_approver",
    }


def check_decisions(data: dict[str, Any]) -> None:
    answer = data["decisions"]
    assert answer["truncated"] is False
    batches = answer["batches"]
    # On Jan 25 the Jan 20 snapshot fed v12 before v13 went live and after the rollback.
    assert [b["batch"]["id"] for b in batches] == [
        "batch:lending_approval_2024_01_25_0000",
        "batch:lending_approval_2024_01_25_1147",
    ]
    for batch in batches:
        assert batch["modelVersion"]["id"] == V12 and batch["snapshot"]["id"] == JAN20
        assert ids(batch["datasets"]) == ["dataset:applications@v2", "dataset:credit_bureau@v1"]
        assert sum(batch["batch"]["counts"].values()) == batch["batch"]["recordCount"]
        assert batch["records"]["total"] == batch["batch"]["recordCount"]
    john = [d for d in batches[0]["records"]["decisions"] if d["applicant_id"] == "john_doe_12345"]
    assert john == [JOHN_DOE]
    assert john[0]["decision"] == "APPROVED" and john[0]["confidence"] == 0.87


def check_decisions_of_subject(data: dict[str, Any]) -> None:
    answer = data["decisions"]
    assert answer["truncated"] is False
    # Only the batch holding john_doe_12345, and only his decision in it.
    (batch,) = answer["batches"]
    assert batch["batch"]["id"] == "batch:lending_approval_2024_01_25_0000"
    assert batch["modelVersion"] == {"id": V12, "codeCommit": "abc123def456"}
    assert batch["snapshot"]["id"] == JAN20
    assert ids(batch["datasets"]) == ["dataset:applications@v2", "dataset:credit_bureau@v1"]
    assert batch["records"] == {"total": 1, "decisions": [JOHN_DOE]}


def check_impact(data: dict[str, Any]) -> None:
    answer = data["impact"]
    assert answer["truncated"] is False and answer["maxDepth"] == 6
    reached = set(ids(answer["nodes"]))
    assert {JAN20, "run:lending_approval_v12", V12, "model:lending_approval@v13"} <= reached
    assert "model:lending_approval@v11" not in reached  # trained on applications v1
    assert answer["edges"] and all(
        e["src"] in reached and e["dst"] in reached for e in answer["edges"]
    )
    assert {d["id"] for d in answer["depths"]} == reached


def check_upstream_changes(data: dict[str, Any]) -> None:
    # Asked of the model by its short name, Jan 24 to Jan 25 noon: v13 trained, evaluated,
    # audited, gated and signed off, rolled out at 10:00, the incident at 11:30, the rollback.
    answer = data["upstreamChanges"]
    assert answer["truncated"] is False
    changes = answer["changes"]
    listed = [
        (c["at"], c["what"], c["edge"]["dst"] if c["edge"] else c["node"]["id"]) for c in changes
    ]
    incident = "incident:lending_approval_2024_01_25"
    assert listed[:4] == [
        ("2024-01-25T11:47:00Z", "STARTED", incident),  # the rollback answers the incident
        ("2024-01-25T11:47:00Z", "STARTED", V12),
        ("2024-01-25T11:47:00Z", "ENDED", V13),
        ("2024-01-25T11:30:00Z", "REGISTERED", incident),
    ]
    assert ("2024-01-25T10:00:00Z", "STARTED", V13) in listed  # the rollout
    assert ("2024-01-24T20:00:00Z", "REGISTERED", V13) in listed
    assert ("2024-01-24T22:00:00Z", "REGISTERED", "evaluation:lending_approval_v13") in listed
    assert listed[-1] == (
        "2024-01-24T08:00:00Z",
        "REGISTERED",
        "snapshot:credit_model_training_2024_01_24",
    )
    times = [c["at"] for c in changes]
    assert times == sorted(times, reverse=True)
    assert min(times) >= "2024-01-24T00:00:00Z" and max(times) <= "2024-01-25T12:00:00Z"


def check_version_diff(data: dict[str, Any]) -> None:
    answer = data["versionDiff"]
    assert (answer["a"]["id"], answer["b"]["id"]) == (V12, V13)
    assert answer["truncated"] is False
    rows = {(r["aspect"], r["field"]): r for r in answer["rows"]}
    snapshot = rows[("snapshot", "id")]
    assert (snapshot["a"], snapshot["b"], snapshot["same"]) == (
        JAN20,
        "snapshot:credit_model_training_2024_01_24",
        False,
    )
    commit = rows[("code", "code_commit")]
    assert (commit["a"], commit["b"]) == ("abc123def456", "d4e5f6a7b8c9")
    # Both bound applications v2 by the same hash: the data did not change, the snapshot did.
    data_row = rows[("data", "dataset:applications")]
    assert data_row["same"] is True and data_row["a"]["id"] == "dataset:applications@v2"
    assert (rows[("metrics", "auc")]["a"], rows[("metrics", "auc")]["b"]) == (0.87, 0.88)
    assert rows[("parameters", "max_depth")]["same"] is True
    assert rows[("training", "records_used")]["b"] == 402_000
    served = rows[("deployments", "deployment:lending_approval_production")]
    assert served["b"] == {"from": "2024-01-25T10:00:00Z", "until": "2024-01-25T11:47:00Z"}
    assert served["a"]["until"] is None  # v12 serves again after the rollback


def check_register_pipeline(data: dict[str, Any]) -> None:
    pipeline = data["registerPipeline"]["pipeline"]
    assert pipeline["id"] == "pipeline:credit_feature_refresh"
    assert pipeline["owner"] == "person:credit_ml_lead"


def check_register_incident(data: dict[str, Any]) -> None:
    incident = data["registerIncident"]["incident"]
    assert incident["id"] == "incident:lending_approval_2024_01_25_complaint"
    assert (incident["status"], incident["severity"]) == ("open", "SEV3")
    assert incident["affected"] == [V13, "deployment:lending_approval_production"]


def check_assign_role(data: dict[str, Any]) -> None:
    model = data["assignRole"]["model"]
    holders = {a["role"]: a["agent"]["id"] for a in model["accountable"]}
    assert holders["technical_steward"] == "person:oncall_ml_engineer"
    assert holders["owner"] == "person:head_of_lending"


def check_node(data: dict[str, Any]) -> None:
    node = data["node"]
    assert node["id"] == V12 and node["kind"] == "ModelVersion"
    assert node["codeCommit"] == "abc123def456" and node["snapshot"] == JAN20


def check_nodes(data: dict[str, Any]) -> None:
    page = data["nodes"]
    assert page["hasNextPage"] is False and page["endCursor"] is None
    versions = {n["id"]: n for n in page["nodes"]}
    assert len(versions) == 5
    assert versions["dataset:applications@v2"]["recordCount"] == 510_000


def check_register_dataset_version(data: dict[str, Any]) -> None:
    answer = data["registerDatasetVersion"]
    assert answer["datasetVersion"]["id"] == "dataset:applications@v3"
    assert answer["datasetVersion"]["version"] == "v3"


def check_register_inference_batch(data: dict[str, Any]) -> None:
    answer = data["registerInferenceBatch"]
    assert answer["batch"]["id"] == "batch:lending_approval_2024_01_26_0000"
    assert answer["batch"]["recordCount"] == 2


def check_correct_node(data: dict[str, Any]) -> None:
    answer = data["correctNode"]
    correction, node = answer["correction"], answer["node"]
    assert correction["target"] == node["id"] == "dataset:applications@v2"
    assert correction["by"] == "pipeline:credit_training"  # the pipeline token's principal
    assert correction["changes"] == {"uri": "s3://lending-data-archive/applications/v2/"}
    assert correction["previous"] == {"uri": "s3://lending-data/applications@v2/"}
    assert node["uri"] == "s3://lending-data-archive/applications/v2/"
    assert node["contentHash"] == content_hash("dataset:applications@v2")
    assert node["correctedBy"] == [correction["id"]]


def check_serving(data: dict[str, Any]) -> None:
    (deployment,) = data["serving"]["deployments"]
    assert deployment["deployment"]["id"] == "deployment:lending_approval_production"
    assert [(t["version"]["id"], t["weight"]) for t in deployment["traffic"]] == [(V13, 100)]
    assert deployment["standby"]["version"]["id"] == V12
    assert deployment["backup"]["version"]["id"] == "model:lending_approval@v11"
    assert deployment["killSwitch"] is False
    assert deployment["rules"]["id"] == "rules:lending_approval_fallback"


def check_deployable(data: dict[str, Any]) -> None:
    answer = data["deployable"]
    assert answer["ok"] is False and answer["tier"] == "HIGH"
    assert {u["code"] for u in answer["unmet"]} == {
        "RISK_GATE_FAILED",
        "BLOCKED",
        "APPROVAL_MISSING",
    }
    risk = next(u for u in answer["unmet"] if u["code"] == "RISK_GATE_FAILED")
    assert "disparate impact 0.70 < 0.80" in risk["message"]


def check_gates(data: dict[str, Any]) -> None:
    answer = data["gates"]
    assert answer["passed"] is False
    assert answer["performance"]["verdict"] == "PASS"
    assert answer["risk"]["verdict"] == "FAIL"
    impact = next(c for c in answer["risk"]["checks"] if c["name"] == "disparate_impact")
    assert impact["passed"] is False and round(impact["value"], 2) == 0.70
    assert impact["threshold"] == 0.8


def check_risk_tier(data: dict[str, Any]) -> None:
    answer = data["riskTier"]
    assert answer["tier"] == "HIGH" and len(answer["factors"]) == 3
    assert answer["requiredApprovals"] == ["owner", "risk_approver"]
    assert answer["reviewTargetHours"] == 24


def check_reviews(data: dict[str, Any]) -> None:
    assert data["reviews"] == []


def check_accountability_gaps(data: dict[str, Any]) -> None:
    assert data["accountabilityGaps"] == []


def check_block(data: dict[str, Any]) -> None:
    approval = data["block"]["approval"]
    assert approval["id"] == "approval:lending_approval-v13-risk_approver-2"
    assert approval["props"]["decision"] == "blocked"
    assert approval["props"]["approver"] == "person:model_risk_officer"  # the token's principal


def check_rollback(data: dict[str, Any]) -> None:
    answer = data["rollback"]
    assert answer["before"]["current"] == V12 and answer["before"]["standby"] == (
        "model:lending_approval@v11"
    )
    assert answer["after"]["current"] == "model:lending_approval@v11"
    assert answer["after"]["weights"] == {"model:lending_approval@v11": 100}


def check_register_bias_audit(data: dict[str, Any]) -> None:
    audit = data["registerBiasAudit"]["riskAssessment"]
    assert audit["id"] == "risk:lending_approval_v13_reaudit_by_age_band"
    assert audit["props"]["counts"]["65+"] == {"decisions": 10_000, "approved": 1_000}


def check_deploy(data: dict[str, Any]) -> None:
    after = data["deploy"]["after"]
    assert after["current"] == V12 and after["weights"] == {V12: 100}


def check_set_kill_switch(data: dict[str, Any]) -> None:
    after = data["setKillSwitch"]["after"]
    assert after["killSwitch"] is True and after["rules"] == "rules:lending_approval_fallback"
    assert after["current"] == V12


def check_incidents(data: dict[str, Any]) -> None:
    # The demographic monitor opened it on v13's first batch; the rollback answered it.
    (incident,) = data["incidents"]
    assert incident["id"] == "incident:lending_approval_2024_01_25"
    assert (incident["signal"], incident["severity"], incident["status"]) == (
        "demographic_parity",
        "SEV1",
        "open",
    )
    assert incident["openedAt"] == "2024-01-25T11:30:00Z" and incident["modelVersion"] == V13
    assert incident["playbook"] == "playbook:demographic_parity"
    assert incident["evidenceCount"] == 2 and incident["value"] < 0.8
    upstream = {c["node"] for c in incident["context"]["upstream_changes"]["changes"]}
    assert "snapshot:credit_model_training_2024_01_24" in upstream
    assert {a["role"] for a in incident["accountable"]} == {
        "owner",
        "technical_steward",
        "risk_approver",
    }
    (precision,) = data["alertPrecision"]
    assert (precision["raised"], precision["open"], precision["precision"]) == (1, 1, None)


def check_export_subgraph(data: dict[str, Any]) -> None:
    answer = data["exportSubgraph"]
    assert answer["downloadUrl"] == f"/exports/{answer['exportId']}.zip"
    assert len(answer["manifestSha256"]) == 64 and answer["auditHead"]["seq"] > 0


def check_search(data: dict[str, Any]) -> None:
    answer = data["search"]
    # Model versions only (`model@`), the versions lending_approval@v1 starts, in ID order:
    # v10, v11, v12 of the five (v12-rc1 and v13 are past `first`).
    assert answer["truncated"] is True
    hits = answer["hits"]
    assert ids(hits) == [
        "model:lending_approval@v10",
        "model:lending_approval@v11",
        V12,
    ]
    assert {h["match"] for h in hits} == {"ID_PREFIX"}
    assert {h["kind"] for h in hits} == {"ModelVersion"}
    assert hits[2]["node"]["codeCommit"] == "abc123def456"


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "models_using_dataset": check_models_using_dataset,
    "training_provenance": check_training_provenance,
    "feature_impact": check_feature_impact,
    "decisions": check_decisions,
    "impact": check_impact,
    "upstream_changes": check_upstream_changes,
    "version_diff": check_version_diff,
    "register_pipeline": check_register_pipeline,
    "register_incident": check_register_incident,
    "assign_role": check_assign_role,
    "node": check_node,
    "nodes": check_nodes,
    "register_dataset_version": check_register_dataset_version,
    "register_inference_batch": check_register_inference_batch,
    "correct_node": check_correct_node,
    "serving": check_serving,
    "deployable": check_deployable,
    "gates": check_gates,
    "risk_tier": check_risk_tier,
    "reviews": check_reviews,
    "accountability_gaps": check_accountability_gaps,
    "block": check_block,
    "rollback": check_rollback,
    "register_bias_audit": check_register_bias_audit,
    "deploy": check_deploy,
    "set_kill_switch": check_set_kill_switch,
    "incidents": check_incidents,
    "export_subgraph": check_export_subgraph,
    "search": check_search,
    "decisions_of_subject": check_decisions_of_subject,
}
# Who runs each mutation (default: a pipeline), and those whose repeat is refused, not a no-op.
MUTATION_ROLES = {
    "block": Role.APPROVER,
    "rollback": Role.OPERATOR,
    "deploy": Role.OPERATOR,
    "set_kill_switch": Role.OPERATOR,
    "export_subgraph": Role.COMPLIANCE,
}
REPEAT_REFUSED = {"block": "CONFLICT"}
SAVED = sorted(p.stem for p in QUERIES.glob("*.graphql"))


def saved(name: str) -> tuple[str, dict[str, Any]]:
    """A saved operation and its reference-scenario variables."""
    query = (QUERIES / f"{name}.graphql").read_text()
    variables = json.loads((QUERIES / f"{name}.variables.json").read_text())
    return query, variables


def test_every_saved_operation_has_variables_and_a_check() -> None:
    assert SAVED, "graphql/queries holds no operations"
    assert set(SAVED) == set(CHECKS)
    assert all((QUERIES / f"{name}.variables.json").is_file() for name in SAVED)


@pytest.mark.parametrize("name", SAVED)
def test_saved_operation_answers_for_the_reference_scenario(api: Api, name: str) -> None:
    query, variables = saved(name)
    is_mutation = query.lstrip("# \n").startswith("mutation") or "\nmutation " in query
    role = MUTATION_ROLES.get(name, Role.PIPELINE) if is_mutation else Role.READER
    data = api.data(query, variables, role=role)
    CHECKS[name](data)
    if name in REPEAT_REFUSED:
        (error,) = api.errors(query, variables, role=role)
        assert error["extensions"]["code"] == REPEAT_REFUSED[name]
    elif is_mutation:
        (payload,) = data.values()
        assert payload["created"] is True and payload["auditSeq"] is not None
        again = api.data(query, variables, role=role)
        (repeat,) = again.values()
        assert repeat["created"] is False and repeat["auditSeq"] is None


def test_a_registered_batch_is_read_back_by_the_decisions_query(api: Api) -> None:
    mutation, variables = saved("register_inference_batch")
    api.data(mutation, variables, role=Role.PIPELINE)
    query, _ = saved("decisions")
    window = {
        "model": "lending_approval",
        "from": "2024-01-26T00:00:00Z",
        "to": "2024-01-27T00:00:00Z",
        "first": 1,
    }
    (batch,) = api.data(query, window)["decisions"]["batches"]
    assert batch["batch"]["id"] == variables["input"]["id"]
    page = batch["records"]
    assert page["total"] == 2 and page["hasNextPage"] is True
    assert page["decisions"] == variables["input"]["records"][:1]
    rest = api.data(query, window | {"after": page["endCursor"]})["decisions"]["batches"][0]
    assert rest["records"]["decisions"] == variables["input"]["records"][1:]
    assert rest["records"]["hasNextPage"] is False


def test_upstream_changes_of_a_batch_show_the_rollout_and_the_rollback(api: Api) -> None:
    query, _ = saved("upstream_changes")
    variables = {"node": "batch:lending_approval_2024_01_25_1147", "since": "2024-01-25T00:00:00Z"}
    changes = api.data(query, variables)["upstreamChanges"]["changes"]
    incident = "incident:lending_approval_2024_01_25"
    assert [
        (c["at"], c["what"], c["edge"]["dst"] if c["edge"] else c["node"]["id"]) for c in changes
    ] == [
        ("2024-01-25T11:47:00Z", "STARTED", incident),  # the rollback, linked to the incident
        ("2024-01-25T11:47:00Z", "STARTED", "model:lending_approval@v12"),
        ("2024-01-25T11:47:00Z", "ENDED", "model:lending_approval@v13"),
        # the monitors' incident, its evidence batches and its playbook
        ("2024-01-25T11:30:00Z", "REGISTERED", "batch:lending_approval_2024_01_25_1130"),
        ("2024-01-25T11:30:00Z", "REGISTERED", incident),
        ("2024-01-25T11:30:00Z", "REGISTERED", "playbook:demographic_parity"),
        ("2024-01-25T10:00:00Z", "REGISTERED", "batch:lending_approval_2024_01_25_1000"),
        ("2024-01-25T10:00:00Z", "ENDED", "model:lending_approval@v12"),
        ("2024-01-25T10:00:00Z", "STARTED", "model:lending_approval@v13"),
    ]
    assert {(c["node"]["id"], c["edge"]["kind"]) for c in changes if c["edge"]} == {
        ("deployment:lending_approval_production", "SERVED"),
        ("deployment:lending_approval_production", "ROLLED_BACK_FOR"),
    }


def test_serving_and_provenance_after_the_rollback_give_v12(api: Api) -> None:
    query, variables = saved("serving")
    after = api.data(query, variables | {"asOf": "2024-01-25T11:50:00Z"})
    (deployment,) = after["serving"]["deployments"]
    assert [t["version"]["id"] for t in deployment["traffic"]] == [V12]
    provenance, _ = saved("training_provenance")
    for at, version in (("2024-01-25T11:30:00Z", V13), ("2024-01-25T11:50:00Z", V12)):
        answer = api.data(provenance, {"model": "lending_approval", "asOf": at})
        assert answer["trainingProvenance"]["modelVersion"]["id"] == version
