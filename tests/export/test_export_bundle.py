"""The evidence bundle of the reference scenario's v12, on every backend: what it holds, that a
reader we did not write loads it, and that verification catches a single changed byte."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx  # type: ignore[import-untyped]
import pytest
from prov.model import ProvDocument

from lineage.errors import InvalidError, NotFoundError
from lineage.services.audit import verify as verify_chain
from lineage.services.export import ExportRequest, Window, export_bundle, verify_bundle
from lineage.services.export.redaction import Redactor
from lineage.services.record_store import RecordStore
from lineage.services.scenario import DEMO_ACTOR, JOHN_DOE
from lineage.store import GraphStore

V12 = "model:lending_approval@v12"
AT = datetime(2024, 2, 1, tzinfo=UTC)
# The PROV type of each relation record, as the prov package names it, and the PROV-JSON name.
RELATIONS = {
    "Usage": "prov:used",
    "Generation": "prov:wasGeneratedBy",
    "Derivation": "prov:wasDerivedFrom",
    "Association": "prov:wasAssociatedWith",
    "Attribution": "prov:wasAttributedTo",
    "Delegation": "prov:actedOnBehalfOf",
    "Specialization": "prov:specializationOf",
    "Membership": "prov:hadMember",
    "Influence": "prov:wasInfluencedBy",
}


def _export(store: GraphStore, records: RecordStore, out: Path, **kwargs: object) -> Path:
    request = ExportRequest(
        V12,
        Window(datetime(2024, 1, 22, tzinfo=UTC), datetime(2024, 1, 26, tzinfo=UTC)),
        bool(kwargs.pop("redact", False)),
    )
    export_bundle(store, records, request, out, actor=DEMO_ACTOR, generated_at=AT, **kwargs)  # type: ignore[arg-type]
    return out


def test_the_v12_bundle_verifies_and_records_its_hand_out(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    before = scenario.audit_head()
    assert before is not None
    out = _export(scenario, records, tmp_path / "bundle")
    check = verify_bundle(out)
    assert check.ok, check
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["audit_head"] == {"seq": before.seq, "hash": before.hash}
    assert manifest["scope"]["versions"] == [V12] and manifest["redacted"] is False
    head = scenario.audit_head()
    assert head is not None and head.seq == before.seq + 1 and head.action == "export"
    assert head.payload is not None
    assert head.payload["manifest_sha256"] == check_manifest_hash(out)
    assert verify_chain(scenario).ok  # the export event keeps the chain intact
    names = set(manifest["files"])
    for expected in ("provenance.json", "provenance.provn", "graph.graphml", "dossier.json",
                     "dossier.md", "audit.jsonl", "report.html"):
        assert expected in names
    assert any(n.startswith("decisions/") for n in names)


def check_manifest_hash(folder: Path) -> str:
    import hashlib

    return hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()


def test_prov_package_loads_the_same_entities_activities_agents_and_relations(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    out = _export(scenario, records, tmp_path / "bundle")
    manifest = json.loads((out / "manifest.json").read_text())
    doc = ProvDocument.deserialize(source=str(out / "provenance.json"), format="json")
    counts: dict[str, int] = {}
    for record in doc.get_records():
        name = record.get_type().localpart
        key = name.lower() if name in ("Entity", "Activity", "Agent") else RELATIONS[name]
        counts[key] = counts.get(key, 0) + 1
    assert counts == manifest["prov_counts"]
    assert counts["entity"] + counts["activity"] + counts["agent"] == manifest["counts"]["nodes"]
    assert sum(v for k, v in counts.items() if k.startswith("prov:")) == manifest["counts"]["edges"]
    ids = {str(r.identifier) for r in doc.get_records() if r.identifier is not None}
    assert "lin:" + V12 in ids and "lin:dataset:applications@v2" in ids
    graph = nx.read_graphml(out / "graph.graphml", force_multigraph=True)
    assert graph.number_of_nodes() == manifest["counts"]["nodes"]
    assert graph.number_of_edges() == manifest["counts"]["edges"]


def test_the_dossier_follows_annex_iv_and_says_what_is_not_recorded(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    out = _export(scenario, records, tmp_path / "bundle")
    dossier = json.loads((out / "dossier.json").read_text())
    sections = {s["number"]: s for s in dossier["sections"]}
    assert list(sections) == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert sections["4"]["facts"][V12]["risk_tier"] == "HIGH"
    datasets = next(t for t in sections["2"]["tables"] if t["title"] == "Dataset versions")
    assert "dataset:applications@v2" in {row[0] for row in datasets["rows"]}
    signers = {row[4] for row in sections["6"]["tables"][0]["rows"]}
    assert {"person:head_of_lending", "person:model_risk_officer"} <= signers
    incidents = next(t for t in sections["8"]["tables"] if t["title"] == "Incidents")
    assert incidents["rows"][0][0] == "incident:lending_approval_2024_01_25"
    # No drill was run in the scenario: the section says so rather than leaving it out.
    assert "Rollback drills" not in {t["title"] for t in sections["8"]["tables"]}
    text = (out / "dossier.md").read_text()
    assert "## 8. Post-market monitoring" in text and "abc123def456" in text


def test_a_window_without_batches_or_incidents_says_nothing_was_recorded(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    request = ExportRequest(
        V12, Window(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    )
    out = tmp_path / "empty-window"
    export_bundle(scenario, records, request, out, actor=DEMO_ACTOR, record=False)
    sections = json.loads((out / "dossier.json").read_text())["sections"]
    monitoring = sections[-1]
    assert monitoring["status"] == "nothing recorded"
    assert monitoring["statement"].startswith("Nothing recorded")
    assert verify_bundle(out).ok


@pytest.mark.parametrize("name", ["graph.graphml", "report.html", "audit.jsonl",
                                  "manifest.json"])
def test_one_changed_byte_fails_verification_naming_the_file(
    scenario: GraphStore, records: RecordStore, tmp_path: Path, name: str
) -> None:
    out = _export(scenario, records, tmp_path / "bundle")
    path = out / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    check = verify_bundle(out)
    assert not check.ok and check.file == name, check


def test_a_zip_bundle_verifies_and_a_changed_member_is_named(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    out = _export(scenario, records, tmp_path / "bundle.zip")
    assert zipfile.is_zipfile(out) and verify_bundle(out).ok
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(altered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "dossier.md":
                data = data.replace(b"HIGH", b"LOW!", 1) if b"HIGH" in data else data + b" "
            dst.writestr(info, data)
    check = verify_bundle(altered)
    assert not check.ok and check.file == "dossier.md"


def test_an_event_edited_in_the_audit_proof_is_caught(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    out = _export(scenario, records, tmp_path / "bundle")
    lines = (out / "audit.jsonl").read_text().splitlines()
    event = json.loads(lines[3])
    event["preimage"] = event["preimage"].replace(event["preimage"][10], "x", 1)
    lines[3] = json.dumps(event, sort_keys=True)
    (out / "audit.jsonl").write_text("\n".join(lines) + "\n")
    # Re-hash the file in the manifest too, as a forger would: the chain still catches it.
    import hashlib

    manifest = json.loads((out / "manifest.json").read_text())
    proof = (out / "audit.jsonl").read_bytes()
    manifest["files"]["audit.jsonl"] = hashlib.sha256(proof).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    sums = "".join(
        f"{hashlib.sha256((out / n).read_bytes()).hexdigest()}  {n}\n"
        for n in sorted([*manifest["files"], "manifest.json"])
    )
    (out / "SHA256SUMS").write_text(sums)
    check = verify_bundle(out)
    assert not check.ok and check.file == "audit.jsonl" and "event 4" in str(check.problem)


def test_same_state_and_time_give_the_same_bytes(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    first = _export(scenario, records, tmp_path / "a.zip", record=False)
    second = _export(scenario, records, tmp_path / "b.zip", record=False)
    assert first.read_bytes() == second.read_bytes()


def test_redaction_replaces_personal_identifiers_and_the_manifest_says_so(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    plain = _export(scenario, records, tmp_path / "plain", record=False)
    redacted = _export(
        scenario, records, tmp_path / "redacted", redact=True, redactor=Redactor(b"k" * 32),
        record=False,
    )
    name = str(JOHN_DOE["applicant_id"])
    assert any(name in p.read_text() for p in (plain / "decisions").iterdir())
    for path in redacted.rglob("*"):
        if path.is_file():
            assert name not in path.read_text(errors="replace"), path
    manifest = json.loads((redacted / "manifest.json").read_text())
    assert manifest["redacted"] is True
    assert manifest["redaction"]["method"] == "HMAC-SHA256"
    assert manifest["redaction"]["replaced"]["applicant_id"] == manifest["counts"]["decisions"]
    assert ("k" * 32) not in (redacted / "manifest.json").read_text()
    line = json.loads(next((redacted / "decisions").iterdir()).read_text().splitlines()[0])
    assert line["applicant_id"].startswith("hmac-sha256:") and "decision" in line
    assert verify_bundle(redacted).ok


def test_bad_requests_name_the_field_and_write_nothing(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    head = scenario.audit_head()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidError) as wrong_kind:
        export_bundle(scenario, records, ExportRequest("dataset:applications@v2"),
                      out / "a", actor=DEMO_ACTOR)
    assert wrong_kind.value.field == "node"
    with pytest.raises(NotFoundError) as missing:
        export_bundle(scenario, records, ExportRequest("model:nope@v1"), out / "b",
                      actor=DEMO_ACTOR)
    assert missing.value.field == "node"
    with pytest.raises(InvalidError) as window:
        Window(datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))
    assert window.value.field == "to"
    (out / "exists").mkdir()
    with pytest.raises(InvalidError) as exists:
        export_bundle(scenario, records, ExportRequest(V12), out / "exists", actor=DEMO_ACTOR)
    assert exists.value.field == "out"
    with pytest.raises(InvalidError) as stranger:
        export_bundle(scenario, records, ExportRequest(V12), out / "c", actor="person:nobody")
    assert stranger.value.field == "actor"
    assert scenario.audit_head() == head
    assert sorted(p.name for p in out.iterdir()) == ["exists"]


def test_a_bundle_above_the_prov_n_limit_leaves_it_out_and_says_so(
    scenario: GraphStore, records: RecordStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.services.export import prov_json

    monkeypatch.setattr(prov_json, "PROVN_LIMIT", 10)
    out = _export(scenario, records, tmp_path / "bundle", record=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "provenance.provn" not in manifest["files"] and not (out / "provenance.provn").exists()
    assert any("provenance.provn is left out" in note for note in manifest["notes"])
    assert verify_bundle(out).ok


def test_the_prov_n_document_holds_the_same_records(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    out = _export(scenario, records, tmp_path / "bundle", record=False)
    text = (out / "provenance.provn").read_text()
    assert text.startswith("document") and "lending_approval@v12" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert text.count("\n  entity(") == manifest["prov_counts"]["entity"]


def test_redaction_covers_every_field_the_subject_index_looks_people_up_by() -> None:
    redactor = Redactor(b"k" * 32)
    line = redactor.record(
        {"subject": "jane_roe", "customer_id": "c-7", "email": "j@x.org", "decision": "APPROVED"}
    )
    assert all(str(line[f]).startswith("hmac-sha256:") for f in ("subject", "customer_id", "email"))
    assert line["decision"] == "APPROVED"
