"""The stages of the pipeline as Prefect tasks: each wraps one library function.

Transcription and diarisation are the expensive stages (minutes to hours on a CPU). They are
cached on the key :mod:`undertone.stage_cache` computes (recording content, the settings that
stage reads, engine and stage code versions), with their results persisted in an owner-only
folder, so a re-run after changing only annotation or rendering settings, or after a crash,
picks them up instead of recomputing. They are retried only for transient failures.

The cheap stages (decoding, analysis, writing) are not cached: caching an hour of decoded audio
would cost more disk and time than decoding it again.

Cached results are files readable by their owner only (0600, in 0700 folders): they hold the
transcribed words. Prefect writes them with the process's umask, which importing ``flows``
tightens (see ``flows/__init__.py``); entries cached before that are tightened when used. With
a redaction list, the transcription stage is neither cached nor persisted at all, since its
words are not yet redacted; diarisation (who spoke when, no words) still is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.context import TaskRunContext
from prefect.states import State

from undertone import jobs, pipeline, progress
from undertone.audio import Audio, load
from undertone.config import Settings
from undertone.diarize import Diarization
from undertone.errors import is_transient
from undertone.redact import Term
from undertone.speakers import SpeakerNames
from undertone.stage_cache import diarization_key, private_folder, transcription_key
from undertone.transcribe import Recognition
from undertone.transcribe.known import KnownTurn

# Transient failures (a model download that timed out, a GPU busy with another job) get two
# more tries, the second after a longer wait.
RETRIES = 2
RETRY_DELAYS_S = [10, 60]


def retry_if_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect's retry condition: retry a failed stage only if its error may pass by itself."""
    return isinstance(state.data, BaseException) and is_transient(state.data)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Report the stage to the command line's status and log how long it took."""
    progress.report(stage)
    started = time.perf_counter()
    yield
    get_run_logger().info("%s: %.1f s", stage, time.perf_counter() - started)


def _transcription_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    return transcription_key(parameters["audio"].sha256, parameters["settings"], parameters["known"])


def _diarization_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    return diarization_key(parameters["audio"].sha256, parameters["settings"])


@task(name="check-outputs", cache_policy=NO_CACHE)
def check_outputs(
    audio: Path,
    out: Path,
    settings: Settings,
    formats: list[str] | None,
    inputs: list[Path | None],
    force: bool,
    redaction: list[Term] | None = None,
) -> jobs.Plan:
    return jobs.plan(audio, out, settings, formats, inputs, force, redaction)


@task(name="load-audio", cache_policy=NO_CACHE)
def load_audio(path: Path) -> Audio:
    with timed("loading audio"):
        return load(path)


def _transcribe(audio: Audio, settings: Settings, known: list[KnownTurn] | None, transcript: Path | None) -> Recognition:
    with timed("aligning transcript" if known is not None else "transcribing"):
        return pipeline.transcribe_audio(audio, settings, known, transcript)


_RETRY = {"retries": RETRIES, "retry_delay_seconds": RETRY_DELAYS_S, "retry_condition_fn": retry_if_transient}
transcribe = task(name="transcribe", cache_key_fn=_transcription_key, persist_result=True, **_RETRY)(_transcribe)
# For redacted runs: the words are not redacted yet, so they are never written to disk.
transcribe_unpersisted = task(name="transcribe", cache_policy=NO_CACHE, persist_result=False, **_RETRY)(_transcribe)


@task(
    name="diarize",
    cache_key_fn=_diarization_key,
    persist_result=True,
    retries=RETRIES,
    retry_delay_seconds=RETRY_DELAYS_S,
    retry_condition_fn=retry_if_transient,
)
def diarize(audio: Audio, settings: Settings) -> Diarization:
    with timed("diarising"):
        return pipeline.diarize_audio(audio, settings)


@task(name="retime-words", cache_policy=NO_CACHE)
def retime_words(
    audio: Audio, recognition: Recognition, diarization: Diarization | None, settings: Settings
) -> Recognition:
    with timed("re-timing words"):
        return pipeline.retime_words(audio, recognition, diarization, settings)


@task(name="analyse", cache_policy=NO_CACHE)
def analyse(
    audio: Audio,
    recognition: Recognition,
    diarization: Diarization | None,
    settings: Settings,
    names: SpeakerNames | None = None,
) -> pipeline.Analysis:
    with timed("analysing"):
        return pipeline.build_transcript(audio, recognition, diarization, settings, names)


@task(name="write-outputs", cache_policy=NO_CACHE)
def write_outputs(
    plan: jobs.Plan,
    analysis: pipeline.Analysis,
    settings: Settings,
    formats: list[str] | None,
    redaction: list[Term],
) -> jobs.Outcome:
    with timed("writing outputs"):
        return jobs.finish(plan, analysis, settings, formats, redaction)


FILE_MODE = 0o600


def tighten(folder: Path) -> None:
    """Make the files already in ``folder`` owner-only (entries cached before undertone did so)."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)


def cached_in(folder: Path, keep_words: bool = True) -> tuple[Task[..., Recognition], Task[..., Diarization]]:
    """The two cached stages with their results kept in ``folder`` (owner-only, files and folders).

    Without ``keep_words`` (a redacted run), transcription is neither looked up nor stored:
    nothing unredacted is written to disk.
    """
    storage = private_folder(folder)  # a path: Prefect stores results there, no block to register
    tighten(storage)
    diarize_task = diarize.with_options(result_storage=storage)
    if not keep_words:
        return transcribe_unpersisted, diarize_task
    return transcribe.with_options(result_storage=storage), diarize_task
