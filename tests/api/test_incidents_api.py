"""Incidents over GraphQL: readers read them, operators acknowledge and resolve them, and a
batch registered through the API is judged by the monitors before the answer returns."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from lineage.services.scenario import DEPLOYMENT, decisions, statistics
from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

INCIDENT = "incident:lending_approval_2024_01_25"
ONE = """query One($id: ID!) { incident(id: $id) {
  id status statusAt(asOf: "2024-01-25T11:00:00Z") statusHistory { status at by reason }
  disposition rootCause } }"""
ACKNOWLEDGE = """mutation Ack($id: ID!) { acknowledgeIncident(incident: $id, reason: "on it") {
  created auditSeq incident { status } } }"""
RESOLVE = """mutation Resolve($id: ID!) { resolveIncident(incident: $id, disposition: "actionable",
  rootCause: "training filter dropped applicants aged 65+ from one batch",
  reason: "v13 rolled back and blocked") { created incident { status disposition } } }"""
PRECISION = '{ alertPrecision(signal: "demographic_parity") { resolved actionable precision } }'
LIST = """query List($status: String) { incidents(status: $status, model: "lending_approval") {
  id signal evidence } }"""


def test_a_reader_reads_an_incident_and_its_status_as_of_an_instant(api: Api) -> None:
    incident = api.data(ONE, {"id": INCIDENT})["incident"]
    assert incident["status"] == "open" and incident["statusAt"] is None  # not opened by 11:00
    assert incident["statusHistory"][0]["by"] == "pipeline:lineage_monitors"


def test_a_reader_may_not_acknowledge(api: Api) -> None:
    (error,) = api.errors(ACKNOWLEDGE, {"id": INCIDENT}, role=Role.READER)
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_an_operator_acknowledges_then_resolves_and_precision_follows(api: Api) -> None:
    first = api.data(ACKNOWLEDGE, {"id": INCIDENT}, role=Role.OPERATOR)["acknowledgeIncident"]
    assert first["created"] is True and first["incident"]["status"] == "acknowledged"
    again = api.data(ACKNOWLEDGE, {"id": INCIDENT}, role=Role.OPERATOR)["acknowledgeIncident"]
    assert again["created"] is False and again["auditSeq"] is None
    done = api.data(RESOLVE, {"id": INCIDENT}, role=Role.OPERATOR)["resolveIncident"]
    assert done["incident"] == {"status": "resolved", "disposition": "actionable"}
    assert api.data(PRECISION)["alertPrecision"] == [
        {"resolved": 1, "actionable": 1, "precision": 1.0}
    ]
    history = api.data(ONE, {"id": INCIDENT})["incident"]["statusHistory"]
    assert [h["status"] for h in history] == ["open", "acknowledged", "resolved"]
    assert history[1]["by"] == "person:credit_ml_lead"


def test_an_unknown_status_is_invalid_naming_it(api: Api) -> None:
    (error,) = api.errors(LIST, {"status": "closed"})
    assert error["extensions"] == {"code": "INVALID", "field": "status"}


REGISTER = """mutation Register($input: InferenceBatchInput!) {
  registerInferenceBatch(input: $input) { created batch { id } } }"""


def skewed_batch() -> dict[str, Any]:
    """v12 on Jan 26 approving applicants aged 65+ at about 10% (200 decisions)."""
    rows = decisions("2024-01-26T00:00:00", "v13", 200)
    return {
        "id": "batch:lending_approval_2024_01_26_0000",
        "modelVersion": "model:lending_approval@v12",
        "snapshot": "snapshot:credit_model_training_2024_01_20",
        "windowStart": "2024-01-26T00:00:00Z",
        "windowEnd": "2024-01-26T06:00:00Z",
        "recordCount": len(rows),
        "counts": dict(Counter(r["decision"] for r in rows)),
        "statistics": statistics(rows),
        "records": rows,
        "deployment": DEPLOYMENT,
    }


def test_a_batch_registered_over_the_api_is_judged_before_the_answer(api: Api) -> None:
    api.data(RESOLVE, {"id": INCIDENT}, role=Role.OPERATOR)
    batch = skewed_batch()
    done = api.data(REGISTER, {"input": batch}, role=Role.PIPELINE)["registerInferenceBatch"]
    assert done["created"] is True
    (found,) = api.data(LIST, {"status": "open"})["incidents"]
    assert found["signal"] == "demographic_parity" and found["id"] != INCIDENT
    assert [e["batch"] for e in found["evidence"]] == [batch["id"]]
