"""Whisper backend: result conversion, model files, options, and real decoding with a tiny model.

No official checkpoint can be downloaded here, so the loading and decoding code runs on a tiny
randomly initialised Whisper that the tests build and save in whisper's checkpoint format.
Random weights produce arbitrary tokens: the end-to-end tests check structure, never text.
"""

from __future__ import annotations

import inspect
import urllib.error
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
whisper = pytest.importorskip("whisper")

from undertone.audio import SAMPLE_RATE  # noqa: E402
from undertone.errors import ConfigError, ModelUnavailableError  # noqa: E402
from undertone.transcribe import Recognition, RecognizedWord  # noqa: E402
from undertone.transcribe import whisper_backend as wb  # noqa: E402
from tiny_models import tiny_whisper_checkpoint  # noqa: E402

TURBO_URL = whisper._MODELS["turbo"]


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """Run the tiny model on one thread: with these sizes threads only add overhead, and on a
    busy CI machine OpenMP's waiting threads make each step ~50x slower. Whisper's numba DTW
    resets the OpenMP thread count when it first runs, so numba is pinned too."""
    import numba

    before = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    yield
    torch.set_num_threads(before[0])
    numba.set_num_threads(before[1])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_whisper_checkpoint(tmp_path_factory.mktemp("whisper") / "tiny-random.pt")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, checkpoint) -> Path:
    """A models folder where the random model stands in for 'turbo', under whisper's file name."""
    folder = tmp_path_factory.mktemp("models")
    (folder / "large-v3-turbo.pt").write_bytes(checkpoint.read_bytes())
    return folder


@pytest.fixture
def no_download(monkeypatch):
    """Fail the test if anything tries to download a model."""

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(whisper, "_download", refuse)


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=int(seconds * SAMPLE_RATE)) * 0.1).astype(
        np.float32
    )


def assert_well_formed(recognition: Recognition, duration: float) -> None:
    assert isinstance(recognition, Recognition)
    assert recognition.backend == "whisper"
    for word in recognition.words:
        assert word.text and word.text == word.text.strip()
        assert 0.0 <= word.start <= word.end <= duration + 1e-6
        assert word.confidence is None or 0.0 <= word.confidence <= 1.0
        assert word.kind in ("word", "filler", "cutoff")
    starts = [word.start for word in recognition.words]
    assert starts == sorted(starts)


# ---------------------------------------------------------------------------------------------
# Converting whisper's result


def w(word: str, start: float, end: float, probability: float = 0.9) -> dict:
    return {"word": word, "start": start, "end": end, "probability": probability}


def segment(words: list[dict], **extra) -> dict:
    return {
        "id": extra.get("id", 0), "seek": 0, "start": words[0]["start"], "end": words[-1]["end"],
        "text": "".join(x["word"] for x in words), "tokens": [], "temperature": 0.0,
        "avg_logprob": -0.3, "compression_ratio": 1.2, "no_speech_prob": 0.01, "words": words,
    }


# Shaped like whisper.transcribe(..., word_timestamps=True) output, token splits as whisper's
# tokenizer and punctuation merging produce them (" wa" + "-", " well" + "-known...").
INTERVIEW_RESULT = {
    "text": ' Um, so I wa- was, uh, well-known... "Really?" - I mean — it\'s goin\' so-- yeah. Hmm.',
    "language": "en",
    "segments": [
        segment([
            w(" Um,", 0.00, 0.38, 0.61), w(" so", 0.38, 0.60), w(" I", 0.60, 0.78),
            w(" wa", 0.80, 1.00, 0.42), w("-", 1.00, 1.04, 0.35), w(" was,", 1.10, 1.40),
            w(" uh,", 1.52, 1.80, 0.55), w(" well", 1.90, 2.10), w("-known...", 2.10, 2.60),
        ]),
        segment([
            w(' "Really?"', 3.00, 3.40), w(" - I", 3.50, 3.62), w(" mean", 3.62, 3.90),
            w(" —", 3.90, 3.95, 0.2), w(" it's", 4.00, 4.20), w("  goin'", 4.20, 4.50),
            w(" so--", 4.50, 4.80), w(" yeah.", 5.00, 5.30), w(" Hmm.", 5.60, 6.00, 0.7),
            w(" ...", 6.00, 6.10, 0.1), w(" U.S.", 6.2, 6.6),
        ], id=1),
    ],
}


