"""PocketSphinx backend: recognition and forced alignment on speech with known content and timing.

espeak-ng synthesises each sentence; the test builds the recording with numpy, so it knows to
the sample where every sentence starts and ends and how long every pause is. White noise at
``SNR_DB`` stands in for a room: perfectly silent gaps are unlike any real recording.

Measured on this kind of speech (see ``undertone.transcribe.sphinx`` for the method):
recognition WER 0.00-0.05 on the three sentences used here (0.48 over a 40-sentence set that
includes hard Harvard sentences); alignment sentence boundaries within 20 ms (median) and
90 ms (worst) of the truth at 20-40 dB SNR. The bounds below leave room for other espeak-ng
versions and busy machines.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from undertone.audio import SAMPLE_RATE
from undertone.errors import ModelUnavailableError, TranscriptFileError
from undertone.transcribe import Recognition
from undertone.transcribe import sphinx, sphinx_workers
from undertone.transcribe.known import KnownTurn, tokenize

SENTENCES = (
    "My mother never really wanted me to move away from home.",
    "I don't know why, but I was always a little afraid of him.",
    "It took me almost three years to find a proper job.",
)
SPEAKERS = ("I", "P", "I")
LEAD_IN_S = 0.5  # s of noise before the first sentence
PAUSES_S = (0.9, 0.4)  # s between sentences 1-2 and 2-3
TAIL_S = 0.6  # s after the last sentence
SNR_DB = 30.0  # speech power over noise power

MAX_WER = 0.35  # measured 0.00-0.05 here; see module docstring
SPAN_TOLERANCE_S = 0.10  # words must lie inside their sentence, give or take this much
PAUSE_TOLERANCE_S = 0.06  # an aligned pause may differ this much from the true pause
ESPEAK_TRIM_DB = 50.0  # dB below the peak at which a synthesised sentence starts and ends


@pytest.fixture(scope="module")
def espeak(tmp_path_factory):
    """Synthesise text with espeak-ng at 16 kHz, trimmed to the speech itself."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: it synthesises the test speech")
    folder = tmp_path_factory.mktemp("espeak")

    def synthesise(text: str) -> np.ndarray:
        path = folder / f"{abs(hash(text))}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
        return _trim(_to_16k(path))

    return synthesise


def _to_16k(path: Path) -> np.ndarray:
    import soxr

    samples, rate = soundfile.read(str(path), dtype="float32")
    return soxr.resample(samples, rate, SAMPLE_RATE).astype(np.float32)


def _trim(samples: np.ndarray) -> np.ndarray:
    """Cut espeak's own leading and trailing silence, so that sentence spans are exact."""
    hop = SAMPLE_RATE // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    energy_db = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(energy_db > energy_db.max() - ESPEAK_TRIM_DB)
    return samples[loud[0] * hop : (loud[-1] + 1) * hop]


def build_recording(sentences: list[np.ndarray], pauses_s, seed: int = 0, snr_db: float | None = SNR_DB):
    """Lay sentences out with known pauses; returns the signal and each sentence's (start, end) in s."""
    pieces, spans, cursor = [np.zeros(round(LEAD_IN_S * SAMPLE_RATE), np.float32)], [], LEAD_IN_S
    for index, speech in enumerate(sentences):
        spans.append((cursor, cursor + len(speech) / SAMPLE_RATE))
        pause = pauses_s[index] if index < len(pauses_s) else TAIL_S
        pieces += [speech, np.zeros(round(pause * SAMPLE_RATE), np.float32)]
        cursor = spans[-1][1] + round(pause * SAMPLE_RATE) / SAMPLE_RATE
    signal = np.concatenate(pieces)
    if snr_db is not None:
        speech_power = np.mean(np.concatenate(sentences) ** 2)
        noise_sd = np.sqrt(speech_power / 10 ** (snr_db / 10))
        noise = np.random.default_rng(seed).normal(0.0, noise_sd, len(signal))
        signal = signal + noise.astype(np.float32)
    return signal.astype(np.float32), spans


@pytest.fixture(scope="module")
def recording(espeak):
    return build_recording([espeak(text) for text in SENTENCES], PAUSES_S)


@pytest.fixture(scope="module")
def turns() -> list[KnownTurn]:
    numbered = enumerate(zip(SPEAKERS, SENTENCES), start=1)
    return [KnownTurn(speaker, text, line) for line, (speaker, text) in numbered]


