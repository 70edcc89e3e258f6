"""Subtitles (SubRip ``.srt`` and WebVTT ``.vtt``): the numbered lines, timed over the recording.

Any media player, video editor or browser shows these over the recording, so a reader can
listen to a stretch while seeing it in the transcript's notation. One cue per printed line
(``transcript.lines``) with a time span, in order of time:

- a turn's first line starts with the speaker: ``I: text`` in SubRip; WebVTT puts every cue of
  a speaker in a voice span ``<v I>text``, which players can style or show per speaker;
- a gap between speakers, which the transcript prints on a line of its own, is a cue too
  (``(1.2)``): the subtitle track shows everything the numbered transcript shows, silences
  included;
- the turn timestamps some layouts print (``[00:01:05]``) are left out: a cue is already timed.

Every cue keeps its line's own time span (``lines[].start`` and ``end`` of the JSON), to the
millisecond: in overlapping talk the cues of the two speakers overlap, as WebVTT and SubRip
allow (players show both at once). Cues are in order of start (WebVTT requires it), ties in
line order; a line without duration lasts 1 ms. With ``ascii`` render settings the text is
ASCII as in the .txt.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from undertone.config import RenderSettings
from undertone.model import Line, Transcript
from undertone.render.notation import to_ascii
from undertone.render.timecode import cue_time, to_ms

if TYPE_CHECKING:  # the registry in undertone.render imports this module
    from undertone.render import RenderContext

_TURN_STAMP = re.compile(r"^\[\d{2}:\d{2}:\d{2}\]\s*")


@dataclass(frozen=True)
class Cue:
    """One subtitle: times in ms, the line's text without the speaker, and who speaks.

    ``speaker`` is the label of the line's speaker (``None`` for a gap); ``opens_turn`` is true
    on the first line of a turn, where SubRip names the speaker.
    """

    start: int
    end: int
    text: str
    speaker: str | None
    opens_turn: bool


def render_srt(transcript: Transcript, settings: RenderSettings, context: RenderContext) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm``, the speaker named where a turn starts."""
    blocks = []
    for number, cue in enumerate(cues(transcript, settings), start=1):
        text = f"{cue.speaker}: {cue.text}" if cue.opens_turn else cue.text
        blocks.append(f"{number}\n{cue_time(cue.start, ',')} --> {cue_time(cue.end, ',')}\n{text}\n")
    return "\n".join(blocks)


def render_vtt(transcript: Transcript, settings: RenderSettings, context: RenderContext) -> str:
    """WebVTT: ``HH:MM:SS.mmm`` cues with voice spans; ``< > &`` escaped (``>fast<`` is notation)."""
    blocks = ["WEBVTT\n"]
    for cue in cues(transcript, settings):
        text = html.escape(cue.text, quote=False)
        if cue.speaker is not None:
            text = f"<v {html.escape(cue.speaker, quote=False)}>{text}"
        blocks.append(f"{cue_time(cue.start, '.')} --> {cue_time(cue.end, '.')}\n{text}\n")
    return "\n".join(blocks)


def cues(transcript: Transcript, settings: RenderSettings) -> list[Cue]:
    """The timed lines as cues, in order of start, each over its line's own span."""
    openers = _turn_openers(transcript)
    timed = sorted(
        ((to_ms(line.start), line.n, to_ms(line.end), line)
         for line in transcript.lines
         if line.start is not None and line.end is not None),
        key=lambda cue: cue[:2],
    )
    result: list[Cue] = []
    for start, _, end, line in timed:
        speaker = None if line.speaker is None else transcript.speaker_label(line.speaker)
        opens_turn = speaker is not None and line.n in openers
        text = _line_body(line, speaker if opens_turn else None)
        if settings.ascii:
            text, speaker = to_ascii(text), None if speaker is None else to_ascii(speaker)
        result.append(Cue(start, max(end, start + 1), text, speaker, opens_turn))
    return result


def _turn_openers(transcript: Transcript) -> set[int]:
    """Numbers of the lines that print a turn's first word (the first such line, if it is cut)."""
    turn_starts = {t.first_word for t in transcript.turns}
    firsts: dict[int, int] = {}
    for line in transcript.lines:
        if line.first_word in turn_starts:
            firsts.setdefault(line.first_word, line.n)
    return set(firsts.values())


def _line_body(line: Line, label: str | None) -> str:
    """A printed line without its speaker label, hanging indent or turn timestamp."""
    text = line.text
    if label is not None and text.startswith(label + ":"):
        text = text[len(label) + 1 :]
    return _TURN_STAMP.sub("", text.strip())
