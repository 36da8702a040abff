"""Neo4j's own Cypher 5 front end (npm @neo4j-cypher/language-support) over a set of statements.

Opt-in: LINEAGE_CYPHER_LINT names a folder where that package is installed with npm
(`.ci/run` installs it in `.ci/cypher-lint`). Used by tests/unit/test_cypher.py (the store's
statements) and tests/bench/test_store_report.py (the benchmark's own).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

LINT_SCRIPT = """
const ls = require('@neo4j-cypher/language-support');
const queries = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const out = {};
for (const [name, q] of Object.entries(queries)) {
  out[name] = ls.lintCypherQuery('CYPHER 5 ' + q, {}).diagnostics
    .filter(ls.isNotParamError).map(d => d.severity + ': ' + d.message);
}
console.log(JSON.stringify(out));
"""


def lint_findings(statements: dict[str, str], tmp_path: Path) -> dict[str, list[str]]:
    """What the linter says of each statement that it has something to say about; skips the
    test (with the reason) when the linter is not installed."""
    folder = os.environ.get("LINEAGE_CYPHER_LINT")
    node = shutil.which("node")
    if not folder or node is None:
        pytest.skip("set LINEAGE_CYPHER_LINT to a folder with @neo4j-cypher/language-support")
    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps(statements))
    script = tmp_path / "lint.cjs"
    script.write_text(LINT_SCRIPT)
    done = subprocess.run(
        [node, str(script), str(queries)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env={**os.environ, "NODE_PATH": str(Path(folder) / "node_modules")},
    )
    found: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return {name: notes for name, notes in found.items() if notes}
