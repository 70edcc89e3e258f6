"""Pauses and gaps are measured from the audio, not copied from engine timestamps."""

import numpy as np
import pytest
from pyannote.core import Annotation, Segment

from synth import SR, silence, voiced
from undertone.silences import longest_silent_run, silence_threshold_db
from undertone.audio import from_array
from undertone.config import load_settings
from undertone.diarize import Diarization
from undertone.pipeline import build_transcript
from undertone.prosody import intensity_track
from undertone.transcribe import Recognition, RecognizedWord


def _two_speaker_signal():
    """Speaker A says three words (pauses 0.73 s and 0.12 s), gap 1.2 s, speaker B two words."""
    pieces = [
        silence(0.5), voiced(120, 0.4), silence(0.05), voiced(120, 0.3), silence(0.73),
        voiced(120, 0.5), silence(1.2), voiced(220, 0.6), silence(0.12), voiced(220, 0.4), silence(0.5),
    ]
    return np.concatenate(pieces)


def _engine_words():
    # Engine times deliberately off by up to 60 ms, as ASR timestamps are.
    return [
        RecognizedWord("so", 0.52, 0.93),
        RecognizedWord("well", 0.93, 1.30),
        RecognizedWord("maybe", 1.92, 2.46),
        RecognizedWord("yes", 3.70, 4.30),
        RecognizedWord("indeed", 4.40, 4.80),
    ]


@pytest.fixture
def transcript():
    annotation = Annotation()
    annotation[Segment(0.5, 2.5)] = "A"
    annotation[Segment(3.6, 4.9)] = "B"
    return build_transcript(
        from_array(_two_speaker_signal(), SR, "x.wav"),
        Recognition(_engine_words(), "test", "test", "en"),
        Diarization(annotation, "test", None),
        load_settings("offline"),
    ).transcript


def test_pauses_and_gap_measured_within_20_ms(transcript):
    found = [(p.kind, p.speaker, p.after_word) for p in transcript.pauses]
    assert found == [("pause", "S1", 1), ("gap", None, 2), ("micropause", "S2", 3)]
    expected = [(1.25, 1.98), (2.48, 3.68), (4.28, 4.40)]
    for pause, (start, end) in zip(transcript.pauses, expected):
        assert pause.start == pytest.approx(start, abs=0.02)
        assert pause.end == pytest.approx(end, abs=0.02)
        assert pause.duration == pytest.approx(end - start, abs=0.02)


def test_short_closure_is_not_a_pause_and_word_edges_follow_silences(transcript):
    # The 50 ms silence between words 0 and 1 is below the micropause threshold.
    assert all(p.after_word != 0 for p in transcript.pauses)
    words = transcript.words
    assert words[1].end == pytest.approx(transcript.pauses[0].start)
    assert words[2].start == pytest.approx(transcript.pauses[0].end)
    assert all(w.start < w.end for w in words)


def test_turns_and_speaker_levels(transcript):
    assert [(t.speaker, t.first_word, t.last_word) for t in transcript.turns] == [("S1", 0, 2), ("S2", 3, 4)]
    f0 = {s.id: s.f0_median_hz for s in transcript.speakers}
    assert f0["S1"] == pytest.approx(120, rel=0.03)
    assert f0["S2"] == pytest.approx(220, rel=0.03)
    # Levels come from the measured word edges, so silence never drags a speaker's level down.
    levels = [s.intensity_median_db for s in transcript.speakers]
    assert all(-20 < level < -5 for level in levels)


def test_longest_silent_run_picks_the_longest():
    signal = np.concatenate([voiced(150, 0.3), silence(0.1), voiced(150, 0.1), silence(0.4), voiced(150, 0.3)])
    track = intensity_track(signal, SR, window_blocks=1)
    run = longest_silent_run(track, 0.0, 1.2, threshold_db=-60)
    assert run == pytest.approx((0.5, 0.9), abs=0.011)


def test_threshold_tracks_noise_but_stays_below_speech():
    assert silence_threshold_db(-20, -120, 25) == -45  # clean: 25 dB under speech
    assert silence_threshold_db(-20, -50, 25) == -44  # noisy: just above the floor
    assert silence_threshold_db(-20, -32, 25) == -30  # very noisy: never within 10 dB of speech
