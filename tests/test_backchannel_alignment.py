"""Short turns said over the end of the other person's turn, aligned from a known transcript.

Two espeak-ng voices are mixed with numpy, so every turn's start and end is known to the
sample: the interviewer's turn, the participant's "yeah" either over its last 0.3 s (an
overlapping backchannel) or after a 0.5 s silence (a sequential one), then the interviewer
goes on. Light white noise stands in for a room.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from synth import SR, espeak
from undertone.align import group_turns, overlaps_from_turns
from undertone.transcribe import Recognition, RecognizedWord, sphinx
from undertone.transcribe.known import KnownTurn
from undertone.transcribe.realign import align_recognised_words

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng makes the test speech")

FIRST = "I used to walk to the station every morning before work"
BACKCHANNEL = "yeah"
AFTER = "and then I took the train into the city"
VOICES = {"I": "en-gb+m3", "P": "en-us+f1"}
LEAD_S, GAP_AFTER_S, TAIL_S = 0.5, 0.6, 0.5
OVERLAP_S = 0.3  # the backchannel starts this long before the first turn ends (and outlasts it)
TOLERANCE_S = 0.1  # how close to the truth an overlapping start must be placed


def _mix(offset_s: float) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """The three turns on one track; the backchannel starts ``offset_s`` after the first turn
    ends (negative: before). Returns the signal and every turn's true (start, end)."""
    first = espeak(FIRST, VOICES["I"])
    backchannel = espeak(BACKCHANNEL, VOICES["P"])
    after = espeak(AFTER, VOICES["I"])
    first_span = (LEAD_S, LEAD_S + len(first) / SR)
    bc_start = first_span[1] + offset_s
    bc_span = (bc_start, bc_start + len(backchannel) / SR)
    after_start = max(first_span[1], bc_span[1]) + GAP_AFTER_S
    after_span = (after_start, after_start + len(after) / SR)
    signal = np.zeros(round((after_span[1] + TAIL_S) * SR), dtype=np.float64)
    for audio, (start, _) in ((first, first_span), (backchannel, bc_span), (after, after_span)):
        signal[round(start * SR) : round(start * SR) + len(audio)] += audio
    rng = np.random.default_rng(3)
    signal += rng.standard_normal(len(signal)) * np.sqrt(np.mean(signal**2)) * 10 ** (-35 / 20)
    return signal.astype(np.float32), {"first": first_span, "backchannel": bc_span, "after": after_span}


TURNS = [KnownTurn("I", FIRST, 1), KnownTurn("P", BACKCHANNEL.capitalize() + ".", 2), KnownTurn("I", AFTER, 3)]


def _aligned(offset_s: float):
    signal, truth = _mix(offset_s)
    words = sphinx.align(signal, TURNS, SR).words
    return words, truth


def _overlaps(words) -> list:
    """The overlaps the pipeline derives from these words (it orders them by start time)."""
    ordered = sorted(words, key=lambda w: (w.start, w.end))
    return overlaps_from_turns(group_turns(ordered, [w.speaker for w in ordered]))


@pytest.fixture(scope="module")
def overlapping():
    return _aligned(-OVERLAP_S)


@pytest.fixture(scope="module")
def sequential():
    return _aligned(0.5)


def test_overlapping_backchannel_starts_where_it_was_said(overlapping):
    words, truth = overlapping
    (yeah,) = [w for w in words if w.speaker == "P"]
    last_of_first = [w for w in words if w.speaker == "I"][len(FIRST.split()) - 1]
    assert yeah.start < last_of_first.end - 0.1  # placed over the first turn's end
    assert abs(yeah.start - truth["backchannel"][0]) <= TOLERANCE_S
    assert abs(last_of_first.end - truth["first"][1]) <= 2 * TOLERANCE_S


def test_overlapping_backchannel_becomes_an_overlap(overlapping):
    words, truth = overlapping
    overlaps = _overlaps(words)
    assert len(overlaps) == 1
    true_start, true_end = truth["backchannel"][0], truth["first"][1]
    assert overlaps[0].start < true_end and overlaps[0].end > true_start


