"""Lay a transcript out as numbered, fixed-width lines: the lines researchers cite.

The layout depends only on the transcript document and the render settings, so re-rendering
never renumbers. Words are printed with their marks (see :mod:`undertone.render.notation`). Each turn starts a new line with the speaker's label; continuation lines get
a hanging indent; a gap between speakers stands on its own line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from undertone.config import RenderSettings
from undertone.model import Line, Pause, Transcript
from undertone.render import notation
from undertone.render.notation import Decoration

MICROPAUSE_MARK = "(.)"
# An overlap must cover this much of a word (s) for the word to be bracketed.
OVERLAP_WORD_MIN_S = 0.05


@dataclass(frozen=True)
class Token:
    """One printable piece of a line: a word (with its index) or a mark between words."""

    text: str
    start: float
    end: float
    word: int | None = None


def pause_mark(pause: Pause) -> str:
    """Jefferson notation: ``(.)`` for a micropause, seconds to a tenth otherwise."""
    if pause.kind == "micropause":
        return MICROPAUSE_MARK
    # Half-up on the millisecond value: binary floats would print 0.45 s as (0.5) but 0.35 s as (0.3).
    tenths = Decimal(str(round(pause.duration, 3))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"({tenths})"


def overlapped_words(transcript: Transcript) -> set[int]:
    """Indices of words spoken while another speaker was also speaking."""
    inside: set[int] = set()
    if not transcript.overlaps or not transcript.words:
        return inside
    # Vectorised over the words: an hour holds ~10 000 words and dozens of overlaps.
    starts = np.array([w.start for w in transcript.words])
    ends = np.array([w.end for w in transcript.words])
    speakers = np.array([w.speaker for w in transcript.words], dtype=object)
    indices = np.array([w.i for w in transcript.words])
    for overlap in transcript.overlaps:
        shared = np.minimum(ends, overlap.end) - np.maximum(starts, overlap.start)
        mine = np.isin(speakers, list(overlap.speakers))
        inside.update(int(i) for i in indices[(shared >= OVERLAP_WORD_MIN_S) & mine])
    return inside


def shown_pauses_after(transcript: Transcript, shown: frozenset[str]) -> dict[int, Pause]:
    """Within-turn pauses shown at this notation level, by the word they follow."""
    return {p.after_word: p for p in transcript.pauses if p.kind != "gap" and p.kind in shown}


def turn_tokens(
    transcript: Transcript,
    first_word: int,
    last_word: int,
    decorations: dict[int, Decoration],
    pauses_after: dict[int, Pause],
) -> list[Token]:
    """Words of one turn, decorated with their marks, with the shown pauses between them
    (``pauses_after``: :func:`shown_pauses_after`, computed once per transcript, not per turn).
    """
    tokens: list[Token] = []
    for index in range(first_word, last_word + 1):
        word = transcript.words[index]
        tokens.append(Token(decorations[index].text(), word.start, word.end, word=index))
        pause = pauses_after.get(index)
        if pause is not None and index < last_word:
            tokens.append(Token(pause_mark(pause), pause.start, pause.end))
    return tokens


def layout_lines(transcript: Transcript, settings: RenderSettings) -> list[Line]:
    """Number and wrap the transcript; the result is what ``Transcript.lines`` records."""
    label_width = max((len(s.label) for s in transcript.speakers), default=1) + 1  # "P:"
    shown = notation.shown(settings.notation)
    pauses_after = shown_pauses_after(transcript, shown)
    decorations = notation.decorate_words(transcript, settings.notation, overlapped_words(transcript))
    gaps_after = {p.after_word: p for p in transcript.pauses if p.kind == "gap"}
    lines: list[Line] = []

    def add(text: str, speaker: str | None, tokens: list[Token]) -> None:
        words = [t.word for t in tokens if t.word is not None]
        lines.append(
            Line(
                n=len(lines) + 1,
                text=text.rstrip(),
                speaker=speaker,
                start=tokens[0].start if tokens else None,
                end=tokens[-1].end if tokens else None,
                first_word=words[0] if words else None,
                last_word=words[-1] if words else None,
            )
        )

    for turn in transcript.turns:
        label = transcript.speaker_label(turn.speaker) + ":"
        stamp = f"[{_clock(turn.start)}] " if settings.timestamps else ""
        first_prefix = f"{label:<{label_width}}  {stamp}"
        hanging = " " * len(first_prefix)
        tokens = turn_tokens(transcript, turn.first_word, turn.last_word, decorations, pauses_after)
        text_width = max(settings.width - _margin_width() - len(first_prefix), 12)
        for row_index, row in enumerate(_wrap(tokens, text_width)):
            prefix = first_prefix if row_index == 0 else hanging
            add(prefix + " ".join(t.text for t in row), turn.speaker, row)
        gap = gaps_after.get(turn.last_word)
        if gap is not None:
            add(" " * len(hanging) + pause_mark(gap), None, [Token("", gap.start, gap.end)])
    return lines


def numbered(line: Line) -> str:
    """The printed form of a line: its number in a right-aligned margin, then its text."""
    return f"{line.n:>{_margin_width() - 2}}  {line.text}".rstrip()


def _margin_width() -> int:
    # Room for five-digit line numbers (a two-hour interview runs to a few thousand lines).
    return 7


def _wrap(tokens: list[Token], width: int) -> list[list[Token]]:
    rows: list[list[Token]] = []
    row: list[Token] = []
    used = 0
    for token in tokens:
        extra = len(token.text) + (1 if row else 0)
        if row and used + extra > width:
            rows.append(row)
            row, used = [], 0
            extra = len(token.text)
        row.append(token)
        used += extra
    if row:
        rows.append(row)
    return rows


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
