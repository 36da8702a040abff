"""The reference scenario's two alerts, end to end.

1. Jan 25: v13 approves applicants aged 65+ at about 10% against about 50% for the others; the
   demographic monitor opens the incident on v13's first batch (11:30), the rollback of 11:47
   links to it, and resolving it as actionable raises that monitor's precision.
2. (tests only) A new version of the applications dataset computes income another way; v14,
   trained on it, approves the $50-60K band at 12% instead of 45% within 72 hours while the
   features' ranges and null rates stay put; the monitors fire on the segment and on repeated
   applicants getting new decisions, with the dataset change in the incident's context.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from lineage.jobs.monitors import MonitorsConfig, check_batch, run
from lineage.model.graph import EdgeKind, NodeKind
from lineage.services.incidents import Incidents, alert_precision, find_incidents
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import (
    DEPLOYMENT,
    MODEL,
    content_hash,
    statistics,
)
from lineage.services.scenario_loader import load_scenario
from lineage.store import EdgeQuery, GraphStore, iter_all_nodes
from tests.monitors.conftest import INCIDENT, t

V13 = f"{MODEL}@v13"
V14 = f"{MODEL}@v14"
JAN24 = "snapshot:credit_model_training_2024_01_24"
APPLICATIONS_V3 = "dataset:applications@v3"
SNAPSHOT_V3 = "snapshot:credit_model_training_2024_01_27"


def incidents_in(store: GraphStore) -> list[str]:
    return sorted(n.id for n in iter_all_nodes(store, NodeKind.INCIDENT))


# -- the first alert ---------------------------------------------------------------------------


def test_the_demographic_monitor_opens_the_scenarios_incident_on_v13(scenario: GraphStore) -> None:
    assert incidents_in(scenario) == [INCIDENT]
    incident = scenario.get_nodes([INCIDENT])[INCIDENT]
    props = incident.props
    assert (props["signal"], props["severity"], props["model_version"]) == (
        "demographic_parity",
        "SEV1",
        V13,
    )
    assert incident.valid_from == t("2024-01-25T11:30")  # the end of v13's first batch
    assert props["details"]["group"] == "65+" and props["details"]["rate"] <= 0.12
    links = {(e.kind, e.dst) for e in scenario.find_edges(EdgeQuery(src=INCIDENT)).items}
    assert {
        (EdgeKind.AFFECTED, V13),
        (EdgeKind.AFFECTED, DEPLOYMENT),
        (EdgeKind.AFFECTED, "batch:lending_approval_2024_01_25_1000"),
        (EdgeKind.AFFECTED, "feature:age"),
        (EdgeKind.FOLLOWS, "playbook:demographic_parity"),
    } <= links
    upstream = {c["node"] for c in props["context"]["upstream_changes"]["changes"]}
    assert {JAN24, "run:lending_approval_v13"} <= upstream  # v13's training data changed


def test_the_rollback_at_11_47_answers_the_incident_the_monitor_opened(
    scenario: GraphStore,
) -> None:
    query = EdgeQuery(src=DEPLOYMENT, kinds=frozenset({EdgeKind.ROLLED_BACK_FOR}))
    (link,) = scenario.find_edges(query).items
    assert link.dst == INCIDENT and link.valid_from == t("2024-01-25T11:47")


def test_the_scheduled_run_on_the_scenario_opens_nothing_new_run_after_run(
    scenario: GraphStore, records: RecordStore, config: MonitorsConfig
) -> None:
    for _ in range(2):
        report = run(scenario, records, t("2024-01-26T06:00"), config)
        assert report.outcome == "ok", report.messages
        assert report.counts.get("incidents_opened", 0) == 0
        assert report.counts["batches_checked"] == 7
        assert incidents_in(scenario) == [INCIDENT]


def test_the_scheduled_run_alone_opens_exactly_the_v13_incident(
    registry: Registry, records: RecordStore, config: MonitorsConfig
) -> None:
    load_scenario(registry, governed=False, monitors=lambda *_: None)  # no monitor on the way
    store = registry.store
    assert incidents_in(store) == []
    first = run(store, records, t("2024-01-26T06:00"), config)
    assert first.counts["incidents_opened"] == 1 and first.details["opened"] == [
        "incident:lending_approval_2024_01_26"
    ]
    (incident,) = find_incidents(store)
    assert incident.props["signal"] == "demographic_parity"
    assert incident.props["model_version"] == V13
    again = run(store, records, t("2024-01-26T07:00"), config)
    assert again.counts.get("incidents_opened", 0) == 0 and len(incidents_in(store)) == 1


def test_resolving_it_as_actionable_raises_the_monitors_precision(
    scenario: GraphStore, records: RecordStore
) -> None:
    assert alert_precision(scenario, "demographic_parity")[0].precision is None
    Incidents(scenario, records, "person:credit_ml_lead").resolve(
        INCIDENT,
        "actionable",
        "training filter dropped applicants aged 65+ from one batch",
        "v13 rolled back and blocked; filter fixed",
    )
    (row,) = alert_precision(scenario, "demographic_parity")
    assert (row.resolved, row.actionable, row.precision) == (1, 1, 1.0)


# -- the second alert --------------------------------------------------------------------------

BANDS = ["<50K", "50-60K", ">60K"]
REPEAT_APPLICANTS = 30  # re-scored every batch (pre-approval checks): the same inputs


def rows(seed: str, size: int, band_rate: float) -> list[dict[str, Any]]:
    """Decisions: $50-60K applicants approved at ``band_rate``, the others at 50%; the first
    rows are the repeat applicants, whose decision depends only on the version's band rate."""
    rng = random.Random(seed)
    found = []
    for i in range(size):
        repeat = i < REPEAT_APPLICANTS
        band = "50-60K" if repeat else BANDS[i % 3]
        income = (
            50_000 + (i * 311) % 10_000
            if band == "50-60K"
            else rng.choice([rng.randint(20, 49), rng.randint(61, 150)]) * 1000
        )
        if band == "<50K":
            income = rng.randint(20, 49) * 1000
        elif band == ">60K":
            income = rng.randint(61, 150) * 1000
        age = 25 + (i * 7) % 50 if repeat else rng.randint(20, 74)
        rate = band_rate if band == "50-60K" else 0.5
        approved = (i % 20) / 20 < rate if repeat else rng.random() < rate
        found.append(
            {
                "applicant_id": f"a{i}" if repeat else f"{seed}-{i}",
                "decision": "APPROVED" if approved else "DECLINED",
                "confidence": 0.8,
                "age_band": "35-49",
                "credit_score": 600 + (i * 13) % 200 if repeat else rng.randint(520, 820),
                "income": income,
                "debt_ratio": 0.3 if repeat else round(rng.uniform(0.05, 0.65), 2),
                "age": age,
                "override": False,
                "latency_ms": rng.randint(12, 95),
                "income_band": band,
            }
        )
    return found


