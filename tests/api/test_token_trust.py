"""A token verified a moment ago is taken on trust for a few seconds (VerifiedTokens): never
past a revocation forgotten here, never for another store, never past its TTL or a known end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lineage.model.graph import Node
from lineage.services.tokens import VerifiedTokens, create_token, revoke_token
from lineage.store import GraphStore, open_store

ACTOR = "pipeline:lineage_demo"
ANALYST = "person:oncall_ml_engineer"


def _leave(store: GraphStore, person_id: str, at: datetime) -> None:
    person = store.get_nodes([person_id])[person_id]
    store.upsert_nodes([Node(person.id, person.kind, person.valid_from, person.props, valid_to=at)])


def test_a_recently_verified_token_is_recalled_without_reading(scenario_store: GraphStore) -> None:
    trusted = VerifiedTokens(scenario_store)
    issued = create_token(scenario_store, ANALYST, ["reader"], actor=ACTOR)
    assert trusted.recall(issued.token) is None
    principal = trusted.verify(issued.token)
    assert principal is not None and principal.id == ANALYST
    assert trusted.recall(issued.token) == principal


def test_a_revocation_takes_effect_once_forgotten_or_once_the_trust_lapses(
    scenario_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    trusted, elsewhere = VerifiedTokens(scenario_store), VerifiedTokens(scenario_store)
    issued = create_token(scenario_store, ANALYST, ["reader"], actor=ACTOR)
    assert trusted.verify(issued.token) is not None
    assert elsewhere.verify(issued.token) is not None
    revoke_token(scenario_store, issued.token, actor=ACTOR)
    trusted.forget(issued.credential.id)
    assert trusted.recall(issued.token) is None
    assert trusted.verify(issued.token) is None
    assert elsewhere.recall(issued.token) is not None  # another process: within the TTL
    later = time.monotonic() + elsewhere.ttl
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert elsewhere.verify(issued.token) is None


def test_a_token_is_trusted_only_by_its_own_store(
    scenario_store: GraphStore, tmp_path: Path
) -> None:
    issued = create_token(scenario_store, ANALYST, ["reader"], actor=ACTOR)
    assert VerifiedTokens(scenario_store).verify(issued.token) is not None
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        assert VerifiedTokens(other).verify(issued.token) is None  # not registered there
    finally:
        other.close()


def test_a_principal_leaving_takes_effect_once_the_trust_lapses(
    scenario_store: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    trusted = VerifiedTokens(scenario_store)
    issued = create_token(scenario_store, ANALYST, ["reader"], actor=ACTOR)
    assert trusted.verify(issued.token) is not None
    _leave(scenario_store, ANALYST, datetime.now(UTC) - timedelta(seconds=1))
    assert trusted.verify(issued.token) is not None  # within the TTL
    later = time.monotonic() + trusted.ttl
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert trusted.recall(issued.token) is None
    assert trusted.verify(issued.token) is None


def test_a_known_end_is_kept_to_the_instant(scenario_store: GraphStore) -> None:
    trusted = VerifiedTokens(scenario_store)
    issued = create_token(scenario_store, ANALYST, ["reader"], actor=ACTOR)
    _leave(scenario_store, ANALYST, datetime.now(UTC) + timedelta(milliseconds=200))
    assert trusted.verify(issued.token) is not None
    time.sleep(0.3)  # past the end, well within the TTL
    assert trusted.recall(issued.token) is None
    assert trusted.verify(issued.token) is None
