"""Whisper recognition (default profile): timed words from openai-whisper.

Models are named as whisper names them (``turbo``, ``large-v3``, ``medium.en``, ...) or given as
a path to a ``.pt`` checkpoint. With a ``models_dir`` the checkpoint must already be there
(air-gapped machines) and nothing is downloaded; without one, whisper's own cache
(``~/.cache/whisper``) is used and whisper downloads what is missing.

Whisper's habits this backend corrects for:
- It tidies speech into prose, dropping "um" and "uh"; verbatim mode primes every window with a
  filler-bearing prompt so hesitations are transcribed.
- It invents text over silence; only the speech regions found by voice activity detection are
  decoded, and words that still land outside them are dropped.
- It can fall into repetition loops; those are reported in ``Recognition.notes``, never deleted,
  because genuine repetitions ("I I I think") are data in a verbatim transcript.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from undertone.audio import SAMPLE_RATE
from undertone.device import select_device
from undertone.errors import ConfigError, ModelUnavailableError
from undertone.transcribe import Recognition, RecognizedWord, word_kind

if TYPE_CHECKING:
    import whisper

BACKEND = "whisper"

# Whisper copies the style of its prompt: a prompt full of hesitations makes it keep them.
VERBATIM_PROMPT = "Um, so, uh, I mean, like, you know, hmm."

# s: silences longer than this before a suspected hallucination are skipped by whisper; also the
# longest gap between two speech regions that is decoded rather than skipped (whisper would
# decode a shorter silence anyway, and one window per region would multiply decoding time).
HALLUCINATION_SILENCE_S = 2.0
# s: added on both sides of each speech region; detectors clip soft onsets (/h/, /f/, breathy
# vowels) and whisper needs them to recognise the first and last word.
SPEECH_PAD_S = 0.2
# A phrase (up to this many words) repeated this many times in a row is a likely decoding loop.
LOOP_MAX_PHRASE_WORDS = 4
LOOP_MIN_REPEATS = 5

WHISPER_CHUNK_S = 30.0  # s: whisper's fixed input window (also what language detection reads)

# Punctuation whisper attaches to words; undertone's words are bare because intonation and
# pauses are marked from the audio (Jefferson notation), never copied from ASR punctuation.
_LEADING_PUNCTUATION = "\"“”‘¿¡([{«-–—‐ "
_TRAILING_PUNCTUATION = "\"“”’.。,，!！?？:：;；)]}»、…"
_DASHES = "-–—‐"
_ABBREVIATION = re.compile(r"(?:\w\.){2,}")

_LOADED: dict[tuple[str, str], "whisper.Whisper"] = {}


# ---------------------------------------------------------------------------------------------
# Model files


def default_models_dir() -> Path:
    """Whisper's own download cache (``$XDG_CACHE_HOME/whisper`` or ``~/.cache/whisper``)."""
    cache = os.getenv("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    return Path(cache) / "whisper"


def official_models() -> dict[str, str]:
    """Official model names and the URL each checkpoint is downloaded from."""
    import whisper

    return dict(whisper._MODELS)


def is_checkpoint_path(model: str) -> bool:
    """True when ``model`` names a file rather than one of whisper's official models."""
    return model.endswith(".pt") or "/" in model or os.sep in model or Path(model).is_file()


def checkpoint_path(model: str, models_dir: Path | None = None) -> Path:
    """Where the checkpoint of an official model is expected (it may not exist yet).

    The file name is whisper's own (the last part of its download URL, e.g. ``turbo`` is
    ``large-v3-turbo.pt``), so whisper's cache folder can serve as ``models_dir`` as it is.
    """
    if is_checkpoint_path(model):
        return Path(model).expanduser()
    url = _official_url(model)
    return Path(models_dir or default_models_dir()).expanduser() / url.rsplit("/", 1)[-1]


def resolve_checkpoint(model: str, models_dir: Path | None = None) -> Path | None:
    """The local checkpoint file for ``model``, or None when it would have to be downloaded.

    Never downloads. Raises :class:`ModelUnavailableError` for an unknown model name or a
    checkpoint path that does not exist, since no download can fix either.
    """
    if is_checkpoint_path(model):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(path, "Whisper checkpoint file does not exist")
        return path
    expected = checkpoint_path(model, models_dir)
    candidates = [expected]
    if models_dir is not None:
        candidates.append(Path(models_dir).expanduser() / f"{model}.pt")  # e.g. turbo.pt
    return next((path for path in candidates if path.is_file()), None)


def load_model(
    model: str = "turbo", *, models_dir: Path | None = None, device: str = "auto"
) -> "whisper.Whisper":
    """Load a Whisper model once per (checkpoint, device) and keep it for later recordings.

    Raises :class:`ModelUnavailableError` naming the URL to download and the exact path to save
    it to when the checkpoint is neither present nor downloadable.
    """
    device = select_device(device)
    path = resolve_checkpoint(model, models_dir)
    if path is None:
        path = checkpoint_path(model, models_dir)
        if models_dir is not None:
            raise _missing_model_error(model, path, models_dir, "not found in models_dir")
    key = (str(path.resolve()), device)
    if key not in _LOADED:
        if models_dir is None and not is_checkpoint_path(model):
            path = _download(model, path)
        _LOADED[key] = _load_checkpoint(model, path, device)
    return _LOADED[key]


def clear_model_cache() -> None:
    """Forget loaded models (frees their memory)."""
    _LOADED.clear()


def _official_url(model: str) -> str:
    models = official_models()
    if model not in models:
        raise ModelUnavailableError(
            None,
            f"unknown Whisper model '{model}': use one of {', '.join(models)} "
            "or the path to a .pt checkpoint",
        )
    return models[model]


def _download(model: str, path: Path) -> Path:
    """Let whisper download (or checksum-verify) an official checkpoint into ``path``'s folder."""
    import whisper

    try:
        return Path(whisper._download(_official_url(model), str(path.parent), False))
    except Exception as error:  # any network, disk or checksum failure: the user's fix is the same
        raise _missing_model_error(model, path, None, f"download failed: {error}") from error


def _missing_model_error(
    model: str, path: Path, models_dir: Path | None, reason: str
) -> ModelUnavailableError:
    url = _official_url(model)
    where = (
        f"the models_dir setting points to {models_dir}"
        if models_dir is not None
        else "or save it in any folder and set models_dir in the configuration to that folder"
    )
    return ModelUnavailableError(
        path,
        f"Whisper model '{model}' is not available ({reason}). "
        f"Download {url} and save it as {path} ({where}).",
    )


def _load_checkpoint(model: str, path: Path, device: str) -> "whisper.Whisper":
    import whisper

    try:
        loaded = whisper.load_model(str(path), device=device)
    except Exception as error:
        hint = f"download it again from {_official_url(model)}" if model in official_models() else (
            "check that it is a Whisper checkpoint (a dict with 'dims' and 'model_state_dict')"
        )
        raise ModelUnavailableError(
            path, f"cannot be loaded as a Whisper model ({error}); it may be incomplete: {hint}"
        ) from error
    heads = _alignment_heads(model, path)
    if heads is not None:
        try:
            loaded.set_alignment_heads(heads)
        except (ValueError, RuntimeError):
            pass  # not the official architecture after all: keep whisper's default heads
    return loaded


def _alignment_heads(model: str, path: Path) -> bytes | None:
    """The official cross-attention heads for word timing, also for a renamed-path checkpoint.

    Loading by path makes whisper fall back to a generic choice of heads, which gives worse word
    timestamps; an official file keeps its download name, so recognise it by that.
    """
    import whisper

    if model in whisper._ALIGNMENT_HEADS:
        return whisper._ALIGNMENT_HEADS[model]
    for name, url in whisper._MODELS.items():
        if url.rsplit("/", 1)[-1] == path.name:
            return whisper._ALIGNMENT_HEADS[name]
    return None


# ---------------------------------------------------------------------------------------------
# Recognition


def transcribe(
    samples: np.ndarray,
    *,
    model: str = "turbo",
    language: str | None = None,
    models_dir: Path | None = None,
    device: str = "auto",
    verbatim: bool = True,
    speech_regions: list[tuple[float, float]] | None = None,
) -> Recognition:
    """Recognise timed words in a mono float32 signal at ``SAMPLE_RATE``.

    ``language`` is a code or name whisper knows ("en", "german"); None detects it from the
    speech. ``verbatim`` keeps fillers and cut-off words (marked by ``kind``); clean mode drops
    them. ``speech_regions`` (seconds) restricts decoding to speech, so no words are invented
    over silence; an empty list means there is nothing to transcribe.
    """
    import whisper

    audio = np.ascontiguousarray(samples, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"expected a mono signal (1-D array), got shape {audio.shape}")
    duration = len(audio) / SAMPLE_RATE
    device = select_device(device)
    whisper_model = load_model(model, models_dir=models_dir, device=device)
    language = _language_code(language, whisper_model, model)

    windows = [(0.0, duration)] if speech_regions is None else speech_windows(speech_regions, duration)
    if not windows:
        return Recognition([], BACKEND, model, language, ["no speech found: nothing transcribed"])
    if language is None:
        language = detect_language(whisper_model, audio, windows, device)

    options = _decoding_options(language, verbatim, device)
    if speech_regions is not None:
        options["clip_timestamps"] = clip_timestamps(windows, HALLUCINATION_SILENCE_S)
    result = whisper.transcribe(whisper_model, audio, **options)

    words = confine_to_regions(words_from_whisper_result(result, verbatim), windows)
    notes = [_loop_note(words, loop) for loop in find_repetition_loops(words)]
    return Recognition(words, BACKEND, model, result.get("language", language), notes)


def _decoding_options(language: str, verbatim: bool, device: str) -> dict[str, Any]:
    import whisper

    options: dict[str, Any] = {
        "language": language,
        "word_timestamps": True,
        # Feeding each window's text to the next propagates loops; the prompt carries the style.
        "condition_on_previous_text": False,
        "hallucination_silence_threshold": HALLUCINATION_SILENCE_S,
        "fp16": device.startswith("cuda"),
        "verbose": None,  # no console output
    }
    if verbatim:
        options["initial_prompt"] = VERBATIM_PROMPT
        # Without it the prompt only primes the first 30 s window (added to whisper in 2024).
        if "carry_initial_prompt" in inspect.signature(whisper.transcribe).parameters:
            options["carry_initial_prompt"] = True
    return options


def _language_code(language: str | None, whisper_model: "whisper.Whisper", model: str) -> str | None:
    """Validate the configured language up front, as a clear error rather than mid-decode."""
    from whisper.tokenizer import LANGUAGES, TO_LANGUAGE_CODE

    if not whisper_model.is_multilingual:
        if language not in (None, "en", "english"):
            raise ConfigError(
                None, f"Whisper model '{model}' is English-only but language is '{language}'; "
                "choose a multilingual model (e.g. turbo or large-v3)"
            )
        return "en"
    if language is None:
        return None
    code = language.lower()
    code = TO_LANGUAGE_CODE.get(code, code)
    if code not in LANGUAGES:
        raise ConfigError(None, f"Whisper does not know the language '{language}'")
    return code


def detect_language(
    whisper_model: "whisper.Whisper",
    audio: np.ndarray,
    windows: list[tuple[float, float]],
    device: str,
) -> str:
    """Identify the language from (up to 30 s of) speech, not from whatever opens the file.

    Whisper itself listens to the first 30 s of the recording, which in interviews is often
    silence, room noise or setting up the recorder.
    """
    import torch
    import whisper

    if not whisper_model.is_multilingual:
        return "en"
    speech = np.concatenate(
        [audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)] for start, end in windows]
    )[: int(WHISPER_CHUNK_S * SAMPLE_RATE)]
    mel = whisper.log_mel_spectrogram(
        whisper.pad_or_trim(speech), whisper_model.dims.n_mels
    ).to(whisper_model.device)
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    _, probabilities = whisper_model.detect_language(mel.to(dtype))
    return max(probabilities, key=probabilities.get)