def batch_stats(found: list[dict[str, Any]]) -> dict[str, Any]:
    by_band: dict[str, Any] = {}
    for band in BANDS:
        members = [r for r in found if r["income_band"] == band]
        approved = sum(r["decision"] == "APPROVED" for r in members)
        by_band[band] = {"count": len(members), "approval_rate": round(approved / len(members), 4)}
    return statistics(found) | {"approval_rate_by_income_band": by_band}


def register_batch(
    registry: Registry, start: datetime, hours: int, version: str, snapshot: str, rate: float
) -> Any:
    found = rows(f"{start.isoformat()}/{version}", 200, rate)
    return registry.register_inference_batch(
        {
            "id": f"batch:income_{start:%Y_%m_%d_%H%M}",
            "model_version": version,
            "snapshot": snapshot,
            "window_start": start,
            "window_end": start + timedelta(hours=hours),
            "record_count": len(found),
            "counts": dict(Counter(r["decision"] for r in found)),
            "statistics": batch_stats(found),
            "records": found,
            "deployment": DEPLOYMENT,
        }
    ).node


def income_change(registry: Registry) -> None:
    """applications v3 (income computed net of tax), its snapshot, v14 trained on it and
    deployed Jan 28 09:00 (as history: the ungoverned story)."""
    registry.register_dataset_version(
        {
            "id": APPLICATIONS_V3,
            "content_hash": content_hash(APPLICATIONS_V3),
            "record_count": 512_000,
            "created_at": t("2024-01-26T06:00"),
            "description": "income now computed net of tax (a new transformation)",
        }
    )
    sources = [APPLICATIONS_V3, "dataset:credit_bureau@v1"]
    registry.register_feature_snapshot(
        {
            "id": SNAPSHOT_V3,
            "features": ["credit_score", "income", "debt_ratio", "age"],
            "sources": sources,
            "content_hash": content_hash(SNAPSHOT_V3),
            "computed_by": "feast v3.1",
            "created_at": t("2024-01-27T08:00"),
        }
    )
    registry.register_training_run(
        {
            "id": "run:lending_approval_v14",
            "model_version": V14,
            "snapshot": SNAPSHOT_V3,
            "datasets": [{"id": d, "content_hash": content_hash(d)} for d in sources],
            "code_commit": "e5f6a7b8c9d0",
            "records_available": 512_000,
            "records_used": 409_000,
            "triggered_by": "pipeline:credit_training",
            "reason": "weekly retrain",
            "started_at": t("2024-01-27T10:00"),
            "ended_at": t("2024-01-27T20:00"),
        }
    )
    registry.register_evaluation(
        {
            "id": "evaluation:lending_approval_v14",
            "model_version": V14,
            "metrics": {"auc": 0.87},  # accuracy unchanged
            "evaluated_at": t("2024-01-27T22:00"),
        }
    )
    registry.backfill_deploy(
        {
            "deployment": DEPLOYMENT,
            "model_version": V14,
            "at": t("2024-01-28T09:00"),
            "reason": "weekly release",
        }
    )


