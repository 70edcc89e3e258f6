"""Emphasis (``_word_``): a word that stands out from its neighbours on several cues at once.

Stress in speech is carried together by loudness, pitch and duration. Each cue is measured
twice, against the median of the word's neighbours in the same unit and against the speaker's
own norm (running median level, median pitch, usual pace for the word's sounds), and the smaller
of the two counts: a word is prominent only if it stands out locally *and* for this speaker, so
an ordinary accented word beside "the" and "of" (which every content word outdoes) is not
emphasis. Cues are expressed in steps of a clearly audible difference (3 dB, 2 semitones, 25%
longer); the score is the sum of the positive steps.

Loudness must contribute a full step: listeners' prominence judgements follow loudness far more
than F0 (Kochanski, Grabe, Coleman & Rosner 2005, "Loudness predicts prominence: fundamental
frequency lends little"), and the pitch accents and lengthening of ordinary content words are
as large as an emphatic word's. A second cue must contribute too: loudness alone is the loud
mark's business. On a unit's last word the pitch cue is not counted (its pitch movement is the
final intonation's ``? , .``, as pitch steps leave it too). The loud, pitch-step and elongation
marks take precedence (a word already marked by them is not emphasised).

Neighbours are ordinary words only: a word beside a quiet, fast or slow stretch (or a loud,
stepped or stretched word) would otherwise stand out against talk that is itself marked, and
words inside such stretches are not candidates either: their cues belong to the stretch.
"""

from __future__ import annotations

import math

import numpy as np

from undertone import small_stats
from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures
from undertone.marks import Mark

UNIT = "prominence (3 dB, 2 st, 25% longer per step)"
LOUDNESS_STEP_DB = 3.0
PITCH_STEP_ST = 2.0
DURATION_STEP = math.log(1.25)
CONTRIBUTING_CUE = 0.5  # steps a cue needs to count as contributing
LOUDNESS_NEEDED = 1.0  # steps of loudness an emphasised word needs (3 dB, ~3x the 1 dB JND)
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
            cues = prominence_cues(measures, index, around, final=bool(context.unit_final[index]))
            score = sum(cues)
            if (
                score >= settings.emphasis_score
                and cues[0] >= LOUDNESS_NEEDED
                and sum(c >= CONTRIBUTING_CUE for c in cues) >= 2
            ):
                marks.append(Mark("emphasis", index, index, round(score, 1), UNIT))
    return marks


def prominence_cues(
    measures: WordMeasures, index: int, around: list[int], final: bool = False
) -> tuple[float, float, float]:
    """Loudness, pitch and duration prominence of a word, in steps (>= 0).

    Each is the smaller of the word's excess over its neighbours' median and over the speaker's
    norm; the pitch cue is 0 on a unit's last word (``final``).
    """
    loudness = min(
        measures.level_db[index] - small_stats.median(measures.level_db[around]), measures.level_re_db[index]
    ) / LOUDNESS_STEP_DB
    pitch = 0.0
    neighbour_pitch = measures.f0_st[around]
    neighbour_pitch = neighbour_pitch[np.isfinite(neighbour_pitch)]
    if not final and np.isfinite(measures.f0_peak_st[index]) and len(neighbour_pitch):
        # f0_peak_st is already re the speaker's median pitch
        peak = measures.f0_peak_st[index]
        pitch = min(peak - small_stats.median(neighbour_pitch), peak) / PITCH_STEP_ST
    duration = min(
        measures.tempo[index] - small_stats.median(measures.tempo[around]), measures.tempo[index]
    ) / DURATION_STEP
    return max(0.0, float(loudness)), max(0.0, float(pitch)), max(0.0, float(duration))
