"""Recognised words re-timed by forced alignment (English): boundaries measured on the signal.

Whisper's word times come from its cross-attention, not from the audio's frames: they are tens
to hundreds of milliseconds off and truncate long final words, too coarse for pauses,
elongations and speech rate. Where a forced aligner exists for the language (pocketsphinx's
English model, in the wheel), the recognised text is aligned to the audio again and each word
takes the aligner's times; its text, confidence and kind stay the recogniser's.

The recogniser's times still bound where a word may go: its words are split into *groups* at
silences of at least ``GROUP_GAP_S`` between them, and each group is aligned only within its own
stretch of audio, widened by up to ``MARGIN_S`` on each side (never past half-way to the next
group). Speech the recogniser left out, or text it invented, then cannot pull words far from
where it heard them. A group the aligner refuses (its text does not fit the audio: a
hallucination, another language) keeps the recogniser's times, and a note says how many words
kept them.

Once the diarisation has said who spoke each word, a group is aligned as a known transcript's
turns would be (runs of one speaker's words), so that a short turn the listener said over the
end of the other person's turn ("mm", "yeah") is placed there, in overlap
(:mod:`undertone.transcribe.backchannel`), rather than after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from undertone.audio import SAMPLE_RATE
from undertone.errors import TranscriptFileError
from undertone.transcribe import Recognition, RecognizedWord
from undertone.transcribe.known import KnownTurn, tokenize

ALIGNABLE_LANGUAGES = frozenset({"en"})  # the languages with a forced aligner here
# s of silence between recognised words that separates groups: longer than any pause inside a
# phrase the recogniser's times could hide, short enough to keep groups to a few phrases.
GROUP_GAP_S = 1.0
# s: how far beyond its recognised times a group may be placed. Whisper's word times are off by
# up to a few tenths of a second (more at a segment's end), so a second covers them.
MARGIN_S = 1.0


def align_recognised_words(
    samples: np.ndarray,
    recognition: Recognition,
    speakers: Sequence[str | None] | None = None,
    processes: int | None = 1,
) -> Recognition:
    """``recognition`` with every word re-timed by forced alignment, where the language has an
    aligner and the words fit the audio (see the module docstring); otherwise unchanged.

    ``speakers`` (one diarisation label per word, in the words' order) lets short turns be
    placed in overlap; the re-timed words carry them. Without it, the words' own labels are used.
    Groups are aligned by up to ``processes`` worker processes (None: one per core); each is
    aligned on its own, so the times are the same for any number. The words come back in the
    order of their recognised times.
    """
    if (recognition.language or "").lower() not in ALIGNABLE_LANGUAGES or not recognition.words:
        return recognition
    from undertone.transcribe import sphinx

    duration = len(samples) / SAMPLE_RATE
    labels = list(speakers) if speakers is not None else [word.speaker for word in recognition.words]
    recognised = recognition.words
    order = sorted(range(len(recognised)), key=lambda i: (recognised[i].start, recognised[i].end))
    words = [replace(recognised[i], speaker=labels[i]) for i in order]
    groups = word_groups(words)
    lows = [_edge_before(words, groups, index, duration) for index in range(len(groups))]
    highs = [_edge_after(words, groups, index, duration) for index in range(len(groups))]
    jobs = [
        (samples[round(low * SAMPLE_RATE) : round(high * SAMPLE_RATE)], words[first:stop])
        for (first, stop), low, high in zip(groups, lows, highs)
    ]
    workers = sphinx.recognition_processes(processes, len(jobs))
    if workers > 1:
        from undertone.transcribe.sphinx_workers import align_groups

        results = align_groups(jobs, workers)
    else:
        results = [aligned_words(piece, group) for piece, group in jobs]
    kept = 0
    for (first, stop), low, aligned in zip(groups, lows, results):
        if aligned is None:
            kept += stop - first
            continue
        words[first:stop] = _retimed(words[first:stop], aligned, low)
    notes = list(recognition.notes)
    if kept:
        notes.append(
            f"{kept} of {len(words)} recognised words kept the recogniser's times: "
            "forced alignment could not place them (text that does not fit the audio there, "
            "or no word the English model can pronounce)"
        )
    return Recognition(words, recognition.backend, recognition.model, recognition.language, notes)


def word_groups(words: list[RecognizedWord]) -> list[tuple[int, int]]:
    """``[first, stop)`` index ranges of words separated by at least ``GROUP_GAP_S`` of silence."""
    groups: list[tuple[int, int]] = []
    first = 0
    for index in range(1, len(words) + 1):
        if index == len(words) or words[index].start - words[index - 1].end >= GROUP_GAP_S:
            groups.append((first, index))
            first = index
    return groups


def aligned_words(piece: np.ndarray, group: list[RecognizedWord]) -> list[RecognizedWord] | None:
    """The aligner's words for a group's audio, by speaker turns; None if it refuses the text.

    The aligner judges each turn of a second or more on its own: where it refuses one (a
    misheard phrase), the group is aligned again as one stream of words (as when the speakers
    are not known), so that one turn does not keep the whole group at the recogniser's times.
    """
    from undertone.transcribe import sphinx

    turns = speaker_turns(group)
    attempts = [turns] if len(turns) == 1 else [turns, speaker_turns([replace(w, speaker=None) for w in group])]
    for attempt in attempts:
        try:
            return sphinx.align(piece, attempt, SAMPLE_RATE).words
        except TranscriptFileError:
            continue
    return None


def speaker_turns(words: list[RecognizedWord]) -> list[KnownTurn]:
    """Runs of one speaker's words as the turns of a known transcript (one turn when the
    speakers are not known); a turn's tokens are its words' tokens, in order."""
    turns: list[KnownTurn] = []
    first = 0
    for index in range(1, len(words) + 1):
        if index == len(words) or words[index].speaker != words[first].speaker:
            text = " ".join(word.text for word in words[first:index])
            turns.append(KnownTurn(speaker=words[first].speaker or "", text=text, line=first + 1))
            first = index
    return turns


def _edge_before(words: list[RecognizedWord], groups: list[tuple[int, int]], index: int, duration: float) -> float:
    start = words[groups[index][0]].start
    floor = 0.0 if index == 0 else 0.5 * (words[groups[index - 1][1] - 1].end + start)
    return min(max(start - MARGIN_S, floor, 0.0), duration)


def _edge_after(words: list[RecognizedWord], groups: list[tuple[int, int]], index: int, duration: float) -> float:
    end = words[groups[index][1] - 1].end
    ceiling = duration if index == len(groups) - 1 else 0.5 * (end + words[groups[index + 1][0]].start)
    return max(min(end + MARGIN_S, ceiling, duration), 0.0)


def _retimed(group: list[RecognizedWord], aligned: list[RecognizedWord], offset: float) -> list[RecognizedWord]:
    """The group's words with the aligner's times (one aligned word per token of each word's
    text; a word of several tokens spans them, a word of none keeps its times)."""
    result = []
    position = 0
    for word in group:
        count = len(tokenize(word.text))
        if count == 0:
            result.append(word)
            continue
        pieces = aligned[position : position + count]
        position += count
        result.append(
            RecognizedWord(
                text=word.text,
                start=round(offset + pieces[0].start, 3),
                end=round(offset + pieces[-1].end, 3),
                confidence=word.confidence,
                kind=word.kind,
                speaker=word.speaker,
            )
        )
    return result
