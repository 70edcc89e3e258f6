"""Put words and speakers together: who said each word, where turns begin and end, overlaps.

Speaker ids are ``S1, S2, ...`` in order of first appearance, whatever the diarizer called them,
so the same recording always reads the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyannote.core import Annotation, Segment

from undertone.transcribe import RecognizedWord

# A word in a diarisation gap takes the nearest speaker within this distance (s); further away,
# it stays with the previous word's speaker (diarizers often trim word edges).
NEAREST_SPEAKER_MAX_S = 1.0
# Overlaps shorter than this are boundary jitter between two diarised turns, not talk at once.
MIN_OVERLAP_S = 0.1


@dataclass
class SpeakerWord:
    """A recognised word with its speaker id (``S1``...)."""

    word: RecognizedWord
    speaker: str


@dataclass(frozen=True)
class TurnSpan:
    speaker: str
    first_word: int
    last_word: int
    start: float
    end: float


@dataclass(frozen=True)
class OverlapSpan:
    start: float
    end: float
    speakers: tuple[str, ...]


def assign_speakers(words: list[RecognizedWord], diarization: Annotation) -> list[str | None]:
    """The diarisation label active over most of each word (None if no speaker is near)."""
    labels: list[str | None] = []
    previous: str | None = None
    for word in words:
        label = _majority_label(word, diarization) or _nearest_label(word, diarization)
        if label is None:
            label = previous
        labels.append(label)
        previous = label
    return labels


def speaker_ids(labels: list[str | None]) -> dict[str, str]:
    """Map engine labels (``SPEAKER_01``, ``P``...) to ids ``S1, S2...`` by first appearance."""
    mapping: dict[str, str] = {}
    for label in labels:
        if label is not None and label not in mapping:
            mapping[label] = f"S{len(mapping) + 1}"
    return mapping


def group_turns(words: list[RecognizedWord], speakers: list[str]) -> list[TurnSpan]:
    """Consecutive words of one speaker form a turn."""
    turns: list[TurnSpan] = []
    first = 0
    for index in range(1, len(words) + 1):
        if index == len(words) or speakers[index] != speakers[first]:
            turns.append(
                TurnSpan(
                    speaker=speakers[first],
                    first_word=first,
                    last_word=index - 1,
                    start=words[first].start,
                    end=max(w.end for w in words[first:index]),
                )
            )
            first = index
    return turns


def find_overlaps(
    diarization: Annotation, label_to_id: dict[str, str], min_duration_s: float = MIN_OVERLAP_S
) -> list[OverlapSpan]:
    """Stretches where two or more speakers who said words are active at once."""
    overlaps: list[OverlapSpan] = []
    for region in diarization.get_overlap().support():
        if region.duration < min_duration_s:
            continue
        active = diarization.crop(region).labels()
        ids = sorted({label_to_id[label] for label in active if label in label_to_id})
        if len(ids) >= 2:
            overlaps.append(OverlapSpan(region.start, region.end, tuple(ids)))
    return overlaps


def overlaps_from_turns(turns: list[TurnSpan], min_duration_s: float = MIN_OVERLAP_S) -> list[OverlapSpan]:
    """Overlaps implied by turns of different speakers that run into each other in time."""
    overlaps: list[OverlapSpan] = []
    for index, turn in enumerate(turns):
        for later in turns[index + 1 :]:
            if later.start >= turn.end:
                break
            if later.speaker == turn.speaker:
                continue
            start, end = later.start, min(turn.end, later.end)
            if end - start >= min_duration_s:
                overlaps.append(OverlapSpan(start, end, tuple(sorted({turn.speaker, later.speaker}))))
    return overlaps


def _majority_label(word: RecognizedWord, diarization: Annotation) -> str | None:
    span = Segment(word.start, max(word.end, word.start + 1e-3))
    best_label, best_overlap = None, 0.0
    for segment, _, label in diarization.crop(span, mode="intersection").itertracks(yield_label=True):
        if segment.duration > best_overlap:
            best_label, best_overlap = label, segment.duration
    return best_label


def _nearest_label(word: RecognizedWord, diarization: Annotation) -> str | None:
    middle = 0.5 * (word.start + word.end)
    best_label, best_distance = None, NEAREST_SPEAKER_MAX_S
    for segment, _, label in diarization.itertracks(yield_label=True):
        distance = max(segment.start - middle, middle - segment.end, 0.0)
        if distance < best_distance:
            best_label, best_distance = label, distance
    return best_label
