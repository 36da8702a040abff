"""versionDiff: two model versions side by side, as recorded at an instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineage.errors import InvalidError, NotFoundError
from lineage.services import investigation as inv
from lineage.services.scenario import (
    DEPLOYMENT,
    MODEL,
    SNAPSHOT_JAN20,
    SNAPSHOT_JAN24,
    content_hash,
)
from lineage.services.version_diff import ASPECTS
from lineage.store import GraphStore

V12, V12_RC1, V13 = (f"{MODEL}@{v}" for v in ("v12", "v12-rc1", "v13"))
AFTER = datetime(2024, 1, 26, tzinfo=UTC)


def rows(diff: inv.VersionDiff) -> dict[tuple[str, str], inv.DiffRow]:
    return {(r.aspect, r.field): r for r in diff.rows}


def test_version_diff_v12_v13_names_the_snapshot_and_the_code_commit(store: GraphStore) -> None:
    found = rows(inv.version_diff(store, V12, V13, AFTER))
    snapshot = found["snapshot", "id"]
    assert (snapshot.a, snapshot.b) == (SNAPSHOT_JAN20, SNAPSHOT_JAN24)
    assert found["snapshot", "content_hash"].b == content_hash(SNAPSHOT_JAN24)
    assert (found["code", "code_commit"].a, found["code", "code_commit"].b) == (
        "abc123def456",
        "d4e5f6a7b8c9",
    )


def test_version_diff_v12_v13_shows_the_same_data_hashes_and_parameters(store: GraphStore) -> None:
    # The 65+ filter was in the new snapshot's computation: both bound the same dataset hashes.
    found = rows(inv.version_diff(store, V12, V13, AFTER))
    applications = found["data", "dataset:applications"]
    assert applications.same
    assert applications.a == {
        "id": "dataset:applications@v2",
        "content_hash": content_hash("dataset:applications@v2"),
    }
    assert all(r.same for key, r in found.items() if key[0] == "parameters")
    assert found["training", "split"].same and found["training", "seed"].a == 42
    assert (found["training", "records_used"].a, found["training", "records_used"].b) == (
        400_000,
        402_000,
    )


def test_version_diff_compares_metrics_gates_approvals_and_deployments(
    store: GraphStore,
) -> None:
    found = rows(inv.version_diff(store, V12, V13, AFTER))
    assert (found["metrics", "auc"].a, found["metrics", "auc"].b) == (0.87, 0.88)
    assert "65+" in str(found["metrics", "notes"].b)
    assert found["gates", "risk"].a == found["gates", "risk"].b == "PASS"
    sign_off = found["approvals", "risk_approver"].b
    assert isinstance(sign_off, dict) and sign_off["decision"] == "approved"
    served = found["deployments", DEPLOYMENT]
    assert served.a == {"from": "2024-01-22T09:00:00Z", "until": None}
    assert served.b == {"from": "2024-01-25T10:00:00Z", "until": "2024-01-25T11:47:00Z"}


def test_version_diff_rows_come_grouped_in_aspect_order(store: GraphStore) -> None:
    diff = inv.version_diff(store, V12, V13, AFTER)
    order = [ASPECTS.index(r.aspect) for r in diff.rows]
    assert order == sorted(order) and diff.differences
    assert all(not r.same for r in diff.differences)


def test_version_diff_as_of_reads_the_evidence_known_then(store: GraphStore) -> None:
    # On Jan 21 at noon neither had served yet (v12 went live on Jan 22), and the blocked
    # candidate's risk gate failed where v12's passed.
    early = rows(inv.version_diff(store, V12_RC1, V12, datetime(2024, 1, 21, 12, tzinfo=UTC)))
    assert (early["gates", "risk"].a, early["gates", "risk"].b) == ("FAIL", "PASS")
    assert ("deployments", DEPLOYMENT) not in early


def test_version_diff_takes_short_names(store: GraphStore) -> None:
    by_name = inv.version_diff(store, "lending_approval@v12", "lending_approval@v13", AFTER)
    assert (by_name.a.id, by_name.b.id) == (V12, V13)


def test_version_diff_of_a_version_with_itself_is_invalid_naming_b(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.version_diff(store, V12, "lending_approval@v12")
    assert caught.value.field == "b"


def test_version_diff_of_a_version_not_registered_then_is_not_found_naming_it(
    store: GraphStore,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        inv.version_diff(store, V12, V13, datetime(2024, 1, 24, tzinfo=UTC))
    assert caught.value.field == "b"
    with pytest.raises(NotFoundError) as missing:
        inv.version_diff(store, f"{MODEL}@v99", V13)
    assert missing.value.field == "a"


def test_version_diff_of_a_model_id_is_invalid_naming_the_field(store: GraphStore) -> None:
    with pytest.raises(InvalidError) as caught:
        inv.version_diff(store, MODEL, V13)
    assert caught.value.field == "a"
