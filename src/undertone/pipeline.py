"""One recording through every stage, as plain function calls (no Prefect needed).

load audio -> transcribe (or align a known transcript) and diarise (by channel, for one
microphone per person) -> re-time recognised words -> align words to speakers -> prosodic
analysis -> annotate -> name the speakers -> lay out lines. ``flows/`` wraps the same functions
as Prefect tasks; the command line calls :func:`process_file`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from undertone import __version__, progress
from undertone.align import (
    OverlapSpan,
    TurnSpan,
    assign_speakers,
    find_overlaps,
    group_turns,
    overlaps_from_turns,
    speaker_ids,
)
from undertone.annotate import annotate
from undertone.silences import measure_silences, silence_threshold_db, snap_word_edges
from undertone.pitch_range import speaker_pitch
from undertone.two_voices import Voices
from undertone.audio import FRAME_HOP_S, SAMPLE_RATE, Audio, load
from undertone.config import Settings
from undertone.diarize import Diarization
from undertone.frames import Frames
from undertone.freshness import speakers_sidecar
from undertone.model import (
    ALIGNMENT_BACKEND,
    TRANSCRIPT_SPEAKERS,
    Annotation,
    AsrInfo,
    DiarizationInfo,
    Overlap,
    Pause,
    Pipeline,
    Source,
    Speaker,
    Transcript,
    Turn,
    Word,
)
from undertone.prosody import (
    Track,
    intensity_tracks,
    median_or_none,
    noise_floor_db,
)
from undertone.render.layout import layout_lines
from undertone.speakers import SpeakerNames, name_speakers, read_sidecar
from undertone.transcribe import Recognition, RecognizedWord

if TYPE_CHECKING:
    from undertone.transcribe.known import KnownTurn

OFFLINE_ASR_NOTE = (
    "words recognised by pocketsphinx (offline profile): expect many misrecognised words; "
    "check against the audio, or use the default profile (Whisper)"
)
EMBEDDED_DIARIZER_NOTE = (
    "speakers separated by the embedded diarizer (offline profile): less accurate than "
    "pyannote.audio, especially with more than two speakers or much overlapping talk"
)
NO_SPEECH_NOTE = "no words found: the recording seems to hold no speech (silence or noise only)"

Report = Callable[[str], None]


@dataclass(frozen=True)
class Analysis:
    """What one recording yields: the transcript document and the frame tracks behind it."""

    transcript: Transcript
    frames: Frames


def transcribe_audio(
    audio: Audio,
    settings: Settings,
    known: list[KnownTurn] | None = None,
    transcript_path: Path | None = None,
) -> Recognition:
    """Words with times: ASR by the profile's backend, or alignment of a known transcript."""
    if known is not None:
        from undertone.transcribe import sphinx

        recognition = sphinx.align(audio.mono, known, SAMPLE_RATE, path=transcript_path)
        recognition.backend = ALIGNMENT_BACKEND
        return recognition
    asr = settings.asr
    if asr.backend == "pocketsphinx":
        from undertone.transcribe import sphinx

        recognition = sphinx.recognize(audio.mono, SAMPLE_RATE, language=asr.language or "en", processes=asr.processes)
        recognition.notes.append(OFFLINE_ASR_NOTE)
    else:
        recognition = _whisper(audio, settings)
    return recognition


def retime_words(
    audio: Audio, recognition: Recognition, diarization: Diarization | None, settings: Settings
) -> Recognition:
    """Recognised words re-timed by forced alignment (setting ``asr.align_words``; a known
    transcript's words already are). It runs once the diarisation is known: each word is given
    its speaker first, so that a short turn spoken over the end of the other person's turn can
    be placed there (see :mod:`undertone.transcribe.realign`)."""
    if not settings.asr.align_words or recognition.backend == ALIGNMENT_BACKEND or not recognition.words:
        return recognition
    from undertone.transcribe.realign import align_recognised_words

    speakers = None
    if diarization is not None:
        speakers = assign_speakers(recognition.words, diarization.exclusive or diarization.annotation)
    return align_recognised_words(audio.mono, recognition, speakers, processes=settings.asr.processes)


def _whisper(audio: Audio, settings: Settings) -> Recognition:
    """Whisper's words, decoded only where voice activity finds speech."""
    from undertone.diarize.vad import speech_regions
    from undertone.transcribe import whisper_backend

    asr = settings.asr
    # Whisper decodes only where someone speaks: it invents text over long silences.
    regions = [(segment.start, segment.end) for segment in speech_regions(audio.mono, SAMPLE_RATE)]
    return whisper_backend.transcribe(
        audio.mono,
        model=asr.model,
        language=asr.language,
        models_dir=settings.models_dir,
        device=asr.device,
        verbatim=asr.verbatim,
        speech_regions=regions,
    )


