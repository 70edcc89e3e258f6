"""Keep interview processing private: no usage metrics leave the machine.

Research interviews are confidential, and ethics approvals usually promise that nothing about
them is sent to third parties. pyannote.audio 4 reports usage metrics (file durations, speaker
counts, a session id) to an OpenTelemetry endpoint unless ``PYANNOTE_METRICS_ENABLED`` says
otherwise, and it re-reads that variable on every call, so undertone forces it off, whatever
the user's environment says, before pyannote is imported and again before every run.
"""

from __future__ import annotations

import os

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
