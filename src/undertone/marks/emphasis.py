"""Emphasis (``_word_``): a word that stands out from its neighbours on several cues at once.

Stress in speech is carried together by loudness, pitch and duration. Each cue is measured
against the median of the word's neighbours in the same unit and expressed in steps of a
clearly audible difference (3 dB, 2 semitones, 25% longer); the score is the sum of the
positive steps. Two cues must contribute: a single cue is the business of the loud, pitch-step
and elongation marks, which take precedence (a word already marked by them is not emphasised).

Neighbours are ordinary words only: a word beside a quiet, fast or slow stretch (or a loud,
stepped or stretched word) would otherwise stand out against talk that is itself marked, and
words inside such stretches are not candidates either: their cues belong to the stretch.
"""

from __future__ import annotations

import math

import numpy as np

from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures
from undertone.marks import Mark

UNIT = "prominence (3 dB, 2 st, 25% longer per step)"
LOUDNESS_STEP_DB = 3.0
PITCH_STEP_ST = 2.0
DURATION_STEP = math.log(1.25)
CONTRIBUTING_CUE = 0.5  # steps a cue needs to count as contributing
NEIGHBOURS = 2


def emphasis_marks(
    measures: WordMeasures,
    context: WordContext,
    units: list[tuple[int, int]],
    marked: set[int],
    settings: MarkSettings,
) -> list[Mark]:
    """Words prominent over their ordinary neighbours; ``marked`` = words under any other mark."""
    ordinary = context.countable & ~context.overlapped & np.isfinite(measures.level_db)
    ordinary[list(marked)] = False
    marks: list[Mark] = []
    for first, last in units:
        for index in range(first, last + 1):
            if not ordinary[index]:
                continue
            around = [
                j
                for j in range(max(first, index - NEIGHBOURS), min(last, index + NEIGHBOURS) + 1)
                if j != index and ordinary[j]
            ]
            if len(around) < 2:
                continue
            cues = prominence_cues(measures, index, around)
            score = sum(cues)
            if score >= settings.emphasis_score and sum(c >= CONTRIBUTING_CUE for c in cues) >= 2:
                marks.append(Mark("emphasis", index, index, round(score, 1), UNIT))
    return marks


def prominence_cues(measures: WordMeasures, index: int, around: list[int]) -> tuple[float, float, float]:
    """Loudness, pitch and duration prominence of a word over its neighbours, in steps (>= 0)."""
    loudness = (measures.level_db[index] - np.median(measures.level_db[around])) / LOUDNESS_STEP_DB
    pitch = 0.0
    neighbour_pitch = measures.f0_st[around]
    neighbour_pitch = neighbour_pitch[np.isfinite(neighbour_pitch)]
    if np.isfinite(measures.f0_peak_st[index]) and len(neighbour_pitch):
        pitch = (measures.f0_peak_st[index] - np.median(neighbour_pitch)) / PITCH_STEP_ST
    duration = (measures.tempo[index] - np.median(measures.tempo[around])) / DURATION_STEP
    return max(0.0, float(loudness)), max(0.0, float(pitch)), max(0.0, float(duration))