@pytest.fixture(scope="module")
def aligned(recording, turns) -> Recognition:
    signal, _ = recording
    return sphinx.align(signal, turns)


def sentence_words(result: Recognition) -> list[list]:
    """Split the aligned words back into sentences (one word per token, so counts match)."""
    groups, index = [], 0
    for text in SENTENCES:
        count = len(tokenize(text))
        groups.append(result.words[index : index + count])
        index += count
    return groups


# -- recognition ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recognized(recording) -> Recognition:
    signal, _ = recording
    return sphinx.recognize(signal)


def test_recognition_finds_most_words(recognized):
    import jiwer

    reference = " ".join(" ".join(tokenize(text)) for text in SENTENCES).lower()
    hypothesis = " ".join(word.text for word in recognized.words).lower()
    assert jiwer.wer(reference, hypothesis) <= MAX_WER, hypothesis
    assert recognized.backend == "pocketsphinx" and recognized.language == "en"
    assert recognized.model == "en-us"


def test_recognized_words_lie_in_the_speech_with_sane_confidences(recognized, recording):
    _, spans = recording
    assert recognized.words, "nothing recognised"
    for word in recognized.words:
        assert word.start < word.end
        assert word.confidence is None or 0.0 <= word.confidence <= 1.0
        assert word.text and not word.text.startswith(("<", "[", "+")) and "(" not in word.text
        middle = (word.start + word.end) / 2
        assert any(start - SPAN_TOLERANCE_S <= middle <= end + SPAN_TOLERANCE_S for start, end in spans), word
    starts = [word.start for word in recognized.words]
    assert starts == sorted(starts)


def test_chunked_recognition_keeps_times_in_place(recording, monkeypatch, recognized):
    """With chunks far shorter than the recording, times are still offset to the right place."""
    signal, spans = recording
    monkeypatch.setattr(sphinx, "RECOGNITION_CHUNK_MIN_S", 2.0)
    monkeypatch.setattr(sphinx, "RECOGNITION_CHUNK_MAX_S", 4.0)
    chunks = sphinx._chunk_frames(sphinx._smoothed_energy_db(signal), 2.0, 4.0)
    assert len(chunks) >= 3
    chunked = sphinx.recognize(signal)
    assert chunked.words
    for word in chunked.words:
        middle = (word.start + word.end) / 2
        assert any(start - SPAN_TOLERANCE_S <= middle <= end + SPAN_TOLERANCE_S for start, end in spans), word
    # The cuts fall in pauses here, so chunking should barely change what is recognised.
    assert abs(len(chunked.words) - len(recognized.words)) <= 3


def test_worker_processes_recognise_exactly_the_words_of_one_process(recording, monkeypatch):
    """Chunks are independent (a fresh decoder each), so spreading them over worker processes
    changes how fast, never what: the stage cache does not key on the number of processes."""
    signal, _ = recording
    monkeypatch.setattr(sphinx, "RECOGNITION_CHUNK_MIN_S", 1.5)
    monkeypatch.setattr(sphinx, "RECOGNITION_CHUNK_MAX_S", 3.0)
    assert len(sphinx._speech_chunks(signal)) >= 2 * sphinx.MIN_CHUNKS_PER_PROCESS
    started = []
    real_start = sphinx_workers._start_worker
    monkeypatch.setattr(sphinx_workers, "_start_worker", lambda: started.append(1) or real_start())
    in_process = sphinx.recognize(signal, processes=1)
    assert not started
    in_workers = sphinx.recognize(signal, processes=2)
    assert len(started) == 2
    assert in_workers.words and in_workers.words == in_process.words


def test_the_number_of_processes_follows_the_cores_and_the_chunks(monkeypatch):
    monkeypatch.setattr(sphinx.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert sphinx.recognition_processes(None, 100) == 3  # one per core we may use
    assert sphinx.recognition_processes(8, 100) == 8  # as asked
    assert sphinx.recognition_processes(None, 4) == 2  # at least two chunks per process
    assert sphinx.recognition_processes(None, 3) == 1  # too few to be worth a process
    assert sphinx.recognition_processes(None, 0) == 1


def test_a_script_without_a_main_guard_is_not_run_again_by_the_workers(tmp_path, recording):
    """multiprocessing's spawn would import the caller's script in every worker: ours must not."""
    signal, _ = recording
    np.save(tmp_path / "signal.npy", signal)
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np\n"
        "from undertone.transcribe import sphinx\n"
        "sphinx.RECOGNITION_CHUNK_MIN_S, sphinx.RECOGNITION_CHUNK_MAX_S = 1.5, 3.0\n"
        "print('script ran', flush=True)\n"
        f"words = sphinx.recognize(np.load({str(tmp_path / 'signal.npy')!r}), processes=2).words\n"
        "print('words', len(words))\n"
    )
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("script ran") == 1
    assert int(run.stdout.split("words")[1]) > 0


