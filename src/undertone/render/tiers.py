"""What goes on which tier in the time-aligned formats (ELAN ``.eaf`` and Praat ``.TextGrid``).

Both formats are labelled intervals on named tiers, and in both an interval must have a
positive length and must not overlap another interval of its tier. The transcript does not
promise either: speech recognisers give zero-length or touching words, a latch is a
zero-length moment between two words, and marks overlap freely (a loud stretch with a pitch
step and a rising end inside it). This module decides once, for both formats, how the document
becomes tiers that satisfy those rules, so that an ELAN and a Praat file of the same
transcript always agree:

- per speaker, a **words** tier (one interval per word, its plain text) and a **turns** tier
  (one interval per turn, its text in the transcript's notation, as printed);
- a **pauses** tier: every pause and gap, labelled as printed (``(0.7)``, ``(.)``);
- a **marks** tier: every annotation, labelled with its kind and measurement
  (``loud +7.2 dB re speaker``);
- an **overlaps** tier: every stretch of overlapping talk, labelled with who overlaps
  (``overlap I+P2``, speakers in the document's order).

With ``render.ascii`` every name and label is in its ASCII form (speaker names stay unique).

Rules, all in whole milliseconds (:mod:`undertone.render.timecode`): a word starting before
the previous word of its speaker ends starts at that end instead; anything shorter than 1 ms
is given 1 ms. Pauses, marks and overlaps that overlap each other are never merged or cut:
each keeps its own interval, and the ones that do not fit go on further tiers (``marks 2``,
``overlaps 2``, ...), as few as the overlaps need, so every annotation stays one interval
with its own times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from undertone.config import RenderSettings
from undertone.model import Annotation, Transcript
from undertone.render import notation
from undertone.render.layout import overlapped_words, pause_mark, shown_pauses_after, turn_tokens
from undertone.render.notation import to_ascii
from undertone.render.timecode import to_ms

PAUSES_TIER = "pauses"
MARKS_TIER = "marks"
OVERLAPS_TIER = "overlaps"
OVERLAP_LABEL = "overlap"
WORDS_SUFFIX = " words"
# Differences are printed with their sign (+7.2 dB, -4.1 st); ratios and durations are not.
SIGNED_UNITS = {"dB", "st"}


@dataclass(frozen=True)
class Interval:
    """A labelled stretch of time in whole milliseconds (``start < end``)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Tier:
    name: str
    intervals: list[Interval]


@dataclass(frozen=True)
class SpeakerTiers:
    """One speaker's tiers: ``name`` is the label a reader knows them by (unique per file)."""

    name: str
    turns: Tier
    words: Tier


def speaker_tiers(transcript: Transcript, settings: RenderSettings) -> list[SpeakerTiers]:
    """A turns tier and a words tier for every speaker, in the document's speaker order."""
    printable = _printable(settings)
    names = _speaker_names(transcript, settings)
    word_spans = _word_spans(transcript)
    shown = notation.shown(settings.notation)
    pauses_after = shown_pauses_after(transcript, shown)
    decorations = notation.decorate_words(transcript, settings.notation, overlapped_words(transcript))
    result = []
    for speaker_id, name in names.items():
        words = [
            Interval(*word_spans[w.i], printable(w.text)) for w in transcript.words if w.speaker == speaker_id
        ]
        turns = []
        for turn in (t for t in transcript.turns if t.speaker == speaker_id):
            spans = [word_spans[i] for i in range(turn.first_word, turn.last_word + 1)]
            tokens = turn_tokens(transcript, turn.first_word, turn.last_word, decorations, pauses_after)
            turns.append(Interval(spans[0][0], spans[-1][1], printable(" ".join(t.text for t in tokens))))
        words.sort(key=lambda interval: interval.start)
        result.append(SpeakerTiers(name, Tier(name, turns), Tier(name + WORDS_SUFFIX, words)))
    return result


def pause_tiers(transcript: Transcript) -> list[Tier]:
    """Pauses and gaps as printed; more than one tier only where pauses overlap."""
    intervals = [_interval(to_ms(p.start), to_ms(p.end), pause_mark(p)) for p in transcript.pauses]
    return stack(PAUSES_TIER, intervals)


