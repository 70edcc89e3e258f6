"""Two-pass pitch: each speaker tracked again within their own range."""

from __future__ import annotations

import numpy as np
import pytest

from synth import SR, silence, voiced
from undertone.pitch_range import speaker_pitch, speaker_range

NAN = float("nan")


def test_range_from_first_pass_quartiles():
    values = np.concatenate([np.linspace(100.0, 200.0, 101), [NAN] * 10])
    found = speaker_range(values, 60.0, 600.0)
    assert found.floor_hz == pytest.approx(0.6 * 125.0)
    assert found.ceiling_hz == pytest.approx(1.8 * 175.0)
    assert speaker_range(np.full(10, 150.0), 60.0, 600.0).floor_hz == 60.0  # too little voicing: wide range


def test_each_speaker_is_tracked_within_their_own_range():
    low, high = voiced(90.0, 1.5), voiced(240.0, 1.5)
    signal = np.concatenate([silence(0.2), low, silence(0.3), high, silence(0.2)])
    n_frames = len(signal) // 160
    found = speaker_pitch(signal, SR, {"A": [(0.2, 1.7)], "B": [(2.0, 3.5)]}, n_frames, 60.0, 600.0)
    track, ranges = found.track, found.ranges
    assert ranges["A"].ceiling_hz < 240.0 < ranges["B"].ceiling_hz
    assert ranges["B"].floor_hz > 90.0
    a = track.values[(track.times > 0.3) & (track.times < 1.6)]
    b = track.values[(track.times > 2.1) & (track.times < 3.4)]
    assert np.nanmedian(a) == pytest.approx(90.0, rel=0.02) and np.mean(np.isfinite(a)) > 0.9
    assert np.nanmedian(b) == pytest.approx(240.0, rel=0.02) and np.mean(np.isfinite(b)) > 0.9
    outside = track.values[(track.times > 1.75) & (track.times < 1.95)]
    assert np.isnan(outside).all()  # between turns nobody is tracked
