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


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def _steady(f0_hz: float, seconds: float, rms: float) -> np.ndarray:
    """A harmonic tone with no loudness wobble, at a given RMS."""
    t = np.arange(int(round(seconds * SR))) / SR
    tone = sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 6))
    return rms * tone / _rms(tone)


def test_in_noise_a_weak_sound_inside_quiet_talk_is_not_a_micropause_but_silence_is():
    # Noise 26 dB under the speaker's usual level; the usual silence threshold sits 6 dB above
    # it. In a stretch 13 dB quieter than usual, a steady 150 ms weak sound (a closure or a weak
    # consonant) lies between that threshold and the noise floor: under the threshold, but less
    # than 10 dB under the talk around it and more than 3 dB above the floor, so it is talk, not
    # a pause (the old rule called it a micropause). A real 150 ms silence in the same stretch
    # is still a micropause. (The margins are about a decibel: the seed keeps the noise fixed.)
    rng = np.random.default_rng(7)
    usual = _rms(voiced(130.0, 1.0, 0.1))
    normal, quiet = 0.1, 0.1 * 10 ** (-13 / 20)
    plan = [("we", normal, 0.3), ("went", normal, 0.35), ("down", normal, 0.35), ("to", normal, 0.25)]
    plan += [("the", quiet, 0.25), ("old", quiet, 0.3), ("mill", quiet, 0.35), ("by", quiet, 0.3)]
    plan += [("the", quiet, 0.25), ("river", quiet, 0.4), ("and", normal, 0.3), ("back", normal, 0.4)]
    pieces, words, cursor = [silence(0.4)], [], 0.4
    for index, (text, amplitude, seconds) in enumerate(plan):
        pieces.append(voiced(130.0, seconds, amplitude))
        words.append(RecognizedWord(text, cursor, cursor + seconds, speaker="A"))
        cursor += seconds
        if index == 5:  # between "old" and "mill": a weak sound
            pieces.append(_steady(130.0, 0.15, usual * 10 ** (-23.7 / 20)))
            cursor += 0.15
        if index == 7:  # between "by" and "the": silence
            pieces.append(silence(0.15))
            cursor += 0.15
    pieces.append(silence(0.4))
    signal = np.concatenate(pieces).astype(np.float64)
    signal += rng.normal(0.0, usual * 10 ** (-26 / 20), len(signal))
    transcript = build_transcript(
        from_array(signal.astype(np.float32), SR, "noisy.wav"),
        Recognition(words, "test", "test", "en"),
        None,
        load_settings("offline"),
    ).transcript
    found = {(p.kind, p.after_word) for p in transcript.pauses}
    assert ("micropause", 7) in found
    assert all(p.after_word != 5 for p in transcript.pauses)
