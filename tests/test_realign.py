"""Recognised words re-timed by forced alignment (undertone.transcribe.realign).

Whisper cannot run here without its weights, so its output is imitated: the words of espeak-ng
sentences with times off the way attention-derived times are (edges jittered by a tenth of a
second, a sentence's last word cut short). Re-timing must bring them onto the signal: onto the
times the aligner gives the same text as a known transcript, and onto the sentences' exact
spans.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_sphinx import SENTENCES, SPAN_TOLERANCE_S, build_recording, espeak  # noqa: F401 (fixture)

from undertone import pipeline
from undertone.audio import SAMPLE_RATE
from undertone.config import load_settings
from undertone.errors import TranscriptFileError
from undertone.transcribe import Recognition, RecognizedWord, realign, sphinx
from undertone.transcribe.known import KnownTurn, tokenize

PAUSES_S = (1.2, 3.0)  # s between the sentences: the second holds an invented phrase
AGREEMENT_S = 0.03  # re-timed words agree with the known-transcript alignment to this


@pytest.fixture(scope="module")
def recording(espeak):  # noqa: F811 (the fixture imported above)
    return build_recording([espeak(text) for text in SENTENCES], PAUSES_S)


@pytest.fixture(scope="module")
def reference(recording) -> list[RecognizedWord]:
    """The aligner's times for the sentences' words given as a known transcript."""
    signal, _ = recording
    turns = [KnownTurn("S", text, line) for line, text in enumerate(SENTENCES, start=1)]
    return sphinx.align(signal, turns).words


def whisper_like(reference: list[RecognizedWord], seed: int = 0) -> list[RecognizedWord]:
    """The reference words with attention-like times: edges off by ~0.1 s, last words cut short."""
    rng = np.random.default_rng(seed)
    words, previous_start = [], 0.0
    for index, word in enumerate(reference):
        start = max(previous_start + 0.01, word.start + rng.normal(0.0, 0.1))
        end = max(start + 0.05, word.end + rng.normal(0.0, 0.1))
        if index + 1 == len(reference) or reference[index + 1].start - word.end > 0.5:
            end = max(start + 0.05, end - 0.3)  # a sentence's final word truncated
        words.append(RecognizedWord(word.text, start, end, confidence=0.9))
        previous_start = start
    return words


def edge_errors(words: list[RecognizedWord], reference: list[RecognizedWord]) -> np.ndarray:
    return np.array([abs(a.start - b.start) for a, b in zip(words, reference)]
                    + [abs(a.end - b.end) for a, b in zip(words, reference)])


def test_recognised_words_are_moved_onto_the_aligned_times(recording, reference):
    signal, spans = recording
    coarse = whisper_like(reference)
    assert np.percentile(edge_errors(coarse, reference), 90) > 0.1  # the imitation is coarse

    result = realign.align_recognised_words(signal, Recognition(coarse, "whisper", "turbo", "en"))

    assert [w.text for w in result.words] == [w.text for w in coarse]
    assert [w.confidence for w in result.words] == [0.9] * len(coarse)
    assert np.percentile(edge_errors(result.words, reference), 90) <= AGREEMENT_S
    assert result.notes == []
    # sentence spans: the first word of each starts, and the last ends, at the true edges
    firsts = [0] + [i + 1 for i in range(len(reference) - 1) if reference[i + 1].start - reference[i].end > 0.5]
    lasts = [i - 1 for i in firsts[1:]] + [len(reference) - 1]
    for (start, end), first, last in zip(spans, firsts, lasts):
        assert abs(result.words[first].start - start) <= SPAN_TOLERANCE_S
        assert abs(result.words[last].end - end) <= SPAN_TOLERANCE_S


def test_words_are_aligned_only_near_where_they_were_heard(recording, reference):
    """Groups split at the recogniser's silences: each is aligned in its own stretch of audio."""
    coarse = whisper_like(reference, seed=1)
    groups = realign.word_groups(coarse)
    assert len(groups) == len(SENTENCES)  # the pauses (1.2 s, 1.5 s) separate the sentences
    assert groups[0][0] == 0 and groups[-1][1] == len(coarse)
    assert all(a[1] == b[0] for a, b in zip(groups, groups[1:]))


