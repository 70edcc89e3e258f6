"""Prefect flow ``process-recording``: one recording through every stage, as tasks.

check outputs -> load audio -> transcribe | diarise (concurrently, both cached) -> re-time words
-> analyse -> write outputs. A recording whose outputs are up to date (same content, settings
and inputs) is not processed again unless ``force``. The library knows nothing of Prefect; each
task wraps one library function (``flows/tasks.py``).

Run it without a server (Prefect's embedded local mode)::

    undertone process AUDIO --out DIR            # the command line runs this flow
    python flows/process_recording.py AUDIO --out DIR
"""

# No `from __future__ import annotations`: Prefect validates the parameters from these
# annotations, also in other processes (Dask workers) where string annotations cannot be resolved.
import flows  # noqa: F401  (telemetry off, Prefect's local-server timeout) before Prefect loads

from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger

from flows import tasks
from undertone import pipeline
from undertone.config import load_settings, option_overrides
from undertone.jobs import Outcome, already_done
from undertone.redact import read_terms
from undertone.stage_cache import default_cache_dir
from undertone.transcribe.known import parse_transcript


@flow(name="process-recording", log_prints=True)
def process_recording(
    audio: Path,
    out: Path,
    profile: str = "default",
    config: Path | None = None,
    transcript: Path | None = None,
    speakers: int | None = None,
    language: str | None = None,
    formats: list[str] | None = None,
    channels: Literal["auto", "mixed", "split"] | None = None,
    redact: Path | None = None,
    force: bool = False,
    cache_dir: Path | None = None,
) -> Outcome:
    """Process one recording and write its outputs into ``out`` (``formats``: default all).

    ``channels`` overrides the settings' ``diarization.channels``; ``redact`` is a redaction
    list; ``force`` rewrites outputs that are up to date; ``cache_dir`` keeps the cached
    transcription and diarisation results (default: ``$UNDERTONE_CACHE_DIR`` or
    ``~/.cache/undertone/stages``; with ``redact``, the transcription is not cached, as its
    words are not redacted yet). Speaker labels come from ``<stem>.speakers.toml`` beside the
    recording when it exists.
    """
    logger = get_run_logger()
    settings = load_settings(profile, config, option_overrides(speakers, language, channels))
    redaction = read_terms(redact) if redact is not None else []
    plan = tasks.check_outputs(audio, out, settings, formats, [transcript], force, redaction)
    if plan.up_to_date:
        logger.info("%s: outputs in %s are up to date (same recording, settings and inputs)", audio, out)
        return already_done(plan)
    known = parse_transcript(transcript) if transcript is not None else None
    names = pipeline.read_speaker_names(audio)

    transcribe, diarize = tasks.cached_in(cache_dir or default_cache_dir(), keep_words=not redaction)
    loaded = tasks.load_audio(audio)
    pipeline.import_backends(settings, aligning=known is not None)  # before the two threads start
    recognition = transcribe.submit(loaded, settings, known, transcript)
    diarization = diarize.submit(loaded, settings) if known is None else None
    words, speakers = recognition.result(), diarization.result() if diarization else None
    if known is None and settings.asr.align_words:
        words = tasks.retime_words(loaded, words, speakers, settings)
    analysis = tasks.analyse(loaded, words, speakers, settings, names)
    outcome = tasks.write_outputs(plan, analysis, settings, formats, redaction)
    logger.info(
        "%s: %s lines, %d speakers -> %s", audio, outcome.lines, len(outcome.speakers), out
    )
    for warning in outcome.warnings:
        logger.warning("%s", warning)
    return outcome


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the process-recording flow locally.")
    parser.add_argument("audio", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--transcript", type=Path)
    parser.add_argument("--channels", choices=["auto", "mixed", "split"])
    parser.add_argument("--redact", type=Path)
    parser.add_argument("--force", action="store_true")
    arguments = parser.parse_args()
    process_recording(
        arguments.audio,
        arguments.out,
        arguments.profile,
        transcript=arguments.transcript,
        channels=arguments.channels,
        redact=arguments.redact,
        force=arguments.force,
    )
