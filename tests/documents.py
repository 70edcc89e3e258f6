"""Hand-built transcript documents for renderer and output tests."""

from __future__ import annotations

from undertone.config import RenderSettings
from undertone.model import (
    Annotation, AsrInfo, DiarizationInfo, Overlap, Pause, Pipeline, Source, Speaker, Transcript, Turn, Word,
)
from undertone.render.layout import layout_lines

# (kind, first word, last word, value, unit)
MarkSpec = tuple[str, int, int, "float | None", "str | None"]


def make_transcript(
    turns: list[tuple[str, list[str]]],
    pauses: dict[int, float] | None = None,
    gaps: dict[int, float] | None = None,
    overlaps: list[tuple[float, float]] | None = None,
    render: RenderSettings | None = None,
    annotations: list[MarkSpec] | None = None,
) -> Transcript:
    """Words 0.3 s long, 0.1 s apart; ``pauses``/``gaps`` map a word index to the silence after it.

    ``annotations`` are marks over word ranges, timed from their words as the pipeline does (a
    latch runs from the end of its first word to the start of the next).
    """
    pauses, gaps = pauses or {}, gaps or {}
    words, turn_records, pause_records = [], [], []
    clock = 0.0
    for speaker, texts in turns:
        first = len(words)
        for text in texts:
            i = len(words)
            words.append(Word(i=i, text=text, start=clock, end=clock + 0.3, speaker=speaker, confidence=0.9))
            clock += 0.4
            silence = pauses.get(i) or gaps.get(i)
            if silence:
                kind = "gap" if i in gaps else ("micropause" if silence < 0.2 else "pause")
                pause_records.append(
                    Pause(start=clock - 0.1, end=clock - 0.1 + silence, duration=silence, kind=kind,
                          speaker=None if kind == "gap" else speaker, after_word=i, before_word=i + 1)
                )
                clock += silence
        turn_records.append(Turn(speaker=speaker, start=words[first].start, end=words[-1].end,
                                 first_word=first, last_word=len(words) - 1))
    marks = [
        Annotation(kind=kind, first_word=first, last_word=last, value=value, unit=unit,
                   start=words[first].end if kind == "latch" else words[first].start,
                   end=words[last].start if kind == "latch" else words[last].end)
        for kind, first, last, value, unit in (annotations or [])
    ]
    return _document(words, turn_records, pause_records, overlaps or [], marks, clock + 1, render)


def from_words(words: list[tuple[str, str, float, float]], duration: float | None = None) -> Transcript:
    """A document from ``(speaker, text, start, end)`` words: turns are runs of one speaker.

    Words are sorted by start; no pauses, overlaps or marks are measured.
    """
    records = [
        Word(i=i, text=text, start=start, end=end, speaker=speaker, confidence=None)
        for i, (speaker, text, start, end) in enumerate(sorted(words, key=lambda w: w[2]))
    ]
    turns: list[Turn] = []
    for word in records:
        if turns and turns[-1].speaker == word.speaker:
            turns[-1] = turns[-1].model_copy(update={"end": max(turns[-1].end, word.end), "last_word": word.i})
        else:
            turns.append(Turn(speaker=word.speaker, start=word.start, end=word.end, first_word=word.i, last_word=word.i))
    end = max((w.end for w in records), default=0.0)
    return _document(records, turns, [], [], [], duration if duration is not None else end + 1, None)


def _document(
    words: list[Word], turns: list[Turn], pauses: list[Pause], overlaps: list[tuple[float, float]],
    annotations: list[Annotation], duration: float, render: RenderSettings | None,
) -> Transcript:
    speakers = sorted({t.speaker for t in turns})
    transcript = Transcript(
        source=Source(path="interviews/p2.wav", sha256="ab" * 32, duration=duration, sample_rate=16000, channels=1),
        pipeline=Pipeline(
            version="test", profile="offline",
            asr=AsrInfo(backend="test", model="none", language="en"),
            diarization=DiarizationInfo(backend="test", model=None),
            created="2026-01-01T00:00:00+00:00", config={}, notes=["a test document"],
        ),
        speakers=[Speaker(id=s, label={"S1": "I", "S2": "P2"}.get(s, s)) for s in speakers],
        words=words, turns=turns, pauses=pauses,
        overlaps=[Overlap(start=a, end=b, speakers=speakers) for a, b in overlaps],
        annotations=annotations, lines=[],
    )
    transcript.lines = layout_lines(transcript, render or RenderSettings())
    return transcript