def test_sequential_backchannel_stays_after_the_turn(sequential):
    words, truth = sequential
    (yeah,) = [w for w in words if w.speaker == "P"]
    first_words = [w for w in words if w.speaker == "I"][: len(FIRST.split())]
    assert yeah.start >= first_words[-1].end
    assert abs(yeah.start - truth["backchannel"][0]) <= TOLERANCE_S
    assert _overlaps(words) == []


def test_every_token_keeps_one_word_in_order(overlapping, sequential):
    for words, _ in (overlapping, sequential):
        assert [w.text for w in words] == FIRST.split() + ["Yeah"] + AFTER.split()


def _recognised(words, truth) -> list[RecognizedWord]:
    """What a recogniser reports for the mix: one stream of words, the backchannel after the turn
    it was said over (where single-stream decoding puts it), every edge a little off."""
    coarse = []
    for word in words:
        if word.speaker == "P":
            start = truth["first"][1] + 0.05
            coarse.append(RecognizedWord(word.text, start, start + 0.3))
        else:  # each word shifted and shrunk (its start still after the previous word's)
            start = max(word.start + 0.05, coarse[-1].start + 0.01 if coarse else 0.0)
            coarse.append(RecognizedWord(word.text, start, max(word.end - 0.1, start + 0.05)))
    return coarse


def test_recognised_words_with_their_speakers_put_the_backchannel_in_overlap(overlapping):
    """Re-timing recognised words (the default profile) after diarisation: given each word's
    speaker, the listener's "yeah" is a short turn, and is placed over the turn's end."""
    words, truth = overlapping
    signal, _ = _mix(-OVERLAP_S)
    coarse = _recognised(words, truth)
    speakers = [w.speaker for w in words]
    result = align_recognised_words(signal, Recognition(coarse, "whisper", "turbo", "en"), speakers)

    assert [w.text for w in result.words] == [w.text for w in coarse]
    assert [w.speaker for w in result.words] == speakers
    (yeah,) = [w for w in result.words if w.speaker == "P"]
    assert abs(yeah.start - truth["backchannel"][0]) <= TOLERANCE_S
    overlaps = _overlaps(result.words)
    assert len(overlaps) == 1
    assert overlaps[0].start < truth["first"][1] and overlaps[0].end > truth["backchannel"][0]


def test_the_pipeline_gives_words_their_speakers_before_retiming(overlapping):
    """``retime_words`` attributes the words with the diarisation, re-times them, and the
    analysis keeps those speakers (it would give an overlapped backchannel to the other person)."""
    from pyannote.core import Annotation, Segment

    from undertone import pipeline
    from undertone.audio import Audio
    from undertone.config import load_settings
    from undertone.diarize import Diarization

    words, truth = overlapping
    signal, _ = _mix(-OVERLAP_S)
    annotation, exclusive = Annotation(), Annotation()  # the exclusive view: one speaker at a time
    for name, label in (("first", "SPEAKER_00"), ("backchannel", "SPEAKER_01"), ("after", "SPEAKER_00")):
        annotation[Segment(*truth[name])] = label
        start = truth["first"][1] if name == "backchannel" else truth[name][0]  # the turn keeps the overlap
        exclusive[Segment(start, truth[name][1])] = label
    diarization = Diarization(annotation, backend="test", model=None, exclusive=exclusive)
    audio = Audio(path=Path("mix.wav"), sha256="", sample_rate=SR, channels=signal[None, :], mono=signal)
    settings = load_settings("default")
    recognition = Recognition(_recognised(words, truth), "whisper", "turbo", "en")

    retimed = pipeline.retime_words(audio, recognition, diarization, settings)
    assert [w.speaker for w in retimed.words] == ["SPEAKER_01" if w.speaker == "P" else "SPEAKER_00" for w in words]
    document = pipeline.build_transcript(audio, retimed, diarization, settings).transcript
    (yeah,) = [w for w in document.words if w.text == "Yeah"]
    assert yeah.speaker == "S2" and abs(yeah.start - truth["backchannel"][0]) <= TOLERANCE_S
    assert {s.label for s in document.speakers} == {"S1", "S2"}  # diarisation labels, not a transcript's

    unchanged = pipeline.retime_words(audio, recognition, diarization, load_settings("offline"))
    assert unchanged is recognition  # the offline profile keeps the recogniser's times
