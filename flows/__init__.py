"""Prefect flows: thin wrappers that run undertone's library functions as tasks.

- ``process_recording``: one recording through every stage; transcription and diarisation run
  concurrently and are cached, so a re-run after a change to annotation or rendering settings,
  or after a crash, does not redo them.
- ``process_inbox``: every new or changed recording in a folder, a few at a time.
- ``serve``: both as deployments of a long-running process (``undertone serve``).

Importing this package switches off every usage-reporting channel before Prefect is imported,
gives Prefect's embedded local server time to start on a slow machine, and makes every file
this process creates from then on owner-only (umask 077): Prefect writes cached stage results
(the interview's words) and its run records (recording paths, logs) with the umask's mode, and
offers no other way to choose it. undertone's own outputs are owner-only in any case.
"""

from __future__ import annotations

import os

from undertone.privacy import disable_telemetry, owner_only_files

disable_telemetry()
owner_only_files()
# Prefect's embedded ("ephemeral") server takes 20-35 s to start on a busy 2-core machine, and
# Prefect gives up after 20 s by default; a user's own setting wins.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
