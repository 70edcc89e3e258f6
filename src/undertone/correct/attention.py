"""Words a reviewer should look at first: low confidence and likely hallucinations.

Speech recognisers, Whisper above all, invent text: over silence or noise (one word stretched
over seconds) and in loops (the same few words again and again). Neither is proof of an error,
so these are flags for attention in the review page, never changes to the transcript.
"""

from __future__ import annotations

import re

from undertone.model import Transcript

LOW_CONFIDENCE = 0.5  # below this the engine itself doubts the word
LONG_WORD_S = 1.5  # a word this long is most likely text over silence or noise
LOOP_MAX_NGRAM = 4  # repeated phrases up to this many words are looked for
LOOP_MIN_REPEATS = 3  # a phrase said this many times in a row is a likely loop...
LOOP_MIN_REPEATS_ONE_WORD = 4  # ...but one word three times is often a real stutter ("I I I")


def attention(transcript: Transcript) -> dict[int, str]:
    """Word index -> ``"suspect"`` (likely hallucination) or ``"low"`` (low confidence)."""
    flags: dict[int, str] = {}
    for word in transcript.words:
        if word.confidence is not None and word.confidence < LOW_CONFIDENCE:
            flags[word.i] = "low"
    for word in transcript.words:
        if word.kind == "word" and word.end - word.start > LONG_WORD_S:
            flags[word.i] = "suspect"
    for index in repeated_loops([w.text for w in transcript.words]):
        flags[index] = "suspect"
    return flags


def repeated_loops(texts: list[str]) -> set[int]:
    """Indices of words in a phrase of 1..``LOOP_MAX_NGRAM`` words repeated at least
    ``LOOP_MIN_REPEATS`` times in a row (a single word: ``LOOP_MIN_REPEATS_ONE_WORD`` times)."""
    bare = [re.sub(r"[^\w']", "", text.lower()) for text in texts]
    found: set[int] = set()
    for size in range(1, LOOP_MAX_NGRAM + 1):
        start = 0
        while start + size * LOOP_MIN_REPEATS <= len(bare):
            phrase = bare[start : start + size]
            repeats = 1
            while bare[start + repeats * size : start + (repeats + 1) * size] == phrase:
                repeats += 1
            needed = LOOP_MIN_REPEATS_ONE_WORD if size == 1 else LOOP_MIN_REPEATS
            if repeats >= needed and any(phrase):
                found.update(range(start, start + repeats * size))
                start += repeats * size
            else:
                start += 1
    return found
