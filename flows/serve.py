"""Serve undertone's flows as deployments of one long-running process (``undertone serve``).

Two deployments, run by this process when the Prefect server schedules them:

- ``process-inbox/inbox``: on the given cron or interval, the inbox into the outbox;
- ``process-recording/manual``: one recording when someone asks, e.g.
  ``prefect deployment run 'process-recording/manual' --param audio=/path/P2.wav --param out=/path/out``.

Serving needs a Prefect server (``prefect server start``, or a team's server in
``PREFECT_API_URL``). ``prefect.yaml`` defines the same deployments for work pools and workers.
"""

from __future__ import annotations

import flows  # noqa: F401  (telemetry off, Prefect's local-server timeout) before Prefect loads

from datetime import timedelta
from pathlib import Path

from prefect import serve as serve_deployments
from prefect.deployments.runner import RunnerDeployment
from prefect.types.entrypoint import EntrypointType

from flows.process_inbox import process_inbox
from flows.process_recording import process_recording


def deployments(
    inbox: Path,
    outbox: Path,
    cron: str | None = None,
    interval: timedelta | None = None,
    profile: str = "default",
    config: Path | None = None,
    concurrency: int = 2,
    formats: list[str] | None = None,
    settle_seconds: float = 60.0,
    redact: Path | None = None,
) -> list[RunnerDeployment]:
    """The inbox deployment (scheduled) and the manual one-recording deployment.

    ``redact`` (a redaction list) is passed to both, so every recording they process is redacted.
    """
    inbox_parameters = {
        "inbox": str(inbox.resolve()),
        "outbox": str(outbox.resolve()),
        "profile": profile,
        "config": str(config.resolve()) if config else None,
        "formats": formats,
        "concurrency": concurrency,
        "settle_seconds": settle_seconds,
        "redact": str(redact.resolve()) if redact else None,
    }
    return [
        process_inbox.to_deployment(
            name="inbox",
            cron=cron,
            interval=interval,
            parameters=inbox_parameters,
            description=f"New and changed recordings in {inbox} -> {outbox}",
            entrypoint_type=EntrypointType.MODULE_PATH,  # runs from the installed package, any folder
        ),
        process_recording.to_deployment(
            name="manual",
            parameters={"profile": profile, "config": inbox_parameters["config"], "redact": inbox_parameters["redact"]},
            description="One recording: --param audio=... --param out=...",
            entrypoint_type=EntrypointType.MODULE_PATH,
        ),
    ]


def serve(
    inbox: Path,
    outbox: Path,
    cron: str | None = None,
    interval: timedelta | None = None,
    profile: str = "default",
    config: Path | None = None,
    concurrency: int = 2,
    formats: list[str] | None = None,
    settle_seconds: float = 60.0,
    redact: Path | None = None,
) -> None:
    """Register both deployments and run their flow runs until interrupted (Ctrl-C)."""
    serve_deployments(
        *deployments(inbox, outbox, cron, interval, profile, config, concurrency, formats, settle_seconds, redact),
        limit=1,  # one flow run at a time: the inbox flow runs its own recordings concurrently
    )