def test_text_that_does_not_fit_keeps_the_recognisers_times(recording, reference):
    """A phrase invented in the long pause (Whisper's "thank you") cannot be aligned to the noise
    there: its times stay, with a note, and the sentences around it are still re-timed."""
    signal, spans = recording
    middle = 0.5 * (spans[1][1] + spans[2][0])
    invented = [RecognizedWord(text, middle + 0.2 * i, middle + 0.2 * i + 0.15) for i, text in enumerate(("thank", "you"))]
    coarse = whisper_like(reference)
    cut = next(i for i, w in enumerate(reference) if w.start >= spans[2][0] - SPAN_TOLERANCE_S)
    words = coarse[:cut] + invented + coarse[cut:]
    result = realign.align_recognised_words(signal, Recognition(words, "whisper", "turbo", "en"))
    assert [(w.start, w.end) for w in result.words[cut : cut + 2]] == [(w.start, w.end) for w in invented]
    assert any(note.startswith("2 of ") and "could not place them" in note for note in result.notes)
    others = result.words[:cut] + result.words[cut + 2 :]
    assert np.percentile(edge_errors(others, reference), 90) <= AGREEMENT_S


def test_words_without_tokens_keep_their_times_and_other_languages_are_left_alone(recording, reference):
    signal, _ = recording
    coarse = whisper_like(reference)
    dash = RecognizedWord("—", coarse[2].end, coarse[2].end + 0.01)
    words = coarse[:3] + [dash] + coarse[3:]
    assert tokenize(dash.text) == []
    result = realign.align_recognised_words(signal, Recognition(words, "whisper", "turbo", "en"))
    assert (result.words[3].start, result.words[3].end) == (dash.start, dash.end)
    assert np.percentile(edge_errors(result.words[:3] + result.words[4:], reference), 90) <= AGREEMENT_S

    german = Recognition(coarse, "whisper", "turbo", "de")
    assert realign.align_recognised_words(signal, german) is german


