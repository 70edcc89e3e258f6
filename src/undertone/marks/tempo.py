"""Tempo marks: ``>fast<`` and ``<slow>`` stretches, and ``wo::rd`` elongated words.

Tempo is measured as time taken versus time expected: each word's expected duration is the
time its sounds take at Klatt's inherent durations, scaled to the speaker's own usual pace
(:mod:`undertone.features`). This is the syllable rate of the words corrected for what the
syllables are made of — "strengths" takes longer than "a" at any speed. A stretch's time runs
from its first word's start to its last word's end, less any reported (micro)pause
(``WordMeasures.time_taken``); elongation compares a word's own sounding duration.
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
# Stretches are looked for in windows of tempo_min_words up to this many more words. In a short
# window one word carries the rate (a slowed phrase lengthens its last word most), and the
# one-word test below rejects it; a longer window lets the rest of the stretch show its pace.
EXTRA_WINDOW_WORDS = 2
# A word measured in under a third of the speaker's usual time for its sounds is a misplaced
# boundary, not fast talk: the fastest speech takes about half the usual time (Klatt's minimum
# phone durations are roughly half the inherent ones), and the time the word lost went to a
# neighbour. Such words and their neighbours are left out of tempo windows.
IMPLAUSIBLY_SHORT = 1 / 3


def tempo_marks(
    measures: WordMeasures, context: WordContext, units: list[tuple[int, int]], settings: MarkSettings
) -> list[Mark]:
    """Stretches of at least ``tempo_min_words`` words markedly faster or slower than usual."""
    size = settings.tempo_min_words
    usable = context.countable & ~context.overlapped & ~_misplaced(measures.pace)
    taken, expected = measures.time_taken, measures.time_taken / np.exp(measures.pace)
    speaker_of = np.array(context.speakers, dtype=object)
    # The speaker's spread of rates is measured on the shortest windows; longer ones are tested
    # against the same threshold (their rates vary less, so this errs towards marking fewer).
    windows = {length: _window_starts(units, usable, length) for length in range(size, size + EXTRA_WINDOW_WORDS + 1)}
    shortest = windows[size]
    if len(shortest) == 0:
        return []
    rates = {length: _window_rates(taken, expected, firsts, length) for length, firsts in windows.items() if len(firsts)}
    shortest_rates = rates[size][0]
    threshold = {
        speaker: _threshold(list(shortest_rates[speaker_of[shortest] == speaker]), settings)
        for speaker in set(speaker_of[shortest])
    }
    marks: list[Mark] = []
    for kind, sign in (("fast", 1.0), ("slow", -1.0)):
        flagged = np.zeros(len(taken), dtype=bool)
        for length, (window_rates, without_slowest, without_fastest) in rates.items():
            firsts = windows[length]
            # The same without the window's most extreme word in the marked direction: a
            # stretch is fast or slow only if its other words are too, so one stretched word
            # (wo::rd) or one clipped word does not turn its neighbours into a stretch.
            robust = without_fastest if sign > 0 else without_slowest
            limits = np.array([threshold[speaker] for speaker in speaker_of[firsts]])
            for first in firsts[(sign * window_rates >= limits) & (sign * robust >= limits)]:
                flagged[first : first + length] = True
        for first, last in units:
            for a, b in runs(flagged[first : last + 1]):
                a, b = _trim(first + a, first + b, sign * measures.pace)
                if b - a + 1 >= size:
                    rate = math.exp(_log_rate(taken, expected, a, b))
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


def _window_starts(units: list[tuple[int, int]], usable: np.ndarray, size: int) -> np.ndarray:
    """First word of every run of ``size`` consecutive usable words inside one unit."""
    unit_last = np.full(len(usable), -1, dtype=np.int64)
    for first, last in units:
        unit_last[first : last + 1] = last
    firsts = np.arange(max(len(usable) - size + 1, 0))
    unusable_before = np.concatenate(([0], np.cumsum(~usable)))
    inside_unit = firsts + size - 1 <= unit_last[firsts]
    all_usable = unusable_before[firsts + size] == unusable_before[firsts]
    return firsts[inside_unit & all_usable]


def _window_rates(
    taken: np.ndarray, expected: np.ndarray, firsts: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_log_rate` of each window, and the same without its slowest / fastest word."""
    taken_sum = np.concatenate(([0.0], np.cumsum(taken)))
    expected_sum = np.concatenate(([0.0], np.cumsum(expected)))
    window_taken = taken_sum[firsts + size] - taken_sum[firsts]
    window_expected = expected_sum[firsts + size] - expected_sum[firsts]
    word_rates = np.lib.stride_tricks.sliding_window_view(np.log(expected / taken), size)[firsts]

    def without(offsets: np.ndarray) -> np.ndarray:
        dropped = firsts + offsets
        return np.log((window_expected - expected[dropped]) / (window_taken - taken[dropped]))

    rates = np.log(window_expected / window_taken)
    return rates, without(np.argmin(word_rates, axis=1)), without(np.argmax(word_rates, axis=1))


def _misplaced(pace: np.ndarray) -> np.ndarray:
    """Words measured implausibly short (:data:`IMPLAUSIBLY_SHORT`), and their neighbours."""
    short = np.exp(pace) < IMPLAUSIBLY_SHORT
    spread = short.copy()
    spread[1:] |= short[:-1]
    spread[:-1] |= short[1:]
    return spread


def _log_rate(duration: np.ndarray, expected: np.ndarray, first: int, last: int) -> float:
    """log(speaker's usual time for these words / time taken): > 0 is faster than usual."""
    return float(np.log(expected[first : last + 1].sum() / duration[first : last + 1].sum()))


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
