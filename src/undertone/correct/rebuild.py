"""Measure the corrected words again: pauses, turns, speaker levels, marks and lines.

The same measurement the pipeline makes (:func:`undertone.pipeline.build_transcript`), from the
corrected words and the recording, with the person's decisions on top:

- pauses and gaps are measured from the audio between the corrected words (word edges snap to
  them, as in the pipeline);
- marks are recomputed where words changed: in every turn holding a corrected, inserted, moved
  or re-timed word or the place of a deleted word; elsewhere the machine document's marks stay
  as they were (so a correction on line 3 never changes a mark on line 200);
- marks the person removed stay removed (any recomputed mark of that kind over those words is
  dropped) and marks the person added stay (with no measurement: value and unit null);
- turns are runs of one speaker, also split where the person split a turn;
- overlaps come from the machine document's diarisation (the audio did not change), or from the
  turns when the speakers came from a transcript;
- lines are laid out again, so numbering follows the corrected text.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from undertone.align import OverlapSpan, TurnSpan, group_turns, overlaps_from_turns
from undertone.annotate import annotate
from undertone.audio import SAMPLE_RATE, Audio
from undertone.config import Settings
from undertone.correct.replay import Corrections, MarkRef, WorkWord
from undertone.frames import Frames
from undertone.model import TRANSCRIPT_SPEAKERS, Annotation, Overlap, Pause, Speaker, Transcript, Turn, Word

# The pipeline's own helpers, so that corrected measurements are made exactly as the machine's.
from undertone.pipeline import frame_labels, frame_speakers, overlap_mask, silence_thresholds, spans_by_speaker
from undertone.pitch_range import speaker_pitch
from undertone.two_voices import Voices
from undertone.prosody import intensity_tracks, median_or_none
from undertone.render.layout import layout_lines
from undertone.silences import Silence, measure_silences, snap_word_edges
from undertone.transcribe import RecognizedWord

PERSON_ADDED = "reviewer"  # Annotation.source of a mark a person added


def rebuild(machine: Transcript, state: Corrections, audio: Audio, settings: Settings) -> tuple[Transcript, Frames]:
    """The corrected document (lines laid out) and its frame tracks."""
    words = state.words
    speakers = [w.speaker for w in words]
    mono = audio.mono
    intensity, edges = intensity_tracks(mono, SAMPLE_RATE)
    starts = np.array([w.start for w in words], dtype=np.float64)
    ends = np.array([max(w.end, w.start) for w in words], dtype=np.float64)
    frame_speaker = frame_speakers(len(intensity.times), starts, ends, speakers)
    thresholds = silence_thresholds(intensity, frame_speaker, set(speakers), settings)
    silences = measure_silences(starts, ends, speakers, edges, thresholds, settings.pauses)
    starts, ends = snap_word_edges(starts, ends, silences)
    silences = keep_machine_timing(machine, words, silences, starts, ends)

    timed = [RecognizedWord(w.text, float(s), float(e), w.confidence, w.kind) for w, s, e in zip(words, starts, ends)]
    turn_spans = split_turns(group_turns(timed, speakers), state, timed)
    if machine.pipeline.diarization.backend == TRANSCRIPT_SPEAKERS:
        overlap_spans = overlaps_from_turns(turn_spans)
    else:
        overlap_spans = [OverlapSpan(o.start, o.end, tuple(o.speakers)) for o in machine.overlaps]

    own_speech = frame_speakers(len(intensity.times), starts, ends, speakers)
    own_speech_all = own_speech.copy()
    own_speech[overlap_mask(intensity.times, overlap_spans)] = ""
    speakers_pitch = speaker_pitch(
        mono, SAMPLE_RATE, spans_by_speaker(turn_spans), len(intensity.times),
        settings.prosody.pitch_floor_hz, settings.prosody.pitch_ceiling_hz,
    )
    pitch = speakers_pitch.track
    f0_median_hz = {sid: median_or_none(pitch.values[own_speech == sid]) for sid in state.labels}
    annotated = annotate(
        [w.text for w in words], [w.kind for w in words], starts, ends, speakers, silences,
        [(o.start, o.end) for o in overlap_spans], intensity, pitch, f0_median_hz, settings.marks,
        voices=Voices(mono, SAMPLE_RATE, speakers_pitch),
    )
    measured = [
        Annotation(
            kind=mark.kind,
            start=float(ends[mark.first_word] if mark.kind == "latch" else starts[mark.first_word]),
            end=float(starts[mark.last_word] if mark.kind == "latch" else ends[mark.last_word]),
            first_word=mark.first_word, last_word=mark.last_word, value=mark.value, unit=mark.unit,
        )
        for mark in annotated.marks
    ]
    machine_speakers = {s.id: s for s in machine.speakers}
    nothing_changed = not any(w.edited or w.moved or w.touched for w in words) and len(words) == len(machine.words)
    document = machine.model_copy(deep=True)
    document.speakers = [
        _speaker(machine_speakers.get(sid), sid, label, role, f0_median_hz.get(sid), intensity.values[own_speech == sid],
                 keep_levels=nothing_changed)
        for sid, (label, role) in state.labels.items()
    ]
    document.words = [_word(i, w, float(starts[i]), float(ends[i])) for i, w in enumerate(words)]
    document.turns = [
        Turn(speaker=t.speaker, start=t.start, end=t.end, first_word=t.first_word, last_word=t.last_word)
        for t in turn_spans
    ]
    document.pauses = [
        Pause(start=s.start, end=s.end, duration=round(s.duration, 3), kind=s.kind, speaker=s.speaker,
              after_word=s.after_word, before_word=s.before_word)
        for s in silences
    ]
    document.overlaps = [Overlap(start=o.start, end=o.end, speakers=list(o.speakers)) for o in overlap_spans]
    document.annotations = merge_marks(machine, state, document, measured)
    document.lines = layout_lines(document, settings.render)
    frames = Frames(
        times=intensity.times, f0_hz=pitch.values, intensity_db=intensity.values,
        speaker=frame_labels(own_speech_all, intensity.times, overlap_spans),
    )
    return document, frames


def keep_machine_timing(
    machine: Transcript, words: list[WorkWord], silences: list[Silence], starts: np.ndarray, ends: np.ndarray
) -> list[Silence]:
    """Where nothing changed, the machine document's word times and silences stay exactly.

    Measuring again from already snapped edges can move an edge by a frame or a few; a person
    who corrected one word must not see pauses elsewhere change. A silence between two unchanged
    words that were neighbours in the machine document is the machine's; an unchanged word
    between two such neighbours keeps the machine's times. ``starts``/``ends`` change in place.
    """
    unchanged = [w.origin is not None and not (w.edited or w.moved or w.touched) for w in words]
    linked = [
        unchanged[i] and unchanged[i + 1] and words[i + 1].origin == (words[i].origin or 0) + 1
        for i in range(len(words) - 1)
    ]
    machine_after = {p.after_word: p for p in machine.pauses}
    kept = [s for s in silences if not linked[s.after_word]]
    for index, is_linked in enumerate(linked):
        pause = machine_after.get(words[index].origin) if is_linked else None
        if pause is not None:
            kept.append(Silence(pause.start, pause.end, index, index + 1, pause.kind, pause.speaker))
    for index, word in enumerate(words):
        if unchanged[index] and (index == 0 or linked[index - 1]) and (index == len(words) - 1 or linked[index]):
            original = machine.words[word.origin]  # type: ignore[index]
            starts[index], ends[index] = original.start, original.end
    return sorted(kept, key=lambda s: s.after_word)


def split_turns(turns: list[TurnSpan], state: Corrections, timed: list[RecognizedWord]) -> list[TurnSpan]:
    """Turns of one speaker split further where the person started a turn (``split_turn``)."""
    breaks = {index for index, word in enumerate(state.words) if word.id in state.breaks}
    result: list[TurnSpan] = []
    for turn in turns:
        first = turn.first_word
        cuts = sorted(b for b in breaks if turn.first_word < b <= turn.last_word)
        for cut in [*cuts, turn.last_word + 1]:
            part = timed[first:cut]
            result.append(replace(turn, first_word=first, last_word=cut - 1, start=part[0].start, end=max(w.end for w in part)))
            first = cut
    return result


def dirty_words(state: Corrections, turns: list[Turn]) -> set[int]:
    """Positions whose marks are measured again: every word of a turn that holds a changed word."""
    changed = {i for i, w in enumerate(state.words) if w.edited or w.moved or w.touched or w.timing}
    dirty: set[int] = set()
    for turn in turns:
        span = range(turn.first_word, turn.last_word + 1)
        if any(i in changed for i in span):
            dirty.update(span)
    return dirty


def merge_marks(machine: Transcript, state: Corrections, document: Transcript, measured: list[Annotation]) -> list[Annotation]:
    """Machine marks where nothing changed, new measurements where words changed, then the
    person's removals and additions."""
    dirty = dirty_words(state, document.turns)
    position_of_origin = {w.origin: i for i, w in enumerate(state.words) if w.origin is not None}
    words = document.words
    marks: list[Annotation] = []
    for mark in machine.annotations:
        first, last = position_of_origin.get(mark.first_word), position_of_origin.get(mark.last_word)
        if first is None or last is None or last - first != mark.last_word - mark.first_word:
            continue  # a word of it was deleted or words were inserted inside: measured again
        if any(i in dirty for i in range(first, last + 1)):
            continue
        marks.append(mark.model_copy(update={"first_word": first, "last_word": last}))
    marks += [m for m in measured if any(i in dirty for i in range(m.first_word, m.last_word + 1))]

    ids = {w.id: i for i, w in enumerate(state.words)}
    for removed in state.removed_marks:
        span = _span(removed, ids)
        if span is not None:
            marks = [m for m in marks if not (m.kind == removed.kind and m.first_word <= span[1] and m.last_word >= span[0])]
    for added in state.added_marks:
        span = _span(added, ids)
        if span is None or any(m.kind == added.kind and (m.first_word, m.last_word) == span for m in marks):
            continue
        first, last = span
        latch = added.kind == "latch"
        marks.append(
            Annotation(
                kind=added.kind, first_word=first, last_word=last, value=None, unit=None,
                start=words[first].end if latch else words[first].start,
                end=words[last].start if latch else words[last].end,
                source=PERSON_ADDED,
            )
        )
    marks.sort(key=lambda m: (m.first_word, m.last_word, m.kind))
    return marks


