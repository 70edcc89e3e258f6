"""A speaker's pitch where someone else talks at the same time: cancel the other voice, track the rest.

A listener's "mm" or "yeah" laid over the end of a turn hides the turn's final intonation: a
pitch tracker follows whichever voice is stronger, and a range held to the speaker does not help
when the two ranges meet (a low voice rising into a higher one's). A periodic sound is removed by
subtracting the signal one period earlier: y(t) = x(t) - x(t - T(t)), with T the other voice's
period, zeroes every harmonic of that voice and keeps the speaker's periodicity unless the two
periods coincide (de Cheveigne 1993, "Separation of concurrent harmonic sounds: fundamental
frequency estimation and a time-domain cancellation model of auditory processing", JASA 93).

The other voice's period is estimated jointly with the speaker's (de Cheveigne & Kawahara 1999,
"Multiple period estimation and pitch perception model", Speech Communication 27): its own
track, held to its range, can lock onto a third of the speaker's pitch (a 100 Hz listener read
at 88-95 Hz under a 265-285 Hz speaker), and cancelling that cancels the speaker too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from undertone.pitch_range import PitchRange, SpeakerPitch
from undertone.prosody import Track, pitch_track

# After the aligned end of a speaker's last word, the speaker's re-tracked voicing is followed
# across unvoiced holes up to this long: the aligner may end a word where a listener starts,
# while the speaker goes on under them. Chosen on the marks corpus (both conditions) by how
# close the followed end comes to the true end of units with someone else at their ending:
# median error 101 -> 50 ms clean, 72 -> 50 ms noisy; 30 ms holes gave 59 / 64 ms, 80 ms
# more ends carried 0.1 s too far.
FOLLOW_HOLE_S = 0.05
# The fastest pitch changes a voice makes take about 90 ms plus 9 ms per semitone (Xu & Sun 2002,
# "Maximum speed of pitch change and how it may relate to speech", JASA 111): under one semitone
# per 10 ms frame. A step of more than two between voiced frames is another voice (or an octave
# error), not this one going on.
MAX_JUMP_ST = 2.0
MAX_STEP_ST = 1.0  # the speaker's period may move this much between the joint estimate's frames
HARMONIC_TOLERANCE = 0.03  # periods within 3% of a whole multiple of each other are not a pair
JOINT_WINDOW_S = 0.03  # the frame a period pair is judged on: three periods of a 100 Hz voice
LOOK_BACK_S = 0.3  # how far before the other voice starts the speaker's last pitch is looked for
LEAD_S = 0.2  # re-tracked from this long before the other voice starts (Praat's path needs context)
REACH_S = 0.05  # audio before that, for the cancellation's delay and the first pitch windows
# Tracked (and the others cancelled) this far past the others' aligned ends: aligned spans of
# talk over talk are short or misplaced, and the speaker may be heard on after them.
BEYOND_S = 0.5


@dataclass(frozen=True)
class Span:
    """Someone else's talk: speaker and time span (s)."""

    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class Voices:
    """The recording's samples and every speaker's own pitch: what re-tracking one voice needs."""

    samples: np.ndarray
    sample_rate: int
    pitch: SpeakerPitch

    def track_without(self, speaker: str, start: float, end: float, others: list[Span]) -> Track | None:
        """``speaker``'s F0 from shortly before the others start (``LEAD_S``, not before ``start``;
        before that only the speaker was talking) to ``BEYOND_S`` past ``end`` or the others' ends,
        with each other voice cancelled from its start on; None if a range or track is unknown."""
        if speaker not in self.pitch.ranges or any(o.speaker not in self.pitch.own for o in others):
            return None
        begin = max(start, min(o.start for o in others) - LEAD_S)
        stop = max([end, *(o.end for o in others)]) + BEYOND_S
        # with audio before ``begin`` for the first pitch windows and the cancellation's delays
        a = max(0, int(round((begin - REACH_S) * self.sample_rate)))
        b = min(len(self.samples), int(round(stop * self.sample_rate)))
        piece = self.samples[a:b].astype(np.float64)
        offset = a / self.sample_rate
        own_range = self.pitch.ranges[speaker]
        for other in others:
            before = _speaker_f0_before(self.pitch.own.get(speaker), other.start)
            if before is None:
                continue  # the speaker's pitch is unknown where the other starts: nothing to hold T1 to
            grid = self.pitch.own[other.speaker].times
            times = grid[np.searchsorted(grid, other.start) : np.searchsorted(grid, stop, side="right")]
            f0 = other_voice_f0(
                piece, self.sample_rate, offset, times, before, own_range, self.pitch.ranges[other.speaker]
            )
            piece = cancel_voice(piece, self.sample_rate, offset, times, f0)
        track = pitch_track(piece, self.sample_rate, own_range.floor_hz, own_range.ceiling_hz)
        keep = track.times + offset >= begin
        return Track(track.times[keep] + offset, track.values[keep])


