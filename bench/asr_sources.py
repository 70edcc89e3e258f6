"""Recordings with word-level references, and undertone runs on them, for the ASR benchmarks.

Shared by ``bench/boundaries.py`` (word start/end error) and ``bench/wer.py`` (word error rate).

Sources
-------
* ``sample``: the synthetic sample interview (``sample_audio/``; 82 s, two espeak-ng voices).
* ``marks-quick`` / ``marks-full``: the marks benchmark's synthetic interview
  (``bench/marks_corpus.py``; ~1 and ~9 minutes), each *clean* and *noisy* (reverb + speech-shaped
  noise at 20 dB SNR, same truth).
* ``pyannote``: the real 30 s phone call in the pyannote.audio wheel (``sample.stm``: utterances
  with speaker, start, end and text placed by hand; no word times).

Word truth of the synthetic sources
-----------------------------------
Both synthetic interviews are built from pieces synthesised one by one with the espeak-ng command,
trimmed to their first and last audible sample and placed at a known sample. So:

* a word that starts or ends a piece has that edge *to the sample* (``exact``);
* a word edge inside a piece comes from libespeak-ng's synthesis events for the same text, voice,
  pitch and speed (read through ctypes, with ``marks_corpus.EspeakTiming``'s library handle): a
  word starts at its WORD event and ends at the next WORD event or at the first pause phoneme
  (``_``, ``_:``) after it, whichever comes first; both are moved by the silence the trim cut from
  the piece's start (the command's untrimmed output is synthesised again to measure it). The
  library and the command produce the same samples on a fresh engine; the event positions are
  whole milliseconds. These edges are where espeak-ng's *phonemes* change, so a word that starts
  with a stop starts at its closure (silent inside a phrase), as in TIMIT-style labelling.
  Edges espeak does not report (it gives some function-word pairs, e.g. "of the", one event) are
  left out (``None``).

Runs
----
:func:`run` calls ``undertone.pipeline.process_file`` with the offline profile, exactly as the
command line does, and records on the way (by wrapping two module functions for the duration of
the run, nothing in ``src/`` is changed) the word times of each stage:

* ``decoder``: pocketsphinx's forced alignment as decoded (10 ms frames), before the aligner moves
  word edges out of clear pauses (``sphinx._trim_pauses_from_edges``); alignment mode only;
* ``engine``: what the transcription stage returns (alignment: after that pause trim;
  recognition: pocketsphinx's recogniser output);
* ``output``: ``words[].start/end`` of the output JSON, after the pipeline snaps word edges onto
  the silences it measures (``silences.snap_word_edges``).
"""

from __future__ import annotations

import base64
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO / "src", REPO / "bench", REPO / "sample_audio"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

# Shared with the marks benchmark (bench/marks.py); pyannote_sample_dir is re-exported for boundaries.py.
from marks import parse_stm, process_despite_refusal, pyannote_sample_dir  # noqa: F401

SAMPLE_DIR = REPO / "sample_audio"
ESPEAK_EVENT_WORD, ESPEAK_EVENT_PHONEME = 1, 7
RESAMPLER_EDGE = 32  # samples at the end of a resampled synthesis that depend on where it stops
MIN_SILENCE_S = 0.01  # a run of inaudible samples this long inside a piece is silence, not a zero crossing


@dataclass
class RefWord:
    """One reference word; times in seconds (None where the reference has none)."""

    text: str
    speaker: str
    start: float | None = None
    end: float | None = None
    start_exact: bool = False  # True: a piece edge, exact to the sample
    end_exact: bool = False


@dataclass
class RefUtterance:
    """A reference utterance (hand-placed start/end) covering words first..last."""

    speaker: str
    start: float
    end: float
    first_word: int
    last_word: int
    text: str


@dataclass
class Source:
    """A recording, the known transcript to align, and the reference words (in transcript order)."""

    name: str
    audio: Path
    transcript_text: str
    words: list[RefWord]
    utterances: list[RefUtterance] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    duration: float = 0.0
    spans: list[tuple[str, float, float]] = field(default_factory=list)  # (speaker, start, end) of
    #                                       every piece or utterance: who speaks when, for attribution


@dataclass
class Run:
    """One process_file run: the output JSON and each stage's word times."""

    mode: str  # "alignment" | "recognition"
    document: dict[str, Any]
    stages: dict[str, list[tuple[str, float, float]]]  # stage -> [(text, start, end)] in engine order
    seconds: float
    refusal: str | None = None


# --------------------------------------------------------------------------- espeak word times

