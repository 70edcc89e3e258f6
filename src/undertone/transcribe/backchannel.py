"""Short turns spoken over the end of the other person's turn ("mm hm", "yeah", "right").

A known transcript lists its turns one after another, so a backchannel that the listener said
over the end of the speaker's turn is typed as a line of its own after that turn, and the
sequential aligner (:mod:`undertone.transcribe.sphinx`) has to place it after the turn. Where
the listener's voice starts, the aligner switches from the speaker's words to the listener's:
it finds the backchannel's onset well, but ends the speaker's last word there (0.2-0.8 s too
early), so no overlap is found, and the first words of the next turn are sometimes pulled into
the backchannel's tail, which misplaces the gap after it.

A single-voice acoustic model cannot follow two voices at once, but it can follow each one on
its own. So, after the sequential alignment, every *short turn* (at most ``MAX_WORDS`` words,
by someone other than the speaker of the turn before it) is looked at again:

1. **Without it.** A region around the short turn (about ``REGION_CONTEXT_S`` of talk either
   side, cut between words) is aligned again with every other word in it, in order, and
   silence allowed anywhere. The listener's voice is then no word's business, and the
   speaker's last word may run on under it (it sometimes does, to about where the speaker
   stops; often it still ends near the listener's onset). Its start must stay where the
   sequential alignment put it (``MAX_START_SHIFT_S``): only its end was hidden. If the
   sequential alignment skipped it (the listener's voice took its place, and it would have
   been squeezed to nothing), it must start where the word before it ended.
2. **Its own words.** The short turn's words are aligned on their own, from ``ONSET_LOOKBACK_S``
   before the onset the sequential alignment found (that onset tends to be late: the
   speaker's last word covers it) to the start of the following turn.
3. **Overlap or not.** The short turn overlapped the end of the preceding one if its own first
   word starts at least ``MIN_OVERLAP_S`` before the preceding turn's end from step 1, its
   last word ends at least that long after the start of the preceding turn's last word (it
   is over the turn's *end*, not in its middle), and no pause (``sphinx.PAUSE_MIN_S`` of quiet
   frames) lies between its start and that end: a listener who waited for a pause did not
   overlap, whatever a stretched last word says. Then the short turn takes its times from
   step 2, and the preceding turn's last word its end from step 1 (a skipped one both its
   times); every other word keeps its sequential times (the preceding turn's were right, and
   the following turn's first word, aligned without the short turn, can be pulled back over
   the listener's voice). Otherwise nothing changes.

Both estimates come from a model of one voice, and both err towards a shorter overlap (the
last word ends early, the onset is late), so overlaps are found only where the evidence is
clear: half of the marks benchmark's 30, none of them invented in the clean condition. No word
is dropped or added; the output still has one timed word per transcript token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from undertone.audio import SAMPLE_RATE
from undertone.transcribe import sphinx

MAX_WORDS = 4  # a turn of more words is not a backchannel
# s of talk on each side of the short turn that are aligned again without it: more than the
# sequential aligner's errors around a backchannel reach (about 1 s in the marks benchmark),
# so the region's edges lie where the first alignment was right.
REGION_CONTEXT_S = 3.0
MIN_OVERLAP_S = 0.1  # s: less overlap than this is boundary jitter (as in undertone.align)
# s: how much earlier than the sequential alignment's onset the short turn may start on its
# own; that onset was up to 0.5 s late in the marks benchmark (never early by more than 0.1 s).
ONSET_LOOKBACK_S = 0.5
# s: how far the preceding turn's last word may start from where the sequential alignment put
# it. Only its end is hidden under the listener's voice; a word that moves further was matched
# to other speech (the listener's own "hello" after the speaker's "hello").
MAX_START_SHIFT_S = 0.1
MIN_WINDOW_S = 0.15  # s: a shorter window cannot hold a word (3 HMM states per phone)


@dataclass
class _Placement:
    """Times (seconds, recording time) of a run of words from one decode, and their scores."""

    starts: list[float]
    ends: list[float]
    llrs: list[float | None]  # forced minus phone-loop log-likelihood over each word, nats
    frames: list[int]


@dataclass
class Decision:
    """What was decided for one short turn, and the times it was decided on."""

    line: int  # the short turn's line in the transcript file
    onset: float  # its first word's start in the sequential alignment
    preceding_end: float | None = None  # preceding turn's end, aligned without the short turn
    last_word_start: float | None = None  # and the start of its last word
    own_onset: float | None = None  # its first word's start, aligned on its own
    own_end: float | None = None  # its last word's end, aligned on its own
    overlapped: bool = False


def place_short_turns(decoder, signal: np.ndarray, tokens: list) -> list[Decision]:
    """Move short turns spoken over the end of the preceding turn to where they were said.

    ``tokens`` are sphinx's ``_Token`` objects (the pronounceable ones, in transcript order,
    after the sequential alignment); their times are changed in place. Returns what was decided
    for every short turn looked at.
    """
    groups = _turn_groups(tokens)
    quiet = sphinx._quiet_frames(signal)
    decisions: list[Decision] = []
    moved: set[int] = set()  # indices of tokens already placed in overlap
    for k in range(1, len(groups)):
        if _is_candidate(tokens, groups, k):
            decision = _consider(decoder, signal, quiet, tokens, groups, k, moved)
            decisions.append(decision)
            if decision.overlapped:
                moved.update(groups[k])
    return decisions


def _turn_groups(tokens: list) -> list[range]:
    """Index ranges of consecutive tokens of one transcript turn."""
    groups: list[range] = []
    first = 0
    for index in range(1, len(tokens) + 1):
        if index == len(tokens) or tokens[index].turn is not tokens[first].turn:
            groups.append(range(first, index))
            first = index
    return groups


def _is_candidate(tokens: list, groups: list[range], k: int) -> bool:
    """A short turn by another speaker than the turn before it, whose last word, or the word
    before that, was placed.

    The short turn's own words may have been skipped by the sequential aligner (pushed out of
    the turn's end, they fit nowhere): they are looked for from the end of the preceding turn.
    So may the preceding turn's last word, when the listener's voice took its place: step 1
    then places it.
    """
    group, before = groups[k], groups[k - 1]
    return (
        len(group) <= MAX_WORDS
        and tokens[group[0]].speaker != tokens[before[-1]].speaker
        and (tokens[before[-1]].aligned or (len(before) > 1 and tokens[before[-2]].aligned))
    )


def _consider(decoder, signal, quiet, tokens: list, groups: list[range], k: int, moved: set[int]) -> Decision:
    """Steps 1-3 of the module docstring for turn group ``k``; tokens change only on overlap."""
    group, before = groups[k], groups[k - 1]
    following = groups[k + 1][0] if k + 1 < len(groups) else None
    decision = Decision(line=tokens[group[0]].turn.line, onset=_slot(tokens, group)[0])
    first, last = _region(tokens, group)
    region = _region_times(tokens, first, last, len(signal) / SAMPLE_RATE)
    others = [i for i in range(first, last + 1) if i not in group and i not in moved]
    without = _align_chain(decoder, signal, [tokens[i].key for i in others], region)
    if without is None or before[-1] not in others:
        return decision
    times = {index: (start, end) for index, start, end in zip(others, without.starts, without.ends)}
    decision.last_word_start, decision.preceding_end = times[before[-1]]
    last = tokens[before[-1]]
    # Where the sequential alignment put the last word's start, or, if it skipped the word, the
    # end of the word before it: step 1 must agree (else it found the word elsewhere: did the
    # listener say it too?).
    expected_start = last.start if last.aligned else tokens[before[-2]].end
    if abs(decision.last_word_start - expected_start) > MAX_START_SHIFT_S:
        return decision
    until = tokens[following].start if following is not None and tokens[following].aligned else region[1]
    window = (decision.onset - ONSET_LOOKBACK_S, until)
    own = _align_chain(decoder, signal, [tokens[i].key for i in group], window)
    if own is None:
        return decision
    decision.own_onset, decision.own_end = own.starts[0], own.ends[-1]
    if not _overlaps(decision, quiet):
        return decision
    decision.overlapped = True
    _start_after(own, decision.last_word_start)
    if last.aligned:
        last.end = max(last.end, decision.preceding_end)
    else:  # skipped by the sequential alignment: step 1's placement is the only one
        position = others.index(before[-1])
        step_one = _Placement(*(values[position : position + 1] for values in
                                (without.starts, without.ends, without.llrs, without.frames)))
        _store(tokens, [before[-1]], step_one)
    _store(tokens, list(group), own)
    return decision


def _start_after(placement: _Placement, time_s: float) -> None:
    """Let the short turn start no earlier than one frame after ``time_s`` (the start of the
    preceding turn's last word).

    The pipeline orders words by their start time: a backchannel starting before the other
    speaker's last word would split that turn in two, and the gap after the backchannel would
    become a pause inside the other speaker's turn. Starting it with that last word keeps the
    overlap (the last word is still spoken over) and the turns whole, at the cost of an onset
    up to one word late. Drop this once words keep their transcript order downstream.
    """
    earliest = time_s + 1.0 / sphinx.FRAMES_PER_S
    if placement.starts[0] < earliest:
        placement.starts[0] = min(earliest, placement.ends[0] - 1.0 / sphinx.FRAMES_PER_S)


def _overlaps(decision: Decision, quiet: np.ndarray | None) -> bool:
    """Did the short turn start over the preceding one (and not after a pause in it)?"""
    if decision.preceding_end - decision.own_onset < MIN_OVERLAP_S:
        return False
    if decision.own_end < decision.last_word_start + MIN_OVERLAP_S:
        return False  # placed in the turn's earlier words: not over its end
    if quiet is None:  # no trustworthy silence mask (noisy recording): the times decide alone
        return True
    first = round(decision.own_onset * sphinx.FRAMES_PER_S)
    stop = round(decision.preceding_end * sphinx.FRAMES_PER_S)
    return _longest_run(quiet[first:stop]) < round(sphinx.PAUSE_MIN_S * sphinx.FRAMES_PER_S)


def _longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True values."""
    if not flags.any():
        return 0
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def _region(tokens: list, group: range) -> tuple[int, int]:
    """First and last token index of the region aligned again around ``group``: the nearest
    placed words at least ``REGION_CONTEXT_S`` before its start and after its end."""
    slot_start, slot_end = _slot(tokens, group)
    first = group[0] - 1
    while first > 0 and not (tokens[first].aligned and tokens[first].start <= slot_start - REGION_CONTEXT_S):
        first -= 1
    last = group[-1] + 1
    while last < len(tokens) - 1 and not (
        tokens[last].aligned and tokens[last].end >= slot_end + REGION_CONTEXT_S
    ):
        last += 1
    return max(first, 0), min(last, len(tokens) - 1)


def _slot(tokens: list, group: range) -> tuple[float, float]:
    """Where the sequential alignment put the short turn; if it skipped the turn's first word,
    from the end of the nearest placed word before (the onset is then looked for from there)."""
    placed = group[0]
    while not tokens[placed].aligned:
        placed -= 1  # a candidate has a placed word in the turn before it
    start = tokens[placed].start if placed == group[0] else tokens[placed].end
    return start, max([start] + [tokens[i].end for i in group if tokens[i].aligned])


def _region_times(tokens: list, first: int, last: int, duration_s: float) -> tuple[float, float]:
    """The region's audio: from the middle of the silence before its first word (or the
    recording's start) to the middle of the one after its last word (or the recording's end)."""
    start, end = 0.0, duration_s
    if first > 0:
        previous = tokens[first - 1]
        start = 0.5 * (previous.end + tokens[first].start) if previous.aligned else tokens[first].start
    if last < len(tokens) - 1:
        following = tokens[last + 1]
        end = 0.5 * (tokens[last].end + following.start) if following.aligned else tokens[last].end
    return start, end


def _store(tokens: list, indices: list[int], placement: _Placement) -> None:
    """Write new times and scores into the tokens."""
    for index, start, end, llr, frames in zip(
        indices, placement.starts, placement.ends, placement.llrs, placement.frames
    ):
        tokens[index].start, tokens[index].end = start, end
        sphinx._score(tokens[index], llr, frames)


def _align_chain(
    decoder, signal: np.ndarray, keys: list[str], window: tuple[float, float]
) -> _Placement | None:
    """Force-align all of ``keys``, in order, to ``window`` (s); None if they do not fit.

    Silence (and noise) may come between any two words and at either end: there, the voice of
    whoever is not in the chain is taken as silence.
    """
    if not keys or window[1] - window[0] < MIN_WINDOW_S:
        return None
    first = round(window[0] * sphinx.FRAMES_PER_S)
    stop = round(window[1] * sphinx.FRAMES_PER_S)
    pcm = sphinx._to_pcm(signal[sphinx._frame_to_sample(first) : sphinx._frame_to_sample(stop)])
    words = sphinx._align_window(decoder, pcm, keys, open_end=False, max_skip=0)
    if [word.position for word in words] != list(range(len(keys))):
        return None  # a word was skipped: the chain does not fit this audio as it is
    offset = first / sphinx.FRAMES_PER_S
    return _Placement(
        starts=[offset + word.start_frame / sphinx.FRAMES_PER_S for word in words],
        ends=[offset + word.end_frame / sphinx.FRAMES_PER_S for word in words],
        llrs=[word.llr for word in words],
        frames=[word.frames for word in words],
    )
