"""Cite lines of a transcript: the extract as numbered in the .txt, its citation, its audio.

A citation names the participant and the line numbers printed in the .txt, e.g.
``(P2, Lines 216–222)``; the time span ``[00:12:31.2–00:12:58.0]`` finds the extract in the
recording. :func:`cut_clip` reads just that span of the original recording, after checking that
the file is the one the transcript was made from (its sha256).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from undertone.audio import ffmpeg_decode, file_sha256, probe
from undertone.errors import AudioError, OutputError
from undertone.model import Line, Transcript

# Speaker labels that name the interviewer when the document records no roles.
INTERVIEWER_LABELS = frozenset({"i", "int", "interviewer", "iv", "q"})
# Labels an engine makes up (diarizer ids S1, S2...) identify nobody in a citation: the file
# name (p2.wav -> "p2") is then the better name for the participant.
_ENGINE_ID = re.compile(r"S\d+")
# What --audio can write, by file suffix (soundfile's format names).
CLIP_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}


class LineRangeError(ValueError):
    """A line range that is malformed or outside the transcript (a usage error)."""


@dataclass(frozen=True)
class Extract:
    """Lines ``first``..``last`` of a transcript, with what a citation of them needs."""

    label: str
    first: int
    last: int
    lines: list[Line]
    start: float | None  # s, the first line's start
    end: float | None  # s, the last line's end
    ascii: bool = False  # the .txt was written in plain ASCII
    version: str | None = None  # a corrected version's id: its line numbers are its own

    def text(self) -> str:
        """The lines exactly as numbered in the .txt (one per row, no trailing newline)."""
        from undertone.render.layout import numbered
        from undertone.render.text import to_ascii

        rows = "\n".join(numbered(line) for line in self.lines)
        return to_ascii(rows) if self.ascii else rows

    def citation(self) -> str:
        return citation(self.label, self.first, self.last, ascii=self.ascii, version=self.version)

    def span(self) -> str:
        return time_span(self.start, self.end, ascii=self.ascii)


def parse_line_range(text: str) -> tuple[int, int]:
    """``"216-222"``, ``"216–222"``, ``"216"`` or abbreviated ``"216-22"`` -> (first, last)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:(?:-|–|—|\.\.)\s*(\d+)\s*)?", text)
    if match is None:
        raise LineRangeError(f"{text!r} is not a line or line range (e.g. 216 or 216-222)")
    first = int(match.group(1))
    last_text = match.group(2)
    last = first if last_text is None else int(last_text)
    if last_text is not None and last < first and len(last_text) < len(match.group(1)):
        # Abbreviated as in print, "216-22": the last number keeps the first one's leading digits.
        last = int(match.group(1)[: len(match.group(1)) - len(last_text)] + last_text)
    if first < 1:
        raise LineRangeError(f"line numbers start at 1, not {first}")
    if last < first:
        raise LineRangeError(f"{text!r} ends before it starts")
    return first, last


def citation_label(transcript: Transcript) -> str:
    """Whom a citation names: the participant's speaker label.

    The speaker whose role is ``participant``; else the speaker with the most words who is not
    the interviewer (role ``interviewer``, or a label such as ``I`` when no roles are recorded);
    else, or when that label is only an engine's speaker id (``S2``), the recording's file stem.
    """
    stem = Path(transcript.source.path.replace("\\", "/")).stem
    for speaker in transcript.speakers:
        if speaker.role == "participant":
            return speaker.label
    words: dict[str, int] = {}
    for word in transcript.words:
        if word.speaker is not None:
            words[word.speaker] = words.get(word.speaker, 0) + 1
    candidates = [
        s for s in transcript.speakers
        if s.role != "interviewer" and s.label.strip().lower() not in INTERVIEWER_LABELS and words.get(s.id)
    ]
    if not candidates:
        return stem
    best = max(candidates, key=lambda s: words[s.id])
    if best.label == best.id and _ENGINE_ID.fullmatch(best.id):
        return stem
    return best.label


def citation(label: str, first: int, last: int, ascii: bool = False, version: str | None = None) -> str:
    """``(P2, Lines 216–222)``, or ``(P2, Line 216)`` for one line; a corrected version's lines
    name it, as the review page does: ``(P2, Lines 4–6, version c3-4afd96b3)``."""
    lines = f"Line {first}" if first == last else f"Lines {first}{'-' if ascii else '–'}{last}"
    return f"({label}, {lines}{f', version {version}' if version else ''})"


def time_span(start: float | None, end: float | None, ascii: bool = False) -> str:
    """``[00:12:31.2–00:12:58.0]``: start rounded down, end rounded up to a tenth, so it covers the lines."""
    if start is None or end is None:
        return "[no time]"
    return f"[{clock(start)}{'-' if ascii else '–'}{clock(end, up=True)}]"


def clock(seconds: float, up: bool = False) -> str:
    """``hh:mm:ss.t``, to a tenth of a second (rounded down, or up with ``up``)."""
    tenths = math.ceil(seconds * 10 - 1e-6) if up else math.floor(seconds * 10 + 1e-6)
    tenths = max(tenths, 0)
    hours, rest = divmod(tenths, 36_000)
    minutes, rest = divmod(rest, 600)
    return f"{hours:02d}:{minutes:02d}:{rest // 10:02d}.{rest % 10}"