def test_words_are_bare_classified_and_timed():
    words = wb.words_from_whisper_result(INTERVIEW_RESULT, verbatim=True)

    assert [x.text for x in words] == [
        "Um", "so", "I", "wa-", "was", "uh", "well-known",
        "Really", "I", "mean", "it's", "goin'", "so-", "yeah", "Hmm", "U.S.",
    ]
    kinds = {x.text: x.kind for x in words}
    assert kinds["Um"] == kinds["uh"] == kinds["Hmm"] == "filler"
    assert kinds["wa-"] == kinds["so-"] == "cutoff"
    assert kinds["well-known"] == kinds["goin'"] == kinds["it's"] == "word"


def test_rejoined_tokens_span_both_parts_and_keep_the_lower_confidence():
    words = {x.text: x for x in wb.words_from_whisper_result(INTERVIEW_RESULT, verbatim=True)}

    assert (words["wa-"].start, words["wa-"].end, words["wa-"].confidence) == (0.80, 1.04, 0.35)
    assert (words["well-known"].start, words["well-known"].end) == (1.90, 2.60)
    assert words["Um"].confidence == pytest.approx(0.61)


def test_clean_mode_drops_fillers_and_cutoffs():
    words = wb.words_from_whisper_result(INTERVIEW_RESULT, verbatim=False)

    assert [x.text for x in words] == [
        "so", "I", "was", "well-known", "Really", "I", "mean", "it's", "goin'", "yeah", "U.S.",
    ]
    assert all(x.kind == "word" for x in words)


def test_result_without_word_timestamps_gives_no_words():
    result = {"language": "en", "segments": [{"start": 0.0, "end": 1.0, "text": " Hello."}]}

    assert wb.words_from_whisper_result(result, verbatim=True) == []


def test_odd_values_are_repaired_not_trusted():
    no_probability = {"word": " x", "start": 1, "end": 2}
    result = {"segments": [{"words": [w(" later", 2.0, 1.9, 1.0000001), no_probability]}]}

    later, x = wb.words_from_whisper_result(result, verbatim=True)
    assert (later.start, later.end, later.confidence) == (2.0, 2.0, 1.0)
    assert x.confidence is None


def test_repetition_loop_is_flagged_but_kept():
    loop = [w(" Thank", 10 + i, 10.4 + i) for i in range(8)]
    words_in = []
    for i, thank in enumerate(loop):
        words_in += [thank, w(" you.", 10.4 + i, 10.8 + i)]
    stutter = [w(" I", 9.0, 9.1), w(" I", 9.1, 9.2), w(" I", 9.2, 9.3), w(" think", 9.3, 9.6)]
    result = {"segments": [segment(stutter), segment(words_in, id=1)]}

    words = wb.words_from_whisper_result(result, verbatim=True)
    loops = wb.find_repetition_loops(words)

    assert len(words) == 4 + 16  # nothing dropped
    assert loops == [(4, 19, "Thank you", 8)]  # "I I I" is speech, not a loop


def test_bare_text():
    assert wb.bare_text(' "Really?"') == "Really"
    assert wb.bare_text("so—") == "so-"
    assert wb.bare_text("...") == wb.bare_text(" —") == wb.bare_text("") == ""
    assert wb.bare_text("'cause") == "'cause"
    assert wb.bare_text("e.g.,") == "e.g."


# ---------------------------------------------------------------------------------------------
# Speech regions


def test_speech_windows_are_padded_clipped_sorted_and_merged():
    regions = [(5.0, 6.0), (0.05, 1.0), (1.3, 2.0), (9.9, 12.0), (7.0, 7.0)]

    windows = wb.speech_windows(regions, duration=10.0, pad=0.2)

    flat = [t for window in windows for t in window]
    assert flat == pytest.approx([0.0, 2.2, 4.8, 6.2, 9.7, 10.0])  # (7.0, 7.0) is no region
    assert wb.speech_windows([], duration=10.0) == []
    assert wb.speech_windows([(11.0, 12.0)], duration=10.0) == []


