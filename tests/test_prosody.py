"""Pitch and intensity tracks on signals whose values are known."""

import numpy as np
import pytest

from synth import SR, silence, voiced
from undertone.prosody import hz_to_semitones, intensity_track, median_or_none, noise_floor_db, pitch_track


def test_pitch_of_a_harmonic_tone_and_unvoiced_silence():
    track = pitch_track(np.concatenate([voiced(180, 1.0), silence(0.5)]), SR)
    assert np.diff(track.times) == pytest.approx(np.full(len(track.times) - 1, 0.01))
    assert np.nanmedian(track.between(0.1, 0.9)) == pytest.approx(180, rel=0.01)
    assert np.isnan(track.between(1.1, 1.4)).all()


def test_intensity_level_of_a_sine_and_floor_of_silence():
    t = np.arange(SR) / SR
    sine = (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    track = intensity_track(np.concatenate([sine, silence(1.0)]), SR)
    # A sine of amplitude 0.5 has RMS 0.5 / sqrt(2): -9.03 dBFS.
    assert np.median(track.between(0.1, 0.9)) == pytest.approx(-9.03, abs=0.1)
    assert noise_floor_db(track) == -120.0
    assert len(track.times) == 200


def test_helpers():
    assert median_or_none(np.array([np.nan, np.nan])) is None
    assert median_or_none(np.array([1.0, np.nan, 3.0])) == 2.0
    assert hz_to_semitones(440.0, 220.0) == pytest.approx(12.0)
