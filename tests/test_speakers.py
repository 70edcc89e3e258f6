"""Speakers as people: sidecar and configured names, the interviewer guess, stable ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from pyannote.core import Annotation, Segment
from typer.testing import CliRunner

from documents import make_transcript
from synth import SR, silence, voiced
from undertone import pipeline
from undertone.audio import from_array
from undertone.cli import app
from undertone.config import load_settings
from undertone.diarize import Diarization
from undertone.errors import ConfigError
from undertone.freshness import speakers_sidecar
from undertone.speakers import SpeakerNames, count_questions, name_speakers, opens_question, read_sidecar
from undertone.transcribe import Recognition, RecognizedWord

SIDECAR = """
[speakers.S1]
label = "Anna"
role = "interviewer"

[speakers.S2]
label = "P7"
role = "participant"
"""

# (speaker label in the fake diarisation, f0 of its tone voice, words): two people taking turns.
EXCHANGE = [
    ("SPEAKER_01", 120.0, ["could", "you", "tell", "me", "about", "it"]),
    ("SPEAKER_00", 210.0, ["i", "work", "in", "an", "office", "near", "here"]),
    ("SPEAKER_01", 120.0, ["and", "how", "do", "you", "feel", "there"]),
    ("SPEAKER_00", 210.0, ["mostly", "fine", "most", "days"]),
]
WORD_S, TURN_GAP_S = 0.3, 0.6


def _exchange() -> tuple[np.ndarray, Recognition, Diarization]:
    """Tone voices with known word times, the words as ASR would give them, and the turns."""
    pieces, words, annotation, t = [silence(0.5)], [], Annotation(), 0.5
    for label, f0, texts in EXCHANGE:
        start = t
        for text in texts:
            words.append(RecognizedWord(text, t, t + WORD_S - 0.05, confidence=0.9))
            t += WORD_S
        pieces += [voiced(f0, t - start), silence(TURN_GAP_S)]
        annotation[Segment(start, t)] = label
        t += TURN_GAP_S
    recognition = Recognition(words, backend="test", model="none", language="en")
    return np.concatenate(pieces), recognition, Diarization(annotation, backend="test", model=None)


@pytest.fixture
def exchange_run(tmp_path: Path, monkeypatch):
    """A recording in ``tmp_path`` whose models are replaced by the exchange's known answers."""
    samples, recognition, diarization = _exchange()
    path = tmp_path / "p7.wav"
    soundfile.write(path, samples, SR)
    monkeypatch.setattr(pipeline, "transcribe_audio", lambda *args, **kwargs: recognition)
    monkeypatch.setattr(pipeline, "diarize_audio", lambda *args, **kwargs: diarization)

    def run(*options: str):
        out = tmp_path / "out"
        result = CliRunner().invoke(
            app, ["process", str(path), "--out", str(out), "--profile", "offline", "--formats", "txt,html", "--force", *options]
        )
        return result, out

    return path, run


# ----------------------------------------------------------------------------- sidecar


def test_sidecar_labels_reach_the_text_and_the_review_page(exchange_run):
    path, run = exchange_run
    speakers_sidecar(path).write_text(SIDECAR)
    result, out = run()
    assert result.exit_code == 0, result.output
    document = json.loads((out / "p7.json").read_text())
    assert [(s["id"], s["label"], s["role"]) for s in document["speakers"]] == [
        ("S1", "Anna", "interviewer"), ("S2", "P7", "participant"),
    ]
    assert "speaker labels from p7.speakers.toml" in document["pipeline"]["notes"]
    text = (out / "p7.txt").read_text()
    assert "Speakers:  Anna (interviewer), P7 (participant)" in text
    assert "Anna:  could you tell me" in text and "P7:  " in text
    page = (out / "p7.html").read_text()
    assert '<span class="who">Anna:</span>' in page and '<span class="who">P7:</span>' in page


