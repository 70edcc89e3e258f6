"""The line-numbered transcript (.txt): a header, a key to the marks, then numbered lines.

Every line, the header's included, fits ``render.width``: a header field wraps with a hanging
indent under its value (``Source:    ``), and the key wraps between its entries, so an entry
(``= latched, no gap``) is never split unless it is wider than the column on its own. With
``render.ascii`` the whole file is ASCII (:func:`to_ascii`), wrapped after the replacement.
"""

from __future__ import annotations

import textwrap

from undertone.config import RenderSettings
from undertone.model import ALIGNMENT_BACKEND, TRANSCRIPT_SPEAKERS, Transcript
from undertone.render.layout import MICROPAUSE_MARK, numbered
from undertone.render.notation import key_entries, to_ascii

__all__ = ["header_lines", "render_text", "title", "title_lines", "to_ascii"]

FIELD_WIDTH = 11  # "Source:    ": the column where every header value starts
KEY_SEPARATOR = "; "


def render_text(transcript: Transcript, settings: RenderSettings) -> str:
    """Header and numbered lines exactly as recorded in ``transcript.lines``."""
    rule = "-" * settings.width
    body = [numbered(line) for line in transcript.lines]
    if settings.ascii:
        body = [to_ascii(row) for row in body]
    return "\n".join(header_lines(transcript, settings) + [rule] + body) + "\n"


def title(transcript: Transcript) -> str:
    """The transcript's title, unwrapped (the first header line, and the .docx's title)."""
    return f"undertone transcript: {_file_name(transcript.source.path)}"


def title_lines(transcript: Transcript, settings: RenderSettings) -> list[str]:
    """The title as printed, the header's first line (or lines, if the file name is long)."""
    printable = to_ascii if settings.ascii else _same
    return _field("", printable(title(transcript)), settings.width)


def header_lines(transcript: Transcript, settings: RenderSettings) -> list[str]:
    """The header as printed: title, source, speakers, engines, profile, notes and key."""
    printable = to_ascii if settings.ascii else _same
    source, pipeline = transcript.source, transcript.pipeline
    channels = "1 channel" if source.channels == 1 else f"{source.channels} channels"
    speakers = ", ".join(
        f"{s.label}" + (f" ({s.role})" if s.role else "") for s in transcript.speakers
    ) or "none detected"
    fields = [
        ("Source:", f"{source.path} (sha256 {source.sha256[:12]}), {_duration(source.duration)}, "
                    f"{source.sample_rate} Hz, {channels}"),
        ("Speakers:", speakers),
        ("Engines:", _engines(transcript)),
        ("Profile:", f"{pipeline.profile}; undertone {pipeline.version}; created {pipeline.created}"),
    ] + [("Note:", note) for note in pipeline.notes]
    lines = [row for name, value in fields for row in _field(name, printable(value), settings.width)]
    return title_lines(transcript, settings) + lines + _key_lines(_key_entries(transcript, settings), settings.width)


def _field(name: str, value: str, width: int) -> list[str]:
    """``Name:      value`` wrapped to ``width``, continuation rows under the value."""
    initial = f"{name:<{FIELD_WIDTH}}" if name else ""
    return _wrapped(value, width, initial, " " * FIELD_WIDTH) or [initial.rstrip()]


def _key_lines(entries: list[str], width: int) -> list[str]:
    """The key, as many whole entries a row as fit; an entry wider than a row wraps alone."""
    column = width - FIELD_WIDTH
    cells = [entry + (KEY_SEPARATOR.strip() if n < len(entries) - 1 else "") for n, entry in enumerate(entries)]
    rows: list[str] = []
    for cell in cells or ["no marks"]:
        if rows and len(rows[-1]) + 1 + len(cell) <= column:
            rows[-1] += " " + cell
        elif len(cell) <= column:
            rows.append(cell)
        else:
            rows += _wrapped(cell, column)
    return [f"{'Key:' if n == 0 else '':<{FIELD_WIDTH}}{row}" for n, row in enumerate(rows)]


def _wrapped(text: str, width: int, initial: str = "", subsequent: str = "") -> list[str]:
    """``text`` wrapped at its spaces; a word wider than a row (a long path) is cut into rows
    of its own rather than split across the end of a row."""
    column = width - max(len(initial), len(subsequent))
    pieces = [word[start : start + column] for word in text.split(" ") for start in range(0, max(len(word), 1), column)]
    return textwrap.wrap(
        " ".join(pieces), width, initial_indent=initial, subsequent_indent=subsequent,
        break_long_words=False, break_on_hyphens=False,
    )


def _key_entries(transcript: Transcript, settings: RenderSettings) -> list[str]:
    entries = key_entries(transcript, settings.notation, ascii=settings.ascii)
    timed_min_s = transcript.pipeline.config.get("pauses", {}).get("timed_min_s", 0.2)
    return [f"{e} under {timed_min_s:g} s" if e.startswith(MICROPAUSE_MARK) else e for e in entries]


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


def _duration(seconds: float) -> str:
    whole = int(round(seconds))
    hours, minutes, secs = whole // 3600, whole % 3600 // 60, whole % 60
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _same(text: str) -> str:
    return text
