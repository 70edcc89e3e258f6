"""Stereo interviews with one microphone per person: detection and diarisation by channel.

The interview is built from espeak-ng sentences (skipped when it is not installed), one voice
per channel, each voice leaking into the other microphone 15 dB down and 3 ms late (the other
mouth is about a metre further away), the second microphone's gain 6 dB lower. It holds an
overlap at a change of turn and a backchannel ("mm hm") under the other person's speech.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate
from typer.testing import CliRunner

from synth import SR, espeak, silence, two_microphones, voiced
from undertone import pipeline
from undertone.audio import from_array
from undertone.config import load_settings
from undertone.diarize import channels
from undertone.transcribe import Recognition, RecognizedWord

COLLAR_S = 0.25  # s, pyannote's total collar: +-0.125 s around each reference boundary
VOICES = ("en-gb+m3", "en-us+f3")

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")

# (speaker, sentence, timing): a number is the silence before the sentence (negative: it starts
# that long before the previous sentence ends, an overlap); ("under", t) starts t seconds into
# the previous sentence without moving on (a backchannel).
SCRIPT = [
    (0, "Thanks for coming in today.", 0.5),
    (0, "Could you tell me how you started working here?", 0.35),
    (1, "Sure.", 0.7),
    (1, "I joined about six years ago straight after university.", 0.35),
    (1, "At first I mostly did data entry which was boring but it paid the rent.", 0.4),
    (0, "mm hm", ("under", 1.5)),
    (0, "And did that change over time?", 0.6),
    (1, "Yes.", 0.5),
    (1, "After two years they moved me to the research team.", 0.3),
    (0, "What was different about the research team?", -0.6),
    (1, "People actually asked what I thought.", 0.8),
    (1, "That had never happened before.", 0.4),
    (0, "That sounds like a big change.", 0.9),
]


def _voices(script=SCRIPT) -> tuple[list[np.ndarray], Annotation]:
    """One track per voice, and the reference: where each sentence was placed."""
    placed, reference = [], Annotation()
    previous = (0.0, 0.0)
    for speaker, text, timing in script:
        audio = espeak(text, VOICES[speaker])
        start = previous[0] + timing[1] if isinstance(timing, tuple) else previous[1] + timing
        end = start + len(audio) / SR
        placed.append((speaker, start, audio))
        reference[Segment(start, end), f"{len(placed)}"] = f"voice{speaker}"
        if not isinstance(timing, tuple):
            previous = (start, end)
    n = int((max(start + len(a) / SR for _, start, a in placed) + 0.5) * SR)
    tracks = [np.zeros(n, np.float32) for _ in VOICES]
    for speaker, start, audio in placed:
        i = int(round(start * SR))
        tracks[speaker][i : i + len(audio)] += audio
    peak = max(np.abs(t).max() for t in tracks)
    return [0.5 * t / peak for t in tracks], reference


@pytest.fixture(scope="module")
def interview() -> tuple[list[np.ndarray], Annotation]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return _voices()


@pytest.fixture(scope="module")
def split_recording(interview) -> tuple[np.ndarray, Annotation]:
    tracks, reference = interview
    return two_microphones(tracks, crosstalk_db=-15.0, delay_s=0.003, gains_db=[0.0, -6.0]), reference


def _der_parts(reference: Annotation, hypothesis: Annotation, duration: float) -> dict:
    metric = DiarizationErrorRate(collar=COLLAR_S, skip_overlap=False)
    return metric(reference, hypothesis, uem=Timeline([Segment(0, duration)]), detailed=True)


# ----------------------------------------------------------------------------- diarisation


@needs_espeak
def test_split_interview_is_diarised_by_channel(split_recording):
    """Measured: DER 0.5% (0.1 s of a word edge missed), no false alarm, no confusion. 5% is
    the target; any turn or backchannel given to the wrong person would cost more."""
    samples, reference = split_recording
    result = channels.diarize(samples, SR)
    assert result.backend == "channels" and result.model is None
    assert result.channels == {"CH1": 1, "CH2": 2}
    assert result.annotation.labels() == ["CH1", "CH2"]
    parts = _der_parts(reference.rename_labels({"voice0": "CH1", "voice1": "CH2"}), result.annotation, samples.shape[1] / SR)
    assert parts["diarization error rate"] <= 0.05
    assert parts["confusion"] == 0.0


@needs_espeak
def test_crosstalk_creates_no_turn(split_recording):
    """Every stretch given to a channel is speech of that channel's person (give or take 0.1 s
    at its edges): the other person's voice in the microphone never starts a turn."""
    samples, reference = split_recording
    annotation = channels.diarize(samples, SR).annotation
    for segment, _, label in annotation.itertracks(yield_label=True):
        own = reference.label_timeline("voice0" if label == "CH1" else "voice1")
        near = Segment(segment.start - 0.1, segment.end + 0.1)
        assert any(s.intersects(near) for s in own), f"{label} {segment} is crosstalk"
    assert len(annotation.label_timeline("CH1")) <= len(reference.label_timeline("voice0"))


