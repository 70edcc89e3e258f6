"""Pitch tracker accuracy on the FDA development set, and the metrics on known answers.

The evaluation is ``bench/pitch.py``'s own, so the test and the benchmark table cannot drift
apart. Targets: pooled gross pitch error <= 5 %, pooled voicing decision error <= 10 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import pitch as bench  # conftest puts the repository root on sys.path
from undertone.prosody import Track

NAN = np.nan


def test_gpe_vde_and_fine_error_on_hand_made_frames():
    reference = np.array([0.0, 0.0, 100.0, 100.0, 200.0, 200.0, 100.0, 0.0])
    estimate = np.array([NAN, 150.0, NAN, 101.0, 400.0, 200.0, 119.0, 0.0])
    # Voiced in both: frames 3, 4, 5, 6. Frame 4 is an octave error (gross); 6 is 19 % off (fine).
    assert bench.gross_errors(reference, estimate) == (1, 4)
    assert bench.gpe(reference, estimate) == pytest.approx(1 / 4)
    # Decisions differ at frame 1 (false alarm) and frame 2 (miss): 2 of 8 frames.
    assert bench.vde(reference, estimate) == pytest.approx(2 / 8)
    cents = [1200 * np.log2(1.01), 0.0, 1200 * np.log2(1.19)]
    assert bench.fine_cents(reference, estimate) == pytest.approx(np.mean(cents))


def test_metrics_on_edge_cases():
    silent = np.zeros(4)
    assert np.isnan(bench.gpe(silent, silent))  # nothing voiced in both: undefined, not 0
    assert bench.vde(silent, silent) == 0.0
    assert bench.vde(silent, np.full(4, 120.0)) == 1.0
    # Exactly 20 % off is still a fine error; just over is gross.
    assert bench.gpe(np.array([100.0, 100.0]), np.array([120.0, 80.0])) == 0.0
    assert bench.gpe(np.array([100.0]), np.array([120.5])) == 1.0


def test_track_is_read_at_reference_times():
    track = Track(np.array([0.00, 0.01, 0.02, 0.03]), np.array([100.0, 110.0, NAN, 130.0], np.float32))
    times = np.array([0.005, 0.012, 0.018, 0.03, 0.06, -0.02])
    got = bench.on_reference_times(track, times)
    assert got[0] == pytest.approx(105.0)  # both neighbours voiced: linear
    assert got[1] == pytest.approx(110.0)  # nearest frame voiced, other neighbour not: its value
    assert np.isnan(got[2])  # nearest frame unvoiced
    assert got[3] == pytest.approx(130.0)
    assert np.isnan(got[4]) and np.isnan(got[5])  # outside the track


@pytest.fixture(scope="module")
def recordings() -> list[bench.Recording]:
    if not bench.DATA_DIR.is_dir():
        pytest.skip(f"{bench.DATA_DIR} (FDA pitch development set) is not present on this machine")
    return bench.load_recordings()


@pytest.mark.parametrize("method", [bench.RECOMMENDED, "praat 60-600"])
def test_pooled_accuracy_on_the_development_set(recordings, method):
    pooled = bench.evaluate(method, recordings).pooled
    assert pooled.frames == 635
    assert pooled.gpe <= bench.TARGET_GPE, f"{method}: GPE {pooled.gpe:.1%}"
    assert pooled.vde <= bench.TARGET_VDE, f"{method}: VDE {pooled.vde:.1%}"
