"""Shared test fixtures: paths, synthetic speech, and the slow-test switch.

Slow end-to-end tests are skipped on a developer's quick run and always run in CI
(``CI=true``) or with ``UNDERTONE_SLOW=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE_AUDIO = REPO / "sample_audio"

# The command line runs recordings through Prefect by default; most tests exercise the stages
# themselves and would each pay Prefect's start-up. The tests of the Prefect path say so
# (``prefect_api`` fixture, ``--engine prefect``).
os.environ.setdefault("UNDERTONE_ENGINE", "direct")


def _run_slow() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true"} or os.environ.get("UNDERTONE_SLOW") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _run_slow():
        return
    skip = pytest.mark.skip(reason="slow end-to-end test: runs in CI, or locally with UNDERTONE_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real local Prefect server for this test session; in-process flows and subprocesses use it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from prefect_server import local_prefect_server

    with local_prefect_server(tmp_path_factory.mktemp("prefect-home")) as url:
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url
        try:
            with temporary_settings({PREFECT_API_URL: url}):
                yield url
                _drain_prefect_workers()  # send the last logs and events while the server is up
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous


def _drain_prefect_workers() -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=30)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data (development recordings) is not present on this machine")
    return SHARED_DATA
