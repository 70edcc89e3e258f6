"""Tempo marks: ``>fast<`` and ``<slow>`` stretches, and ``wo::rd`` elongated words.

Tempo is measured as time taken versus time expected: each word's expected duration is the
time its sounds take at Klatt's inherent durations, scaled to the speaker's own usual pace
(:mod:`undertone.features`). This is the syllable rate of the words corrected for what the
syllables are made of — "strengths" takes longer than "a" at any speed.
"""

from __future__ import annotations

import math

import numpy as np

from undertone import small_stats
from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures
from undertone.marks import Mark, runs

RATE_UNIT = "x speaker rate"
ELONGATION_UNIT = "x usual duration"
# An elongated word also stands out from its neighbours by this factor, so a word inside a
# slowed stretch is part of the <slow> stretch, not an elongation of its own.
ELONGATION_VS_NEIGHBOURS = 1.5
NEIGHBOURS = 3  # words either side that make a word's local context
MAD_TO_SD = 1.4826  # median absolute deviation of a normal distribution -> standard deviation


def tempo_marks(
    measures: WordMeasures, context: WordContext, units: list[tuple[int, int]], settings: MarkSettings
) -> list[Mark]:
    """Stretches of at least ``tempo_min_words`` words markedly faster or slower than usual."""
    size = settings.tempo_min_words
    usable = context.countable & ~context.overlapped
    expected = measures.duration / np.exp(measures.tempo)  # at the speaker's own usual pace
    windows = [
        (first + offset, first + offset + size - 1)
        for first, last in units
        for offset in range(last - first + 2 - size)
        if usable[first + offset : first + offset + size].all()
    ]
    if not windows:
        return []
    log_rates = np.array([_log_rate(measures.duration, expected, a, b) for a, b in windows])
    # The same without the window's most extreme word in either direction: a stretch is fast
    # or slow only if its other words are too, so one stretched word (wo::rd) or one clipped
    # word does not turn its neighbours into a <slow> or >fast< stretch.
    without_slowest = np.array([_log_rate_without(measures.duration, expected, a, b, slowest=True) for a, b in windows])
    without_fastest = np.array([_log_rate_without(measures.duration, expected, a, b, slowest=False) for a, b in windows])
    speakers = [context.speakers[a] for a, _ in windows]
    threshold = {
        speaker: _threshold([r for r, s in zip(log_rates, speakers) if s == speaker], settings)
        for speaker in set(speakers)
    }
    marks: list[Mark] = []
    for kind, sign, robust_rates in (("fast", 1.0, without_fastest), ("slow", -1.0, without_slowest)):
        flagged = np.zeros(len(measures.duration), dtype=bool)
        for (a, b), rate, robust, speaker in zip(windows, log_rates, robust_rates, speakers):
            if sign * rate >= threshold[speaker] and sign * robust >= threshold[speaker]:
                flagged[a : b + 1] = True
        for first, last in units:
            for a, b in runs(flagged[first : last + 1]):
                a, b = _trim(first + a, first + b, sign * measures.tempo)
                if b - a + 1 >= size:
                    rate = math.exp(_log_rate(measures.duration, expected, a, b))
                    marks.append(Mark(kind, a, b, round(rate, 2), RATE_UNIT))  # type: ignore[arg-type]
    return marks


def elongation_marks(
    measures: WordMeasures, context: WordContext, units: list[tuple[int, int]], settings: MarkSettings
) -> list[Mark]:
    """Single words far longer than the speaker takes for their sounds, and than their neighbours.

    Fillers are left alone: "um" and "mm" are as long as the speaker holds them, by nature.
    """
    usable = context.countable & ~context.overlapped
    expected = measures.duration / np.exp(measures.tempo)
    marks: list[Mark] = []
    for first, last in units:
        for index in range(first, last + 1):
            if not usable[index]:
                continue
            ratio = math.exp(measures.tempo[index])
            around = [
                j
                for j in range(max(first, index - NEIGHBOURS), min(last, index + NEIGHBOURS) + 1)
                if j != index and usable[j]
            ]
            local = small_stats.median(measures.tempo[around]) if around else 0.0
            if (
                ratio >= settings.elongation_ratio
                and math.exp(measures.tempo[index] - local) >= ELONGATION_VS_NEIGHBOURS
                and measures.duration[index] - expected[index] >= settings.elongation_min_extra_s
            ):
                marks.append(Mark("elongation", index, index, round(ratio, 2), ELONGATION_UNIT))
    return marks


def _log_rate(duration: np.ndarray, expected: np.ndarray, first: int, last: int) -> float:
    """log(speaker's usual time for these words / time taken): > 0 is faster than usual."""
    return float(np.log(expected[first : last + 1].sum() / duration[first : last + 1].sum()))


def _log_rate_without(duration: np.ndarray, expected: np.ndarray, first: int, last: int, slowest: bool) -> float:
    """:func:`_log_rate` of the window without its slowest (or fastest) word."""
    word_rates = np.log(expected[first : last + 1] / duration[first : last + 1])
    drop = first + int(np.argmin(word_rates) if slowest else np.argmax(word_rates))
    keep = [index for index in range(first, last + 1) if index != drop]
    return float(np.log(expected[keep].sum() / duration[keep].sum()))


def _threshold(log_rates: list[float], settings: MarkSettings) -> float:
    """The larger of the fixed ratio and ``tempo_spread_z`` of the speaker's own spread."""
    values = np.asarray(log_rates)
    spread = MAD_TO_SD * small_stats.median(np.abs(values - small_stats.median(values))) if len(values) else 0.0
    return max(math.log(settings.tempo_ratio), settings.tempo_spread_z * spread)


def _trim(first: int, last: int, signed_tempo: np.ndarray) -> tuple[int, int]:
    """Drop edge words that go the other way (a window drags in a neighbour or two)."""
    # signed_tempo < 0 means the word itself is in the marked direction (fast: shorter than usual).
    while first <= last and signed_tempo[first] >= 0:
        first += 1
    while last >= first and signed_tempo[last] >= 0:
        last -= 1
    return first, last
