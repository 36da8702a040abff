"""Access control: bearer tokens only, roles decide mutations, the audit actor is the token's."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

import pytest

from lineage.services.scenario import DEMO_ACTOR
from lineage.services.tokens import Role, authenticate, create_token, revoke_token

if TYPE_CHECKING:
    from conftest import Api, ApiFactory

VIEWER = "{ viewer { principal roles } }"
REGISTER_PERSON = """
mutation Register($input: PersonInput!) {
  registerPerson(input: $input) { created auditSeq person { id } }
}
"""
NEW_PERSON = {"input": {"id": "person:new_analyst", "name": "New Analyst"}}


def test_a_request_without_a_token_is_refused_with_401(api: Api) -> None:
    response = api.post(VIEWER, role=None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_malformed_unknown_and_forged_tokens_are_refused_with_401(api: Api) -> None:
    real = api.tokens[Role.ADMIN]
    token_id = real.split("_")[1]
    forged = f"lin_{token_id}_{'A' * 43}"  # a real ID with a guessed secret
    unknown = f"lin_{'0' * 16}_{'A' * 43}"
    for token in ("nonsense", unknown, forged, real + "x"):
        response = api.post(VIEWER, token=token)
        assert response.status_code == 401, token
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_revoked_token_stops_working_once_the_servers_trust_lapses(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = create_token(api.store, "person:head_of_lending", ["reader"], actor=DEMO_ACTOR)
    assert api.post(VIEWER, token=issued.token).status_code == 200
    revoke_token(api.store, issued.token, actor=DEMO_ACTOR)  # as `lineage token revoke` does
    later = time.monotonic() + api.client.app.state.verified_tokens.ttl
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert api.post(VIEWER, token=issued.token).status_code == 401


def test_the_viewer_is_the_tokens_principal_and_roles(api: Api) -> None:
    viewer = api.data(VIEWER, role=Role.PIPELINE)["viewer"]
    assert viewer == {"principal": "pipeline:credit_training", "roles": ["pipeline"]}


def test_a_reader_cannot_call_mutations_and_nothing_is_written(api: Api) -> None:
    head = api.store.audit_head()
    for role in (Role.READER, Role.APPROVER, Role.OPERATOR, Role.COMPLIANCE):
        (error,) = api.errors(REGISTER_PERSON, NEW_PERSON, role=role)
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["path"] == ["registerPerson"]
    assert api.store.audit_head() == head
    assert not api.store.get_nodes(["person:new_analyst"])


def test_the_audit_actor_is_the_tokens_principal_never_a_field(api: Api) -> None:
    answer = api.data(REGISTER_PERSON, NEW_PERSON, role=Role.PIPELINE)["registerPerson"]
    assert answer["created"] is True
    head = api.store.audit_head()
    assert head is not None and head.seq == answer["auditSeq"]
    assert head.actor == "pipeline:credit_training"
    # A field that names someone else changes the provenance it describes, not the actor.
    run = {
        "input": {
            "id": "run:lending_approval_v14",
            "modelVersion": "model:lending_approval@v14",
            "snapshot": "snapshot:credit_model_training_2024_01_24",
            "datasets": [
                {
                    "id": "dataset:applications@v2",
                    "contentHash": api.store.get_nodes(["dataset:applications@v2"])[
                        "dataset:applications@v2"
                    ].props["content_hash"],
                },
            ],
            "codeCommit": "e5f6a7b8c9d0",
            "recordsAvailable": 510000,
            "recordsUsed": 400000,
            "triggeredBy": "person:credit_ml_lead",
            "reason": "retrain without the age filter",
            "startedAt": "2024-01-26T10:00:00Z",
            "endedAt": "2024-01-26T20:00:00Z",
        }
    }
    mutation = """
    mutation Run($input: TrainingRunInput!) {
      registerTrainingRun(input: $input) { created modelVersion { id } }
    }
    """
    done = api.data(mutation, run, role=Role.ADMIN)["registerTrainingRun"]
    assert done == {"created": True, "modelVersion": {"id": "model:lending_approval@v14"}}
    head = api.store.audit_head()
    assert head is not None and head.actor == "pipeline:lineage_demo"
    stored = api.store.get_nodes(["run:lending_approval_v14"])["run:lending_approval_v14"]
    assert stored.props["triggered_by"] == "person:credit_ml_lead"


def test_triggered_by_defaults_to_the_caller(api: Api) -> None:
    mutation = """
    mutation Run($input: TrainingRunInput!) { registerTrainingRun(input: $input) { created } }
    """
    applications = api.store.get_nodes(["dataset:applications@v2"])["dataset:applications@v2"]
    run = {
        "id": "run:lending_approval_v15",
        "modelVersion": "model:lending_approval@v15",
        "snapshot": "snapshot:credit_model_training_2024_01_24",
        "datasets": [
            {"id": applications.id, "contentHash": applications.props["content_hash"]},
        ],
        "codeCommit": "f6a7b8c9d0e1",
        "recordsAvailable": 10,
        "recordsUsed": 10,
        "reason": "test",
        "startedAt": "2024-01-27T10:00:00Z",
        "endedAt": "2024-01-27T11:00:00Z",
    }
    api.data(mutation, {"input": run}, role=Role.PIPELINE)
    stored = api.store.get_nodes([run["id"]])[run["id"]]
    assert stored.props["triggered_by"] == "pipeline:credit_training"


def test_anonymous_reads_only_when_allowed_and_a_bad_token_is_still_refused(
    make_api: ApiFactory,
) -> None:
    open_api = make_api(allow_anonymous=True)
    response = open_api.post(VIEWER, role=None)
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["roles"] == ["reader"]
    body = open_api.post(REGISTER_PERSON, NEW_PERSON, role=None).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert open_api.post(VIEWER, token="lin_bad").status_code == 401


def test_credentials_are_listed_only_for_admin_and_compliance_without_their_hashes(
    api: Api,
) -> None:
    query = """
    { nodes(kind: "Credential", first: 50) { nodes { id props ... on Credential { principal } } } }
    """
    (error,) = api.errors(query, role=Role.READER)
    assert error["extensions"]["code"] == "FORBIDDEN"
    for role in (Role.ADMIN, Role.COMPLIANCE):
        nodes = api.data(query, role=role)["nodes"]["nodes"]
        assert len(nodes) == len(api.tokens)
        assert all("token_hash" not in n["props"] for n in nodes)
        assert {n["principal"] for n in nodes} >= {"pipeline:credit_training"}


def test_tokens_are_stored_hashed(api: Api) -> None:
    for token in api.tokens.values():
        principal = authenticate(api.store, token)
        assert principal is not None
        credential = api.store.get_nodes([str(principal.credential)])[str(principal.credential)]
        assert token not in str(credential.props)
        assert len(credential.props["token_hash"]) == 64


def test_uploading_records_needs_a_writer_and_the_hash_registers_a_batch(api: Api) -> None:
    lines = (
        b'{"applicant_id": "a1", "decision": "APPROVED"}\n'
        b'{"applicant_id": "a2", "decision": "DECLINED"}\n'
    )
    headers = {"Authorization": f"Bearer {api.tokens[Role.READER]}"}
    assert api.client.post("/records", content=lines, headers=headers).status_code == 403
    assert api.client.post("/records", content=lines).status_code == 401
    headers = {"Authorization": f"Bearer {api.tokens[Role.PIPELINE]}"}
    response = api.client.post("/records", content=lines, headers=headers)
    assert response.status_code == 201, response.text
    uploaded = response.json()
    assert uploaded["recordCount"] == 2
    assert uploaded["recordsHash"] == hashlib.sha256(lines).hexdigest()
    bad = api.client.post("/records", content=b"[1, 2]\n", headers=headers)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"] == {"code": "INVALID", "field": "records"}
    mutation = """
    mutation Batch($input: InferenceBatchInput!) {
      registerInferenceBatch(input: $input) { created batch { recordsHash recordCount } }
    }
    """
    batch = {
        "id": "batch:uploaded",
        "modelVersion": "model:lending_approval@v12",
        "snapshot": "snapshot:credit_model_training_2024_01_20",
        "windowStart": "2024-01-27T00:00:00Z",
        "windowEnd": "2024-01-27T01:00:00Z",
        "recordCount": 2,
        "recordsHash": uploaded["recordsHash"],
    }
    done = api.data(mutation, {"input": batch}, role=Role.PIPELINE)["registerInferenceBatch"]
    assert done["created"] is True and done["batch"]["recordsHash"] == uploaded["recordsHash"]
