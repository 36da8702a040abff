"""What the jobs' tests share besides fixtures: instants of the story and a jobs folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

# A week after the reference scenario's last change (the rollback of Jan 25, 11:47) and after
# its last inference window (Jan 26, 00:00): a drill then may plan a rollback.
AFTER_SCENARIO = datetime(2024, 2, 1, 3, 0, tzinfo=UTC)
PRODUCTION = "deployment:lending_approval_production"
V11, V12 = (f"model:lending_approval@v{n}" for n in (11, 12))

SCHEDULE = """\
[jobs.drills]
cron = "0 3 * * *"

[jobs.accountability]
interval_seconds = 3600
"""


def write_jobs_dir(root: Path, schedule: str = SCHEDULE) -> Path:
    """A jobs folder under ``root`` holding ``schedule`` as its schedule.toml."""
    folder = root / "jobs"
    folder.mkdir(exist_ok=True)
    (folder / "schedule.toml").write_text(schedule, encoding="utf-8")
    return folder
