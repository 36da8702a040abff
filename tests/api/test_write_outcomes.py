"""A write's answer says exactly what was committed: a write blocked behind another writer gives
up before its answer with nothing written, never commits after an answer that says it did not,
and an identical retry after any outcome is safe."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from lineage.services.tokens import Role
from lineage.store.base import GraphStore
from tests.locks import another_process_holding_the_lock, another_writer_holding_the_lock

if TYPE_CHECKING:
    from conftest import Api, ApiFactory

REGISTER = """
mutation Register($input: DatasetVersionInput!) {
  registerDatasetVersion(input: $input) { created auditSeq datasetVersion { id } }
}
"""
TWO_WRITES = """
mutation Two($a: DatasetVersionInput!, $b: DatasetVersionInput!) {
  first: registerDatasetVersion(input: $a) { created }
  second: registerDatasetVersion(input: $b) { created }
}
"""


def version(name: str) -> dict[str, Any]:
    """A dataset version input with a distinct hash per name."""
    digest = (name.encode().hex() * 64)[:64]
    return {
        "id": f"dataset:retry_rule@{name}",
        "contentHash": digest,
        "recordCount": 10,
        "createdAt": "2024-01-01T00:00:00Z",
    }


def exists(store: GraphStore, node_id: str) -> bool:
    return node_id in store.get_nodes([node_id])


def registration_error(api: Api, variables: dict[str, Any]) -> dict[str, Any]:
    body = api.post(REGISTER, variables, role=Role.PIPELINE).json()
    assert body["data"] == {"registerDatasetVersion": None}, body
    (error,) = body["errors"]
    return dict(error)


def test_a_write_blocked_by_this_service_past_the_lock_timeout_says_nothing_was_written(
    api: Api,
) -> None:
    api.store.lock_timeout = 0.3
    started = time.monotonic()
    with another_writer_holding_the_lock(api.store):
        error = registration_error(api, {"input": version("a")})
    assert time.monotonic() - started < 3
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "nothing was written" in error["message"]
    assert "maxDepth" not in error["message"]
    assert not exists(api.store, "dataset:retry_rule@a")


def test_a_write_blocked_by_another_process_never_commits_after_its_answer(api: Api) -> None:
    api.store.lock_timeout = 0.3
    with another_process_holding_the_lock(api.store):
        error = registration_error(api, {"input": version("b")})
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert "another process" in error["message"] and "nothing was written" in error["message"]
    time.sleep(0.5)  # a worker left behind would commit once the lock is free
    assert not exists(api.store, "dataset:retry_rule@b")


def test_a_retry_after_a_failed_write_commits_once_and_then_is_a_no_op(api: Api) -> None:
    api.store.lock_timeout = 0.3
    variables = {"input": version("c")}
    with another_writer_holding_the_lock(api.store):
        assert registration_error(api, variables)["extensions"]["code"] == "UNAVAILABLE"
    first = api.data(REGISTER, variables, role=Role.PIPELINE)["registerDatasetVersion"]
    again = api.data(REGISTER, variables, role=Role.PIPELINE)["registerDatasetVersion"]
    assert first["created"] is True and first["auditSeq"] is not None
    assert again == {"created": False, "auditSeq": None, "datasetVersion": first["datasetVersion"]}


def test_a_write_that_waits_past_the_time_budget_answers_what_it_committed(
    make_api: ApiFactory,
) -> None:
    api = make_api(time_budget_seconds=0.3)
    api.store.lock_timeout = 3.0
    with another_writer_holding_the_lock(api.store, seconds=0.8):
        answer = api.data(REGISTER, {"input": version("d")}, role=Role.PIPELINE)
    assert answer["registerDatasetVersion"]["created"] is True
    assert exists(api.store, "dataset:retry_rule@d")


def test_a_write_reached_after_the_time_budget_is_not_attempted_and_says_so(
    make_api: ApiFactory,
) -> None:
    api = make_api(time_budget_seconds=0.3)
    api.store.lock_timeout = 3.0
    variables = {"a": version("e"), "b": version("f")}
    with another_writer_holding_the_lock(api.store, seconds=0.8):
        body = api.post(TWO_WRITES, variables, role=Role.PIPELINE).json()
    assert body["data"] == {"first": {"created": True}, "second": None}
    (error,) = body["errors"]
    assert error["path"] == ["second"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "nothing was written" in error["message"]
    assert exists(api.store, "dataset:retry_rule@e")
    assert not exists(api.store, "dataset:retry_rule@f")
