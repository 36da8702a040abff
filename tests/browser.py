"""Debian's chromium for the browser tests (tests/web, tests/export): where it is and the flags
it runs with. Without the background-networking flags Chromium reaches for Google's hosts at
every start, which this machine's closed network refuses (and no test may ask a host but ours).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
QUIET_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
