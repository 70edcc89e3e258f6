"""Prefect flow ``process-recording``: one recording through every stage, as tasks.

Tasks are not cached yet: Prefect's default cache key would hash every audio sample passed
between tasks, which costs more than it saves on long recordings.

Each task wraps one library function; the library knows nothing of Prefect. Transcription and
diarisation are submitted together so they run concurrently. Run it without a server (Prefect's
embedded local mode) with ``python flows/process_recording.py AUDIO --out DIR``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from undertone.privacy import disable_telemetry

disable_telemetry()

from prefect import flow, get_run_logger, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from undertone import pipeline  # noqa: E402
from undertone.audio import Audio, load  # noqa: E402
from undertone.config import Settings, load_settings, option_overrides  # noqa: E402
from undertone.diarize import Diarization  # noqa: E402
from undertone.outputs import write_outputs  # noqa: E402
from undertone.render import parse_formats  # noqa: E402
from undertone.speakers import SpeakerNames  # noqa: E402
from undertone.transcribe import Recognition  # noqa: E402
from undertone.transcribe.known import KnownTurn, parse_transcript  # noqa: E402


@task(name="load-audio", cache_policy=NO_CACHE)
def load_audio(path: Path) -> Audio:
    return load(path)


@task(name="transcribe", cache_policy=NO_CACHE)
def transcribe(
    audio: Audio, settings: Settings, known: list[KnownTurn] | None, transcript: Path | None
) -> Recognition:
    return pipeline.transcribe_audio(audio, settings, known, transcript)


@task(name="diarize", cache_policy=NO_CACHE)
def diarize(audio: Audio, settings: Settings) -> Diarization:
    return pipeline.diarize_audio(audio, settings)


@task(name="analyse", cache_policy=NO_CACHE)
def analyse(
    audio: Audio,
    recognition: Recognition,
    diarization: Diarization | None,
    settings: Settings,
    names: SpeakerNames | None = None,
) -> pipeline.Analysis:
    return pipeline.build_transcript(audio, recognition, diarization, settings, names)


@task(name="write-outputs", cache_policy=NO_CACHE)
def write(
    result: pipeline.Analysis, out: Path, settings: Settings, formats: list[str] | None, audio: Path
) -> list[Path]:
    return write_outputs(
        result.transcript, out, settings.render, parse_formats(formats), frames=result.frames, audio=audio
    )


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
) -> list[Path]:
    """Process one recording and write its outputs (``formats``: default all); returns the files written.

    ``channels`` overrides the settings' ``diarization.channels`` (auto, mixed, split). Speaker
    labels come from ``<stem>.speakers.toml`` beside the recording when it exists.
    """
    settings = load_settings(profile, config, option_overrides(speakers, language, channels))
    known = parse_transcript(transcript) if transcript is not None else None
    names = pipeline.read_speaker_names(audio)

    loaded = load_audio(audio)
    recognition = transcribe.submit(loaded, settings, known, transcript)
    diarization = diarize.submit(loaded, settings) if known is None else None
    result = analyse(loaded, recognition.result(), diarization.result() if diarization else None, settings, names)
    written = write(result, out, settings, formats, audio)
    transcript = result.transcript
    get_run_logger().info("%s: %d lines, %d speakers -> %s", audio, len(transcript.lines), len(transcript.speakers), out)
    return written


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the process-recording flow locally.")
    parser.add_argument("audio", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--transcript", type=Path)
    parser.add_argument("--channels", choices=["auto", "mixed", "split"])
    arguments = parser.parse_args()
    process_recording(
        arguments.audio, arguments.out, arguments.profile, transcript=arguments.transcript, channels=arguments.channels
    )
