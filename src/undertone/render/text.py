"""The line-numbered transcript (.txt): a header, a key to the marks, then numbered lines."""

from __future__ import annotations

import textwrap

from undertone.config import RenderSettings
from undertone.model import ALIGNMENT_BACKEND, TRANSCRIPT_SPEAKERS, Transcript
from undertone.render.layout import MICROPAUSE_MARK, numbered
from undertone.render.notation import key_entries

_ASCII_REPLACEMENTS = {"↑": "^", "↓": "v", "°": "o", "–": "-", "—": "-", "·": "-", "…": "..."}


def render_text(transcript: Transcript, settings: RenderSettings) -> str:
    """Header and numbered lines exactly as recorded in ``transcript.lines``."""
    rule = "-" * settings.width
    parts = _header(transcript, settings) + [rule] + [numbered(line) for line in transcript.lines]
    text = "\n".join(parts) + "\n"
    if settings.ascii:
        text = to_ascii(text)
    return text


def to_ascii(text: str) -> str:
    """Replace the notation's non-ASCII symbols with ASCII stand-ins (and drop any others)."""
    for symbol, replacement in _ASCII_REPLACEMENTS.items():
        text = text.replace(symbol, replacement)
    return text.encode("ascii", errors="replace").decode("ascii")


def _header(transcript: Transcript, settings: RenderSettings) -> list[str]:
    source, pipeline = transcript.source, transcript.pipeline
    channels = "1 channel" if source.channels == 1 else f"{source.channels} channels"
    speakers = ", ".join(
        f"{s.label}" + (f" ({s.role})" if s.role else "") for s in transcript.speakers
    ) or "none detected"
    lines = [
        f"undertone transcript: {_file_name(source.path)}",
        f"Source:    {source.path} (sha256 {source.sha256[:12]}), {_duration(source.duration)}, "
        f"{source.sample_rate} Hz, {channels}",
        f"Speakers:  {speakers}",
        f"Engines:   {_engines(transcript)}",
        f"Profile:   {pipeline.profile}; undertone {pipeline.version}; created {pipeline.created}",
    ]
    lines += [f"Note:      {note}" for note in pipeline.notes]
    lines += textwrap.wrap(
        _key(transcript, settings), settings.width, initial_indent="Key:       ", subsequent_indent=" " * 11,
        break_long_words=False, break_on_hyphens=False,
    )
    return lines


def _engines(transcript: Transcript) -> str:
    asr, diarization = transcript.pipeline.asr, transcript.pipeline.diarization
    language = asr.language or "language unknown"
    if asr.backend == ALIGNMENT_BACKEND:
        words = f"words from the known transcript, timed by pocketsphinx alignment ({asr.model}, {language})"
    else:
        words = f"words by {asr.backend} {asr.model} ({language})"
    if diarization.backend == TRANSCRIPT_SPEAKERS:
        speakers = "speakers from the transcript"
    else:
        speakers = f"speakers by {diarization.backend}" + (f" {diarization.model}" if diarization.model else "")
    return f"{words}; {speakers}"


def _key(transcript: Transcript, settings: RenderSettings) -> str:
    entries = key_entries(transcript, settings.notation)
    timed_min_s = transcript.pipeline.config.get("pauses", {}).get("timed_min_s", 0.2)
    entries = [f"{e} under {timed_min_s:g} s" if e.startswith(MICROPAUSE_MARK) else e for e in entries]
    return "; ".join(entries) if entries else "no marks"


def _duration(seconds: float) -> str:
    whole = int(round(seconds))
    hours, minutes, secs = whole // 3600, whole % 3600 // 60, whole % 60
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
