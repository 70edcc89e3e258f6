"""Backchannel placement when the sequential aligner skipped the speaker's last word.

Where the listener's voice starts over the last word, the sequential aligner sometimes skips that
word altogether (it would otherwise be squeezed to nothing between the turn and the
backchannel). The placement must still consider the backchannel, and give the skipped word the
times found without the backchannel. The aligner's decodes are replaced by fixed placements so
the test is about the decision, not the acoustic model.
"""

from __future__ import annotations

import numpy as np

from undertone.audio import SAMPLE_RATE
from undertone.transcribe import backchannel, sphinx
from undertone.transcribe.known import KnownTurn

TURNS = [KnownTurn("I", "we went there on the bus", 1), KnownTurn("P", "yeah", 2), KnownTurn("I", "and then we walked home", 3)]
# sequential times: "bus" skipped, "yeah" placed right after "the" (where the listener's voice starts)
SEQUENTIAL = [(0.5, 0.8), (0.8, 1.1), (1.1, 1.5), (1.5, 1.7), (1.7, 1.9), None,
              (1.9, 2.3),
              (3.5, 3.7), (3.7, 4.0), (4.0, 4.2), (4.2, 4.6), (4.6, 5.0)]
BUS_WITHOUT_YEAH = (1.9, 2.35)  # step 1: "bus" placed where it was said, under the listener's voice
YEAH_ON_ITS_OWN = (2.05, 2.6)  # step 2: the backchannel's own start and end


def _tokens() -> list:
    tokens = []
    for turn in TURNS:
        for text in turn.text.split():
            tokens.append(sphinx._Token(text=text, speaker=turn.speaker, turn=turn, key=text))
    for token, times in zip(tokens, SEQUENTIAL):
        if times is not None:
            token.start, token.end = times
    return tokens


def _fake_chain(bus_without_yeah: tuple[float, float]):
    """Step 1 (every word but "yeah", "bus" at ``bus_without_yeah``) and step 2 ("yeah" alone),
    as fixed placements."""

    def align_chain(decoder, signal, keys, window):
        if keys == ["yeah"]:
            times = [YEAH_ON_ITS_OWN]
        else:
            words = [w for turn in TURNS for w in turn.text.split()]
            times = [bus_without_yeah if t is None else t for t, w in zip(SEQUENTIAL, words) if w != "yeah"]
            assert len(times) == len(keys) and keys[5] == "bus"
        return backchannel._Placement([a for a, _ in times], [b for _, b in times], [-1.0] * len(keys), [20] * len(keys))

    return align_chain


def test_a_skipped_last_word_gets_step_ones_times_and_the_backchannel_overlaps_it(monkeypatch):
    monkeypatch.setattr(backchannel, "_align_chain", _fake_chain(BUS_WITHOUT_YEAH))
    monkeypatch.setattr(sphinx, "_quiet_frames", lambda signal: None)  # no silence mask: times decide
    tokens = _tokens()
    decisions = backchannel.place_short_turns(None, np.zeros(6 * SAMPLE_RATE, np.float32), tokens)

    assert [d.overlapped for d in decisions] == [True]
    bus, yeah = tokens[5], tokens[6]
    assert (bus.start, bus.end) == BUS_WITHOUT_YEAH and bus.confidence is not None
    assert bus.start < yeah.start < bus.end  # the backchannel starts over the last word
    assert yeah.end == YEAH_ON_ITS_OWN[1]


def test_without_the_evidence_of_overlap_nothing_changes(monkeypatch):
    """Step 1 finds "bus" far from where the turn left off: it is someone else's word; the
    skipped word is left for interpolation and the backchannel where it was."""
    monkeypatch.setattr(backchannel, "_align_chain", _fake_chain((2.5, 2.9)))
    monkeypatch.setattr(sphinx, "_quiet_frames", lambda signal: None)
    tokens = _tokens()
    decisions = backchannel.place_short_turns(None, np.zeros(6 * SAMPLE_RATE, np.float32), tokens)
    assert [d.overlapped for d in decisions] == [False]
    assert not tokens[5].aligned and (tokens[6].start, tokens[6].end) == SEQUENTIAL[6]
