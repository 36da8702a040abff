"""Content addresses and the content-addressed record store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lineage.errors import ConflictError, InvalidError, NotFoundError
from lineage.services.content import hash_path
from lineage.services.record_store import RecordStore


def test_file_address_is_its_sha256(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert hash_path(path) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()


def test_directory_address_is_the_hash_of_its_sorted_manifest(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.txt").write_bytes(b"b")
    (tmp_path / "d" / "sub" / "a.txt").write_bytes(b"a")
    sha = {k: hashlib.sha256(k.encode()).hexdigest() for k in "ab"}
    manifest = f"{sha['b']}  b.txt\n{sha['a']}  sub/a.txt\n"
    assert hash_path(tmp_path / "d") == hashlib.sha256(manifest.encode()).hexdigest()


def test_directory_address_does_not_depend_on_where_it_lives(tmp_path: Path) -> None:
    for root in ("one", "two"):
        (tmp_path / root).mkdir()
        (tmp_path / root / "x").write_bytes(b"same")
    assert hash_path(tmp_path / "one") == hash_path(tmp_path / "two")


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        hash_path(tmp_path / "nope")


def test_records_round_trip_and_are_content_addressed(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    rows = [{"id": 1, "decision": "APPROVED"}, {"id": 2, "decision": "DECLINED"}]
    digest = store.put_records(rows)
    assert store.put_records([dict(reversed(r.items())) for r in rows]) == digest
    assert list(store.iter_records(digest)) == rows


def test_an_altered_records_file_is_reported_not_served(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    digest = store.put_records([{"decision": "APPROVED"}])
    (tmp_path / digest[:2] / digest).write_bytes(b'{"decision":"DECLINED"}\n')
    with pytest.raises(ConflictError):
        store.read(digest)


def test_record_store_rejects_a_malformed_hash(tmp_path: Path) -> None:
    with pytest.raises(InvalidError) as info:
        RecordStore(tmp_path).read("../../etc/passwd")
    assert info.value.field == "records_hash"