def mark_tiers(transcript: Transcript, settings: RenderSettings | None = None) -> list[Tier]:
    """Every annotation with its measurement, overlapping ones spread over further tiers.

    A mark without duration (a latch between two touching words) spans the words it joins.
    """
    printable = _printable(settings)
    intervals = []
    for annotation in transcript.annotations:
        start, end = to_ms(annotation.start), to_ms(annotation.end)
        if end <= start:
            start = to_ms(transcript.words[annotation.first_word].start)
            end = to_ms(transcript.words[annotation.last_word].end)
        intervals.append(_interval(start, end, printable(mark_text(annotation))))
    return stack(MARKS_TIER, intervals)


def overlap_tiers(transcript: Transcript, settings: RenderSettings | None = None) -> list[Tier]:
    """Every stretch of overlapping talk, ``overlap I+P2``, on as few tiers as it needs."""
    names = _speaker_names(transcript, settings)
    printable = _printable(settings)
    intervals = []
    for overlap in transcript.overlaps:
        who = [names[s] for s in names if s in overlap.speakers]
        who += [printable(transcript.speaker_label(s)) for s in overlap.speakers if s not in names]
        intervals.append(_interval(to_ms(overlap.start), to_ms(overlap.end), f"{OVERLAP_LABEL} {'+'.join(who)}"))
    return stack(OVERLAPS_TIER, intervals)


def mark_text(annotation: Annotation) -> str:
    """``loud +7.2 dB re speaker``: the mark's kind and the measurement behind it."""
    if annotation.value is None:
        return annotation.kind
    unit = annotation.unit or ""
    value = f"{annotation.value:+g}" if unit.split(" ")[0] in SIGNED_UNITS else f"{annotation.value:g}"
    return " ".join(part for part in (annotation.kind, value, unit) if part)


def stack(name: str, intervals: list[Interval]) -> list[Tier]:
    """Spread intervals over as few tiers as keep each tier free of overlaps.

    The first tier is ``name``, further ones ``name 2``, ``name 3``, ... (first fit in time
    order, which needs exactly as many tiers as intervals overlap at the busiest moment).
    There is always at least one tier, empty if there are no intervals.
    """
    layers: list[list[Interval]] = []
    for interval in sorted(intervals, key=lambda i: (i.start, i.end)):
        for layer in layers:
            if layer[-1].end <= interval.start:
                layer.append(interval)
                break
        else:
            layers.append([interval])
    return [Tier(name if k == 0 else f"{name} {k + 1}", layer) for k, layer in enumerate(layers or [[]])]


def _speaker_names(transcript: Transcript, settings: RenderSettings | None = None) -> dict[str | None, str]:
    """Speaker id -> tier name: the label as printed, made unique if two speakers share one
    (``Zoë`` and ``Zoe`` do in ASCII)."""
    printable = _printable(settings)
    ids: list[str | None] = [s.id for s in transcript.speakers]
    ids += sorted({w.speaker for w in transcript.words if w.speaker not in ids}, key=lambda s: s or "")
    names: dict[str | None, str] = {}
    for speaker_id in ids:
        label = printable(transcript.speaker_label(speaker_id))
        names[speaker_id] = label if label not in names.values() else printable(f"{label} ({speaker_id})")
    return names


def _printable(settings: RenderSettings | None) -> Callable[[str], str]:
    return to_ascii if settings is not None and settings.ascii else str


def _word_spans(transcript: Transcript) -> dict[int, tuple[int, int]]:
    """Each word's (start, end) in ms, made positive and non-overlapping within its speaker."""
    spans: dict[int, tuple[int, int]] = {}
    previous_end: dict[str | None, int] = {}
    for word in sorted(transcript.words, key=lambda w: (w.start, w.i)):
        start = max(to_ms(word.start), previous_end.get(word.speaker, 0))
        end = max(to_ms(word.end), start + 1)
        spans[word.i] = (start, end)
        previous_end[word.speaker] = end
    return spans


def _interval(start: int, end: int, text: str) -> Interval:
    start = max(start, 0)
    return Interval(start, max(end, start + 1), text)
