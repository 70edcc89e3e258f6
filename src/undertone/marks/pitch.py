"""Pitch marks: ``↑ ↓`` sharp steps, and the final intonation of each unit (``? , .``)."""

from __future__ import annotations

import numpy as np

from undertone import small_stats
from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures
from undertone.marks import Mark
from undertone.prosody import Track, hz_to_semitones
from undertone.two_voices import Span, Voices, continued_voicing_end

STEP_UNIT = "st re preceding words"
FINAL_UNIT = "st end re before"
STEP_CONTEXT_WORDS = 3  # a step is measured against up to this many preceding voiced words...
STEP_CONTEXT_S = 2.0  # ...of the same turn, starting no earlier than this before the word
# Final intonation compares the last 250 ms of voiced speech with the 500 ms before it.
FINAL_S = 0.25
BEFORE_S = 0.5
MIN_VOICED_S = 0.05  # each part needs 50 ms of voicing (short units use thirds of what they have)
# Voiced time is counted in frame steps, and an unvoiced hole up to this long between voiced
# frames counts as voiced: a track with empty grid frames inside a vowel (seen: every other
# frame of a turn whose tracker frames fall half-way between grid points, two landing on one
# grid frame) would otherwise stretch "250 ms of voicing" over half a second of speech.
MAX_HOLE_S = 0.02
# Someone starting this soon after a unit's aligned end may be talking over its true end.
LISTENER_AFTER_S = 0.1


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
        step = float(measures.f0_st[index] - small_stats.median(measures.f0_st[preceding]))
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
    voices: Voices | None = None,
) -> list[Mark]:
    """Rise, fall or level at the end of every unit whose ending can be measured.

    The movement is the median F0 of the unit's last 250 ms of voiced speech minus that of the
    500 ms of voiced speech before it, in semitones. Where someone else talks over the unit's
    ending, or starts within ``LISTENER_AFTER_S`` of it, the speaker is tracked again with the
    other voice cancelled (:mod:`undertone.two_voices`), and the ending runs on as long as the
    speaker's voicing does: an aligner ends a word where a listener starts, while the speaker
    often goes on under them. Without the signal (``voices``) a unit ending in overlap is skipped.
    """
    marks: list[Mark] = []
    if len(pitch.times) == 0:
        return marks
    latest_end = np.maximum.accumulate(ends) if len(ends) else ends  # latest end of any word so far
    for first, last in units:
        speaker = context.speakers[last]
        reference = f0_median_hz.get(speaker)
        if not reference:
            continue
        start, end = float(starts[first]), float(ends[last])
        others = _others_at_ending(first, last, starts, ends, latest_end, context.speakers)
        if others:
            ending = voices.track_without(speaker, start, end, others) if voices is not None else None
            if ending is None or len(ending.times) == 0:
                continue
            end = continued_voicing_end(ending, end)
            # the unit's own frames up to where the re-tracked ending starts, then the ending
            a, b = np.searchsorted(pitch.times, [start, float(ending.times[0])], side="left")
            times = np.concatenate([pitch.times[a:b], ending.times])
            values = np.concatenate([pitch.values[a:b], ending.values])
        elif context.overlapped[last]:
            continue
        else:
            a, b = np.searchsorted(pitch.times, [start, end], side="left")
            times, values = pitch.times[a:b], pitch.values[a:b]
        inside = (times >= start) & (times <= end) & np.isfinite(values)
        movement = final_movement(hz_to_semitones(values[inside], reference), times[inside])
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


def _others_at_ending(
    first: int, last: int, starts: np.ndarray, ends: np.ndarray, latest_end: np.ndarray, speakers: list[str]
) -> list[Span]:
    """Other speakers' talk over the measured ending of unit ``first..last`` (its last
    ``FINAL_S + BEFORE_S``) or starting within ``LISTENER_AFTER_S`` after it: one span per other
    speaker. Words are in order of start and a unit is one speaker's, so only words after the
    unit, and earlier words still running (``latest_end``), can be someone else's there."""
    speaker, start, end = speakers[last], float(starts[first]), float(ends[last])
    window_start = max(start, end - FINAL_S - BEFORE_S)
    nearby = []
    j = last + 1
    while j < len(starts) and starts[j] < end + LISTENER_AFTER_S:
        nearby.append(j)
        j += 1
    j = first - 1
    while j >= 0 and latest_end[j] > window_start:
        nearby.append(j)
        j -= 1
    spans: dict[str, tuple[float, float]] = {}
    for j in nearby:
        if speakers[j] == speaker or ends[j] <= window_start:
            continue
        a, b = spans.get(speakers[j], (float(starts[j]), float(ends[j])))
        spans[speakers[j]] = (min(a, float(starts[j])), max(b, float(ends[j])))
    return [Span(other, a, b) for other, (a, b) in sorted(spans.items())]


def final_movement(voiced_st: np.ndarray, times: np.ndarray) -> float | None:
    """End-of-unit pitch movement (st) from a unit's voiced frames in order; None if too little.

    Median of the last ``FINAL_S`` of voiced speech minus the median of the ``BEFORE_S`` before
    it. ``times`` are the frames' times: each frame counts for the time since the previous voiced
    frame, up to ``MAX_HOLE_S`` (a longer silence or voiceless stretch counts one frame step).
    """
    if len(voiced_st) == 0:
        return None
    step = small_stats.median(np.diff(times)) if len(times) > 1 else MAX_HOLE_S
    step = min(step, MAX_HOLE_S)
    spans = np.diff(times, prepend=times[0] - step)
    spans = np.where(spans <= MAX_HOLE_S + 1e-9, spans, step)
    # voiced time from each frame to the end of the unit (the frame itself included)
    from_end = np.cumsum(spans[::-1])[::-1]
    total = float(from_end[0])
    final_s = min(FINAL_S, total / 3)
    before_s = min(BEFORE_S, total - final_s)
    if final_s < MIN_VOICED_S or before_s < MIN_VOICED_S:
        return None
    final = voiced_st[from_end <= final_s + 1e-9]
    before = voiced_st[(from_end > final_s + 1e-9) & (from_end <= final_s + before_s + 1e-9)]
    if len(final) == 0 or len(before) == 0:
        return None
    return float(small_stats.median(final) - small_stats.median(before))