@needs_espeak
def test_overlap_and_backchannel_are_found(split_recording):
    """Both stretches of talk at once (the backchannel under the answer, the question started
    before the answer ended) are overlaps: at least half of each is covered."""
    samples, reference = split_recording
    found = channels.diarize(samples, SR).annotation.get_overlap()
    true = reference.get_overlap().support()
    assert len(true) == 2
    for region in true:
        covered = sum((region & f).duration for f in found if region.intersects(f))
        assert covered >= 0.5 * region.duration, f"overlap {region} not found"
    assert found.duration() <= true.duration() + 0.3  # nothing else


@needs_espeak
def test_speakers_are_channels_in_order_of_first_appearance(interview):
    """The person on channel 2 speaks first: through the pipeline they become S1, on channel 2."""
    tracks, reference = interview
    samples = two_microphones([tracks[1], tracks[0]])  # the interviewer now on channel 2
    audio = from_array(samples, SR, path="swapped.wav")
    settings = load_settings("offline")
    diarization = pipeline.diarize_audio(audio, settings)
    analysis = pipeline.build_transcript(audio, _recognition(reference), diarization, settings)
    speakers = analysis.transcript.speakers
    assert [(s.id, s.channel) for s in speakers] == [("S1", 2), ("S2", 1)]
    assert analysis.transcript.words[0].speaker == "S1"
    assert any(len(o.speakers) == 2 for o in analysis.transcript.overlaps)


# ----------------------------------------------------------------------------- detection


@needs_espeak
def test_auto_detects_the_split_recording(split_recording):
    samples, _ = split_recording
    layout = channels.detect_layout(samples, SR)
    assert layout.split
    assert layout.correlation < 0.5
    assert min(layout.lead_s) >= channels.MIN_LEAD_S
    assert layout.separation_db == pytest.approx(15.0, abs=3.0)  # the crosstalk attenuation


@needs_espeak
def test_copies_and_fixed_pans_are_mixed(interview):
    tracks, _ = interview
    mix = tracks[0] + tracks[1]
    hiss = np.random.default_rng(1).standard_normal((2, len(mix))).astype(np.float32) * 1e-3
    for name, samples in {
        "identical": np.stack([mix, mix]),
        "identical with independent hiss": np.stack([mix, mix]) + hiss,
        "panned left": np.stack([0.9 * mix, 0.3 * mix]) + hiss,
        "delayed copy": np.stack([mix, np.roll(mix, 40)]),
    }.items():
        layout = channels.detect_layout(samples, SR)
        assert not layout.split, name
        assert layout.correlation >= channels.COPY_CORRELATION, name


@needs_espeak
def test_one_live_channel_and_one_channel_are_mixed(interview):
    tracks, _ = interview
    mix = tracks[0] + tracks[1]
    dead = np.random.default_rng(2).standard_normal(len(mix)).astype(np.float32) * 1e-3
    layout = channels.detect_layout(np.stack([mix, dead]), SR)
    assert not layout.split and layout.lead_s[1] < channels.MIN_LEAD_S
    assert not channels.detect_layout(mix, SR).split
    assert channels.detect_layout(mix[None], SR).n_channels == 1


