"""Contradictory provenance over the API: the error names the argument path and the fact."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineage.services.tokens import Role

if TYPE_CHECKING:
    from conftest import Api

REGISTER_BATCH = """
mutation Batch($input: InferenceBatchInput!) {
  registerInferenceBatch(input: $input) { created auditSeq batch { id props } }
}
"""
DEPLOYMENT = "deployment:lending_approval_production"
V12 = "model:lending_approval@v12"
JAN20 = "snapshot:credit_model_training_2024_01_20"
JAN24 = "snapshot:credit_model_training_2024_01_24"


def batch(**changes: Any) -> dict[str, Any]:
    return {
        "input": {
            "id": "batch:lending_approval_api_extra",
            "modelVersion": V12,
            "snapshot": JAN20,
            "deployment": DEPLOYMENT,
            "windowStart": "2024-01-25T09:00:00Z",
            "windowEnd": "2024-01-25T10:30:00Z",
            "recordCount": 1,
            "records": [{"applicant_id": "applicant_30001", "decision": "DECLINED"}],
            **changes,
        }
    }


def test_a_batch_across_a_deployment_switch_is_a_conflict_naming_the_deployment(
    api: Api,
) -> None:
    head = api.store.audit_head()
    (error,) = api.errors(REGISTER_BATCH, batch(), role=Role.PIPELINE)
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["field"] == "input.deployment"
    assert error["message"].startswith(
        f"{DEPLOYMENT} served model:lending_approval@v13 from 2024-01-25T10:00:00Z to "
        f"2024-01-25T11:47:00Z, not {V12}"
    )
    assert api.store.audit_head() == head
    assert api.store.get_nodes(["batch:lending_approval_api_extra"]) == {}


def test_skew_reason_records_a_deliberate_snapshot_skew_and_is_required_for_one(
    api: Api,
) -> None:
    skewed = {
        "snapshot": JAN24,
        "windowStart": "2024-01-26T00:00:00Z",
        "windowEnd": "2024-01-26T01:00:00Z",
    }
    (error,) = api.errors(REGISTER_BATCH, batch(**skewed), role=Role.PIPELINE)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (
        "INVALID",
        "input.snapshot",
    )
    assert f"{V12} was trained on {JAN20}, not {JAN24}" in error["message"]
    reason = "the Jan 20 features were unavailable during the incident"
    done = api.data(REGISTER_BATCH, batch(**skewed, skewReason=reason), role=Role.PIPELINE)
    registered = done["registerInferenceBatch"]
    assert registered["created"] is True
    assert registered["batch"]["props"]["snapshot_skew"] == {"trained_on": JAN20, "reason": reason}