def extract(transcript: Transcript, first: int, last: int) -> Extract:
    """Lines ``first``..``last`` (numbers as printed); :class:`LineRangeError` if outside the transcript."""
    by_number = {line.n: line for line in transcript.lines}
    if not by_number:
        raise LineRangeError("the transcript has no lines")
    highest = max(by_number)
    if first < 1 or last > highest or first > last:
        shown = f"line {first}" if first == last else f"lines {first}-{last}"
        raise LineRangeError(f"no {shown}: the transcript has lines 1-{highest}")
    lines = [by_number[n] for n in range(first, last + 1) if n in by_number]
    starts = [line.start for line in lines if line.start is not None]
    ends = [line.end for line in lines if line.end is not None]
    return Extract(
        label=citation_label(transcript),
        version=(getattr(transcript, "correction", None) or {}).get("version"),
        first=first,
        last=last,
        lines=lines,
        start=min(starts) if starts else None,
        end=max(ends) if ends else None,
        ascii=bool(transcript.pipeline.config.get("render", {}).get("ascii", False)),
    )


def find_recording(transcript: Transcript, document_path: Path, source: Path | None = None) -> Path:
    """The recording to cut from: ``source`` if given, else the document's ``source.path``.

    A relative ``source.path`` that does not exist from here is looked for relative to the
    document's folder, then by its file name in that folder.
    """
    if source is not None:
        if not source.is_file():
            raise AudioError(source, "recording does not exist")
        return source
    recorded = Path(transcript.source.path)
    candidates = [recorded]
    if not recorded.is_absolute():
        candidates.append(document_path.parent / recorded)
    candidates.append(document_path.parent / recorded.name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if REDACTED_TAG.search(transcript.source.path):
        raise AudioError(
            recorded, "the recording's name is redacted in this transcript, so it cannot be found: give it with --source"
        )
    looked = ", ".join(dict.fromkeys(str(c) for c in candidates))
    raise AudioError(recorded, f"recording not found (looked at {looked}); give it with --source")


def check_recording(path: Path, transcript: Transcript) -> None:
    """Refuse a recording that is not the one the transcript was made from."""
    actual = file_sha256(path)
    if actual != transcript.source.sha256:
        raise AudioError(
            path,
            f"is not the recording this transcript was made from (sha256 {actual[:12]}, "
            f"transcript expects {transcript.source.sha256[:12]})",
        )


def cut_clip(path: Path, start: float, end: float) -> tuple[np.ndarray, int, str | None]:
    """Samples ``start``..``end`` (s) of a recording at its own rate and channels.

    Returns (samples as (n_samples, n_channels) float32, sample rate, soundfile subtype or
    None). Formats soundfile cannot read (MP3, M4A on older libsndfile) are decoded by ffmpeg,
    only the stretch asked for.
    """
    try:
        info = soundfile.info(str(path))
        first, last = _sample_span(start, end, info.samplerate, info.frames)
        samples, rate = soundfile.read(str(path), start=first, stop=last, dtype="float32", always_2d=True)
        return samples, int(rate), info.subtype
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        rate, n_channels, _ = probe(path)
        start = max(0.0, start)
        channels = ffmpeg_decode(path, n_channels, rate, start_s=start, duration_s=max(0.0, end - start))
        return np.ascontiguousarray(channels.T), rate, None


REDACTED_WORD = re.compile(r"^\[[A-Z][A-Z0-9_]*-\d+\]")  # a tag written by undertone.redact
REDACTED_TAG = re.compile(r"\[[A-Z][A-Z0-9_]*-\d+\]")
BEEP_HZ = 1000.0  # the broadcast convention for a bleep
BEEP_LEVEL = 0.25  # -12 dBFS: clearly audible, never clipping


def redacted_spans(transcript: Transcript, start: float, end: float) -> list[tuple[float, float]]:
    """Times (s, relative to ``start``) of the redacted words between ``start`` and ``end``."""
    return [
        (max(word.start, start) - start, min(word.end, end) - start)
        for word in transcript.words
        if REDACTED_WORD.match(word.text) and word.end > start and word.start < end
    ]


def mask_clip(samples: np.ndarray, sample_rate: int, spans: list[tuple[float, float]], how: str) -> np.ndarray:
    """A copy of ``samples`` with each span replaced by silence or a beep (``how``)."""
    masked = samples.copy()
    for span_start, span_end in spans:
        first, last = _sample_span(span_start, span_end, sample_rate, len(masked))
        if how == "beep":
            t = np.arange(last - first) / sample_rate
            masked[first:last] = (BEEP_LEVEL * np.sin(2 * np.pi * BEEP_HZ * t))[:, None]
        else:
            masked[first:last] = 0.0
    return masked


def encode_clip(target: Path, samples: np.ndarray, sample_rate: int, subtype: str | None = None) -> bytes:
    """The clip as a file's bytes in the format ``target``'s suffix names (see ``CLIP_FORMATS``)."""
    file_format = clip_format(target)
    if subtype is None or not soundfile.check_format(file_format, subtype):
        subtype = None
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, format=file_format, subtype=subtype)
    return buffer.getvalue()


def clip_format(target: Path) -> str:
    try:
        return CLIP_FORMATS[target.suffix.lower()]
    except KeyError:
        known = ", ".join(CLIP_FORMATS)
        raise OutputError(target, f"cannot write {target.suffix or 'a file without suffix'} audio (use {known})") from None


def _sample_span(start: float, end: float, sample_rate: int, n_samples: int) -> tuple[int, int]:
    first = min(max(int(round(start * sample_rate)), 0), n_samples)
    last = min(max(int(round(end * sample_rate)), first), n_samples)
    return first, last
