"""Keep interview processing private: no usage metrics leave the machine, no folder is open to others.

Research interviews are confidential, and ethics approvals usually promise that nothing about
them is sent to third parties. pyannote.audio 4 reports usage metrics (file durations, speaker
counts, a session id) to an OpenTelemetry endpoint unless ``PYANNOTE_METRICS_ENABLED`` says
otherwise, and it re-reads that variable on every call, so undertone forces it off, whatever
the user's environment says, before pyannote is imported and again before every run.

Folders undertone creates for outputs and caches are owner-only, parents included
(:func:`private_dirs`).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

# Forced, not defaulted: a user's shell or a library imported earlier may have set them to "on".
TELEMETRY_OFF = {
    "PYANNOTE_METRICS_ENABLED": "false",  # pyannote.audio 4 usage metrics (OpenTelemetry)
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub download statistics
    "DO_NOT_TRACK": "1",  # the cross-tool convention (https://consoledonottrack.com)
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # Prefect server analytics
}


def disable_telemetry() -> None:
    """Switch off every usage-reporting channel undertone's dependencies have.

    Safe to call any number of times. Call it before importing pyannote.audio (its telemetry
    module reads the environment at import) and before running a pipeline; when pyannote.audio
    is already imported, its own switch is turned off too.
    """
    os.environ.update(TELEMETRY_OFF)
    _disable_pyannote_metrics_if_imported()


def _disable_pyannote_metrics_if_imported() -> None:
    """Use pyannote's own switch too, without importing pyannote (and torch) just for that."""
    import sys

    metrics = sys.modules.get("pyannote.audio.telemetry.metrics")
    if metrics is not None:
        metrics.set_telemetry_metrics(False)  # never save_choice_as_default: no writes to site-packages


PRIVATE_DIR_MODE = 0o700


def owner_only_files() -> None:
    """Make every file and folder this process creates from now on owner-only (umask 077).

    For files undertone does not write itself (Prefect's cached results and run records):
    tightens the umask, never loosens it. Process-wide, like the telemetry switches.
    """
    current = os.umask(0o077)
    os.umask(current | 0o077)


def private_dirs(path: Path) -> Path:
    """Create ``path`` and every missing parent owner-only (0700); existing folders are left as they are.

    ``Path.mkdir(parents=True, mode=0o700)`` gives only the last folder that mode (the parents
    get the umask's, usually 0755), so a new ``--out a/b`` would leave ``a`` readable by others.
    """
    missing: list[Path] = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # made meanwhile by another process (a batch running beside this one)
            continue
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask
    if not path.is_dir():
        raise FileExistsError(errno.EEXIST, "a file of that name is in the way", str(path))
    return path
