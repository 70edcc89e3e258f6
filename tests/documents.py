"""Hand-built transcript documents for renderer and output tests."""

from __future__ import annotations

from undertone.config import RenderSettings
from undertone.model import (
    AsrInfo, DiarizationInfo, Overlap, Pause, Pipeline, Source, Speaker, Transcript, Turn, Word,
)
from undertone.render.layout import layout_lines


def make_transcript(
    turns: list[tuple[str, list[str]]],
    pauses: dict[int, float] | None = None,
    gaps: dict[int, float] | None = None,
    overlaps: list[tuple[float, float]] | None = None,
    render: RenderSettings | None = None,
) -> Transcript:
    """Words 0.3 s long, 0.1 s apart; ``pauses``/``gaps`` map a word index to the silence after it."""
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
    speakers = sorted({s for s, _ in turns})
    transcript = Transcript(
        source=Source(path="interviews/p2.wav", sha256="ab" * 32, duration=clock + 1, sample_rate=16000, channels=1),
        pipeline=Pipeline(
            version="test", profile="offline",
            asr=AsrInfo(backend="test", model="none", language="en"),
            diarization=DiarizationInfo(backend="test", model=None),
            created="2026-01-01T00:00:00+00:00", config={}, notes=["a test document"],
        ),
        speakers=[Speaker(id=s, label={"S1": "I", "S2": "P2"}.get(s, s)) for s in speakers],
        words=words, turns=turn_records, pauses=pause_records,
        overlaps=[Overlap(start=a, end=b, speakers=speakers) for a, b in (overlaps or [])],
        annotations=[], lines=[],
    )
    transcript.lines = layout_lines(transcript, render or RenderSettings())
    return transcript
