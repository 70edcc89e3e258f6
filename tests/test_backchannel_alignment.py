"""Short turns said over the end of the other person's turn, aligned from a known transcript.

Two espeak-ng voices are mixed with numpy, so every turn's start and end is known to the
sample: the interviewer's turn, the participant's "yeah" either over its last 0.3 s (an
overlapping backchannel) or after a 0.5 s silence (a sequential one), then the interviewer
goes on. Light white noise stands in for a room.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from synth import SR, espeak
from undertone.align import group_turns, overlaps_from_turns
from undertone.transcribe import sphinx
from undertone.transcribe.known import KnownTurn

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
