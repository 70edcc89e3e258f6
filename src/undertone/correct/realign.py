"""Give corrected and inserted words audio-accurate times: re-align just the edited stretch.

Each run of edited words is aligned again with pocketsphinx (the same forced aligner that times
known transcripts), together with a few unchanged words on either side and a little audio
beyond them, so that the edited words are placed between their neighbours by the sound itself.
The neighbours get the aligner's times too (a word that had swallowed a missing one shrinks).
Where alignment is impossible (a word the English model cannot pronounce, or audio that does
not fit the words), the edited words share the time between their neighbours equally and are
flagged ``timing = "interpolated"`` with confidence null, and the document says so in a note.
"""

from __future__ import annotations

import numpy as np

from undertone.audio import SAMPLE_RATE
from undertone.correct.replay import Corrections, WorkWord
from undertone.errors import UndertoneError
from undertone.transcribe.known import KnownTurn, tokenize

CONTEXT_WORDS = 2  # unchanged words aligned on either side of an edited run
MARGIN_S = 0.3  # audio taken beyond the outer context words (s)
JOIN_WITHIN_WORDS = 2 * CONTEXT_WORDS  # edited runs closer than this are aligned together
INTERPOLATED_NOTE = "could not be aligned to the audio and were timed by interpolation"


def realign(state: Corrections, samples: np.ndarray) -> list[str]:
    """Time every edited word of ``state`` in place; returns notes for the document."""
    duration = len(samples) / SAMPLE_RATE
    interpolated: list[str] = []
    for first, last in edited_runs(state.words):
        low = max(first - CONTEXT_WORDS, 0)
        high = min(last + CONTEXT_WORDS, len(state.words) - 1)
        stretch = state.words[low : high + 1]
        if not _align_stretch(stretch, samples, duration, has_before=low < first, has_after=high > last):
            _interpolate(state.words, first, last, duration)
        interpolated += [w.text for w in state.words[first : last + 1] if w.timing == "interpolated"]
    if not interpolated:
        return []
    shown = ", ".join(interpolated[:10]) + (", ..." if len(interpolated) > 10 else "")
    return [f"{len(interpolated)} corrected or inserted word(s) {INTERPOLATED_NOTE}: {shown}"]


def edited_runs(words: list[WorkWord]) -> list[tuple[int, int]]:
    """(first, last) positions of runs of words that need times; close runs are joined."""
    runs: list[tuple[int, int]] = []
    for index, word in enumerate(words):
        if not word.needs_timing:
            continue
        if runs and index - runs[-1][1] <= JOIN_WITHIN_WORDS:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _align_stretch(
    stretch: list[WorkWord], samples: np.ndarray, duration: float, *, has_before: bool, has_after: bool
) -> bool:
    """Align the stretch's words to its audio; False (nothing changed) if that is impossible."""
    from undertone.transcribe import sphinx

    # From just before the first context word to just after the last (the recording's edge
    # where the edited run has no neighbour on that side).
    begin = max(stretch[0].start - MARGIN_S, 0.0) if has_before else 0.0
    end = min(stretch[-1].end + MARGIN_S, duration) if has_after else duration
    speakable = [(word, tokenize(word.text)) for word in stretch]
    speakable = [(word, tokens[0]) for word, tokens in speakable if len(tokens) == 1]
    if not speakable or end - begin < 0.05:
        return False
    first_sample, last_sample = int(round(begin * SAMPLE_RATE)), int(round(end * SAMPLE_RATE))
    turn = KnownTurn(speaker="X", text=" ".join(token for _, token in speakable), line=1)
    try:
        recognition = sphinx.align(samples[first_sample:last_sample], [turn], SAMPLE_RATE)
    except (UndertoneError, ValueError):
        return False
    if len(recognition.words) != len(speakable):
        return False
    # The aligner times words it cannot place by interpolation itself, and says so in a note.
    guessed = any("timed by interpolation" in note for note in recognition.notes)
    for (word, _), timed in zip(speakable, recognition.words):
        unplaced = guessed and timed.confidence is None
        if unplaced and not word.needs_timing:
            continue  # an unchanged word the aligner could not place keeps its own time
        start, end = begin + timed.start, begin + timed.end
        if not word.needs_timing and max(abs(start - word.start), abs(end - word.end)) > 0.001:
            word.touched = True  # a neighbour re-timed with the edited words: measured again
        word.start, word.end = start, end
        if word.needs_timing:
            word.confidence = None if unplaced else timed.confidence
            word.timing = "interpolated" if unplaced else "realigned"
    # Edited words with no pronounceable token were not aligned: place them between neighbours.
    for index, word in enumerate(stretch):
        if word.needs_timing and word.timing is None:
            _interpolate(stretch, index, index, duration)
    return True


def _interpolate(words: list[WorkWord], first: int, last: int, duration: float) -> None:
    """Time the edited words among positions ``first..last`` between their neighbours, flagged:
    each run of edited words shares the time between the words around it equally."""
    index = first
    while index <= last:
        if not words[index].needs_timing:
            index += 1
            continue
        end = index
        while end + 1 <= last and words[end + 1].needs_timing:
            end += 1
        gap_start = words[index - 1].end if index > 0 else 0.0
        gap_end = words[end + 1].start if end + 1 < len(words) else duration
        gap_end = max(gap_end, gap_start)
        step = (gap_end - gap_start) / (end - index + 1)
        for offset, word in enumerate(words[index : end + 1]):
            word.start = gap_start + offset * step
            word.end = gap_start + (offset + 1) * step
            word.confidence = None
            word.timing = "interpolated"
        index = end + 1