def _span(mark: MarkRef, ids: dict[str, int]) -> tuple[int, int] | None:
    """Positions of a person's mark now (None if its words were deleted since)."""
    first, last = ids.get(mark.first), ids.get(mark.last)
    if first is None or last is None or last < first:
        return None
    return first, last


def _word(index: int, word: WorkWord, start: float, end: float) -> Word:
    extra: dict[str, object] = {"id": word.id}
    if word.edited:
        extra["edited"] = word.edited
    if word.moved:
        extra["moved"] = True
    if word.timing:
        extra["timing"] = word.timing
    return Word(i=index, text=word.text, start=start, end=end, speaker=word.speaker,
                confidence=word.confidence, kind=word.kind, **extra)


def _speaker(
    machine: Speaker | None, sid: str, label: str, role: str | None, f0: float | None, levels: np.ndarray,
    keep_levels: bool,
) -> Speaker:
    """The speaker with the person's label and role; levels measured again unless nothing changed."""
    base = machine.model_dump() if machine is not None else {"id": sid}
    base.update(label=label, role=role)
    if not keep_levels or machine is None:
        level = median_or_none(levels)
        base.update(
            f0_median_hz=None if f0 is None else round(f0, 1),
            intensity_median_db=None if level is None else round(level, 1),
        )
    return Speaker.model_validate(base)