def other_voice_f0(
    samples: np.ndarray,
    sample_rate: int,
    offset_s: float,
    times: np.ndarray,
    speaker_f0_hz: float,
    speaker_range: PitchRange,
    other_range: PitchRange,
) -> np.ndarray:
    """The other voice's F0 (Hz) at each of ``times`` (in order) while the speaker, last heard at
    ``speaker_f0_hz``, may be talking too; NaN where the frame does not fit in ``samples``.

    In each frame the pair of periods (T1 the speaker's, T2 the other's) whose double
    cancellation leaves the least energy is taken, with T1 held within ``MAX_STEP_ST`` of the
    speaker's period in the frame before (a voice moves less than a semitone in 10 ms, see
    ``MAX_JUMP_ST``), so that the two cannot swap, and with T2 never a whole multiple of T1 or
    T1 of T2 (cancelling one would cancel the other). With r the frame's correlation with its
    own past, the energy left is about 4 r(0) - 4 r(T1) - 4 r(T2) + 2 r(T1 + T2) + 2 r(|T1 - T2|)
    (exact for a steady signal); one FFT per frame gives every pair.
    """
    all_t1 = _periods(speaker_range, sample_rate)
    t2 = _periods(other_range, sample_rate)
    max_lag = int(all_t1[-1] + t2[-1])
    length = int(round(JOINT_WINDOW_S * sample_rate))
    size = 1 << int(np.ceil(np.log2(length + max_lag)))
    step = 2 ** (MAX_STEP_ST / 12)
    multiples = _multiples(all_t1, t2)
    period = sample_rate / speaker_f0_hz
    f0 = np.full(len(times), np.nan)
    for k, time in enumerate(times):
        start = int(round((time - offset_s) * sample_rate)) - length // 2
        if start - max_lag < 0 or start + length > len(samples):
            continue
        rows = np.flatnonzero((all_t1 >= period / step) & (all_t1 <= period * step))
        if len(rows) == 0:
            rows = np.array([int(np.argmin(np.abs(all_t1 - period)))])
        t1 = all_t1[rows]
        past = samples[start - max_lag : start + length]
        frame = past[max_lag:]
        full = np.fft.irfft(np.fft.rfft(past, size) * np.conj(np.fft.rfft(frame, size)), size)
        r = full[max_lag - np.arange(max_lag + 1)]  # r[lag] = sum over the frame of x(t) x(t - lag)
        residual = (
            4 * r[0]
            - 4 * r[t1][:, None]
            - 4 * r[t2][None, :]
            + 2 * r[t1[:, None] + t2[None, :]]
            + 2 * r[np.abs(t1[:, None] - t2[None, :])]
        )
        residual[multiples[rows]] = np.inf
        if not np.isfinite(residual).any():
            continue
        best_t1, best_t2 = np.unravel_index(int(np.argmin(residual)), residual.shape)
        period = float(t1[best_t1])
        f0[k] = sample_rate / (t2[best_t2] + _vertex(residual[best_t1], int(best_t2)))
    return f0


