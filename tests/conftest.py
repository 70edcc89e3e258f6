"""Shared test fixtures: paths, synthetic speech, and the slow-test switch.

Slow end-to-end tests are skipped on a developer's quick run and always run in CI
(``CI=true``) or with ``UNDERTONE_SLOW=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE_AUDIO = REPO / "sample_audio"

# flows/ is a folder of Prefect entry points beside the library, not an installed package.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


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
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data (development recordings) is not present on this machine")
    return SHARED_DATA