def espeak_events(text: str, voice: str, pitch: int, speed: int, amplitude: int, ssml: bool
                  ) -> tuple[list[tuple[int, int, int, bytes]], np.ndarray, int]:
    """libespeak-ng's (type, audio ms, 1-based character position, phoneme id) events for ``text``
    read on a fresh engine (``bench/espeak_events.py`` in a child process), its audio, and its rate."""
    request = json.dumps({"text": text, "voice": voice, "pitch": int(pitch), "speed": int(speed),
                          "amplitude": int(amplitude), "ssml": ssml})
    done = subprocess.run([sys.executable, str(REPO / "bench" / "espeak_events.py")], input=request,
                          capture_output=True, text=True, check=True)
    reply = json.loads(done.stdout)
    events = [(kind, ms, char, ident.encode("latin-1")) for kind, ms, char, ident in reply["events"]]
    samples = np.frombuffer(base64.b64decode(reply["samples"]), dtype="<i2").astype(np.float64) / 32768.0
    return events, samples, int(reply["rate"])


def word_offsets(text: str) -> list[tuple[int, str]]:
    """(1-based character position, word) of each word of espeak text; SSML tags are not words.

    Words are split as ``marks_corpus.tokens`` splits them (punctuation around a word dropped).
    """
    blanked = re.sub(r"<[^>]*>", lambda m: " " * len(m.group()), text)
    out = []
    for match in re.finditer(r"\S+", blanked):
        word = match.group().strip('.,?!;:"')
        if any(char.isalnum() for char in word):
            out.append((match.start() + 1, word))
    return out


def piece_word_times(events: list[tuple[int, int, int, bytes]], offsets: list[tuple[int, str]],
                     audio: np.ndarray, threshold: float, rate: int,
                     min_silence_s: float = MIN_SILENCE_S) -> list[tuple[float | None, float | None]]:
    """Each word's (start, end) in seconds from the piece's first audible sample.

    ``audio`` is the untrimmed synthesis the events belong to; samples above ``threshold`` are
    audible. The first word starts at the first audible sample and the last ends after the last
    one (the piece's edges, as ``generate.trim`` cuts them). Between two words espeak separates
    with a pause phoneme, the silence is the first run of at least ``min_silence_s`` inaudible
    samples that reaches past the pause event (the word's sound may fade out before it): the word
    before ends where it starts and the word after starts where it ends. Other edges are WORD
    events. An edge espeak does not report is None.
    """
    loud = np.abs(audio) > threshold
    audible = np.flatnonzero(loud)
    first, last = int(audible[0]), int(audible[-1])
    word_ms: dict[int, int] = {}
    for kind, ms, char, _ in events:
        if kind == ESPEAK_EVENT_WORD:
            word_ms.setdefault(char, ms)
    pauses = sorted(ms for kind, ms, _, ident in events if kind == ESPEAK_EVENT_PHONEME and ident.startswith(b"_"))
    starts = [None if word_ms.get(char) is None else round(word_ms[char] * rate / 1000) for char, _ in offsets]
    runs = _quiet_runs(loud, round(min_silence_s * rate))
    n = len(offsets)
    bounds: list[list[int | None]] = [[starts[k], None] for k in range(n)]
    bounds[0][0] = first
    bounds[-1][1] = last + 1
    for k in range(n - 1):
        this, following = starts[k], starts[k + 1]
        bounds[k][1] = following if this is not None else None
        if following is None:
            continue
        after = this if this is not None else max((x for x in starts[:k] if x is not None), default=first)
        pause = next((round(ms * rate / 1000) for ms in pauses if after * 1000 < ms * rate < following * 1000), None)
        if pause is None:
            continue
        if this is None:  # the pause may come before or after the unreported word
            bounds[k + 1][0] = None
            continue
        bounds[k][1] = pause
        silence = next(((a, b) for a, b in runs if b > pause and after < a < following), None)
        if silence is None:
            silence = next(((a, b) for a, b in runs if a <= pause < b), None)
        if silence is not None:
            bounds[k][1], bounds[k + 1][0] = silence
    return [tuple(None if x is None else min(max(x - first, 0), last + 1 - first) / rate for x in pair)
            for pair in bounds]


def _quiet_runs(loud: np.ndarray, min_samples: int) -> list[tuple[int, int]]:
    """[start, end) of every run of at least ``min_samples`` inaudible samples."""
    edges = np.diff(np.concatenate(([1], loud.astype(np.int8), [1])))
    starts, ends = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    return [(int(a), int(b)) for a, b in zip(starts, ends) if b - a >= min_samples]