def test_a_worker_that_dies_is_reported_not_waited_for(monkeypatch):
    def broken_worker():
        return subprocess.Popen([sys.executable, "-c", "import sys; sys.stderr.write('model file damaged'); sys.exit(3)"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    monkeypatch.setattr(sphinx_workers, "_start_worker", broken_worker)
    chunks = [(np.zeros(SAMPLE_RATE, np.float32), float(k)) for k in range(4)]
    with pytest.raises(RuntimeError, match="model file damaged"):
        sphinx_workers.recognize_chunks(chunks, 2)


@pytest.mark.parametrize("language", ["de", "fr-FR", "zh"])
def test_recognition_refuses_other_languages(language):
    with pytest.raises(ModelUnavailableError, match="only ships an English model"):
        sphinx.recognize(np.zeros(SAMPLE_RATE, np.float32), language=language)


@pytest.mark.parametrize("language", ["en", "en-GB", "en_US", "English", None])
def test_recognition_accepts_english_or_unspecified(language):
    result = sphinx.recognize(np.zeros(SAMPLE_RATE // 2, np.float32), language=language)
    assert result.language == "en"


def test_other_sample_rates_are_resampled(recording):
    signal, spans = recording
    import soxr

    first_sentence = signal[: round((spans[0][1] + 0.3) * SAMPLE_RATE)]
    at_8k = soxr.resample(first_sentence, SAMPLE_RATE, 8000).astype(np.float32)
    words = sphinx.recognize(at_8k, 8000).words
    assert words and words[-1].end <= spans[0][1] + 0.3 + SPAN_TOLERANCE_S


@pytest.mark.parametrize(
    "token, text, kind",
    [
        ("word(2)", "word", "word"),
        ("i'd", "i'd", "word"),
        ("[UM]", "um", "filler"),
        ("++UH++", "uh", "filler"),
        ("um", "um", "filler"),
        ("<sil>", None, None),
        ("<s>", None, None),
        ("[NOISE]", None, None),
        ("+SPN+", None, None),
    ],
)
def test_decoder_tokens_become_words_or_disappear(token, text, kind):
    word = sphinx._segment_to_word(token, 150, 199, 1.0003, offset_s=10.0)
    if text is None:
        assert word is None
        return
    assert (word.text, word.kind) == (text, kind)
    assert (word.start, word.end) == (11.5, 12.0)  # frames 150..199 inclusive, 100 frames/s
    assert word.confidence == 1.0  # clamped


# -- alignment -----------------------------------------------------------------------------


def test_alignment_returns_every_token_in_order_with_speakers(aligned, turns):
    expected = [(token, turn.speaker) for turn in turns for token in tokenize(turn.text)]
    assert [(word.text, word.speaker) for word in aligned.words] == expected
    assert aligned.backend == "pocketsphinx"
    assert aligned.notes == []


def test_aligned_words_lie_inside_their_sentence(aligned, recording):
    _, spans = recording
    for words, (start, end) in zip(sentence_words(aligned), spans):
        for word in words:
            assert start - SPAN_TOLERANCE_S <= word.start < word.end <= end + SPAN_TOLERANCE_S, word
        assert abs(words[0].start - start) <= SPAN_TOLERANCE_S
        assert abs(words[-1].end - end) <= SPAN_TOLERANCE_S


def test_aligned_words_do_not_overlap(aligned):
    for before, after in zip(aligned.words, aligned.words[1:]):
        assert before.end <= after.start + 1e-9, (before, after)


def test_pauses_between_sentences_are_kept(aligned, recording):
    _, spans = recording
    groups = sentence_words(aligned)
    for index, true_pause in enumerate(PAUSES_S):
        aligned_pause = groups[index + 1][0].start - groups[index][-1].end
        measured_pause = spans[index + 1][0] - spans[index][1]
        assert measured_pause == pytest.approx(true_pause, abs=0.01)
        assert aligned_pause == pytest.approx(true_pause, abs=PAUSE_TOLERANCE_S)


def test_alignment_confidences_are_probabilities(aligned):
    confidences = [word.confidence for word in aligned.words]
    assert all(c is not None and 0.0 <= c <= 1.0 for c in confidences)
    assert np.median(confidences) > 0.5  # matching words fit about as well as free phones


def test_alignment_in_short_windows_matches_one_window(recording, turns, aligned, monkeypatch):
    """The long-recording walk (windows, commit margin, re-anchoring) on a small scale."""
    signal, spans = recording
    monkeypatch.setattr(sphinx, "ALIGN_WINDOW_MIN_S", 3.0)
    monkeypatch.setattr(sphinx, "ALIGN_WINDOW_MAX_S", 5.0)
    monkeypatch.setattr(sphinx, "COMMIT_MARGIN_S", 1.0)
    windows = []
    real_align_window = sphinx._align_window

    def counting(*args, **kwargs):
        windows.append(args)
        return real_align_window(*args, **kwargs)

    monkeypatch.setattr(sphinx, "_align_window", counting)
    walked = sphinx.align(signal, turns)
    assert len(windows) >= 3
    assert [word.text for word in walked.words] == [word.text for word in aligned.words]
    for words, (start, end) in zip(sentence_words(walked), spans):
        assert abs(words[0].start - start) <= SPAN_TOLERANCE_S
        assert abs(words[-1].end - end) <= SPAN_TOLERANCE_S


class _NoRealignment:
    """A decoder stand-in whose sub-word re-alignment pass always fails."""

    def __init__(self, decoder):
        self._decoder = decoder

    def set_alignment(self, *args):
        raise RuntimeError("Failed to set up sub-word alignment")

    def __getattr__(self, name):
        return getattr(self._decoder, name)


def test_failed_realignment_still_times_every_word(recording, turns, monkeypatch):
    """Without scores the words keep their first-pass times and have no confidence."""
    signal, spans = recording
    real = sphinx._aligner()
    monkeypatch.setattr(sphinx, "_aligner", lambda: _NoRealignment(real))
    result = sphinx.align(signal, turns)
    assert all(word.confidence is None for word in result.words)
    assert result.notes and "without a confidence score" in result.notes[0]
    for words, (start, end) in zip(sentence_words(result), spans):
        assert abs(words[0].start - start) <= SPAN_TOLERANCE_S
        assert abs(words[-1].end - end) <= SPAN_TOLERANCE_S


def test_digital_silence_does_not_lose_words(espeak, turns):
    """Exact zeros between sentences (noise gates, edited files) must not swallow words."""
    signal, spans = build_recording([espeak(text) for text in SENTENCES], PAUSES_S, snr_db=None)
    result = sphinx.align(signal, turns)
    for words, (start, end) in zip(sentence_words(result), spans):
        assert abs(words[0].start - start) <= SPAN_TOLERANCE_S
        assert abs(words[-1].end - end) <= SPAN_TOLERANCE_S


def test_word_missing_from_the_dictionary_is_kept_between_its_neighbours(espeak):
    sentence = "My friend Zorblat never really wanted to move away."
    signal, ((start, end),) = build_recording([espeak(sentence)], ())
    assert sphinx._recognizer().lookup_word("zorblat") is None  # the recognizer's dictionary is pristine
    result = sphinx.align(signal, [KnownTurn("P", sentence, 1)])
    texts = [word.text for word in result.words]
    assert texts == tokenize(sentence)
    friend, zorblat, never = result.words[1:4]
    assert zorblat.text == "Zorblat"
    assert friend.end <= zorblat.start < zorblat.end <= never.start
    assert start - SPAN_TOLERANCE_S <= zorblat.start and zorblat.end <= end + SPAN_TOLERANCE_S


def test_unpronounceable_token_is_interpolated_without_confidence(aligned, recording, turns):
    signal, _ = recording
    with_foreign = [turns[0], KnownTurn("P", turns[1].text + " 東京", 2), turns[2]]
    result = sphinx.align(signal, with_foreign)
    index = [word.text for word in result.words].index("東京")
    foreign, before, after = result.words[index], result.words[index - 1], result.words[index + 1]
    assert foreign.confidence is None
    assert before.end <= foreign.start <= foreign.end <= after.start
    assert any("東京" in note for note in result.notes)


def test_transcript_of_another_recording_is_rejected(recording):
    signal, _ = recording
    other = [
        KnownTurn("I", "The birch canoe slid on the smooth planks.", 1),
        KnownTurn("P", "Glue the sheet to the dark blue background.", 2),
        KnownTurn("I", "It is easy to tell the depth of a well.", 3),
    ]
    with pytest.raises(TranscriptFileError, match="transcript does not match the audio") as error:
        sphinx.align(signal, other, path=Path("other.txt"))
    assert "other.txt" in str(error.value)


def test_one_wrong_line_is_named(recording, turns):
    signal, _ = recording
    wrong = [turns[0], KnownTurn("P", "The juice of lemons makes fine punch for the party.", 2), turns[2]]
    with pytest.raises(TranscriptFileError, match="line 2"):
        sphinx.align(signal, wrong)


def test_transcript_longer_than_the_recording_is_rejected(recording, turns):
    signal, spans = recording
    first_sentence_only = signal[: round((spans[0][1] + 0.3) * SAMPLE_RATE)]
    with pytest.raises(TranscriptFileError, match="does not match"):
        sphinx.align(first_sentence_only, turns)


@pytest.mark.parametrize("seconds", [0.0, 0.005, 1.0])
def test_silence_or_no_audio_does_not_match_a_transcript(seconds):
    silence = np.zeros(round(seconds * SAMPLE_RATE), np.float32)
    with pytest.raises(TranscriptFileError, match="does not match"):
        sphinx.align(silence, [KnownTurn("I", "hello there", 1)])


def test_no_audio_recognises_nothing():
    assert sphinx.recognize(np.zeros(0, np.float32)).words == []


def test_transcript_without_pronounceable_words_is_rejected():
    with pytest.raises(TranscriptFileError, match="no words the English model can pronounce"):
        sphinx.align(np.zeros(SAMPLE_RATE, np.float32), [KnownTurn("I", "東京 大阪", 1)])


def test_repeated_words_are_matched_with_fewest_skips():
    keys = ["i", "i", "think", "i", "know"]
    assert sphinx._fewest_skips(["i", "i", "think", "i", "know"], keys) == [0, 1, 2, 3, 4]
    reading = sphinx._fewest_skips(["i", "think", "know"], keys)
    assert [keys[p] for p in reading] == ["i", "think", "know"] and reading[1:] == [2, 4]  # 2 skips
    assert sphinx._fewest_skips(["know"], keys) is None  # more than MAX_SKIP words skipped


def test_interpolation_shares_gaps_between_neighbours():
    turn = KnownTurn("I", "a b c d", 1)
    tokens = [sphinx._Token(text, "I", turn, key=text) for text in "abcd"]
    tokens[0].start, tokens[0].end = 1.0, 1.2
    tokens[3].start, tokens[3].end = 2.0, 2.5
    sphinx._interpolate_missing(tokens, duration_s=3.0)
    assert [(t.start, t.end) for t in tokens[1:3]] == [pytest.approx((1.2, 1.6)), pytest.approx((1.6, 2.0))]
    assert tokens[1].confidence is None


def test_chunks_are_bounded_and_cut_in_the_quietest_place():
    energy = np.full(100 * 70, -20.0)  # 70 s of speech-level energy, 100 frames/s
    energy[100 * 22 : 100 * 23] = -60.0  # a pause at 22-23 s
    energy[100 * 50 : 100 * 51] = -60.0  # and one at 50-51 s
    chunks = sphinx._chunk_frames(energy, 15.0, 30.0)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(energy)
    assert all(end - start <= 30 * 100 for start, end in chunks)
    assert 2200 <= chunks[0][1] <= 2300 and 5000 <= chunks[1][1] <= 5100


@pytest.mark.slow
def test_long_recording_aligns_in_windows(espeak):
    """About two and a half minutes: the real window sizes, several commits, no drift."""
    texts = [
        "The birch canoe slid on the smooth planks.",
        "Glue the sheet to the dark blue background.",
        "It is easy to tell the depth of a well.",
        "These days a chicken leg is a rare dish.",
        "Rice is often served in round bowls.",
        "The juice of lemons makes fine punch.",
        *SENTENCES,
        "We used to spend every summer at my grandfather's farm.",
        "After the accident, everything in our family changed.",
        "The teacher told us to write about our favorite place.",
        "They said the factory would close by the end of the month.",
        "When I was young, we didn't have much money at all.",
        "The weather was cold and the children stayed inside all day.",
    ] * 3
    rng = np.random.default_rng(7)
    pauses = list(rng.uniform(0.25, 1.5, len(texts)))
    signal, spans = build_recording([espeak(text) for text in texts], pauses, seed=5)
    assert len(signal) / SAMPLE_RATE > 120
    turns = [KnownTurn("IP"[i % 2], text, i + 1) for i, text in enumerate(texts)]
    result = sphinx.align(signal, turns)
    errors, index = [], 0
    for text, (start, end) in zip(texts, spans):
        words = result.words[index : index + len(tokenize(text))]
        index += len(words)
        errors += [abs(words[0].start - start), abs(words[-1].end - end)]
    assert index == len(result.words)
    assert max(errors) <= SPAN_TOLERANCE_S
    assert np.median(errors) <= 0.04


def _turn_tokens(line: int, words: list[str], fit: float, start: float) -> list:
    """Aligned tokens of one turn whose words fit the sound at ``fit`` nats/frame (1 s each)."""
    turn = KnownTurn("P", " ".join(words), line)
    frames = sphinx.FRAMES_PER_S
    return [
        sphinx._Token(word, "P", turn, word, start=start + k, end=start + k + 1, llr=fit * frames, frames=frames)
        for k, word in enumerate(words)
    ]


def test_a_turn_that_fits_poorly_is_noted_and_only_a_clearly_wrong_one_refused():
    good = _turn_tokens(1, ["so", "we", "went"], -0.8, 0.0)
    poor = _turn_tokens(2, ["a", "very", "long", "letter"], -2.7, 5.0)  # between the two bounds
    notes = sphinx._check_turns(good + poor, Path("t.txt"))
    assert len(notes) == 1 and "line 2 ('a very long letter')" in notes[0] and "-2.7" in notes[0]
    wrong = _turn_tokens(3, ["the", "juice", "of", "lemons"], -3.4, 10.0)
    with pytest.raises(TranscriptFileError, match=r"t\.txt.*line 3 .*-3\.4 nats/frame"):
        sphinx._check_turns(good + poor + wrong, Path("t.txt"))


def _fake_decodes(monkeypatch, unexplained_by_skip: dict[int, int]) -> list[int]:
    """Replace the window decoder: with skips allowed it skips the middle word, forced it
    places all three; each leaves ``unexplained_by_skip[max_skip]`` audible frames to silence.
    Returns the list of ``max_skip`` values it was called with."""
    calls: list[int] = []

    def decode(decoder, pcm, keys, open_end, max_skip, audible, loop_scores=None):
        calls.append(max_skip)
        positions = [0, 2] if max_skip else [0, 1, 2]
        words = [sphinx._AlignedWord(p, 10 * p, 10 * p + 8, -1.0) for p in positions]
        return words, unexplained_by_skip[max_skip], None

    monkeypatch.setattr(sphinx, "_decode_window", decode)
    return calls


def test_a_skip_that_hides_speech_in_a_silence_is_undone(monkeypatch):
    """Skipping words and calling their sound silence can score better than the words when the
    model fits a voice poorly (a turn-final phrase, a quiet one): forced, they explain the sound."""
    calls = _fake_decodes(monkeypatch, {sphinx.MAX_SKIP: 60, 0: 5})
    audible = np.ones(100, dtype=bool)
    words = sphinx._align_window(None, b"", ["a", "b", "c"], True, audible=audible)
    assert [w.position for w in words] == [0, 1, 2] and calls == [sphinx.MAX_SKIP, 0]


def test_a_skipped_word_that_was_never_said_stays_skipped(monkeypatch):
    """Forcing in a word that leaves no sound behind explains no more of the audio."""
    min_gain = round(sphinx.PAUSE_MIN_S * sphinx.FRAMES_PER_S)
    calls = _fake_decodes(monkeypatch, {sphinx.MAX_SKIP: 30, 0: 30 - min_gain + 1})
    words = sphinx._align_window(None, b"", ["a", "b", "c"], True, audible=np.ones(100, dtype=bool))
    assert [w.position for w in words] == [0, 2] and calls == [sphinx.MAX_SKIP, 0]
    calls.clear()  # without a trustworthy level mask (or with too little unexplained sound) no retry
    assert [w.position for w in sphinx._align_window(None, b"", ["a", "b", "c"], True)] == [0, 2]
    assert calls == [sphinx.MAX_SKIP]