# ---------------------------------------------------------------------------------------------
# Speech regions


def speech_windows(
    regions: list[tuple[float, float]], duration: float, pad: float = SPEECH_PAD_S
) -> list[tuple[float, float]]:
    """Speech regions padded by ``pad`` seconds, clipped to the recording, sorted and merged."""
    windows: list[tuple[float, float]] = []
    for start, end in sorted((float(s), float(e)) for s, e in regions if e > s):
        start, end = max(0.0, start - pad), min(duration, end + pad)
        if end <= start:
            continue  # entirely outside the recording
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


def clip_timestamps(windows: list[tuple[float, float]], max_gap: float) -> list[float]:
    """Whisper's ``clip_timestamps``: a flat ``[start, end, start, end, ...]`` list in seconds.

    Whisper decodes each clip on its own, each in at least one full 30 s window; windows
    separated by less than ``max_gap`` are joined so a talkative hour is not decoded as
    thousands of fragments. Words placed in a joined gap are removed afterwards.
    """
    clips: list[list[float]] = []
    for start, end in windows:
        if clips and start - clips[-1][1] < max_gap:
            clips[-1][1] = end
        else:
            clips.append([start, end])
    return [round(t, 2) for clip in clips for t in clip]


def confine_to_regions(
    words: list[RecognizedWord], windows: list[tuple[float, float]]
) -> list[RecognizedWord]:
    """Drop words that lie entirely outside the windows; clamp the others into their window."""
    kept = []
    for word in words:
        window = max(windows, key=lambda w: _overlap(word, w), default=None)
        if window is None:
            break
        inside = _overlap(word, window) > 0 or window[0] <= word.start == word.end <= window[1]
        if inside:
            word.start = min(max(word.start, window[0]), window[1])
            word.end = min(max(word.end, word.start), window[1])
            kept.append(word)
    return kept