@pytest.mark.parametrize("align_words", [True, False])
def test_recognised_words_are_retimed_once_diarised_when_the_setting_says_so(monkeypatch, tmp_path, align_words):
    """The re-timing needs each word's speaker: it runs after diarisation, on the words the
    diarisation attributed, and only when ``asr.align_words`` is on."""
    import soundfile
    from pyannote.core import Annotation, Segment

    from undertone.diarize import Diarization

    settings = load_settings("default", overrides={"asr": {"align_words": align_words}})
    recognised = Recognition([RecognizedWord("hello", 0.1, 0.4)], "whisper", "turbo", "en")
    annotation = Annotation()
    annotation[Segment(0.0, 1.0)] = "SPEAKER_00"
    order = []
    monkeypatch.setattr(pipeline, "_whisper", lambda audio, settings: order.append("transcribe") or recognised)
    monkeypatch.setattr(
        pipeline, "diarize_audio", lambda audio, settings: order.append("diarise") or Diarization(annotation, "test", None)
    )
    monkeypatch.setattr(
        realign, "align_recognised_words", lambda samples, rec, speakers, **options: order.append(("retime", speakers)) or rec
    )
    path = tmp_path / "hello.wav"
    soundfile.write(path, np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    document = pipeline.process_file(path, settings, report=lambda stage: None).transcript
    expected = ["transcribe", "diarise"] + ([("retime", ["SPEAKER_00"])] if align_words else [])
    assert order == expected
    assert [w.text for w in document.words] == ["hello"]


def test_the_offline_profile_keeps_pocketsphinxs_own_times_and_the_default_retimes():
    assert load_settings("default").asr.align_words
    assert not load_settings("offline").asr.align_words


def test_a_group_with_no_pronounceable_word_keeps_its_times(recording, reference):
    signal, spans = recording
    middle = 0.5 * (spans[1][1] + spans[2][0])
    number = RecognizedWord("1990", middle, middle + 0.4)
    coarse = whisper_like(reference)
    cut = next(i for i, w in enumerate(reference) if w.start >= spans[2][0] - SPAN_TOLERANCE_S)
    result = realign.align_recognised_words(signal, Recognition(coarse[:cut] + [number] + coarse[cut:], "whisper", "turbo", "en"))
    assert (result.words[cut].start, result.words[cut].end) == (number.start, number.end)
    assert any(note.startswith("1 of ") and "could not place them" in note for note in result.notes)


def test_a_group_whose_speaker_turns_are_refused_is_aligned_as_one_stream(recording, reference, monkeypatch):
    """The aligner judges each speaker turn on its own; one refused turn (a misheard phrase) must
    not keep the whole group at the recogniser's times: the group is aligned again without turns."""
    signal, _ = recording
    coarse = whisper_like(reference)
    speakers = ["A" if i % 7 else "B" for i in range(len(coarse))]  # turns of both speakers in every group
    real_align = sphinx.align
    refused = []

    def strict_align(samples, turns, sample_rate=SAMPLE_RATE, *, path=None):
        if len(turns) > 1:
            refused.append(len(turns))
            raise TranscriptFileError(path, "transcript does not match the audio: line 2 fits the sound poorly")
        return real_align(samples, turns, sample_rate, path=path)

    monkeypatch.setattr(sphinx, "align", strict_align)
    result = realign.align_recognised_words(signal, Recognition(coarse, "whisper", "turbo", "en"), speakers)
    assert len(refused) == len(realign.word_groups(coarse))
    assert result.notes == []
    assert [w.speaker for w in result.words] == speakers
    assert np.percentile(edge_errors(result.words, reference), 90) <= AGREEMENT_S


def test_worker_processes_retime_exactly_as_one_process(recording, reference, monkeypatch):
    """Groups are aligned independently, so spreading them over worker processes changes how
    fast, never what."""
    from undertone.transcribe import sphinx_workers

    signal, _ = recording
    coarse = whisper_like(reference, seed=2)
    speakers = ["A" if i % 9 else "B" for i in range(len(coarse))]
    monkeypatch.setattr(sphinx, "MIN_CHUNKS_PER_PROCESS", 1)  # three groups: worth two processes here
    started = []
    real_start = sphinx_workers._start_worker
    monkeypatch.setattr(sphinx_workers, "_start_worker", lambda: started.append(1) or real_start())
    recognition = Recognition(coarse, "whisper", "turbo", "en")
    in_process = realign.align_recognised_words(signal, recognition, speakers, processes=1)
    assert not started
    in_workers = realign.align_recognised_words(signal, recognition, speakers, processes=2)
    assert len(started) == 2
    assert in_workers.words == in_process.words and in_workers.notes == in_process.notes
    assert np.percentile(edge_errors(in_workers.words, reference), 90) <= AGREEMENT_S


def test_a_refused_group_is_reported_back_from_a_worker(recording, reference):
    """The invented "thank you" over noise, sent to a worker: the refusal comes back as such."""
    from undertone.transcribe import sphinx_workers

    signal, spans = recording
    middle = 0.5 * (spans[1][1] + spans[2][0])
    invented = [RecognizedWord("thank", middle, middle + 0.15), RecognizedWord("you", middle + 0.2, middle + 0.35)]
    piece = signal[round((middle - 0.5) * SAMPLE_RATE) : round((middle + 0.9) * SAMPLE_RATE)]
    first = [w for w in reference if w.end <= spans[0][1] + SPAN_TOLERANCE_S]
    sentence = signal[: round((spans[0][1] + 0.3) * SAMPLE_RATE)]
    answers = sphinx_workers.align_groups([(piece, invented), (sentence, first)], workers=1)
    assert answers[0] is None
    assert [w.text for w in answers[1]] == [w.text for w in first]
