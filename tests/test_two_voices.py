"""Cancelling one voice to track another: on generated tones whose pitches are known exactly."""

from __future__ import annotations

import numpy as np

from synth import SR, glide, voiced
from undertone.pitch_range import PitchRange
from undertone.prosody import Track, pitch_track
from undertone.two_voices import cancel_voice, continued_voicing_end, other_voice_f0

FRAMES = np.arange(0.05, 0.95, 0.01)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_cancelling_a_voice_removes_it_and_keeps_the_other():
    low, high = voiced(100.0, 1.0, 0.1).astype(np.float64), voiced(237.0, 1.0, 0.1).astype(np.float64)
    # The 100 Hz voice alone, cancelled at its own period, is 20 dB down (what is left is its
    # 4 Hz loudness wobble from one period to the next); the 237 Hz voice is still there, and
    # still tracked at 237 Hz.
    alone = cancel_voice(low, SR, 0.0, FRAMES, np.full(len(FRAMES), 100.0))[SR // 10 : -SR // 10]
    assert _rms(alone) < 0.1 * _rms(low)
    mixed = cancel_voice(low + high, SR, 0.0, FRAMES, np.full(len(FRAMES), 100.0))
    track = pitch_track(mixed, SR, 150.0, 400.0)
    assert abs(np.nanmedian(track.values[(track.times > 0.1) & (track.times < 0.9)]) - 237.0) < 2.0


def test_unvoiced_frames_of_the_other_voice_leave_the_signal_alone():
    signal = voiced(150.0, 1.0, 0.1).astype(np.float64)
    unchanged = cancel_voice(signal, SR, 0.0, FRAMES, np.full(len(FRAMES), np.nan))
    assert np.array_equal(unchanged, signal)


def test_a_lower_voice_is_found_under_a_rising_speaker_not_a_third_of_the_speaker():
    # A 100 Hz listener under a speaker rising 265 -> 285 Hz: a tracker held to the listener's
    # range (60-180 Hz) can take a third of the speaker's pitch (88-95 Hz), and cancelling that
    # would cancel the speaker. The joint estimate follows the speaker from where they were.
    speaker = glide(265.0, 285.0, 1.0, 0.1).astype(np.float64)
    listener = voiced(100.0, 1.0, 0.1).astype(np.float64)
    f0 = other_voice_f0(speaker + listener, SR, 0.0, FRAMES, 265.0, PitchRange(130.0, 400.0), PitchRange(60.0, 180.0))
    assert np.isfinite(f0).mean() > 0.9 and np.median(np.abs(f0[np.isfinite(f0)] - 100.0)) < 1.0


def test_a_higher_voice_is_found_over_a_speaker_rising_into_its_range():
    # A 230 Hz listener over a speaker rising 120 -> 170 Hz, into the listener's range (138-414
    # Hz), whose own range (72-216 Hz) holds a third of 230 Hz: the pair can swap (speaker at
    # 77 Hz, listener at the speaker's pitch) unless the speaker is followed from 120 Hz.
    speaker = glide(120.0, 170.0, 1.0, 0.1).astype(np.float64)
    listener = voiced(230.0, 1.0, 0.05).astype(np.float64)
    f0 = other_voice_f0(speaker + listener, SR, 0.0, FRAMES, 120.0, PitchRange(72.0, 216.0), PitchRange(138.0, 414.0))
    assert np.isfinite(f0).mean() > 0.9 and np.median(np.abs(f0[np.isfinite(f0)] - 230.0)) < 2.0


def test_voicing_is_followed_across_short_holes_and_stops_at_a_long_one_or_a_jump():
    times = np.arange(100) * 0.01 + 0.005
    values = np.full(100, 120.0)
    values[52:54] = np.nan  # a 20 ms hole: still the same voice
    values[70:] = np.nan  # the voice stops at 0.695 s
    track = Track(times, values)
    assert continued_voicing_end(track, 0.5) == times[69]
    jumped = values.copy()
    jumped[60:70] = 240.0  # an octave up between frames: someone else
    assert continued_voicing_end(Track(times, jumped), 0.5) == times[59]
    # Nothing voiced after the word's end: the word's end stands.
    assert continued_voicing_end(Track(times, np.full(100, np.nan)), 0.5) == 0.5
