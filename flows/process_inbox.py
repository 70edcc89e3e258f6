"""Prefect flow ``process-inbox``: every new or changed recording in a folder, a few at a time.

Scans the inbox, skips recordings whose outputs in the outbox are up to date (same content,
settings and inputs) and recordings still being copied in, processes the rest with the
``process-recording`` flow (at most ``concurrency`` at once; one failure does not stop the
others), and publishes a table artifact of what happened. Recordings are never moved.
A scheduled run over an unchanged inbox therefore does no work beyond hashing the files.

Recordings run in threads of this process by default. With ``UNDERTONE_DASK_ADDRESS`` set (or
through :func:`on_dask`), they run on a Dask cluster instead (``pip install "undertone[dask]"``),
each recording's flow in a Dask worker process.
"""

# No `from __future__ import annotations`: Prefect validates the parameters from these
# annotations, also in other processes (Dask workers) where string annotations cannot be resolved.
import flows  # noqa: F401  (telemetry off, Prefect's local-server timeout) before Prefect loads

import os
from pathlib import Path
from typing import Any

from prefect import Flow, flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed, State

from flows.process_recording import process_recording
from undertone import jobs
from undertone.config import load_settings
from undertone.inbox import InboxRecording, scan
from undertone.redact import Term, read_terms, redact_path, redact_text

ARTIFACT_KEY = "undertone-inbox"
DASK_ADDRESS_ENV = "UNDERTONE_DASK_ADDRESS"


@task(name="process-one", cache_policy=NO_CACHE)
def process_one(
    recording: InboxRecording,
    profile: str,
    config: Path | None,
    formats: list[str] | None,
    cache_dir: Path | None,
    redact: Path | None = None,
) -> jobs.Outcome:
    """One recording of the inbox, as its own ``process-recording`` flow run."""
    return process_recording(
        recording.path, recording.out_dir, profile, config, formats=formats, redact=redact, cache_dir=cache_dir
    )


@flow(name="process-inbox", log_prints=True)
def process_inbox(
    inbox: Path,
    outbox: Path,
    profile: str = "default",
    config: Path | None = None,
    formats: list[str] | None = None,
    concurrency: int = 2,
    settle_seconds: float = 60.0,
    cache_dir: Path | None = None,
    redact: Path | None = None,
) -> State[list[dict[str, Any]]]:
    """Process the new and changed recordings under ``inbox`` into ``outbox`` (same relative paths).

    ``concurrency`` recordings run at once (each also runs its transcription and diarisation
    side by side). ``redact`` is a redaction list applied to every recording (and to the
    recordings' names in the artifact table). Ends Failed, after every other recording is done,
    if any recording failed.
    """
    logger = get_run_logger()
    settings = load_settings(profile, config)
    redaction = read_terms(redact) if redact is not None else []
    rows: list[dict[str, Any]] = []
    submitted: list[tuple[InboxRecording, PrefectFuture[jobs.Outcome]]] = []
    running: list[PrefectFuture[jobs.Outcome]] = []
    for recording in scan(inbox, outbox, settle_seconds):
        if not recording.settled:
            rows.append(_row(recording, "waiting: changed in the last minute, may still be copying", redaction=redaction))
            continue
        plan = jobs.plan(recording.path, recording.out_dir, settings, formats, redaction=redaction)
        if plan.up_to_date:
            rows.append(_row(recording, "up to date", jobs.already_done(plan), redaction))
            continue
        if len(running) >= max(1, concurrency):
            running.pop(0).wait()
        future = process_one.submit(recording, profile, config, formats, cache_dir, redact)
        submitted.append((recording, future))
        running.append(future)

    failures = 0
    for recording, future in submitted:
        future.wait()
        result = future.result(raise_on_failure=False)
        if isinstance(result, jobs.Outcome):
            rows.append(_row(recording, result.status, result, redaction))
        else:
            failures += 1
            rows.append(_row(recording, f"failed: {redact_text(str(result), redaction)}", redaction=redaction))
            logger.error("%s: %s", redact_path(str(recording.relative), redaction), redact_text(str(result), redaction))
    rows.sort(key=lambda row: row["recording"])

    create_table_artifact(
        key=ARTIFACT_KEY,
        table=rows,
        description=f"undertone inbox {inbox} -> {outbox}: {len(submitted)} processed or tried, "
        f"{failures} failed, {len(rows) - len(submitted)} skipped",
    )
    logger.info("%d recordings: %d processed, %d failed", len(rows), len(submitted) - failures, failures)
    if failures:
        return Failed(message=f"{failures} of {len(rows)} recordings failed (see the {ARTIFACT_KEY} artifact)", data=rows)
    return Completed(data=rows)


def on_dask(address: str | None = None) -> Flow[..., State[list[dict[str, Any]]]]:
    """The inbox flow with its recordings spread over the Dask cluster at ``address``
    (a scheduler such as ``tcp://10.0.0.5:8786``; None starts a local cluster for the run)."""
    from prefect_dask import DaskTaskRunner

    return process_inbox.with_options(task_runner=DaskTaskRunner(address=address))


def _row(
    recording: InboxRecording, status: str, outcome: jobs.Outcome | None = None, redaction: list[Term] | None = None
) -> dict[str, Any]:
    """One line of the artifact table: what a person checking the night's run wants to see.

    The table is kept by the Prefect server: with a redaction list, the recording's path is
    redacted there as in the outputs.
    """
    duration = outcome.duration if outcome else None
    outputs = [p for p in (outcome.written if outcome else []) if p.suffix in {".txt", ".html"}]
    return {
        "recording": redact_path(str(recording.relative), redaction or []),
        "duration": f"{int(duration // 60)}:{duration % 60:04.1f}" if duration is not None else "",
        "speakers": ", ".join(outcome.speakers) if outcome else "",
        "status": status,
        "outputs": " ".join(p.resolve().as_uri() for p in sorted(outputs)),
    }


if os.environ.get(DASK_ADDRESS_ENV):  # a worker or `undertone serve` started for a Dask cluster
    process_inbox = on_dask(os.environ[DASK_ADDRESS_ENV])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the process-inbox flow once, locally.")
    parser.add_argument("inbox", type=Path)
    parser.add_argument("--outbox", type=Path, required=True)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--redact", type=Path)
    arguments = parser.parse_args()
    process_inbox(
        arguments.inbox, arguments.outbox, arguments.profile, concurrency=arguments.concurrency, redact=arguments.redact
    )
