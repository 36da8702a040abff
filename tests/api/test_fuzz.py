"""A bounded fuzz of /graphql in the suite: no generated operation may be answered INTERNAL or
with a 5xx. ``python -m bench.api_fuzz --examples 200`` runs the long version."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.api_fuzz import fuzz, scenario_app


@pytest.mark.sqlite_only("bench/api_fuzz.py builds its own SQLite scenario app")
def test_fuzzed_operations_are_never_internal(tmp_path: Path) -> None:
    app, token = scenario_app(tmp_path)
    report = fuzz(app, token, examples=10)
    assert report.requests > 100
    assert report.internal == [], report.internal[:3]