def test_clip_timestamps_join_short_gaps_only():
    windows = [(0.0, 2.2), (3.0, 4.0), (9.0, 10.0)]

    assert wb.clip_timestamps(windows, max_gap=2.0) == [0.0, 4.0, 9.0, 10.0]


def test_words_over_silence_are_dropped_and_edges_clamped():
    words = [
        RecognizedWord("before", 0.0, 0.4),
        RecognizedWord("edge", 0.9, 1.3),
        RecognizedWord("inside", 1.4, 1.6),
        RecognizedWord("gap", 2.5, 2.9),
        RecognizedWord("touching", 2.0, 2.0),
    ]

    kept = wb.confine_to_regions(words, [(1.0, 2.0), (3.0, 4.0)])

    assert [(x.text, x.start, x.end) for x in kept] == [
        ("edge", 1.0, 1.3), ("inside", 1.4, 1.6), ("touching", 2.0, 2.0),
    ]


# ---------------------------------------------------------------------------------------------
# Decoding options


def test_verbatim_options_prime_every_window_with_fillers():
    options = wb._decoding_options("en", verbatim=True, device="cpu")

    assert options["word_timestamps"] is True
    assert options["hallucination_silence_threshold"] == wb.HALLUCINATION_SILENCE_S
    assert options["fp16"] is False
    assert "um" in options["initial_prompt"].lower() and "uh" in options["initial_prompt"].lower()
    # openai-whisper 20250625 has carry_initial_prompt; older versions must not receive it.
    supported = "carry_initial_prompt" in inspect.signature(whisper.transcribe).parameters
    assert options.get("carry_initial_prompt", False) is supported


def test_clean_options_have_no_prompt_and_fp16_only_on_cuda():
    options = wb._decoding_options("de", verbatim=False, device="cuda:0")

    assert "initial_prompt" not in options and "carry_initial_prompt" not in options
    assert options["fp16"] is True and options["language"] == "de"


def test_transcribe_decodes_only_speech_and_drops_words_in_silence(checkpoint, monkeypatch):
    seen = {}

    def fake_transcribe(model, audio, **options):
        seen.update(options)
        return {
            "language": "en",
            "segments": [
                segment([w(" hello", 0.5, 0.9), w(" ghost", 2.0, 2.4), w(" there.", 4.1, 4.5)])
            ],
        }

    monkeypatch.setattr(whisper, "transcribe", fake_transcribe)

    recognition = wb.transcribe(
        noise(5.0), model=str(checkpoint), language="en", speech_regions=[(0.4, 1.0), (4.0, 4.6)]
    )

    assert seen["clip_timestamps"] == [0.2, 1.2, 3.8, 4.8]
    assert [x.text for x in recognition.words] == ["hello", "there"]
    assert recognition.language == "en" and recognition.model == str(checkpoint)


def test_no_speech_means_nothing_is_decoded(checkpoint, monkeypatch):
    monkeypatch.setattr(whisper, "transcribe", lambda *a, **k: pytest.fail("decoded silence"))

    recognition = wb.transcribe(noise(2.0), model=str(checkpoint), speech_regions=[])

    assert recognition.words == [] and recognition.notes


def test_language_is_validated_up_front():
    multilingual = SimpleNamespace(is_multilingual=True)
    english_only = SimpleNamespace(is_multilingual=False)

    assert wb._language_code("German", multilingual, "turbo") == "de"
    assert wb._language_code(None, multilingual, "turbo") is None
    assert wb._language_code(None, english_only, "small.en") == "en"
    with pytest.raises(ConfigError, match="Klingon"):
        wb._language_code("Klingon", multilingual, "turbo")
    with pytest.raises(ConfigError, match="English-only"):
        wb._language_code("de", english_only, "small.en")


def test_device_auto_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert wb.select_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert wb.select_device("auto") == "cuda"
    assert wb.select_device("cpu") == "cpu"


# ---------------------------------------------------------------------------------------------
# Model files


