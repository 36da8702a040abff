"""Fuzz ``/graphql`` with schemathesis: every query and mutation, with generated arguments.

    python -m bench.api_fuzz [--examples 200] [--out bench/out/api-fuzz.json]

The app runs in process (ASGI) over a fresh SQLite store holding the reference scenario, called
with an admin token so that every operation executes (a reader would be refused before the
resolvers run). schemathesis (hypothesis underneath) generates ``--examples`` operations per
root field from the schema's introspection, including arguments that are valid by type and
nonsense by meaning. Every answer is classified by HTTP status and ``extensions.code``; the
product's promise is that none is ``INTERNAL`` (an unexpected exception) and none is a 5xx.
``tests/api/test_fuzz.py`` runs a small bounded round of it in the suite.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
import structlog
from graphql import (
    BooleanValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NameNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from lineage.graphql.app import create_app
from lineage.services.record_store import RecordStore
from lineage.services.registry import Registry
from lineage.services.scenario import DEMO_ACTOR
from lineage.services.scenario_loader import load_scenario
from lineage.services.tokens import create_token
from lineage.settings import Settings
from lineage.store import open_store


def json_literal(value: Any) -> ValueNode:
    """A JSON value as a GraphQL literal (what the ``JSON`` scalar accepts inline)."""
    if value is None:
        return NullValueNode()
    if isinstance(value, bool):
        return BooleanValueNode(value=value)
    if isinstance(value, int):
        return IntValueNode(value=str(value))
    if isinstance(value, float):
        return FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return StringValueNode(value=value)
    if isinstance(value, list):
        return ListValueNode(values=tuple(json_literal(v) for v in value))
    return ObjectValueNode(
        fields=tuple(
            ObjectFieldNode(name=NameNode(value=k), value=json_literal(v)) for k, v in value.items()
        )
    )


_KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), inner, max_size=4
        )
    ),
    max_leaves=12,
)
# The API's free-form scalar: schemathesis knows DateTime and BigInt, not JSON.
schemathesis.graphql.scalar("JSON", JSON_VALUES.map(json_literal))


@dataclass
class FuzzReport:
    """What the fuzzing saw."""

    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    internal: list[dict[str, Any]] = field(default_factory=list)

    def record(self, operation: str, status: int, body: Any, sent: Any) -> None:
        """Classify one answer: ``<status> <code>`` per error (``<status> ok`` without)."""
        self.requests += 1
        errors = body.get("errors") if isinstance(body, dict) else None
        codes = [str(e.get("extensions", {}).get("code")) for e in errors or []]
        for code in codes or ["ok"]:
            self.outcomes[f"{status} {code}"] += 1
        if status >= 500 or "INTERNAL" in codes:
            self.internal.append({"operation": operation, "status": status, "sent": sent})

    def summary(self) -> dict[str, Any]:
        """For the JSON report."""
        return {
            "requests": self.requests,
            "internal": len(self.internal),
            "outcomes": dict(sorted(self.outcomes.items())),
            "internal_samples": self.internal[:20],
        }


def fuzz(app: Starlette, token: str, examples: int, seed: int = 0) -> FuzzReport:
    """Fuzz every root field of the app's schema with ``examples`` generated operations each."""
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.graphql.from_asgi("/graphql", app, headers=headers)
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        _fuzz_one(operation.label, operation.as_strategy(), headers, examples, seed, report)
    return report


def _fuzz_one(
    label: str,
    strategy: Any,
    headers: dict[str, str],
    examples: int,
    seed: int,
    report: FuzzReport,
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed == 0,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def attempt(case: Any) -> None:
        response = case.call(headers=headers)
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        report.record(label, response.status_code, body, case.body)

    attempt()


def scenario_app(workdir: Path) -> tuple[Starlette, str]:
    """The app over a new SQLite store with the reference scenario, and an admin token."""
    store = open_store(f"sqlite:///{workdir / 'fuzz.db'}")
    records = RecordStore(workdir / "records")
    load_scenario(Registry(store, records, actor=DEMO_ACTOR))
    token = create_token(store, DEMO_ACTOR, ["admin"], actor=DEMO_ACTOR).token
    return create_app(store, records, Settings()), token


def main(argv: Sequence[str] | None = None) -> int:
    """Fuzz; print the outcomes; write JSON; exit 1 if any answer was INTERNAL or a 5xx."""
    parser = argparse.ArgumentParser(prog="python -m bench.api_fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, default=200, help="operations per root field")
    parser.add_argument("--out", default="bench/out/api-fuzz.json")
    args = parser.parse_args(argv)
    # One log line per request would bury the report.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="lineage-fuzz-") as tmp:
        app, token = scenario_app(Path(tmp))
        report = fuzz(app, token, args.examples)
    summary = report.summary()
    print(f"## /graphql fuzzed: {summary['requests']:,} requests\n")
    print("| outcome (HTTP status, extensions.code) | answers |\n| --- | ---: |")
    for outcome, count in summary["outcomes"].items():
        print(f"| {outcome} | {count:,} |")
    print(f"\nINTERNAL or 5xx answers: {summary['internal']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return 1 if report.internal else 0


if __name__ == "__main__":
    raise SystemExit(main())
