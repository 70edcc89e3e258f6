"""Pitch tracked within each speaker's own range (two passes).

A pitch tracker searching 60-600 Hz for everyone makes octave errors: a low male voice is read
an octave up in places, a high voice an octave down. Praat's authors and prosody tools (De
Looze & Hirst) therefore track in two passes: a first, wide pass finds where a speaker's pitch
usually lies; the second pass tracks that speaker's speech again with floor and ceiling set from
those quantiles. Here the first pass runs on a sample of each speaker's turns (a minute is plenty
for quantiles, and it keeps long recordings cheap); the second pass covers every turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from undertone.audio import FRAME_HOP_S
from undertone.prosody import Track, pitch_track

FIRST_PASS_S = 60.0  # seconds of each speaker's speech the first pass looks at
TURN_PADDING_S = 0.05  # each turn is tracked with this much audio either side (pitch windows)
# Range rule after De Looze & Hirst (2008): floor and ceiling from the speaker's first-pass
# quartiles, kept inside the wide first-pass range. Their factors (0.72 x q35, 1.9 x q65) are
# widened at the bottom to 0.6 x q25 (-8.8 st) so that a marked step down (↓, 4-8 st) or a deep
# final fall stays inside the range, while an octave error (0.5x, 2x) still falls outside.
FLOOR_FACTOR, FLOOR_QUANTILE = 0.6, 0.25
CEILING_FACTOR, CEILING_QUANTILE = 1.8, 0.75
MIN_VOICED_FRAMES = 50  # fewer first-pass voiced frames (0.5 s) and the wide range is kept


@dataclass(frozen=True)
class PitchRange:
    """Where one speaker's pitch is tracked (Hz)."""

    floor_hz: float
    ceiling_hz: float


@dataclass(frozen=True)
class SpeakerPitch:
    """Every speaker's pitch on the frame grid.

    ``track`` has one value per frame (where two speakers overlap, the one tracked last);
    ``own`` has each speaker's own track, their turns only, held to their own range (in an
    overlap it may follow the other voice: :mod:`undertone.two_voices` separates them where it
    matters).
    """

    track: Track
    ranges: dict[str, PitchRange]
    own: dict[str, Track]


def speaker_pitch(
    samples: np.ndarray,
    sample_rate: int,
    turns: dict[str, list[tuple[float, float]]],
    n_frames: int,
    floor_hz: float,
    ceiling_hz: float,
) -> SpeakerPitch:
    """F0 on the 10 ms frame grid (``n_frames`` frames centred at (k + 0.5) x 10 ms), each turn
    tracked in its speaker's own range. Frames outside every turn are unvoiced (NaN).
    """
    times = (np.arange(n_frames) + 0.5) * FRAME_HOP_S
    values = np.full(n_frames, np.nan, dtype=np.float32)
    ranges: dict[str, PitchRange] = {}
    own: dict[str, Track] = {}
    for speaker, spans in turns.items():
        first_pass = np.concatenate(
            [_track_span(samples, sample_rate, a, b, floor_hz, ceiling_hz) for a, b in _sample_spans(spans)]
            or [np.zeros(0)]
        )
        ranges[speaker] = speaker_range(first_pass, floor_hz, ceiling_hz)
        mine = np.full(n_frames, np.nan, dtype=np.float32)
        for start, end in spans:
            frames = _fill(mine, samples, sample_rate, start, end, ranges[speaker])
            values[frames] = mine[frames]
        own[speaker] = Track(times, mine)
    return SpeakerPitch(Track(times, values), ranges, own)


def speaker_range(first_pass_f0: np.ndarray, floor_hz: float, ceiling_hz: float) -> PitchRange:
    """Floor and ceiling from a speaker's first-pass F0 values (NaN = unvoiced)."""
    voiced = first_pass_f0[np.isfinite(first_pass_f0)]
    if len(voiced) < MIN_VOICED_FRAMES:
        return PitchRange(floor_hz, ceiling_hz)
    low = FLOOR_FACTOR * float(np.quantile(voiced, FLOOR_QUANTILE))
    high = CEILING_FACTOR * float(np.quantile(voiced, CEILING_QUANTILE))
    return PitchRange(max(floor_hz, low), min(ceiling_hz, max(high, 2 * low)))


def _sample_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Turns spread over the recording adding up to about ``FIRST_PASS_S`` seconds."""
    total = sum(b - a for a, b in spans)
    if total <= FIRST_PASS_S:
        return spans
    step = total / FIRST_PASS_S
    return [span for index, span in enumerate(spans) if index % max(1, round(step)) == 0]


def _track_span(
    samples: np.ndarray, sample_rate: int, start: float, end: float, floor_hz: float, ceiling_hz: float
) -> np.ndarray:
    a = max(0, int((start - TURN_PADDING_S) * sample_rate))
    b = min(len(samples), int((end + TURN_PADDING_S) * sample_rate))
    return pitch_track(samples[a:b], sample_rate, floor_hz, ceiling_hz).values


def _fill(
    values: np.ndarray, samples: np.ndarray, sample_rate: int, start: float, end: float, pitch_range: PitchRange
) -> np.ndarray:
    """Track one turn and write its frames (those inside the turn) onto the global grid; their indices."""
    offset = max(0, int((start - TURN_PADDING_S) * sample_rate))
    stop = min(len(samples), int((end + TURN_PADDING_S) * sample_rate))
    track = pitch_track(samples[offset:stop], sample_rate, pitch_range.floor_hz, pitch_range.ceiling_hz)
    if len(track.times) == 0:
        return np.zeros(0, dtype=int)
    times = track.times + offset / sample_rate
    index = np.round(times / FRAME_HOP_S - 0.5).astype(int)
    inside = (times >= start) & (times < end) & (index >= 0) & (index < len(values))
    values[index[inside]] = track.values[inside]
    return index[inside]