def test_resolve_checkpoint_by_name_alias_and_path(models_dir, checkpoint, tmp_path):
    assert wb.resolve_checkpoint("turbo", models_dir) == models_dir / "large-v3-turbo.pt"
    assert wb.resolve_checkpoint("large-v3", models_dir) is None
    (tmp_path / "small.en.pt").write_bytes(b"")  # whisper's name would be small.en.pt too
    (tmp_path / "medium.pt").write_bytes(b"")
    assert wb.resolve_checkpoint("small.en", tmp_path) == tmp_path / "small.en.pt"
    assert wb.resolve_checkpoint("medium", tmp_path) == tmp_path / "medium.pt"
    assert wb.resolve_checkpoint(str(checkpoint), None) == checkpoint


def test_checkpoint_path_uses_whispers_file_names(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    assert wb.checkpoint_path("turbo") == tmp_path / "whisper" / "large-v3-turbo.pt"
    assert wb.checkpoint_path("large", tmp_path / "m") == tmp_path / "m" / "large-v3.pt"


def test_load_model_from_path_and_models_dir_is_cached(checkpoint, models_dir, no_download):
    by_path = wb.load_model(str(checkpoint), device="cpu")
    by_name = wb.load_model("turbo", models_dir=models_dir, device="cpu")

    assert isinstance(by_path, whisper.model.Whisper) and isinstance(by_name, whisper.model.Whisper)
    assert wb.load_model(str(checkpoint), device="cpu") is by_path
    assert by_name is not by_path  # a different file
    assert by_path.dims.n_text_state == 64


def test_unknown_model_name_lists_the_available_ones():
    with pytest.raises(ModelUnavailableError) as error:
        wb.load_model("enormous-v9", device="cpu")

    message = str(error.value)
    assert "enormous-v9" in message
    assert all(name in message for name in whisper.available_models())


def test_missing_model_in_models_dir_names_url_and_path_without_downloading(tmp_path, no_download):
    with pytest.raises(ModelUnavailableError) as error:
        wb.load_model("turbo", models_dir=tmp_path, device="cpu")

    message = str(error.value)
    assert TURBO_URL in message
    assert str(tmp_path / "large-v3-turbo.pt") in message
    assert "models_dir" in message
    assert error.value.path == tmp_path / "large-v3-turbo.pt"


def test_failed_download_names_url_and_cache_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    attempts = []

    def offline(url, root, in_memory):
        attempts.append((url, root))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(whisper, "_download", offline)

    with pytest.raises(ModelUnavailableError) as error:
        wb.transcribe(noise(1.0), model="large-v3", device="cpu")

    expected = tmp_path / "whisper" / "large-v3.pt"
    assert attempts == [(whisper._MODELS["large-v3"], str(expected.parent))]
    message = str(error.value)
    assert whisper._MODELS["large-v3"] in message and str(expected) in message
    assert "name resolution" in message and "models_dir" in message


def test_missing_checkpoint_path(tmp_path):
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        wb.load_model(str(tmp_path / "mine.pt"), device="cpu")


def test_corrupt_checkpoint_says_to_download_again(tmp_path, no_download):
    (tmp_path / "large-v3-turbo.pt").write_bytes(b"truncated")

    with pytest.raises(ModelUnavailableError) as error:
        wb.load_model("turbo", models_dir=tmp_path, device="cpu")

    assert "cannot be loaded" in str(error.value) and TURBO_URL in str(error.value)


# ---------------------------------------------------------------------------------------------
# Real decoding with the tiny random model


def test_transcribe_runs_end_to_end_from_a_checkpoint_path(checkpoint, no_download):
    audio = noise(2.0)

    recognition = wb.transcribe(audio, model=str(checkpoint), language="en", device="cpu")

    assert_well_formed(recognition, duration=2.0)
    assert recognition.language == "en"


@pytest.mark.slow
def test_transcribe_from_models_dir_detects_language_and_keeps_to_speech(models_dir, no_download):
    audio = noise(3.0, seed=1)
    regions = [(0.3, 1.0), (2.0, 2.6)]

    recognition = wb.transcribe(
        audio, model="turbo", models_dir=models_dir, device="cpu", speech_regions=regions
    )

    assert_well_formed(recognition, duration=3.0)
    assert recognition.model == "turbo"
    assert recognition.language in whisper.tokenizer.LANGUAGES
    windows = wb.speech_windows(regions, 3.0)
    for word in recognition.words:
        assert any(start <= word.start and word.end <= end for start, end in windows)
