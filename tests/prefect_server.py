"""A real local Prefect server (SQLite) for the tests of the flows, started once per session.

Prefect's own ``prefect_test_harness`` starts a throwaway server per use and gives it 30 s;
on a busy 2-core machine the server alone takes 20-35 s to start. One server for the whole
session, given minutes to start, serves every flow test, the served-deployment test and the
worker test alike (subprocesses reach it through ``PREFECT_API_URL``).
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

import httpx

STARTUP_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefect_command() -> list[str]:
    """The ``prefect`` command of this environment."""
    return [str(Path(sys.executable).with_name("prefect"))]


@contextmanager
def local_prefect_server(home: Path) -> Iterator[str]:
    """Start ``prefect server start`` on a free loopback port with its own home; yield the API URL."""
    port = _free_port()
    environment = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
    }
    environment.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")
    server = subprocess.Popen(
        [*prefect_command(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited ({server.returncode}): {(home / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start in {STARTUP_TIMEOUT_S} s")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
