"""Pitch marks: ``↑ ↓`` sharp steps, and the final intonation of each unit (``? , .``)."""

from __future__ import annotations

import numpy as np

from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures
from undertone.marks import Mark
from undertone.prosody import Track, hz_to_semitones

STEP_UNIT = "st re preceding words"
FINAL_UNIT = "st end re before"
STEP_CONTEXT_WORDS = 3  # a step is measured against up to this many preceding voiced words...
STEP_CONTEXT_S = 2.0  # ...of the same turn, starting no earlier than this before the word
# Final intonation compares the last 250 ms of voiced speech with the 500 ms before it.
FINAL_FRAMES = 25
BEFORE_FRAMES = 50
MIN_FRAMES = 5  # each part needs 50 ms of voicing (short units use thirds of what they have)


def pitch_step_marks(
    measures: WordMeasures,
    context: WordContext,
    starts: np.ndarray,
    settings: MarkSettings,
) -> list[Mark]:
    """Words whose median pitch jumps ``pitch_step_st`` above or below the preceding words.

    A unit's last word is left to final intonation (a rising question is ``?``, not ``↑``).
    Words already marked as steps are not context for later words: after one high word, the
    next ordinary word is a return, not a step down.
    """
    marks: list[Mark] = []
    stepped: set[int] = set()
    for index in range(len(starts)):
        if context.unit_final[index] or context.overlapped[index] or not np.isfinite(measures.f0_st[index]):
            continue
        preceding = _preceding_voiced(index, measures, context, starts, stepped)
        if not preceding:
            continue
        step = float(measures.f0_st[index] - np.median(measures.f0_st[preceding]))
        if abs(step) >= settings.pitch_step_st:
            marks.append(Mark("pitch_up" if step > 0 else "pitch_down", index, index, round(step, 1), STEP_UNIT))
            stepped.add(index)
    return marks


def _preceding_voiced(
    index: int, measures: WordMeasures, context: WordContext, starts: np.ndarray, stepped: set[int]
) -> list[int]:
    found: list[int] = []
    j = index - 1
    while j >= 0 and len(found) < STEP_CONTEXT_WORDS:
        if context.speakers[j] != context.speakers[index] or starts[j] < starts[index] - STEP_CONTEXT_S:
            break
        if np.isfinite(measures.f0_st[j]) and not context.overlapped[j] and j not in stepped:
            found.append(j)
        j -= 1
    return found


def final_intonation_marks(
    pitch: Track,
    starts: np.ndarray,
    ends: np.ndarray,
    context: WordContext,
    units: list[tuple[int, int]],
    f0_median_hz: dict[str, float | None],
    settings: MarkSettings,
) -> list[Mark]:
    """Rise, fall or level at the end of every unit whose ending can be measured.

    The movement is the median F0 of the unit's last 250 ms of voiced speech minus that of the
    500 ms of voiced speech before it, in semitones. Units ending in overlap are skipped.
    """
    marks: list[Mark] = []
    if len(pitch.times) == 0:
        return marks
    for first, last in units:
        reference = f0_median_hz.get(context.speakers[last])
        if not reference or context.overlapped[last]:
            continue
        a, b = np.searchsorted(pitch.times, [starts[first], ends[last]], side="left")
        values = pitch.values[a:b]
        voiced = values[np.isfinite(values)]
        movement = final_movement(hz_to_semitones(voiced, reference))
        if movement is None:
            continue
        if movement >= settings.final_movement_st:
            kind = "rise"
        elif movement <= -settings.final_movement_st:
            kind = "fall"
        else:
            kind = "level"
        marks.append(Mark(kind, last, last, round(movement, 1), FINAL_UNIT))  # type: ignore[arg-type]
    return marks


def final_movement(voiced_st: np.ndarray) -> float | None:
    """End-of-unit pitch movement (st) from a unit's voiced frames in order; None if too little."""
    n_final = min(FINAL_FRAMES, len(voiced_st) // 3)
    n_before = min(BEFORE_FRAMES, len(voiced_st) - n_final)
    if n_final < MIN_FRAMES or n_before < MIN_FRAMES:
        return None
    final = voiced_st[len(voiced_st) - n_final :]
    before = voiced_st[len(voiced_st) - n_final - n_before : len(voiced_st) - n_final]
    return float(np.median(final) - np.median(before))
