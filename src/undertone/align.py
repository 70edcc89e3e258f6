"""Put words and speakers together: who said each word, where turns begin and end, overlaps.

Speaker ids are ``S1, S2, ...`` in order of first appearance, whatever the diarizer called them,
so the same recording always reads the same way.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from pyannote.core import Annotation

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
    """The diarisation label active over most of each word (None if no speaker is near).

    A word in a gap takes the nearest speaker within ``NEAREST_SPEAKER_MAX_S``, else the previous
    word's speaker. Segments are searched by bisection, so an hour of words takes milliseconds.
    """
    segments = _SortedSegments(diarization)
    labels: list[str | None] = []
    previous: str | None = None
    for word in words:
        label = segments.majority_label(word.start, max(word.end, word.start + 1e-3))
        if label is None:
            label = segments.nearest_label(0.5 * (word.start + word.end), NEAREST_SPEAKER_MAX_S)
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
    """Overlaps implied by turns of different speakers that run into each other in time.

    Pieces of one overlap that touch are joined before the length check: words are ordered by
    their start, so a backchannel that begins before the other speaker's last word splits that
    speaker's turn in two, and its overlap comes as two adjacent pieces.
    """
    pieces: list[OverlapSpan] = []
    for index, turn in enumerate(turns):
        for later in turns[index + 1 :]:
            if later.start >= turn.end:
                break
            if later.speaker == turn.speaker:
                continue
            start, end = later.start, min(turn.end, later.end)
            if end > start:
                pieces.append(OverlapSpan(start, end, tuple(sorted({turn.speaker, later.speaker}))))
    return [span for span in _join_touching(pieces) if span.end - span.start >= min_duration_s]


def _join_touching(spans: list[OverlapSpan]) -> list[OverlapSpan]:
    """Spans of the same speakers that touch or overlap, joined into one (ordered by start)."""
    joined: list[OverlapSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        previous = joined[-1] if joined else None
        if previous is not None and previous.speakers == span.speakers and span.start <= previous.end:
            joined[-1] = OverlapSpan(previous.start, max(previous.end, span.end), span.speakers)
        else:
            joined.append(span)
    return joined


class _SortedSegments:
    """Diarisation segments sorted by start, for fast lookup of the segments near a time."""

    def __init__(self, diarization: Annotation) -> None:
        tracks = sorted((s.start, s.end, label) for s, _, label in diarization.itertracks(yield_label=True))
        self.starts = [start for start, _, _ in tracks]
        self.ends = [end for _, end, _ in tracks]
        self.labels = [label for _, _, label in tracks]
        self.longest = max((e - s for s, e in zip(self.starts, self.ends)), default=0.0)

    def _near(self, start: float, end: float) -> range:
        """Indices of the segments that can intersect ``[start, end]``."""
        return range(bisect_left(self.starts, start - self.longest), bisect_right(self.starts, end))

    def majority_label(self, start: float, end: float) -> str | None:
        shared: dict[str, float] = {}
        for k in self._near(start, end):
            overlap = min(self.ends[k], end) - max(self.starts[k], start)
            if overlap > 0:
                shared[self.labels[k]] = shared.get(self.labels[k], 0.0) + overlap
        return max(shared, key=shared.__getitem__) if shared else None

    def nearest_label(self, time: float, max_distance: float) -> str | None:
        best_label, best_distance = None, max_distance
        for k in self._near(time - max_distance, time + max_distance):
            distance = max(self.starts[k] - time, time - self.ends[k], 0.0)
            if distance < best_distance:
                best_label, best_distance = self.labels[k], distance
        return best_label
