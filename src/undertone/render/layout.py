"""Lay a transcript out as numbered, fixed-width lines: the lines researchers cite.

The layout depends only on the transcript document and the render settings, so re-rendering
never renumbers. Words are printed with their marks (see :mod:`undertone.render.notation`).
Each turn starts a new line with the speaker's label; continuation lines get a hanging indent;
a gap between speakers stands on its own line. No line is wider than ``render.width``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from undertone.config import RenderSettings
from undertone.model import Line, Pause, Transcript
from undertone.render import notation
from undertone.render.notation import Decoration, print_width

MICROPAUSE_MARK = "(.)"
# The narrowest text column beside a speaker label; narrower, the label gets a line of its own
# and the words below it are indented by NARROW_INDENT.
MIN_TEXT_WIDTH = 12
NARROW_INDENT = 2
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
    """Number and wrap the transcript; the result is what ``Transcript.lines`` records.

    Every line fits ``settings.width`` in UTF-8 and in ASCII (words are measured with
    :func:`~undertone.render.notation.print_width`). The label stands beside the turn's first
    line when that leaves a text column of ``MIN_TEXT_WIDTH``; at narrower widths (or with
    long labels and timestamps) it stands on a line of its own, which has no words and no
    times, and the words follow with a ``NARROW_INDENT``. A word wider than the text column
    (a URL at width 30) is cut over two lines, both of which then list it.
    """
    labels = [s.label for s in transcript.speakers] + [transcript.speaker_label(t.speaker) for t in transcript.turns]
    label_width = max(map(print_width, labels), default=0) + 1  # "P:"
    room = settings.width - _margin_width()
    beside = label_width + 2 + (len(_stamp(0.0)) if settings.timestamps else 0)
    own_line = room - beside < MIN_TEXT_WIDTH
    indent = NARROW_INDENT if own_line else beside
    text_width = room - indent
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
        stamp = _stamp(turn.start) if settings.timestamps else ""
        tokens = turn_tokens(transcript, turn.first_word, turn.last_word, decorations, pauses_after)
        if own_line:
            head = [Token(part, turn.start, turn.start) for part in (label, stamp.rstrip()) if part]
            for row_index, row in enumerate(_wrap(head, text_width, first_width=room)):
                add(" " * (indent if row_index else 0) + _joined(row), turn.speaker, [])
            first_prefix = " " * indent
        else:
            first_prefix = label + " " * (label_width - print_width(label) + 2) + stamp
        for row_index, row in enumerate(_wrap(tokens, text_width)):
            add((first_prefix if row_index == 0 else " " * indent) + _joined(row), turn.speaker, row)
        gap = gaps_after.get(turn.last_word)
        if gap is not None:
            add(" " * indent + pause_mark(gap), None, [Token("", gap.start, gap.end)])
    return lines


def numbered(line: Line) -> str:
    """The printed form of a line: its number in a right-aligned margin, then its text."""
    return f"{line.n:>{_margin_width() - 2}}  {line.text}".rstrip()


def _margin_width() -> int:
    # Room for five-digit line numbers (a two-hour interview runs to a few thousand lines).
    return 7


def _joined(row: list[Token]) -> str:
    return " ".join(token.text for token in row)


def _wrap(tokens: list[Token], width: int, first_width: int | None = None) -> list[list[Token]]:
    """Greedy rows of at most ``width`` printed characters (``first_width`` for the first row)."""
    rows: list[list[Token]] = []
    row: list[Token] = []
    used = 0
    for token in _fitting(tokens, width):
        extra = print_width(token.text) + (1 if row else 0)
        if row and used + extra > (width if rows or first_width is None else first_width):
            rows.append(row)
            row, used = [], 0
            extra = print_width(token.text)
        row.append(token)
        used += extra
    if row:
        rows.append(row)
    return rows


def _fitting(tokens: list[Token], width: int) -> Iterator[Token]:
    """The tokens, a token wider than ``width`` cut into pieces that fit (each keeps its word)."""
    for token in tokens:
        if print_width(token.text) <= width:
            yield token
            continue
        piece = ""
        for char in token.text:
            if piece and print_width(piece + char) > width:
                yield replace(token, text=piece)
                piece = ""
            piece += char
        yield replace(token, text=piece)


def _stamp(seconds: float) -> str:
    """The turn timestamp as printed, with the space that follows it."""
    return f"[{_clock(seconds)}] "


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