def lead_and_length(audio: np.ndarray, threshold: float) -> tuple[int, int]:
    """Samples the trim cuts from the start, and the trimmed length (as ``generate.trim``)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return int(loud[0]), int(loud[-1] - loud[0] + 1)


@dataclass
class Piece:
    """One synthesised piece as placed in a synthetic recording."""

    speaker: str
    espeak_text: str
    voice: str
    pitch: int
    speed: int
    amplitude: int
    start_sample: int
    n_samples: int
    first_word: int  # global index of its first word


def truth_from_pieces(pieces: list[Piece], words: list[RefWord], rate: int, tmp: Path) -> dict[str, int]:
    """Fill in the reference words' times from the pieces; returns counts of what was checked."""
    import generate as gen

    from scipy.signal import resample_poly

    checks = {"pieces": 0, "length_mismatch": 0, "library_differs": 0, "token_mismatch": 0, "edges_unreported": 0}
    for piece in pieces:
        checks["pieces"] += 1
        ssml = "<prosody" in piece.espeak_text
        audio = gen.synthesise(piece.espeak_text, piece.voice, piece.pitch, piece.speed, piece.amplitude,
                               tmp, ssml=ssml)
        _, length = lead_and_length(audio, gen.TRIM_THRESHOLD)
        offsets = word_offsets(piece.espeak_text)
        mine = words[piece.first_word: piece.first_word + len(offsets)]
        if [normalise_word(w) for _, w in offsets] != [normalise_word(w.text) for w in mine]:
            checks["token_mismatch"] += 1
            continue
        events, library, library_rate = espeak_events(piece.espeak_text, piece.voice, piece.pitch, piece.speed,
                                                      piece.amplitude, ssml)
        g = math.gcd(rate, library_rate)
        library = resample_poly(library, rate // g, library_rate // g)
        # The events describe the library's audio: use them only where it is the command's audio.
        # (The library's output may stop before the command's: an echo tail is flushed only by
        # the command; the last few samples also differ by the resampler's edge.)
        n = min(len(library), len(audio)) - RESAMPLER_EDGE
        same = n > 0 and np.allclose(library[:n], audio[:n], atol=1e-6)
        checks["length_mismatch"] += length != piece.n_samples
        checks["library_differs"] += not same
        if length == piece.n_samples and same:
            inner = piece_word_times(events, offsets, audio, gen.TRIM_THRESHOLD, rate)
        else:
            inner = [(0.0 if k == 0 else None, piece.n_samples / rate if k == len(offsets) - 1 else None)
                     for k in range(len(offsets))]
        origin = piece.start_sample / rate
        for k, (word, (start, end)) in enumerate(zip(mine, inner)):
            word.start = None if start is None else round(origin + start, 6)
            word.end = None if end is None else round(origin + end, 6)
            word.start_exact, word.end_exact = k == 0, k == len(mine) - 1
            checks["edges_unreported"] += (start is None) + (end is None)
    return checks


def normalise_word(word: str) -> str:
    """Lower case, no punctuation but inner apostrophes: the form words are matched in."""
    return re.sub(r"[^\w']", "", word.lower()).strip("'")


# --------------------------------------------------------------------------- sources

def transcript_tokens(text: str) -> list[tuple[str, str]]:
    """(speaker, token) for every word of a known transcript, by undertone's own tokenizer."""
    from undertone.transcribe.known import parse_transcript_text, tokenize

    return [(turn.speaker, token) for turn in parse_transcript_text(text, None) for token in tokenize(turn.text)]


def sample_interview(tmp: Path) -> Source:
    """The sample interview, with word truth rebuilt from ``sample_audio/generate.py``'s script."""
    import generate as gen

    truth = json.loads((SAMPLE_DIR / "interview.truth.json").read_text(encoding="utf-8"))
    text = (SAMPLE_DIR / "interview.transcript.txt").read_text(encoding="utf-8")
    words = [RefWord(token, speaker) for speaker, token in transcript_tokens(text)]
    placed, _ = gen.layout(gen.SCRIPT, tmp)  # the generator's own placement, to the sample
    expected = [(u["start"], u["end"]) for u in truth["utterances"]]
    if [(gen.secs(p.start), gen.secs(p.end)) for p in placed] != expected:
        raise RuntimeError("sample_audio/generate.py no longer reproduces interview.truth.json "
                           "(different espeak-ng?): regenerate the sample")
    segments = [seg for turn in gen.SCRIPT for seg in turn.segs]
    pieces, first = [], 0
    for p, seg in zip(placed, segments):
        voice = gen.SPEAKERS[p.speaker]
        pitch = int(voice["pitch"]) + (gen.EMPHASIS_PITCH_BOOST if seg.style == "emphasis" else 0)
        pieces.append(Piece(p.speaker, gen.rising_ssml(seg.text) if seg.rise else seg.text, str(voice["voice"]),
                            pitch, int(voice["speed"]), int(voice["amplitude"]), p.start, p.end - p.start, first))
        first += len(word_offsets(seg.text))
    checks = truth_from_pieces(pieces, words, gen.SAMPLE_RATE, tmp)
    notes = [_checks_note(checks),
             "participant voice en-us+f3 ends every piece in a ~120 ms echo (its variant file's "
             "'echo 120 10'); the trim keeps it, so her piece-final word ends include it"]
    spans = [(u["speaker"], u["start"], u["end"]) for u in truth["utterances"]]
    return Source("sample", SAMPLE_DIR / "interview.wav", text, words, notes=notes, duration=truth["duration"],
                  spans=spans)


def marks_corpus_sources(quick: bool, build_full: bool = False, log=print) -> list[Source]:
    """The marks corpus, clean and noisy; the full one only when it is already cached (or asked)."""
    import marks_corpus

    params = marks_corpus.QUICK if quick else marks_corpus.FULL
    folder = marks_corpus.CACHE_DIR / f"{params.name}-{marks_corpus.corpus_key(params)}"
    if not quick and not build_full and not (folder / "truth.json").is_file():
        log(f"marks-full skipped: {folder.name} is not cached (build it with "
            "`uv run python bench/marks_corpus.py`, or pass --build-full)")
        return []
    corpus = marks_corpus.load_corpus(params, log=log)
    truth = corpus.truth
    text = corpus.transcript.read_text(encoding="utf-8")
    base_words = [RefWord(token, speaker) for speaker, token in transcript_tokens(text)]
    pieces = []
    for u in truth["utterances"]:
        voice = marks_corpus.SPEAKERS[u["speaker"]]
        synth = u["synth"]
        pieces.append(Piece(u["speaker"], synth.get("espeak_text") or u["text"], str(voice["voice"]),
                            int(synth.get("pitch") or voice["pitch"]), int(synth.get("speed") or voice["speed"]),
                            int(voice["amplitude"]), u["start_sample"], u["end_sample"] - u["start_sample"],
                            u["words"][0]))
    with tempfile.TemporaryDirectory() as tmp:
        checks = truth_from_pieces(pieces, base_words, truth["sample_rate"], Path(tmp))
    name = f"marks-{params.name}"
    out = []
    for condition, audio in (("clean", corpus.clean), ("noisy", corpus.noisy)):
        words = [RefWord(**vars(w)) for w in base_words]
        out.append(Source(f"{name} {condition}", audio, text, words, notes=[_checks_note(checks)],
                          duration=truth["duration"],
                          spans=[(u["speaker"], u["start"], u["end"]) for u in truth["utterances"]]))
    return out


def _checks_note(checks: dict[str, int]) -> str:
    return (f"{checks['pieces']} pieces re-synthesised: {checks['length_mismatch']} differ in length "
            f"and {checks['library_differs']} from libespeak-ng's audio (inner edges not used), "
            f"{checks['token_mismatch']} with other words, "
            f"{checks['edges_unreported']} inner word edges without a time (espeak reports some word pairs as one)")


def stm_source(folder: Path) -> Source:
    """A recording with an STM file: consecutive utterances of one speaker make one transcript turn."""
    from undertone.transcribe.known import tokenize

    stm = sorted(folder.glob("*.stm"))
    if not stm:
        raise FileNotFoundError(f"no .stm file in {folder}")
    rows = parse_stm(stm[0].read_text(encoding="utf-8"))
    audio = stm[0].with_suffix(".wav")
    if not audio.is_file():
        raise FileNotFoundError(f"{audio} is missing")
    lines: list[tuple[str, list[str]]] = []
    words: list[RefWord] = []
    utterances = []
    for row in rows:
        tokens = tokenize(row["text"])
        if not tokens:
            continue
        utterances.append(RefUtterance(row["speaker"], row["start"], row["end"], len(words),
                                       len(words) + len(tokens) - 1, row["text"]))
        words.extend(RefWord(token, row["speaker"]) for token in tokens)
        if lines and lines[-1][0] == row["speaker"]:
            lines[-1][1].append(row["text"])
        else:
            lines.append((row["speaker"], [row["text"]]))
    text = "".join(f"{speaker}: {' '.join(texts)}\n" for speaker, texts in lines)
    import soundfile

    duration = soundfile.info(audio).duration
    return Source("pyannote", audio, text, words, utterances,
                  notes=["STM utterance times placed by hand; no word times"], duration=duration,
                  spans=[(u.speaker, u.start, u.end) for u in utterances])


# --------------------------------------------------------------------------- runs

def run(source: Source, mode: str, settings_overrides: dict | None = None) -> Run:
    """``process_file`` with the offline profile in ``mode`` ("alignment": the known transcript;
    "recognition": pocketsphinx recognition and the embedded diarizer), recording each stage."""
    from undertone import pipeline
    from undertone.config import load_settings
    from undertone.transcribe import sphinx

    settings = load_settings("offline", overrides=settings_overrides or {})
    stages: dict[str, list[tuple[str, float, float]]] = {}
    real_transcribe, real_diarize = pipeline.transcribe_audio, pipeline.diarize_audio
    real_trim = sphinx._trim_pauses_from_edges
    seen: dict[str, Any] = {}

    def transcribe_spy(*args, **kwargs):
        recognition = real_transcribe(*args, **kwargs)
        seen["audio"], seen["recognition"] = args[0], recognition
        stages["engine"] = [(w.text, w.start, w.end) for w in recognition.words]
        return recognition

    def diarize_spy(*args, **kwargs):
        seen["diarization"] = real_diarize(*args, **kwargs)
        return seen["diarization"]

    def trim_spy(tokens, signal):
        stages["decoder"] = [(t.text, t.start, t.end) for t in tokens]
        return real_trim(tokens, signal)

    refusal = None
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        transcript = None
        if mode == "alignment":
            transcript = Path(tmp) / f"{Path(source.audio).stem}.transcript.txt"
            transcript.write_text(source.transcript_text, encoding="utf-8")
        pipeline.transcribe_audio, pipeline.diarize_audio = transcribe_spy, diarize_spy
        sphinx._trim_pauses_from_edges = trim_spy
        try:
            result, refusal = process_despite_refusal(source.audio, settings, transcript)
        finally:
            pipeline.transcribe_audio, pipeline.diarize_audio = real_transcribe, real_diarize
            sphinx._trim_pauses_from_edges = real_trim
    if mode == "recognition":  # what the default profile does to recognised words (align_words)
        overrides = settings_overrides or {}
        asr = {**overrides.get("asr", {}), "align_words": True}
        retiming = load_settings("offline", overrides={**overrides, "asr": asr})
        realigned = pipeline.retime_words(seen["audio"], seen["recognition"], seen.get("diarization"), retiming)
        stages["realigned"] = [(w.text, w.start, w.end) for w in realigned.words]
    document = result.transcript.to_json_dict()
    stages["output"] = [(w["text"], w["start"], w["end"]) for w in document["words"]]
    return Run(mode, document, stages, time.perf_counter() - started, refusal)


def engine_order(engine: list[tuple[str, float, float]]) -> list[int]:
    """The order the pipeline puts engine words in (a stable sort by start, then end)."""
    return sorted(range(len(engine)), key=lambda i: (engine[i][1], engine[i][2]))


def alignment_stage_times(run_: Run, n_words: int) -> dict[str, list[tuple[float, float] | None]]:
    """For alignment runs: each transcript word's (start, end) at every stage, in transcript order.

    The aligner returns exactly one word per transcript token, in order; the output JSON lists
    them sorted by time. The decoder stage holds only the tokens it could pronounce, and gives no
    time to those it could not place; both get their final (interpolated) time there too, so
    every stage is scored on the same words.
    """
    engine = run_.stages["engine"]
    if len(engine) != n_words:
        raise RuntimeError(f"aligner returned {len(engine)} words for {n_words} transcript tokens")
    out: dict[str, list[tuple[float, float] | None]] = {}
    if "decoder" in run_.stages:
        decoder, times, j = run_.stages["decoder"], [], 0
        for text, start, end in engine:
            if j < len(decoder) and decoder[j][0] == text:
                placed = decoder[j][1] is not None and decoder[j][2] is not None
                times.append((decoder[j][1], decoder[j][2]) if placed else (start, end))
                j += 1
            else:
                times.append((start, end))
        out["decoder"] = times
    out["engine"] = [(s, e) for _, s, e in engine]
    output: list[tuple[float, float] | None] = [None] * n_words
    for position, index in enumerate(engine_order(engine)):
        text, start, end = run_.stages["output"][position]
        if text != engine[index][0]:
            raise RuntimeError(f"output word {position} {text!r} is not engine word {index} {engine[index][0]!r}")
        output[index] = (start, end)
    out["output"] = output
    return out