def import_backends(settings: Settings, aligning: bool = False) -> None:
    """Import the stage modules up front, before transcription and diarisation run side by side:
    two threads importing the same packages (scipy) at once can fail with a KeyError in importlib."""
    import importlib

    transcriber = "sphinx" if aligning or settings.asr.backend == "pocketsphinx" else "whisper_backend"
    diarizer = "embedded" if settings.diarization.backend == "embedded" else "pyannote_backend"
    names = [f"transcribe.{transcriber}", f"diarize.{diarizer}", "diarize.vad", "diarize.channels"]
    if settings.asr.align_words and not aligning:
        names += ["transcribe.sphinx", "transcribe.realign"]
    for name in names:
        importlib.import_module(f"undertone.{name}")


def diarize_audio(audio: Audio, settings: Settings) -> Diarization:
    """Who spoke when: by channel for a recording with one microphone per person (setting
    ``diarization.channels``), else by the profile's diarisation backend on the mono mix."""
    options = settings.diarization
    notes: list[str] = []
    if options.channels != "mixed":
        from undertone.diarize import channels

        layout = channels.detect_layout(audio.channels, SAMPLE_RATE)
        if layout.split or (options.channels == "split" and audio.n_channels > 1):
            return channels.diarize(audio.channels, SAMPLE_RATE, layout=layout)
        if options.channels == "split":
            notes.append("channels = split, but the recording has one channel: speakers diarised from the mix")
    diarization = _diarize_mix(audio, settings)
    diarization.notes.extend(notes)
    return diarization


def _diarize_mix(audio: Audio, settings: Settings) -> Diarization:
    """The profile's diarisation backend on the mono mix."""
    options = settings.diarization
    if options.backend == "embedded":
        from undertone.diarize import embedded

        return embedded.diarize(
            audio.mono,
            SAMPLE_RATE,
            num_speakers=options.speakers,
            min_speakers=options.min_speakers,
            max_speakers=options.max_speakers,
        )
    from undertone.diarize import pyannote_backend

    return pyannote_backend.diarize(
        audio.mono,
        SAMPLE_RATE,
        model=options.model or "pyannote/speaker-diarization-community-1",
        models_dir=settings.models_dir,
        num_speakers=options.speakers,
        min_speakers=options.min_speakers,
        max_speakers=options.max_speakers,
        device=options.device,
    )


