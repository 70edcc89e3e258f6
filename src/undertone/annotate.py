"""Annotate: every prosodic mark for one recording, from measured words and frame tracks.

This is the stage between analysis (tracks, silences, word edges) and rendering. It measures the
words (:mod:`undertone.features`), splits them into units at timed pauses and speaker changes,
and runs each family of marks (:mod:`undertone.marks`). All marks are returned whatever the
notation level: the JSON keeps every measurement; the renderers choose which marks to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures, measure_words
from undertone.marks import Mark, intonation_units
from undertone.marks.emphasis import emphasis_marks
from undertone.marks.loudness import loudness_marks
from undertone.marks.pitch import final_intonation_marks, pitch_step_marks
from undertone.marks.tempo import elongation_marks, tempo_marks
from undertone.marks.turns import latch_marks
from undertone.prosody import Track
from undertone.silences import Silence
from undertone.two_voices import Voices


@dataclass(frozen=True)
class Annotated:
    """The marks, and the measurements they were drawn from (for the frames and word tables)."""

    marks: list[Mark]
    measures: WordMeasures
    units: list[tuple[int, int]]


def annotate(
    texts: Sequence[str],
    kinds: Sequence[str],
    starts: np.ndarray,
    ends: np.ndarray,
    speakers: list[str],
    silences: list[Silence],
    overlaps: list[tuple[float, float]],
    intensity: Track,
    pitch: Track,
    f0_median_hz: dict[str, float | None],
    settings: MarkSettings,
    *,
    voices: Voices | None = None,
) -> Annotated:
    """Find every mark; ``starts``/``ends`` are the measured word edges, ``intensity`` the 30 ms track.

    ``voices`` (the samples and each speaker's own pitch) lets a unit whose ending someone else
    talks over get its final intonation, measured with the other voice cancelled.
    """
    timed_pauses = {s.after_word for s in silences if s.kind == "pause"}
    units = intonation_units(speakers, timed_pauses)
    unit_final = np.zeros(len(texts), dtype=bool)
    for _, last in units:
        unit_final[last] = True
    context = WordContext(
        speakers=speakers,
        unit_final=unit_final,
        overlapped=_overlapped(starts, ends, overlaps),
        countable=np.array([kind == "word" for kind in kinds], dtype=bool),
    )
    measures = measure_words(
        list(texts),
        starts,
        ends,
        context,
        intensity,
        pitch,
        f0_median_hz,
        settings.level_window_s,
        silence_after=_unreported_silence_after(starts, ends, speakers, silences),
    )

    marks = loudness_marks(measures, context, units, settings)
    marks += tempo_marks(measures, context, units, settings)
    marks += elongation_marks(measures, context, units, settings)
    marks += pitch_step_marks(measures, context, starts, settings)
    marks += final_intonation_marks(pitch, starts, ends, context, units, f0_median_hz, settings, voices)
    gaps_after = {s.after_word for s in silences if s.kind == "gap"}
    marks += latch_marks(speakers, starts, ends, gaps_after, overlaps)
    marked = {
        index
        for mark in marks
        if mark.kind in ("loud", "quiet", "fast", "slow", "pitch_up", "pitch_down", "elongation")
        for index in range(mark.first_word, mark.last_word + 1)
    }
    marks += emphasis_marks(measures, context, units, marked, settings)
    marks.sort(key=lambda m: (m.first_word, m.last_word, m.kind))
    return Annotated(marks=marks, measures=measures, units=units)


def _unreported_silence_after(
    starts: np.ndarray, ends: np.ndarray, speakers: list[str], silences: list[Silence]
) -> np.ndarray:
    """Per word, the silence before the same speaker's next word when no pause is reported there.

    Stop closures and the aligner's small holes between words belong to the talk: a stretch
    takes the time from its first word's start to its last word's end, less its (micro)pauses.
    """
    held = np.zeros(len(starts))
    if len(starts) < 2:
        return held
    reported = {s.after_word for s in silences}
    same_speaker = np.array([a == b for a, b in zip(speakers[:-1], speakers[1:])], dtype=bool)
    between = np.maximum(starts[1:] - ends[:-1], 0.0)
    held[:-1] = np.where(same_speaker, between, 0.0)
    for index in reported:
        if 0 <= index < len(held):
            held[index] = 0.0
    return held


# A word counts as overlapped when another voice covers at least this much of it (s).
OVERLAP_WORD_MIN_S = 0.05


def _overlapped(starts: np.ndarray, ends: np.ndarray, overlaps: list[tuple[float, float]]) -> np.ndarray:
    flags = np.zeros(len(starts), dtype=bool)
    for start, end in overlaps:
        shared = np.minimum(ends, end) - np.maximum(starts, start)
        flags |= shared >= OVERLAP_WORD_MIN_S
    return flags
