"""The real API server in a subprocess on loopback, and a GraphQL client for it.

The benchmark measures what a pipeline or an investigator meets: ``uvicorn --factory`` over the
app factory in its own process (``LINEAGE_STORE`` and ``LINEAGE_RECORDS_DIR`` in its
environment), reached over TCP on 127.0.0.1 by an HTTP client that keeps its connection alive.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter, perf_counter_ns
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAVED_QUERIES = ROOT / "graphql" / "queries"
APP_FACTORY = "lineage.graphql.app:create_app_from_settings"


def saved_operation(name: str) -> str:
    """The text of an investigators' saved operation, ``graphql/queries/<name>.graphql``."""
    return (SAVED_QUERIES / f"{name}.graphql").read_text(encoding="utf-8")


def free_port() -> int:
    """A port on loopback nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_command(port: int) -> list[str]:
    """uvicorn serving the app factory on loopback (access log off, as ``lineage serve`` does)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        APP_FACTORY,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def stop_server(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate, then kill if it does not exit within ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def api_server(
    store_uri: str, records_dir: Path, log_path: Path, timeout: float = 120.0
) -> Iterator[str]:
    """The real server in a subprocess over ``store_uri``; yields its base URL once ready.

    The server gets none of this environment's other ``LINEAGE_*`` variables: it runs on the
    defaults, whatever the shell running the benchmark sets. It is stopped on the way out.
    """
    with api_process(store_uri, records_dir, log_path, timeout) as (base_url, _process):
        yield base_url


@contextmanager
def api_process(
    store_uri: str,
    records_dir: Path,
    log_path: Path,
    timeout: float = 120.0,
    settings: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As :func:`api_server`, also yielding the server process; ``settings`` are further
    ``LINEAGE_*`` variables for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env |= {
        "LINEAGE_STORE": store_uri,
        "LINEAGE_RECORDS_DIR": str(records_dir),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        **(settings or {}),
    }
    for _attempt in range(3):  # the port may be taken between probing and binding
        port = free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                server_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            if wait_ready(process, base_url, timeout):
                yield base_url, process
                return
        finally:
            stop_server(process)
    tail = log_path.read_text(errors="replace")[-2_000:]
    raise RuntimeError(f"the API server did not start; its log ends:\n{tail}")


def wait_ready(process: subprocess.Popen[bytes], base_url: str, timeout: float) -> bool:
    """Poll ``/readyz`` until it answers 200 (True) or the process exits (False)."""
    deadline = perf_counter() + timeout
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        while perf_counter() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get("/readyz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"the API server at {base_url} was not ready within {timeout:.0f} s")


# -- the client --------------------------------------------------------------------------------


class ApiError(Exception):
    """An HTTP status other than 200, or a GraphQL answer with errors."""


class GraphQLClient:
    """One keep-alive HTTP connection posting operations with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The ``data`` of the answer; :class:`ApiError` on any error."""
        response = self.http.post("/graphql", json={"query": query, "variables": variables})
        if response.status_code != 200:
            raise ApiError(f"HTTP {response.status_code}: {response.text[:300]}")
        body = response.json()
        if body.get("errors"):
            first = body["errors"][0]
            code = first.get("extensions", {}).get("code")
            raise ApiError(f"{code}: {first.get('message')}")
        data: dict[str, Any] = body["data"]
        return data

    def close(self) -> None:
        """Close the connection."""
        self.http.close()

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def http_timed(client: GraphQLClient, query: str, variables: dict[str, Any]) -> int:
    """Nanoseconds one operation took, from sending to its decoded answer."""
    started = perf_counter_ns()
    client.call(query, variables)
    return perf_counter_ns() - started