def build_transcript(
    audio: Audio,
    recognition: Recognition,
    diarization: Diarization | None,
    settings: Settings,
    names: SpeakerNames | None = None,
) -> Analysis:
    """Align, measure, annotate, name the speakers and lay out: everything after the models, as
    one pure computation. ``names`` is the recording's speakers sidecar (:func:`read_speaker_names`);
    without one, the configuration's ``[speakers]`` table applies."""
    recognized = sorted(recognition.words, key=lambda w: (w.start, w.end))
    labels_from_transcript = diarization is None and any(w.speaker for w in recognized)
    speakers, label_to_id = _speaker_of_each_word(recognized, diarization)

    intensity, edges = intensity_tracks(audio.mono, SAMPLE_RATE)
    starts = np.array([w.start for w in recognized], dtype=np.float64)
    ends = np.array([max(w.end, w.start) for w in recognized], dtype=np.float64)
    frame_speaker = frame_speakers(len(intensity.times), starts, ends, speakers)

    # Silences are measured on 10 ms frames, against each speaker's own speech level.
    thresholds = silence_thresholds(intensity, frame_speaker, set(speakers), settings)
    silences = measure_silences(starts, ends, speakers, edges, thresholds, settings.pauses)
    starts, ends = snap_word_edges(starts, ends, silences)

    turn_spans = group_turns(_with_times(recognized, starts, ends), speakers)
    if diarization is not None:
        overlap_spans = find_overlaps(diarization.annotation, label_to_id)
    else:
        overlap_spans = overlaps_from_turns(turn_spans)
    # Speaker levels from the measured word edges; overlaps would mix two voices.
    own_speech = frame_speakers(len(intensity.times), starts, ends, speakers)
    own_speech_all = own_speech.copy()
    own_speech[overlap_mask(intensity.times, overlap_spans)] = ""
    speakers_pitch = speaker_pitch(
        audio.mono,
        SAMPLE_RATE,
        spans_by_speaker(turn_spans),
        len(intensity.times),
        settings.prosody.pitch_floor_hz,
        settings.prosody.pitch_ceiling_hz,
    )
    pitch = speakers_pitch.track
    f0_median_hz = {
        sid: median_or_none(pitch.values[own_speech == sid]) for sid in label_to_id.values()
    }
    speaker_records = [
        Speaker(
            id=sid,
            label=label if labels_from_transcript else sid,
            f0_median_hz=_round(f0_median_hz[sid]),
            intensity_median_db=_round(median_or_none(intensity.values[own_speech == sid])),
            channel=(diarization.channels or {}).get(label) if diarization is not None else None,
        )
        for label, sid in label_to_id.items()
    ]
    annotated = annotate(
        [w.text for w in recognized],
        [w.kind for w in recognized],
        starts,
        ends,
        speakers,
        silences,
        [(o.start, o.end) for o in overlap_spans],
        intensity,
        pitch,
        f0_median_hz,
        settings.marks,
        voices=Voices(audio.mono, SAMPLE_RATE, speakers_pitch),
    )

    transcript = Transcript(
        source=_source(audio),
        pipeline=_pipeline_record(recognition, diarization, settings),
        speakers=speaker_records,
        words=[
            Word(
                i=i,
                text=w.text,
                start=float(starts[i]),
                end=float(ends[i]),
                speaker=speakers[i],
                confidence=w.confidence,
                kind=w.kind,
            )
            for i, w in enumerate(recognized)
        ],
        turns=[
            Turn(speaker=t.speaker, start=t.start, end=t.end, first_word=t.first_word, last_word=t.last_word)
            for t in turn_spans
        ],
        pauses=[
            Pause(
                start=s.start,
                end=s.end,
                duration=round(s.duration, 3),
                kind=s.kind,
                speaker=s.speaker,
                after_word=s.after_word,
                before_word=s.before_word,
            )
            for s in silences
        ],
        overlaps=[Overlap(start=o.start, end=o.end, speakers=list(o.speakers)) for o in overlap_spans],
        annotations=[
            Annotation(
                kind=mark.kind,
                start=float(ends[mark.first_word] if mark.kind == "latch" else starts[mark.first_word]),
                end=float(starts[mark.last_word] if mark.kind == "latch" else ends[mark.last_word]),
                first_word=mark.first_word,
                last_word=mark.last_word,
                value=mark.value,
                unit=mark.unit,
            )
            for mark in annotated.marks
        ],
        lines=[],
    )
    # Labels are printed, and the guess needs the intonation marks: name between the two.
    if names is None and settings.speakers:
        names = SpeakerNames(dict(settings.speakers))
    naming = name_speakers(
        transcript, names, guess=not labels_from_transcript, sidecar_hint=speakers_sidecar(audio.path).name
    )
    transcript.speakers = naming.speakers
    transcript.pipeline.notes.extend(naming.notes)
    transcript.lines = layout_lines(transcript, settings.render)
    frames = Frames(
        times=intensity.times,
        f0_hz=pitch.values,
        intensity_db=intensity.values,
        speaker=frame_labels(own_speech_all, intensity.times, overlap_spans),
    )
    return Analysis(transcript, frames)


def process_file(
    audio_path: Path,
    settings: Settings,
    transcript_path: Path | None = None,
    report: Report = progress.report,
) -> Analysis:
    """Run every stage on one recording; ``report`` is told each stage as it starts (by
    default, the listener of :mod:`undertone.progress`)."""
    from undertone.transcribe.known import parse_transcript

    names = read_speaker_names(audio_path)  # a malformed sidecar stops before any work
    report("loading audio")
    audio = load(audio_path)
    known = parse_transcript(transcript_path) if transcript_path is not None else None
    report("aligning transcript" if known else "transcribing")
    recognition = transcribe_audio(audio, settings, known, transcript_path)
    diarization = None
    if known is None:
        report("diarising")
        diarization = diarize_audio(audio, settings)
        if settings.asr.align_words:
            report("re-timing words")
            recognition = retime_words(audio, recognition, diarization, settings)
    report("analysing")
    return build_transcript(audio, recognition, diarization, settings, names)


def read_speaker_names(audio_path: Path) -> SpeakerNames | None:
    """The recording's speakers sidecar (``<stem>.speakers.toml`` beside it), if it has one."""
    return read_sidecar(speakers_sidecar(Path(audio_path)))


def _with_times(words: list[RecognizedWord], starts: np.ndarray, ends: np.ndarray) -> list[RecognizedWord]:
    """Copies of the recognised words carrying the measured (snapped) times."""
    return [replace(w, start=float(s), end=float(e)) for w, s, e in zip(words, starts, ends)]


