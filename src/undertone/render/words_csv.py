"""One row per word (``<stem>.words.csv``): the words with the measurements behind their marks.

For statistics in R, SPSS or a spreadsheet without parsing JSON. Columns:

- ``i, speaker, speaker_label, text, kind, start, end, duration, confidence``: the word as in the
  document (times in seconds to the millisecond; confidence empty when the engine gave none);
- one column per kind of mark (``emphasis`` ... ``laughter``, always all of them, in the
  contract's order, so every file has the same columns): the measurement behind that mark on
  this word, empty when the word does not carry it. A mark over a stretch of words (a loud
  phrase) gives its value on each of them. Units are those of the JSON document's annotations
  (``dB re speaker``, ``st re preceding words``, ``x speaker rate``, ``s``, ...);
- ``overlap``: ``1`` when the word is spoken in overlap with another speaker (the words the
  transcript brackets, ``[ ]``), empty otherwise, like the mark columns;
- ``pause_after, pause_after_kind``: the silence after the word (seconds; ``micropause``,
  ``pause`` or ``gap``), empty when the next word follows without one.

With ``render.ascii`` every cell is in its ASCII form (words and labels as in the .txt).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, get_args

from undertone.config import RenderSettings
from undertone.model import AnnotationKind, Transcript
from undertone.render.layout import overlapped_words
from undertone.render.notation import to_ascii

if TYPE_CHECKING:  # the registry in undertone.render imports this module
    from undertone.render import RenderContext

MARK_COLUMNS: tuple[str, ...] = get_args(AnnotationKind)
COLUMNS = (
    ("i", "speaker", "speaker_label", "text", "kind", "start", "end", "duration", "confidence")
    + MARK_COLUMNS
    + ("overlap", "pause_after", "pause_after_kind")
)
IN_OVERLAP = "1"


def render_words_csv(transcript: Transcript, settings: RenderSettings, context: RenderContext) -> str:
    """The table as CSV text (header row first; ``\\r\\n`` line ends, as the csv module writes)."""
    marks: dict[tuple[int, str], float | None] = {}
    for annotation in transcript.annotations:
        for index in range(annotation.first_word, annotation.last_word + 1):
            marks.setdefault((index, annotation.kind), annotation.value)
    pauses_after = {p.after_word: p for p in transcript.pauses}
    overlapped = overlapped_words(transcript)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for word in transcript.words:
        pause = pauses_after.get(word.i)
        row = (
            [word.i, word.speaker or "", transcript.speaker_label(word.speaker), word.text, word.kind,
             _seconds(word.start), _seconds(word.end), _seconds(word.end - word.start), _number(word.confidence)]
            + [_number(marks.get((word.i, kind))) for kind in MARK_COLUMNS]
            + [IN_OVERLAP if word.i in overlapped else ""]
            + [_seconds(pause.duration) if pause else "", pause.kind if pause else ""]
        )
        writer.writerow([to_ascii(str(cell)) for cell in row] if settings.ascii else row)
    return buffer.getvalue()


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
