"""Tokens as the service keeps them: hashed credential nodes written through the audit chain,
on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lineage.errors import ErrorCode, LineageError
from lineage.model.graph import EdgeKind, Node
from lineage.services.audit import verify
from lineage.services.tokens import (
    Role,
    authenticate,
    create_token,
    credential_id,
    list_tokens,
    revoke_token,
    token_hash,
)
from lineage.store import EdgeQuery, GraphStore

ACTOR = "pipeline:lineage_demo"
ANALYST = "person:oncall_ml_engineer"


def test_a_created_token_authenticates_as_its_principal_and_roles(
    scenario_store: GraphStore,
) -> None:
    issued = create_token(scenario_store, ANALYST, ["reader", "compliance"], actor=ACTOR)
    principal = authenticate(scenario_store, issued.token)
    assert principal is not None
    assert principal.id == ANALYST
    assert principal.roles == frozenset({Role.READER, Role.COMPLIANCE})
    assert principal.credential == issued.credential.id == credential_id(issued.token)


def test_the_store_holds_only_the_hash_with_an_edge_to_the_principal_and_an_audit_event(
    scenario_store: GraphStore,
) -> None:
    issued = create_token(scenario_store, ANALYST, [Role.READER], actor=ACTOR, label="laptop")
    stored = scenario_store.get_nodes([issued.credential.id])[issued.credential.id]
    assert stored.props["token_hash"] == token_hash(issued.token)
    assert issued.token not in repr(stored)
    assert stored.props["label"] == "laptop"
    edges = scenario_store.find_edges(EdgeQuery(src=stored.id)).items
    assert [(e.kind, e.dst) for e in edges] == [(EdgeKind.ACTED_ON_BEHALF_OF, ANALYST)]
    head = scenario_store.audit_head()
    assert head is not None and head.action == "create_token" and head.actor == ACTOR
    assert verify(scenario_store).ok


def test_revoking_closes_the_credential_once_and_is_audited(scenario_store: GraphStore) -> None:
    issued = create_token(scenario_store, ANALYST, ["reader"], actor=ACTOR)
    at = datetime.now(UTC) + timedelta(seconds=1)
    revoked = revoke_token(scenario_store, issued.credential.id, actor=ACTOR, now=at)
    assert revoked.valid_to is not None and revoked.props["revoked_at"]
    assert authenticate(scenario_store, issued.token, now=at + timedelta(seconds=1)) is None
    head = scenario_store.audit_head()
    assert head is not None and head.action == "revoke_token"
    assert revoke_token(scenario_store, issued.token, actor=ACTOR) == revoked
    assert scenario_store.audit_head() == head
    assert verify(scenario_store).ok


def test_a_token_of_a_principal_that_left_no_longer_works(scenario_store: GraphStore) -> None:
    issued = create_token(scenario_store, ANALYST, ["reader"], actor=ACTOR)
    person = scenario_store.get_nodes([ANALYST])[ANALYST]
    left = datetime.now(UTC) - timedelta(seconds=1)
    scenario_store.upsert_nodes(
        [Node(person.id, person.kind, person.valid_from, person.props, valid_to=left)]
    )
    assert authenticate(scenario_store, issued.token) is None


@pytest.mark.parametrize(
    ("principal", "roles", "code", "field"),
    [
        ("person:nobody", ["reader"], ErrorCode.NOT_FOUND, "principal"),
        ("model:lending_approval", ["reader"], ErrorCode.INVALID, "principal"),
        (ANALYST, [], ErrorCode.INVALID, "roles"),
        (ANALYST, ["superuser"], ErrorCode.INVALID, "roles"),
    ],
)
def test_bad_token_requests_are_refused_naming_the_field(
    scenario_store: GraphStore, principal: str, roles: list[str], code: ErrorCode, field: str
) -> None:
    head = scenario_store.audit_head()
    with pytest.raises(LineageError) as caught:
        create_token(scenario_store, principal, roles, actor=ACTOR)
    assert caught.value.code is code and caught.value.field == field
    assert scenario_store.audit_head() == head


def test_list_tokens_filters_by_principal(scenario_store: GraphStore) -> None:
    mine = create_token(scenario_store, ANALYST, ["reader"], actor=ACTOR)
    create_token(scenario_store, "pipeline:credit_training", ["pipeline"], actor=ACTOR)
    assert [n.id for n in list_tokens(scenario_store, ANALYST)] == [mine.credential.id]
    assert len(list_tokens(scenario_store)) == 2


def test_revoking_an_unknown_credential_is_not_found(scenario_store: GraphStore) -> None:
    with pytest.raises(LineageError) as caught:
        revoke_token(scenario_store, "credential:0123456789abcdef", actor=ACTOR)
    assert caught.value.code is ErrorCode.NOT_FOUND