def _speaker_of_each_word(
    words: list[RecognizedWord], diarization: Diarization | None
) -> tuple[list[str], dict[str, str]]:
    """Each word's speaker id, and the map from engine or transcript labels to those ids.

    Words that carry labels keep them: a transcript's speakers, or the diarisation's given to
    them before re-timing (:func:`retime_words`, which may have moved a backchannel into the
    other person's turn, where the diarisation would give it to that person). Others are
    attributed with the diarisation's exclusive view when it has one (one speaker at a time,
    as pyannote.audio 4 derives for ASR words): in the overlap-aware view, a short backchannel
    lies inside the other speaker's long turn, which would take its words.
    """
    if diarization is not None and not any(w.speaker for w in words):
        labels = assign_speakers(words, diarization.exclusive or diarization.annotation)
    else:
        labels = [w.speaker for w in words]
    label_to_id = speaker_ids(labels)
    if words and not label_to_id:  # words but no speaker information at all: one speaker
        label_to_id = {"S1": "S1"}
    first = next(iter(label_to_id.values()), "S1")
    return [label_to_id[label] if label else first for label in labels], label_to_id


def silence_thresholds(
    intensity: Track, frame_speaker: np.ndarray, speakers: set[str], settings: Settings
) -> dict[str, float]:
    """Per speaker, the level below which a frame counts as silence: relative to their own speech."""
    floor = noise_floor_db(intensity)
    thresholds = {}
    for sid in speakers:
        level = median_or_none(intensity.values[frame_speaker == sid])
        # A speaker with no measurable speech frames: only the noise floor can tell silence.
        level = level if level is not None else floor + settings.pauses.silence_below_speaker_db
        thresholds[sid] = silence_threshold_db(level, floor, settings.pauses.silence_below_speaker_db)
    return thresholds


def _source(audio: Audio) -> Source:
    return Source(
        path=str(audio.path),
        sha256=audio.sha256,
        duration=round(audio.duration, 3),
        sample_rate=audio.sample_rate,
        channels=audio.n_channels,
    )


def _pipeline_record(recognition: Recognition, diarization: Diarization | None, settings: Settings) -> Pipeline:
    return Pipeline(
        version=__version__,
        profile=settings.profile,
        asr=AsrInfo(backend=recognition.backend, model=recognition.model, language=recognition.language),
        diarization=DiarizationInfo(
            backend=diarization.backend if diarization else TRANSCRIPT_SPEAKERS,
            model=diarization.model if diarization else None,
        ),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        config=settings.to_record(),
        notes=_notes(recognition, diarization),
    )


def _notes(recognition: Recognition, diarization: Diarization | None) -> list[str]:
    notes = list(recognition.notes)
    if not recognition.words:  # an empty transcript must say why it is empty
        notes.append(NO_SPEECH_NOTE)
    if diarization is not None:
        notes.extend(diarization.notes)
        if diarization.backend == "embedded":
            notes.append(EMBEDDED_DIARIZER_NOTE)
    return notes


def frame_speakers(n_frames: int, starts: np.ndarray, ends: np.ndarray, speakers: list[str]) -> np.ndarray:
    """For each 10 ms frame, the speaker whose word covers it ('' where nobody speaks)."""
    owner = np.full(n_frames, "", dtype=object)
    first = np.clip(np.round(starts / FRAME_HOP_S).astype(int), 0, n_frames)
    last = np.clip(np.round(ends / FRAME_HOP_S).astype(int), 0, n_frames)
    for a, b, sid in zip(first, last, speakers):
        owner[a:b] = sid
    return owner


def frame_labels(owner: np.ndarray, times: np.ndarray, overlaps: list[OverlapSpan]) -> np.ndarray:
    """Each frame's speaker for the frames table; ``S1+S2`` where two people speak."""
    labels = owner.copy()
    for overlap in overlaps:
        labels[(times >= overlap.start) & (times < overlap.end)] = "+".join(overlap.speakers)
    return labels


def overlap_mask(times: np.ndarray, overlaps: list[OverlapSpan]) -> np.ndarray:
    """Frames where two people speak at once: left out of each speaker's own levels."""
    mask = np.zeros(len(times), dtype=bool)
    for overlap in overlaps:
        mask |= (times >= overlap.start) & (times < overlap.end)
    return mask


def spans_by_speaker(turns: list[TurnSpan]) -> dict[str, list[tuple[float, float]]]:
    """Each speaker's turns as (start, end) spans: where to measure their pitch range."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for turn in turns:
        spans.setdefault(turn.speaker, []).append((turn.start, turn.end))
    return spans


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
