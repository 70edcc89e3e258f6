"""Transcription: speech to timed words, by ASR or by aligning a transcript the user already has.

Backends:
- ``whisper`` (default profile): openai-whisper with word timestamps.
- ``pocketsphinx`` (offline profile): recognition with the English model inside the wheel.
- known transcript (``--transcript``): forced alignment with pocketsphinx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

WordKind = Literal["word", "filler", "cutoff"]

# Bump when a change to this stage's code changes the words it returns for the same audio and
# settings: cached transcriptions (keyed on it, see undertone.stage_cache) are then redone.
STAGE_VERSION = "3"

# Hesitation tokens researchers want kept and marked (verbatim transcription).
FILLERS = frozenset({"um", "uh", "erm", "er", "ah", "eh", "hmm", "mm", "mhm", "uhm", "umm", "hm"})


@dataclass
class RecognizedWord:
    """One word as an ASR or alignment engine reports it (times in seconds)."""

    text: str
    start: float
    end: float
    confidence: float | None = None
    kind: WordKind = "word"
    speaker: str | None = None  # known only when aligning a transcript that names speakers


@dataclass
class Recognition:
    """What a transcription backend returns."""

    words: list[RecognizedWord]
    backend: str
    model: str
    language: str | None
    notes: list[str] = field(default_factory=list)


def word_kind(text: str) -> WordKind:
    """Classify a token: fillers by vocabulary, cut-offs by a trailing hyphen (``wa-``)."""
    bare = text.strip().lower().strip(".,!?;:\"'")
    if bare in FILLERS:
        return "filler"
    if bare.endswith("-") and len(bare) > 1:
        return "cutoff"
    return "word"