def test_without_a_sidecar_the_interviewer_is_guessed(exchange_run):
    _, run = exchange_run
    result, out = run()
    assert result.exit_code == 0, result.output
    document = json.loads((out / "p7.json").read_text())
    assert [(s["label"], s["role"]) for s in document["speakers"]] == [("I", "interviewer"), ("P", "participant")]
    assert any(note.startswith("speaker labels guessed (I = S1, P = S2)") for note in document["pipeline"]["notes"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[speakers.S1\nlabel = 'I'", "not valid TOML"),
        ("[speakers.S1]\nlable = 'I'", "speakers.S1.lable"),
        ("[speakers.S1]\nlabel = '  '", "speakers.S1.label"),
        ("[speakers.S1]\nlabel = 'P'\n[speakers.S2]\nlabel = 'p'", "same label"),
        ("[speakers.S1]\nlabel = 'I'\n[speakers.ch2]\nlabel = 'P'", "not both"),
        ("[speakers.P1]\nlabel = 'I'", "neither a speaker id"),
        ("[speakers.S1]\nlabel = 'S2'", "looks like another speaker's id"),
        ("[people.S1]\nlabel = 'I'", "people"),
        ("speakers = 3", "speakers"),
    ],
)
def test_malformed_sidecars_are_one_clear_error(tmp_path: Path, content: str, problem: str):
    sidecar = tmp_path / "p7.speakers.toml"
    sidecar.write_text(content)
    with pytest.raises(ConfigError) as caught:
        read_sidecar(sidecar)
    assert caught.value.path == sidecar
    assert problem in str(caught.value)


def test_malformed_sidecar_fails_that_recording_with_exit_code_5(exchange_run):
    path, run = exchange_run
    speakers_sidecar(path).write_text("[speakers.S1]\nlable = 'I'\n")
    result, out = run()
    assert result.exit_code == ConfigError.exit_code
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "p7.speakers.toml: invalid speakers sidecar: speakers.S1.lable" in errors[0]
    assert not (out / "p7.json").exists()


def test_sidecar_that_is_not_utf8_is_one_clear_error(tmp_path: Path):
    sidecar = tmp_path / "p7.speakers.toml"
    sidecar.write_bytes("[speakers.S1]\nlabel = 'Jos\xe9'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_sidecar(sidecar)


def test_no_sidecar_is_not_an_error(tmp_path: Path):
    assert read_sidecar(tmp_path / "p7.speakers.toml") is None


# ----------------------------------------------------------------------------- configuration


def test_config_table_applies_and_a_sidecar_replaces_it(tmp_path: Path):
    config = tmp_path / "study.toml"
    config.write_text("[speakers.S1]\nlabel = 'IV'\nrole = 'interviewer'\n")
    settings = load_settings("offline", config)
    assert settings.speakers["S1"].label == "IV"
    transcript = _unnamed(make_transcript([("S1", ["so", "how", "are", "you"]), ("S2", ["fine", "thanks"])]))
    from_config = name_speakers(transcript, SpeakerNames(dict(settings.speakers)), guess=True)
    assert [(s.label, s.role) for s in from_config.speakers] == [("IV", "interviewer"), ("S2", None)]
    sidecar = tmp_path / "p7.speakers.toml"
    sidecar.write_text("[speakers.S2]\nlabel = 'P7'\n")
    from_sidecar = name_speakers(transcript, read_sidecar(sidecar), guess=True)
    assert [(s.label, s.role) for s in from_sidecar.speakers] == [("S1", None), ("P7", None)]


def test_config_table_is_validated_like_a_sidecar(tmp_path: Path):
    config = tmp_path / "study.toml"
    config.write_text("[speakers.S1]\nlabel = 'I'\n[speakers.S2]\nlabel = 'I'\n")
    with pytest.raises(ConfigError, match="study.toml.*speakers"):
        load_settings("offline", config)


def test_names_by_channel_apply_to_channel_speakers_only():
    transcript = make_transcript([("S1", ["hello", "there"]), ("S2", ["hi"])])
    names = SpeakerNames({"ch1": _name("P3"), "ch2": _name("I")}, Path("x.speakers.toml"))
    unchanged = name_speakers(transcript, names, guess=True)
    assert [s.label for s in unchanged.speakers] == [s.label for s in transcript.speakers]
    assert "not diarised by channel" in unchanged.notes[0]
    transcript.speakers = [s.model_copy(update={"channel": c}) for s, c in zip(transcript.speakers, (2, 1))]
    named = name_speakers(transcript, names, guess=True)
    assert [(s.id, s.label) for s in named.speakers] == [("S1", "I"), ("S2", "P3")]


def test_unused_names_are_noted_and_clashes_are_errors():
    transcript = make_transcript([("S1", ["hello"]), ("S2", ["hi"])])  # labels I and P2, as from a transcript
    noted = name_speakers(transcript, SpeakerNames({"S1": _name("Anna"), "S3": _name("Ben")}), guess=False)
    assert any("names S3, which did not speak" in note for note in noted.notes)
    with pytest.raises(ConfigError, match="'P2' is given to S1 and S2"):
        name_speakers(transcript, SpeakerNames({"S1": _name("P2")}, Path("p2.speakers.toml")), guess=False)


def _unnamed(transcript):
    """The document as the pipeline has it before naming: labels are the ids."""
    transcript.speakers = [s.model_copy(update={"label": s.id}) for s in transcript.speakers]
    return transcript


def _name(label: str, role: str | None = None):
    from undertone.speakers import SpeakerName

    return SpeakerName(label=label, role=role)


# ----------------------------------------------------------------------------- the guess


INTERVIEW = [
    ("S1", ["thanks", "for", "coming", "could", "you", "tell", "me", "about", "your", "work"]),
    ("S2", ["i", "work", "in", "a", "small", "office", "that", "helps", "people"]),
    ("S1", ["what", "happens", "when", "it", "gets", "busy"]),
    ("S2", ["when", "there", "is", "a", "deadline", "i", "stay", "late"]),
    ("S1", ["and", "is", "that", "often"]),
    ("S2", ["maybe", "once", "a", "month", "it", "depends"]),
]


def test_the_speaker_asking_questions_is_the_interviewer():
    transcript = _unnamed(make_transcript(INTERVIEW, pauses={2: 0.5}))  # "thanks for coming (0.5) could you..."
    named = name_speakers(transcript, None, guess=True)
    assert [(s.id, s.label, s.role) for s in named.speakers] == [("S1", "I", "interviewer"), ("S2", "P", "participant")]
    counts = count_questions(transcript)
    assert (counts["S1"].questions, counts["S1"].turns, counts["S2"].questions) == (3, 3, 0)


def test_the_participant_may_speak_first_and_rises_and_question_marks_count():
    turns = [("S1", ["hello", "i", "am", "here", "for", "the", "study"]), ("S2", ["welcome", "you", "found", "us"]),
             ("S1", ["yes", "it", "was", "easy"]), ("S2", ["good", "you", "are", "comfortable?"]),
             ("S1", ["very", "comfortable", "thank", "you"]), ("S2", ["you", "came", "by", "bus"])]
    last_of_fourth = sum(len(words) for _, words in turns[:4]) - 1
    last_of_sixth = sum(len(words) for _, words in turns) - 1
    transcript = _unnamed(make_transcript(turns, annotations=[("rise", last_of_sixth, last_of_sixth, 3.1, "st")]))
    assert count_questions(transcript)["S2"].questions == 2  # the '?' and the rise
    assert [w.i for w in transcript.words if "?" in w.text] == [last_of_fourth]
    named = name_speakers(transcript, None, guess=True)
    assert [(s.id, s.label) for s in named.speakers] == [("S1", "P"), ("S2", "I")]


def test_weak_evidence_keeps_neutral_labels_and_says_so():
    turns = [("S1", ["so", "do", "you", "like", "it"]), ("S2", ["and", "do", "you"]),
             ("S1", ["i", "do"]), ("S2", ["good"])]
    transcript = _unnamed(make_transcript(turns))
    named = name_speakers(transcript, None, guess=True)
    assert [(s.label, s.role) for s in named.speakers] == [("S1", None), ("S2", None)]
    assert named.notes and named.notes[0].startswith("speakers left unnamed: who asks the questions is unclear")
    assert "S1 1 of 2 turns; S2 1 of 2 turns" in named.notes[0]


def test_a_third_speaker_keeps_their_id():
    transcript = _unnamed(make_transcript(
        INTERVIEW + [("S3", ["sorry", "i", "am", "late"]), ("S2", ["no", "problem", "at", "all"])], pauses={2: 0.5}
    ))
    named = name_speakers(transcript, None, guess=True)
    assert [(s.id, s.label, s.role) for s in named.speakers] == [
        ("S1", "I", "interviewer"), ("S2", "P", "participant"), ("S3", "S3", None),
    ]


def test_known_transcript_names_are_kept():
    transcript = make_transcript(INTERVIEW, pauses={2: 0.5})
    named = name_speakers(transcript, None, guess=False)
    assert [s.label for s in named.speakers] == ["I", "P2"] and named.notes == []


def test_question_words_only_count_in_english():
    transcript = make_transcript(INTERVIEW, pauses={2: 0.5})
    assert count_questions(transcript, "de")["S1"].questions == 0
    assert count_questions(transcript, "en-GB")["S1"].questions == 3


@pytest.mark.parametrize(
    ("words", "question"),
    [
        ("do you like it", True), ("um so could you tell me", True), ("is that often", True),
        ("how do you cope", True), ("what happens then", True), ("how long have you", True),
        ("what about your family", True), ("tell me about it", True), ("what's that", True),
        ("when I was young", False), ("what I did was", False), ("I do", False), ("is", False),
        ("which part did you", True), ("which is why", False), ("the work is fine", False), ("", False),
        ("so when the deadline", False), ("yes do you", False),
    ],
)
def test_interrogative_openings(words: str, question: bool):
    assert opens_question(words.split()) is question


# ----------------------------------------------------------------------------- ids


def test_ids_follow_first_appearance_whatever_the_engine_calls_them():
    """The diarizer's SPEAKER_01 speaks first: it is S1, everywhere in the document."""
    samples, recognition, diarization = _exchange()
    audio = from_array(samples, SR, path="p7.wav")
    transcript = pipeline.build_transcript(audio, recognition, diarization, load_settings("offline")).transcript
    assert [s.id for s in transcript.speakers] == ["S1", "S2"]
    assert [t.speaker for t in transcript.turns] == ["S1", "S2", "S1", "S2"]
    assert transcript.speakers[0].f0_median_hz == pytest.approx(120, rel=0.05)
    assert [s.channel for s in transcript.speakers] == [None, None]
