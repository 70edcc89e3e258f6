"""Pitch marks: ``↑ ↓`` sharp steps, and the final intonation of each unit (``? , .``)."""

from __future__ import annotations

import numpy as np

from undertone import small_stats
from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures
from undertone.marks import Mark
from undertone.pitch_range import SpeakerPitch
from undertone.prosody import Track, hz_to_semitones

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
    speakers_pitch: SpeakerPitch | None = None,
) -> list[Mark]:
    """Rise, fall or level at the end of every unit whose ending can be measured.

    The movement is the median F0 of the unit's last 250 ms of voiced speech minus that of the
    500 ms of voiced speech before it, in semitones. A unit ending in overlap is measured on its
    speaker's own track, and only when every other speaker's usual pitch lies below that
    speaker's range (a tracker held to the range cannot follow the other voice, see
    :meth:`PitchRange.cannot_follow`); otherwise two voices are mixed there and it is skipped.
    """
    marks: list[Mark] = []
    if len(pitch.times) == 0:
        return marks
    for first, last in units:
        speaker = context.speakers[last]
        reference = f0_median_hz.get(speaker)
        if not reference:
            continue
        track = pitch
        if context.overlapped[last]:
            track = _own_track_in_overlap(speaker, f0_median_hz, speakers_pitch)
            if track is None or not _ending_voiced(track, starts[last], ends[last]):
                continue
        a, b = np.searchsorted(track.times, [starts[first], ends[last]], side="left")
        values = track.values[a:b]
        voiced = np.isfinite(values)
        movement = final_movement(hz_to_semitones(values[voiced], reference), track.times[a:b][voiced])
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


def _ending_voiced(track: Track, start: float, end: float) -> bool:
    """At least half of the frames of the word's second half voiced. Where the other voice
    swamps the speaker's, the tracker finds no voicing there, and what precedes it is not the
    unit's ending."""
    values = track.between((start + end) / 2, end)
    return len(values) > 0 and float(np.mean(np.isfinite(values))) >= 0.5


def _own_track_in_overlap(
    speaker: str, f0_median_hz: dict[str, float | None], speakers_pitch: SpeakerPitch | None
) -> Track | None:
    """The speaker's own track if every other speaker's usual pitch is below their range, else None."""
    if speakers_pitch is None or speaker not in speakers_pitch.own or speaker not in speakers_pitch.ranges:
        return None
    own_range = speakers_pitch.ranges[speaker]
    others = [hz for other, hz in f0_median_hz.items() if other != speaker]
    if not others or not all(own_range.cannot_follow(hz) for hz in others):
        return None
    return speakers_pitch.own[speaker]


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