def _overlap(word: RecognizedWord, window: tuple[float, float]) -> float:
    return min(word.end, window[1]) - max(word.start, window[0])


# ---------------------------------------------------------------------------------------------
# Result conversion


def words_from_whisper_result(result: dict, verbatim: bool) -> list[RecognizedWord]:
    """Turn ``whisper.transcribe(..., word_timestamps=True)`` output into bare, classified words.

    Whisper's words carry a leading space and attached punctuation (" um,", ' "Really?"'); the
    text kept is the bare word, with apostrophes ("goin'", "it's") and a cut-off hyphen ("wa-").
    Whisper splits a cut-off into " wa" + "-" and a compound into " well" + "-known"; both are
    rejoined. Punctuation-only tokens are dropped. In clean mode (not ``verbatim``) fillers and
    cut-offs are dropped too.
    """
    words: list[RecognizedWord] = []
    for segment in result.get("segments", []):
        for raw in segment.get("words") or []:
            _add_whisper_word(words, raw)
    for word in words:
        word.kind = word_kind(word.text)
    if not verbatim:
        words = [word for word in words if word.kind == "word"]
    return words


def _add_whisper_word(words: list[RecognizedWord], raw: dict) -> None:
    token = str(raw.get("word", ""))
    stripped = token.strip()
    start, end = float(raw["start"]), float(raw["end"])
    confidence = _confidence(raw.get("probability"))
    attached = bool(words) and not token[:1].isspace()  # no leading space: continues a word
    if attached and stripped and stripped[0] in _DASHES:
        previous = words[-1]
        rest = bare_text(stripped)
        # " wa" + "-" is a cut-off; " well" + "-known" is one hyphenated word.
        previous.text = previous.text.rstrip(_DASHES) + "-" + rest.lstrip(_DASHES)
        previous.end = max(previous.end, end)
        previous.confidence = _lowest(previous.confidence, confidence)
        return
    text = bare_text(stripped)
    if not text:
        return  # punctuation only
    words.append(RecognizedWord(text=text, start=start, end=max(start, end), confidence=confidence))