def test_an_upstream_income_change_fires_on_the_segment_and_on_volatility(
    registry: Registry, records: RecordStore, config: MonitorsConfig
) -> None:
    load_scenario(registry, governed=False, monitors=lambda *_: None)
    store = registry.store
    jan20 = "snapshot:credit_model_training_2024_01_20"
    for hour in range(0, 48, 12):  # v12, Jan 26 00:00 to Jan 28 00:00: the band at 45%
        register_batch(
            registry, t("2024-01-26T00:00") + timedelta(hours=hour), 12, f"{MODEL}@v12", jan20, 0.45
        )
    income_change(registry)
    opened: list[str] = []
    for day in range(3):  # v14 over 72 hours: the band at 12%
        node = register_batch(
            registry, t("2024-01-28T09:00") + timedelta(days=day), 24, V14, SNAPSHOT_V3, 0.12
        )
        report = check_batch(store, records, node, node.valid_from + timedelta(hours=24), config)
        opened += report.details.get("opened", [])
    signals = {store.get_nodes([i])[i].props["signal"]: store.get_nodes([i])[i] for i in opened}
    assert {"prediction_shift", "decision_volatility"} <= set(signals)
    assert not {"null_rate", "value_range"} & set(signals)  # input drift looks unchanged
    segment = signals["prediction_shift"]
    assert (
        segment.props["details"]["group"] == "50-60K"
        and segment.props["feature"] == "feature:income"
    )
    assert segment.props["baseline"] > 0.4 and segment.props["value"] < 0.2
    assert segment.valid_from == t("2024-01-29T09:00")  # the first v14 batch, not 72 hours on
    for incident in signals.values():
        upstream = {c["node"] for c in incident.props["context"]["upstream_changes"]["changes"]}
        assert {APPLICATIONS_V3, SNAPSHOT_V3} <= upstream
