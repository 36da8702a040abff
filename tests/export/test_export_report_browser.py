"""``report.html`` in headless Chromium (Debian's ``/usr/bin/chromium``): it renders, its
screenshot shows the provenance drawing, and it asks for nothing outside the page."""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lineage.services.export import ExportRequest, Window, export_bundle
from lineage.services.record_store import RecordStore
from lineage.services.scenario import DEMO_ACTOR
from lineage.store import GraphStore
from tests.browser import CHROMIUM, NO_CHROMIUM, QUIET_FLAGS

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason=NO_CHROMIUM)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            *QUIET_FLAGS,
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing may leave the machine
            *args,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )


def _rows(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered RGB(A) rows of an 8-bit PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 3
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", data[:10])
            assert depth == 8
            channels = {2: 3}[color]  # RGB, as Chromium writes screenshots
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = bytes(line)
    return width, height, rows


def test_the_report_renders_offline_and_its_screenshot_shows_the_graph(
    scenario: GraphStore, records: RecordStore, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    window = Window(datetime(2024, 1, 22, tzinfo=UTC), datetime(2024, 1, 26, tzinfo=UTC))
    export_bundle(
        scenario,
        records,
        ExportRequest("model:lending_approval@v12", window),
        out,
        actor=DEMO_ACTOR,
        record=False,
    )
    page = out / "report.html"
    html = page.read_text()
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", html, re.I)
    assert "@import" not in html

    dom = _chromium(tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
    rendered = dom.stdout.decode()
    assert "<svg" in rendered and "lending_approval@v12" in rendered
    assert "Why is" in rendered

    shot = tmp_path / "report.png"
    done = _chromium(
        tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1400,1800", page.as_uri()
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr.decode(errors="replace")[-2000:]
    width, height, rows = _rows(shot.read_bytes())
    assert (width, height) == (1400, 1800)
    # The drawing sits in the first screen. Text is black on white (anti-aliased in greys);
    # the drawing's nodes are filled in colours by PROV class. Without the SVG no pixel there
    # is coloured; with it, thousands are.
    coloured = sum(
        1
        for row in rows[300:900:2]
        for x in range(0, len(row) - 2, 6)
        if max(row[x : x + 3]) - min(row[x : x + 3]) > 60
    )
    assert coloured > 2_000, f"only {coloured} coloured pixels: the graph is not drawn"