def bare_text(token: str) -> str:
    """A token without surrounding punctuation; a trailing dash becomes the cut-off hyphen."""
    text = token.strip().lstrip(_LEADING_PUNCTUATION)
    if _ABBREVIATION.fullmatch(text.rstrip(_TRAILING_PUNCTUATION) + "."):
        return text.rstrip(_TRAILING_PUNCTUATION) + "."  # "U.S.", "e.g."
    text = text.rstrip(_TRAILING_PUNCTUATION).strip()
    core = text.rstrip(_DASHES)
    if not core or not any(ch.isalnum() for ch in core):
        return ""
    return core + "-" if core != text else core


def _confidence(probability: Any) -> float | None:
    if probability is None:
        return None
    return min(1.0, max(0.0, float(probability)))


def _lowest(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


# ---------------------------------------------------------------------------------------------
# Repetition loops


def find_repetition_loops(
    words: list[RecognizedWord],
    max_phrase_words: int = LOOP_MAX_PHRASE_WORDS,
    min_repeats: int = LOOP_MIN_REPEATS,
) -> list[tuple[int, int, str, int]]:
    """Runs of one phrase repeated back to back, as (first word, last word, phrase, repeats).

    Speakers repeat themselves ("I I I think"), so only long runs are reported, and they are
    only reported: whether it is a decoding loop is for someone listening to the audio to say.
    """
    keys = [re.sub(r"\W", "", w.text.lower()) for w in words]
    loops: list[tuple[int, int, str, int]] = []
    i = 0
    while i < len(words):
        found = _longest_run_at(keys, i, max_phrase_words)
        if found is not None and found[1] >= min_repeats:
            size, repeats = found
            last = i + size * repeats - 1
            phrase = " ".join(w.text for w in words[i : i + size])
            loops.append((i, last, phrase, repeats))
            i = last + 1
        else:
            i += 1
    return loops


def _longest_run_at(keys: list[str], i: int, max_size: int) -> tuple[int, int] | None:
    """The (phrase size, repeats) covering the most words when repeating from position ``i``."""
    best = None
    for size in range(1, max_size + 1):
        phrase = keys[i : i + size]
        if len(phrase) < size or not all(phrase):
            break
        repeats = 1
        while keys[i + repeats * size : i + (repeats + 1) * size] == phrase:
            repeats += 1
        if repeats > 1 and (best is None or size * repeats > best[0] * best[1]):
            best = (size, repeats)
    return best


def _loop_note(words: list[RecognizedWord], loop: tuple[int, int, str, int]) -> str:
    first, last, phrase, repeats = loop
    return (
        f"possible Whisper repetition loop: '{phrase}' {repeats} times in a row "
        f"({words[first].start:.2f}-{words[last].end:.2f} s, words {first}-{last}); "
        "kept, check against the audio"
    )