def test_silence_gives_no_turns():
    quiet = np.random.default_rng(3).standard_normal((2, 3 * SR)).astype(np.float32) * 1e-3
    for samples in (quiet, np.zeros((2, 3 * SR), np.float32)):
        assert not channels.detect_layout(samples, SR).split
        assert len(channels.diarize(samples, SR).annotation) == 0


def test_three_channels_one_speaker_each():
    """Three people, one tone-voice each, taking turns, with crosstalk: one speaker per channel."""
    turns = [(0, 130.0, 1.0), (1, 210.0, 1.0), (2, 170.0, 1.0), (0, 130.0, 1.2), (1, 210.0, 0.8), (2, 170.0, 1.0)]
    tracks = [np.zeros(0, np.float32) for _ in range(3)]
    for who, f0, seconds in turns:
        for k in range(3):
            piece = voiced(f0, seconds) if k == who else silence(seconds)
            tracks[k] = np.concatenate([tracks[k], piece, silence(0.5)])
    annotation = channels.diarize(two_microphones(tracks, crosstalk_db=-18.0), SR).annotation
    assert annotation.labels() == ["CH1", "CH2", "CH3"]
    starts = [segment.start for segment, _, _ in annotation.itertracks(yield_label=True)]
    assert len(starts) == len(turns)
    assert [label for _, _, label in annotation.itertracks(yield_label=True)] == [f"CH{w + 1}" for w, _, _ in turns]


# ----------------------------------------------------------------------------- settings


@needs_espeak
def test_pipeline_respects_the_channels_setting(split_recording, interview):
    samples, _ = split_recording
    audio = from_array(samples, SR)
    by_setting = {  # the count is given only to keep the embedded diarizer quick
        mode: pipeline.diarize_audio(audio, load_settings("offline", overrides={"diarization": {"channels": mode, "speakers": 2}}))
        for mode in ("auto", "split", "mixed")
    }
    assert by_setting["auto"].backend == by_setting["split"].backend == "channels"
    assert by_setting["mixed"].backend == "embedded"
    assert by_setting["mixed"].channels is None

    tracks, _ = interview
    mono = from_array(tracks[0] + tracks[1], SR)
    forced = pipeline.diarize_audio(mono, load_settings("offline", overrides={"diarization": {"channels": "split", "speakers": 2}}))
    assert forced.backend == "embedded"
    assert any("one channel" in note for note in forced.notes)


@needs_espeak
def test_channels_option_on_the_command_line(split_recording, tmp_path: Path, monkeypatch):
    """`--channels mixed` on a split recording diarises the mix with the profile's diarizer;
    without it, auto finds the two microphones. (ASR is replaced by the reference words, to
    keep the test to the diarisation.)"""
    from undertone.cli import app

    samples, reference = split_recording
    path = tmp_path / "two mics.wav"
    soundfile.write(path, samples.T, SR)
    monkeypatch.setattr(pipeline, "transcribe_audio", lambda *args, **kwargs: _recognition(reference))
    runner = CliRunner()
    backends = {}
    for option in ([], ["--channels", "mixed"]):
        out = tmp_path / ("out" + "-".join(option))
        result = runner.invoke(app, ["process", str(path), "--out", str(out), "--profile", "offline", "--formats", "txt", *option])
        assert result.exit_code == 0, result.output
        document = json.loads((out / "two mics.json").read_text())
        backends[tuple(option)] = document["pipeline"]["diarization"]["backend"]
        assert document["pipeline"]["config"]["diarization"]["channels"] == (option[1] if option else "auto")
    assert backends == {(): "channels", ("--channels", "mixed"): "embedded"}
    bad = runner.invoke(app, ["process", str(path), "--out", str(tmp_path), "--channels", "stereo"])
    assert bad.exit_code == 2


def _recognition(reference: Annotation) -> Recognition:
    """Stand-in ASR: each reference sentence as words 0.3 s apart (no text needed here)."""
    words = []
    for segment, _, _ in reference.itertracks(yield_label=True):
        t = segment.start
        while t + 0.2 <= segment.end:
            words.append(RecognizedWord("word", t, t + 0.25, confidence=0.9))
            t += 0.3
    return Recognition(sorted(words, key=lambda w: w.start), backend="test", model="none", language="en")