def _multiples(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Pairs (rows t1, columns t2) where one period is within HARMONIC_TOLERANCE of a whole
    multiple of the other."""
    ratio = np.maximum(t1[:, None], t2[None, :]) / np.minimum(t1[:, None], t2[None, :])
    return np.abs(ratio / np.round(ratio) - 1) <= HARMONIC_TOLERANCE


def _periods(pitch_range: PitchRange, sample_rate: int) -> np.ndarray:
    """Whole-sample periods from the ceiling's to the floor's."""
    return np.arange(int(sample_rate / pitch_range.ceiling_hz), int(np.ceil(sample_rate / pitch_range.floor_hz)) + 1)


def _vertex(values: np.ndarray, index: int) -> float:
    """Offset (-0.5 .. 0.5) of the minimum of the parabola through ``values[index - 1 .. index + 1]``:
    the period between whole samples (a tenth of a sample matters for the upper harmonics)."""
    if index <= 0 or index >= len(values) - 1:
        return 0.0
    left, middle, right = float(values[index - 1]), float(values[index]), float(values[index + 1])
    curvature = left - 2 * middle + right
    if not math.isfinite(curvature) or curvature <= 0:
        return 0.0
    return min(0.5, max(-0.5, 0.5 * (left - right) / curvature))


def _speaker_f0_before(own: Track | None, time: float) -> float | None:
    """The speaker's last voiced F0 in the ``LOOK_BACK_S`` before ``time`` (their own track)."""
    if own is None:
        return None
    a, b = np.searchsorted(own.times, [time - LOOK_BACK_S, time])
    values = own.values[a:b]
    voiced = values[np.isfinite(values)]
    return float(voiced[-1]) if len(voiced) else None


def cancel_voice(
    samples: np.ndarray, sample_rate: int, offset_s: float, times: np.ndarray, f0_hz: np.ndarray
) -> np.ndarray:
    """``samples`` (starting at ``offset_s``) with the voice whose F0 is ``f0_hz`` at ``times``
    removed where it is voiced (NaN = unvoiced: left as it is).

    The period is interpolated between the voiced frames, and the delayed signal read between
    samples (linear interpolation), so the filter follows a gliding voice.
    """
    voiced = np.isfinite(f0_hz)
    if voiced.sum() < 2 or len(samples) < 2:
        return samples.copy()
    n = np.arange(len(samples))
    t = offset_s + n / sample_rate
    period = np.interp(t, times[voiced], sample_rate / f0_hz[voiced])
    active = np.interp(t, times, voiced.astype(float)) > 0.5
    source = n - period
    left = np.floor(source).astype(int)
    fraction = source - left
    inside = left >= 0
    left = np.clip(left, 0, len(samples) - 2)
    delayed = samples[left] * (1 - fraction) + samples[left + 1] * fraction
    return np.where(active & inside, samples - delayed, samples)


def continued_voicing_end(
    track: Track, from_s: float, max_hole_s: float = FOLLOW_HOLE_S, max_jump_st: float = MAX_JUMP_ST
) -> float:
    """Where the speaker's voicing running at ``from_s`` stops: the last voiced frame reached
    without an unvoiced hole longer than ``max_hole_s`` or a pitch jump over ``max_jump_st``
    between voiced frames (another voice, not this one going on); ``from_s`` if none."""
    last_time, last_f0 = from_s, np.nan
    before = track.values[(track.times < from_s) & (track.times >= from_s - max_hole_s - 0.01)]
    if len(before) and np.isfinite(before[-1]):
        last_f0 = float(before[-1])
    for time, value in zip(track.times, track.values):
        if time < from_s:
            continue
        if np.isfinite(value):
            if np.isfinite(last_f0) and abs(12 * np.log2(value / last_f0)) > max_jump_st:
                break
            last_time, last_f0 = float(time), float(value)
        elif time - last_time > max_hole_s:
            break
    return max(last_time, from_s)
