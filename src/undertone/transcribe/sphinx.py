"""Offline transcription with PocketSphinx: free recognition, and forced alignment of a known transcript.

Everything here runs on the English model that ships inside the ``pocketsphinx`` wheel, so the
offline profile needs no download. Two kinds of decoder (loading one takes a fraction of a
second):

* the *recognizer* uses the bundled trigram language model; a fresh one decodes each chunk of
  the recording (see "Recognition" below);
* the *aligner* has no language model; a fresh one aligns each transcript (or each group of
  recognised words) and decodes all of its windows. It works with grammars built on the fly
  and scores every senone in every frame (``compallsen``) so that scores of different grammars
  over the same audio are comparable (see "Does the transcript match?" below). Words the
  aligner learns (out-of-dictionary names) never leak into the recognizer, because they are
  separate decoders (PocketSphinx adds new words to the active language model too).

Recognition
-----------
Long audio is cut into chunks of at most ``RECOGNITION_CHUNK_MAX_S`` at the quietest point of a
window (smoothed frame energy), each chunk is decoded on its own by a fresh decoder, and the
word times are offset by the chunk start. Memory and time therefore grow linearly with the
recording. The chunks being independent, they are decoded by several worker processes at once
when there are cores to spare (:mod:`undertone.transcribe.sphinx_workers`), and the words are the
same whatever the number of processes.

Alignment of a long recording
-----------------------------
Aligning an hour as one utterance is slow, needs a huge search space and lets one bad passage
derail everything. Instead we walk through the recording in windows of
``ALIGN_WINDOW_MIN_S``..``ALIGN_WINDOW_MAX_S`` seconds, each ending at the quietest point
available, and keep a cursor (time, next transcript word):

1. The window gets a grammar with the next words of the transcript: more than can possibly be
   spoken in it (``MAX_WORDS_PER_S``). The grammar may *end after any word*, so the decoder
   itself decides how much of the text the window contains. It may also *skip* up to
   ``MAX_SKIP`` words at a heavy penalty, so a word typed but never said does not break the
   alignment; silence and noise may appear between any two words. A skip must not hide speech:
   where the model fits a voice poorly (a turn-final rise or fall, a quiet phrase), calling the
   sound of a few words silence and skipping them can score better than the words, which then
   turn up squeezed into a neighbour. A window with skips is therefore aligned again with every
   word forced, and that alignment wins if it leaves clearly less audible sound to silence.
2. Only words that end at least ``COMMIT_MARGIN_S`` before the window end are committed: near the
   cut the decoder lacks right context, so those words are aligned again, with context, as the
   start of the next window. The next window starts in the pause after the last committed word.
3. The last window (the remaining audio is short enough) must contain all remaining words.

Every window therefore costs a bounded amount of work, and timing errors cannot accumulate:
each window is re-anchored on words aligned with full context. The search beams are much wider
than PocketSphinx's defaults: speech the transcript lacks (an untyped "you know") makes the
right path score badly for a moment, and with narrow beams a wrong path that skips words wins.

Short turns of another speaker (backchannels such as "yeah") that were said over the end of
the turn before them are then placed again, each speaker's words on their own (see
:mod:`undertone.transcribe.backchannel`): sequential alignment would end the speaker's last
word where the listener's voice starts, and so hide the overlap.

Finally, a word edge that reaches into a clear pause (``PAUSE_MIN_S`` of frames at the noise
floor) is moved out of it: the acoustic model likes to stretch a weak sound such as the "th" of
a sentence-initial "the" over the pause before it, which would hide a pause the transcript
must show.

Does the transcript match?
--------------------------
Forced alignment always produces *some* timing. To tell a matching transcript from the
transcript of another recording, every window is also decoded with a free phone loop (any
sequence of English phones). Both paths are re-aligned state by state, which gives their
acoustic log-likelihood frame by frame on the same audio with the same normalisation. Their
difference, averaged over the frames the transcript words occupy, is a log-likelihood ratio
per frame (the "goodness of pronunciation" idea): close to 0 when the words explain the audio
about as well as the best unconstrained phone sequence, strongly negative when the words are
wrong. A window, a turn (naming its line) or the transcript as a whole (each with enough
speech to judge) below ``MISMATCH_LLR_PER_FRAME`` raises :class:`TranscriptFileError`, as does
a transcript of which the aligner had to skip more than ``MAX_SKIPPED_FRACTION`` of the words,
or whose remaining words cannot be fitted into the audio at all. The same ratio, averaged over
one word's frames and exponentiated, is that word's confidence (1 = as good as anything the
phone loop finds).

Words without a dictionary pronunciation get one from simple English letter-to-sound rules;
tokens that cannot be pronounced at all (no Latin letters or digits), or that the decoder chose
to skip, get times interpolated between their neighbours and ``confidence=None``. The output
always has exactly one word per transcript token, in order.
"""

from __future__ import annotations

import math
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from undertone.audio import SAMPLE_RATE
from undertone.errors import ModelUnavailableError, TranscriptFileError
from undertone.pronounce import DIGIT_WORDS, letters_to_phones
from undertone.transcribe import FILLERS, Recognition, RecognizedWord, word_kind
from undertone.transcribe.known import KnownTurn, spoken_form, tokenize

BACKEND = "pocketsphinx"
MODEL_NAME = "en-us"  # the acoustic model, dictionary and language model inside the wheel
ENGLISH_CODES = frozenset({"en", "eng", "english"})

FRAMES_PER_S = 100  # PocketSphinx analysis frame rate (10 ms frames)
SENONE_SCORE_SHIFT = 10  # bits: PocketSphinx stores acoustic scores as log-base ints >> 10
INT16_FULL_SCALE = 32767
DITHER_LSB = 1.0  # int16 steps of triangular dither: digitally silent stretches otherwise
#                   give -inf log energies, and the decoder then drops the next words
DITHER_SEED = 20240501  # fixed, so that results are reproducible

ENERGY_SMOOTHING_S = 0.3  # s: pauses shorter than this are not preferred as cut points
MIN_DECODE_S = 0.05  # s: shorter pieces of audio are not worth (or able to be) decoded

RECOGNITION_CHUNK_MIN_S = 15.0  # s: shortest chunk (except the last), so CMN has enough data
RECOGNITION_CHUNK_MAX_S = 30.0  # s: longest chunk handed to the recognizer
# A worker process costs about a second to start (Python, numpy, the language model), while a
# chunk takes several seconds to decode: worth it from two chunks per process.
MIN_CHUNKS_PER_PROCESS = 2

ALIGN_WINDOW_MIN_S = 20.0  # s: shortest alignment window (except the last)
ALIGN_WINDOW_MAX_S = 40.0  # s: longest alignment window
COMMIT_MARGIN_S = 4.0  # s: words ending this close to a window's end are re-aligned next window
MAX_WORDS_PER_S = 7.0  # words/s: more than anyone speaks, so a window's text is never short
EXTRA_WORDS = 10  # words added to every window's text on top of the rate estimate
MAX_SKIP = 3  # transcript words the aligner may skip in a row (typed but not spoken)
SKIP_PROBABILITY = 1e-20  # per skipped word: only skip when forcing the word costs far more
# Search beams (probability ratios to the best path; PocketSphinx defaults are 1e-48/7e-29).
# Wider beams keep the right path alive through speech the transcript lacks, where it
# briefly scores badly; without them a cheaper wrong path (skipping words) wins.
ALIGN_BEAM = 1e-100
ALIGN_WORD_BEAM = 1e-80

SILENCE_PROBABILITY = 0.1  # chance of a pause between two words (PocketSphinx default 0.005
#                            made the aligner stretch a word over short pauses instead)
PAUSE_MIN_S = 0.10  # s: quiet frames at a word's edge lasting this long are a pause, not the word
QUIET_ABOVE_FLOOR_DB = 6.0  # dB over the noise floor below which a frame counts as quiet
MIN_DYNAMIC_RANGE_DB = 25.0  # dB between speech and floor needed to trust quiet frames at all
# A stretch this long with no frame above the noise floor (a recorder left running before the
# interview, a break) holds no words: recognition skips it (decoding silence or room noise is
# slower than decoding speech), and alignment starts its next window just before the sound
# after it. Otherwise a window of pure silence must still take a word, which lands anywhere.
LONG_SILENCE_S = 4.0
SILENCE_LEAD_IN_S = 1.0  # s: kept before the sound that ends a skipped silence
MIN_WORD_S = 0.03  # s: an edge is never trimmed so far that less than this remains
EDGE_SLACK_S = 0.03  # s: a pause may start this far inside a word's edge (the aligner's
#                      boundary is often a frame or two off the pause)

# Measured on synthetic speech (espeak-ng, white noise at 40/20/10 dB SNR): matching turns
# scored -0.35/-0.46/-1.0 nats/frame (median; worst -1.0/-1.6/-2.1), a wrong sentence
# -3.5/-3.8/-3.4 (best -2.3/-2.2/-2.0), the transcript of another recording about -4.
MISMATCH_LLR_PER_FRAME = -2.5  # nats/frame: below this the words do not describe the audio
# One turn is judged on little speech, so its fit scatters more: on the marks benchmark's clean
# synthetic interview (62 judged turns of a correct transcript) the worst turn scored -2.6, and
# refusing a correct transcript blocks the researcher entirely, while one poorly fitting turn
# only gets poor word times (and low confidences, and a note). A turn alone is refused only
# below this, still above the median of wrong sentences (-3.4 to -3.8); the windows and the
# transcript as a whole keep the stricter bound above.
MISMATCH_TURN_LLR_PER_FRAME = -3.0
MIN_TURN_CHECK_S = 1.0  # s: turns with less aligned speech are only judged as part of the whole
MIN_WINDOW_CHECK_S = 2.0  # s: the same for windows
MIN_OVERALL_CHECK_S = 0.5  # s: and for the whole transcript (short words alone are too noisy)
MAX_SKIPPED_FRACTION = 0.3  # more of the words than this skipped: the text is not this audio

# Phones of the bundled acoustic model (CMU/ARPAbet set without stress), used for the phone loop.
PHONES = (
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH "
    "UH UW V W Y Z ZH"
).split()
_PHONE_WORD_PREFIX = "phone_loop_"
_LOOP_SEARCH = "phone_loop"

# Tokens the decoders emit that are not words: sentence markers, silence, noise.
_NON_WORDS = frozenset({"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]", "[COUGH]"})
_ALTERNATE_PRONUNCIATION = re.compile(r"\(\d+\)$")

_aligner_lock = threading.Lock()


# --------------------------------------------------------------------------------------------
# Decoders


def _model_paths() -> dict[str, str]:
    from pocketsphinx import get_model_path

    return {
        "hmm": get_model_path("en-us/en-us"),
        "dict": get_model_path("en-us/cmudict-en-us.dict"),
    }


def _quiet_decoder(**settings):
    """A PocketSphinx decoder with its (very chatty) logging switched off."""
    try:
        from pocketsphinx import Decoder
    except ImportError as error:  # pragma: no cover - pocketsphinx is a hard dependency
        raise ModelUnavailableError(None, f"pocketsphinx is not installed ({error})") from None
    try:
        return Decoder(loglevel="FATAL", logfn="/dev/null", **_model_paths(), **settings)
    except (RuntimeError, ValueError) as error:
        raise ModelUnavailableError(None, f"cannot load the bundled pocketsphinx model ({error})") from None


def _recognizer():
    """A fresh large-vocabulary decoder (bundled trigram LM), for one chunk.

    Fresh for every chunk, because a decoder that has decoded audio before decodes the same
    chunk differently (its cepstral mean and search state carry over; resetting the mean is not
    enough): with a decoder per chunk, a chunk's words do not depend on which chunks one process
    decoded before it, so they are the same for any number of processes. Loading takes about
    0.4 s, against several seconds to decode a chunk.
    """
    from pocketsphinx import get_model_path

    return _quiet_decoder(lm=get_model_path("en-us/en-us.lm.bin"))


def _aligner():
    """A fresh grammar decoder for one alignment, with the phone-loop search already installed.

    Fresh for every call, as the recogniser is for every chunk: a decoder that has decoded
    audio before aligns the same audio differently (by a frame here and there: its cepstral
    mean and search state carry over, and resetting the mean is not enough). With one per call,
    a recording's times do not depend on what the process aligned before it (another recording
    in the inbox, another group of recognised words in another worker). It takes about 0.2 s.

    ``compallsen`` makes every frame's senone scores relative to the best of *all* senones,
    which is what makes the forced-alignment and phone-loop scores comparable. ``bestpath`` is
    off because lattice rescoring of a phone loop is extremely slow and grammars need none.
    """
    decoder = _quiet_decoder(
        lm=None,
        compallsen=True,
        bestpath=False,
        silprob=SILENCE_PROBABILITY,
        beam=ALIGN_BEAM,
        pbeam=ALIGN_BEAM,
        lpbeam=ALIGN_BEAM,
        wbeam=ALIGN_WORD_BEAM,
        lponlybeam=ALIGN_WORD_BEAM,
    )
    for phone in PHONES:
        decoder.add_word(_PHONE_WORD_PREFIX + phone.lower(), phone, False)
    loop_words = [_PHONE_WORD_PREFIX + phone.lower() for phone in PHONES]
    uniform = 1.0 / len(loop_words)
    # Two states and no empty transitions: sub-word alignment cannot follow empty transitions.
    transitions = [(0, 1, uniform, word) for word in loop_words]
    transitions += [(1, 1, uniform, word) for word in loop_words]
    decoder.add_fsg(_LOOP_SEARCH, decoder.create_fsg(_LOOP_SEARCH, 0, 1, transitions))
    return decoder


# --------------------------------------------------------------------------------------------
# Audio helpers


def _prepare(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Float mono signal at ``SAMPLE_RATE`` in [-1, 1]; other rates are resampled."""
    signal = np.asarray(samples, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(f"expected a mono (1-D) signal, got shape {signal.shape}")
    if sample_rate != SAMPLE_RATE:
        import soxr

        signal = soxr.resample(signal, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    signal = np.nan_to_num(signal)  # one copy of the recording, clipped in place
    return np.clip(signal, -1.0, 1.0, out=signal)


def _to_pcm(signal: np.ndarray) -> bytes:
    """16-bit little-endian PCM, as PocketSphinx wants it, with 1-LSB triangular dither.

    Called per chunk or window, never for a whole recording, so memory stays bounded.
    """
    rng = np.random.default_rng(DITHER_SEED)
    dither = rng.triangular(-DITHER_LSB, 0.0, DITHER_LSB, size=len(signal)).astype(np.float32)
    scaled = np.round(signal * np.float32(INT16_FULL_SCALE) + dither)
    return np.clip(scaled, -32768, 32767).astype("<i2").tobytes()


def _frame_power(signal: np.ndarray) -> np.ndarray:
    """Mean power of every 10 ms frame (a last partial frame counts as one frame)."""
    hop = SAMPLE_RATE // FRAMES_PER_S
    n_full = len(signal) // hop
    frames = signal[: n_full * hop].reshape(n_full, hop)
    power = np.einsum("ij,ij->i", frames, frames).astype(np.float64) / hop  # no squared copy
    rest = signal[n_full * hop :]
    if len(rest) or n_full == 0:
        power = np.append(power, float(np.dot(rest, rest)) / hop)
    return power


def _smoothed_energy_db(signal: np.ndarray) -> np.ndarray:
    """Frame energy (one value per 10 ms frame), averaged over ``ENERGY_SMOOTHING_S``, in dB."""
    from scipy.ndimage import uniform_filter1d

    width = max(1, round(ENERGY_SMOOTHING_S * FRAMES_PER_S))
    smoothed = uniform_filter1d(_frame_power(signal), width, mode="nearest")
    return 10.0 * np.log10(smoothed + 1e-12)


def _quiet_frames(signal: np.ndarray) -> np.ndarray | None:
    """Boolean mask of 10 ms frames at the noise floor, or None if pauses cannot be told apart.

    The floor is a low percentile of frame energy and the speech level a high one; when they
    are less than ``MIN_DYNAMIC_RANGE_DB`` apart (noisy recording, or no pauses at all) quiet
    frames would include soft speech, so no mask is given.
    """
    energy_db = 10.0 * np.log10(_frame_power(signal) + 1e-12)
    floor, speech = np.percentile(energy_db, [5, 98])
    if speech - floor < MIN_DYNAMIC_RANGE_DB:
        return None
    return energy_db < floor + QUIET_ABOVE_FLOOR_DB


def _audible_frames(signal: np.ndarray) -> np.ndarray | None:
    """Boolean mask of 10 ms frames above the noise floor (anything that might be speech), or
    None if the recording's loudest frame is not ``MIN_DYNAMIC_RANGE_DB`` above its floor.

    Unlike :func:`_quiet_frames` this judges by the loudest frame, so that a recording that is
    mostly silence (ten minutes before the interview starts) still has its sound found.
    """
    energy_db = 10.0 * np.log10(_frame_power(signal) + 1e-12)
    floor = np.percentile(energy_db, 5)
    if energy_db.max() - floor < MIN_DYNAMIC_RANGE_DB:
        return None
    return energy_db > floor + QUIET_ABOVE_FLOOR_DB


def _skip_long_silence(audible: np.ndarray | None, frame: int) -> int:
    """Where to start looking for words from ``frame``: past a long silence starting there."""
    if audible is None:
        return frame
    ahead = audible[frame:]
    onset = frame + int(np.argmax(ahead)) if ahead.any() else len(audible)
    if onset - frame < LONG_SILENCE_S * FRAMES_PER_S:
        return frame
    return onset - round(SILENCE_LEAD_IN_S * FRAMES_PER_S)


def _quietest_frame(energy_db: np.ndarray, first: int, last: int) -> int:
    """Frame in [first, last] with the lowest smoothed energy.

    Energy is smoothed over ``ENERGY_SMOOTHING_S``, so a pause at least that long beats a brief
    dip inside a word, and the cut lands inside the deepest pause.
    """
    first, last = max(0, first), min(len(energy_db) - 1, last)
    return first + int(np.argmin(energy_db[first : last + 1]))


def _cut_after(energy_db: np.ndarray, start_frame: int, min_s: float, max_s: float) -> int:
    """Where a chunk starting at ``start_frame`` should end; the audio end if it is close."""
    n_frames = len(energy_db)
    if n_frames - start_frame <= max_s * FRAMES_PER_S:
        return n_frames
    lo = start_frame + round(min_s * FRAMES_PER_S)
    hi = start_frame + round(max_s * FRAMES_PER_S)
    return _quietest_frame(energy_db, lo, hi)


def _chunk_frames(energy_db: np.ndarray, min_s: float, max_s: float) -> list[tuple[int, int]]:
    """Cut the whole signal into consecutive (start, end) frame ranges at quiet points."""
    chunks, start = [], 0
    while start < len(energy_db):
        end = _cut_after(energy_db, start, min_s, max_s)
        chunks.append((start, end))
        start = end
    return chunks


def _frame_to_sample(frame: int) -> int:
    return frame * (SAMPLE_RATE // FRAMES_PER_S)


# --------------------------------------------------------------------------------------------
# Recognition


def recognize(
    samples: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    *,
    language: str | None = "en",
    processes: int | None = 1,
) -> Recognition:
    """Recognise English speech with the bundled model; returns timed words with confidences.

    ``language=None`` means "not specified" and is accepted (the model is English anyway);
    any other language raises :class:`ModelUnavailableError` instead of producing English
    gibberish for, say, a German interview. ``processes`` is how many chunks are decoded at
    once, each by a worker process (``None``: one per CPU core this process may use); short
    recordings are decoded in this process.
    """
    _require_english(language)
    signal = _prepare(samples, sample_rate)
    chunks = [(signal[_frame_to_sample(start) : _frame_to_sample(end)], start / FRAMES_PER_S)
              for start, end in _speech_chunks(signal)]
    workers = recognition_processes(processes, len(chunks))
    if workers > 1:
        from undertone.transcribe.sphinx_workers import recognize_chunks

        per_chunk = recognize_chunks(chunks, workers)
    else:
        per_chunk = [recognize_chunk(chunk, offset_s) for chunk, offset_s in chunks]
    words = [word for chunk_words in per_chunk for word in chunk_words]
    return Recognition(words=words, backend=BACKEND, model=MODEL_NAME, language="en")


def recognition_processes(requested: int | None, n_chunks: int) -> int:
    """How many worker processes to decode ``n_chunks`` with; 1 means in this process."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = cores if requested is None else requested
    return max(1, min(wanted, n_chunks // MIN_CHUNKS_PER_PROCESS))


def _speech_chunks(signal: np.ndarray) -> list[tuple[int, int]]:
    """The (start, end) frame ranges to decode: chunks cut at quiet points, silent ones left out."""
    energy_db = _smoothed_energy_db(signal)
    audible = _audible_frames(signal)
    return [
        (start, end)
        for start, end in _chunk_frames(energy_db, RECOGNITION_CHUNK_MIN_S, RECOGNITION_CHUNK_MAX_S)
        if _skip_long_silence(audible, start) < end  # else silence from start to end: no words
    ]


def recognize_chunk(chunk: np.ndarray, offset_s: float) -> list[RecognizedWord]:
    """The words of one chunk (float samples at 16 kHz starting at ``offset_s``)."""
    if len(chunk) < MIN_DECODE_S * SAMPLE_RATE:
        return []
    decoder = _recognizer()
    decoder.start_utt()
    decoder.process_raw(_to_pcm(chunk), full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return []
    words = (_segment_to_word(seg.word, seg.start_frame, seg.end_frame, seg.prob, offset_s) for seg in decoder.seg())
    return [word for word in words if word is not None]


def _require_english(language: str | None) -> None:
    if language is None:
        return
    base = language.strip().lower().replace("_", "-").split("-")[0]
    if base not in ENGLISH_CODES:
        raise ModelUnavailableError(
            None,
            f"pocketsphinx only ships an English model; language {language!r} needs the "
            "whisper backend (or pass language 'en' if the recording is in English)",
        )


def _segment_to_word(
    token: str, start_frame: int, end_frame: int, probability: float | None, offset_s: float
) -> RecognizedWord | None:
    """Turn one decoder segment into a word, or None for silence/noise markers.

    ``probability`` is the segment's posterior: the Python binding already converts it from
    PocketSphinx's integer log domain with ``logmath.exp``, so it only needs clamping to 0..1.
    ``end_frame`` is inclusive, hence the +1.
    """
    text = _word_text(token)
    if text is None:
        return None
    confidence = None if probability is None else min(1.0, max(0.0, float(probability)))
    return RecognizedWord(
        text=text,
        start=offset_s + start_frame / FRAMES_PER_S,
        end=offset_s + (end_frame + 1) / FRAMES_PER_S,
        confidence=confidence,
        kind=word_kind(text),
    )


def _word_text(token: str) -> str | None:
    """Readable text for a decoder token: ``word(2)`` -> ``word``; ``[UM]``/``++UM++`` -> ``um``."""
    if token in _NON_WORDS:
        return None
    token = _ALTERNATE_PRONUNCIATION.sub("", token)
    if token[:1] in "[<+":
        bare = token.strip("[]<>+").lower()
        return bare if bare in FILLERS else None
    return token


# --------------------------------------------------------------------------------------------
# Pronunciations for words the dictionary lacks


def _pronunciation(decoder, key: str) -> str | None:
    """Phones for a lookup key: dictionary, else per hyphen part, digits by name, else rules."""
    known = decoder.lookup_word(key)
    if known:
        return known
    phones: list[str] = []
    for part in re.split(r"[-']+", key):
        if not part:
            continue
        known = decoder.lookup_word(part)
        if known:
            phones.extend(known.split())
            continue
        for run in re.findall(r"[a-z]+|[0-9]", part):
            if run.isdigit():
                phones.extend(decoder.lookup_word(DIGIT_WORDS[int(run)]).split())
            else:
                phones.extend(letters_to_phones(run))
    return " ".join(phones) if phones else None


def _dictionary_word(decoder, token: str) -> str | None:
    """The dictionary entry the grammar uses for a token; OOV words are added on the fly.

    Returns None for tokens with nothing pronounceable (e.g. a word in a non-Latin script).
    """
    key = spoken_form(token)
    key = re.sub(r"[^a-z0-9'\-]", "", key).strip("-'")
    if not key:
        return None
    if decoder.lookup_word(key):
        return key
    phones = _pronunciation(decoder, key)
    if phones is None:
        return None
    decoder.add_word(key, phones, False)  # no search rebuild: grammars are created afterwards
    return key


# --------------------------------------------------------------------------------------------
# Alignment


@dataclass
class _Token:
    """One transcript token on its way to becoming a timed word."""

    text: str
    speaker: str
    turn: KnownTurn
    key: str | None  # dictionary word in the grammar; None = cannot be pronounced
    start: float | None = None
    end: float | None = None
    confidence: float | None = None
    llr: float = 0.0  # forced minus phone-loop log-likelihood over the word's frames, nats
    frames: int = 0  # frames the word occupies in the forced alignment

    @property
    def aligned(self) -> bool:
        return self.start is not None


@dataclass
class _AlignedWord:
    """A word of the forced alignment inside one window (frames relative to the window)."""

    position: int  # index into the window's word list
    start_frame: int
    end_frame: int  # exclusive
    llr: float | None  # forced minus phone-loop log-likelihood over the word's frames, nats;
    #                    None when a re-alignment pass failed and there are no scores

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


def align(
    samples: np.ndarray,
    turns: list[KnownTurn],
    sample_rate: int = SAMPLE_RATE,
    *,
    path: Path | str | None = None,
) -> Recognition:
    """Time every word of a known transcript; one :class:`RecognizedWord` per token, in order.

    ``path`` names the transcript file in error messages. Raises :class:`TranscriptFileError`
    when the transcript does not describe this recording.
    """
    signal = _prepare(samples, sample_rate)
    with _aligner_lock:
        decoder = _aligner()
        tokens = _tokens_of(decoder, turns)
        if not tokens:
            raise TranscriptFileError(path, "transcript has no words to align")
        speakable = [token for token in tokens if token.key is not None]
        if not speakable:
            raise TranscriptFileError(path, "transcript has no words the English model can pronounce")
        _align_progressively(decoder, signal, speakable, path)
        from undertone.transcribe import backchannel  # it imports this module: import on use

        backchannel.place_short_turns(decoder, signal, speakable)
    poorly_fitting = _check_turns(speakable, path)
    _check_overall(speakable, path)
    _trim_pauses_from_edges(speakable, signal)
    notes = _alignment_notes(tokens) + poorly_fitting
    _interpolate_missing(tokens, len(signal) / SAMPLE_RATE)
    words = [
        RecognizedWord(
            text=token.text,
            start=token.start,
            end=token.end,
            confidence=token.confidence,
            kind=word_kind(token.text),
            speaker=token.speaker,
        )
        for token in tokens
    ]
    return Recognition(words=words, backend=BACKEND, model=MODEL_NAME, language="en", notes=notes)


def _tokens_of(decoder, turns: list[KnownTurn]) -> list[_Token]:
    tokens = []
    for turn in turns:
        for text in tokenize(turn.text):
            key = _dictionary_word(decoder, text)
            tokens.append(_Token(text=text, speaker=turn.speaker, turn=turn, key=key))
    return tokens


def _align_progressively(decoder, signal: np.ndarray, tokens: list[_Token], path) -> None:
    """Walk through the recording window by window (see module docstring), timing ``tokens``."""
    energy_db = _smoothed_energy_db(signal)
    audible = _audible_frames(signal)
    n_frames = len(energy_db)
    cursor_frame, next_token = 0, 0
    while next_token < len(tokens):
        cursor_frame = _skip_long_silence(audible, cursor_frame)
        end_frame = _cut_after(energy_db, cursor_frame, ALIGN_WINDOW_MIN_S, ALIGN_WINDOW_MAX_S)
        is_last = end_frame >= n_frames
        window_s = (end_frame - cursor_frame) / FRAMES_PER_S
        budget = len(tokens) if is_last else math.ceil(window_s * MAX_WORDS_PER_S) + EXTRA_WORDS
        text = tokens[next_token : next_token + budget]
        open_end = not is_last
        window_pcm = _to_pcm(signal[_frame_to_sample(cursor_frame) : _frame_to_sample(end_frame)])
        window_audible = None if audible is None else audible[cursor_frame:end_frame]
        words = _align_window(decoder, window_pcm, [token.key for token in text], open_end, audible=window_audible)
        if not words:
            raise _no_fit_error(path, text, cursor_frame, end_frame, is_last)
        _check_window(words, path, text, cursor_frame, end_frame)
        if is_last:
            _store(text, words, cursor_frame)
            break
        committed = _words_to_commit(words, end_frame - cursor_frame)
        _store(text, committed, cursor_frame)
        next_token += committed[-1].position + 1 if committed else 0
        cursor_frame = _next_cursor(words, committed, cursor_frame, end_frame)


def _words_to_commit(words: list[_AlignedWord], window_frames: int) -> list[_AlignedWord]:
    """Words of an open window whose timing we trust: those ending before the commit margin.

    If none does (the window's speech all lies near its end), the first word is committed so
    that the walk always advances.
    """
    limit = window_frames - round(COMMIT_MARGIN_S * FRAMES_PER_S)
    committed = [word for word in words if word.end_frame <= limit]
    if not committed:
        if words[0].start_frame > limit:
            return []  # nothing but non-speech before the margin: move the cursor only
        committed = words[:1]
    return committed


def _next_cursor(words: list[_AlignedWord], committed: list[_AlignedWord], cursor: int, end: int) -> int:
    """Where the next window starts: in the pause after the last committed word.

    If nothing was committed, the window held no transcript words before its margin; the next
    window starts shortly before the first aligned word instead.
    """
    if not committed:
        lead_in = round(COMMIT_MARGIN_S / 4 * FRAMES_PER_S)
        return max(cursor + 1, cursor + words[0].start_frame - lead_in)
    last = committed[-1]
    following = words[len(committed)] if len(committed) < len(words) else None
    if following is None:
        return min(end, cursor + last.end_frame)
    return cursor + (last.end_frame + following.start_frame) // 2


def _store(text: list[_Token], aligned: list[_AlignedWord], cursor_frame: int) -> None:
    """Write window-relative word timings into the tokens (seconds, recording-relative)."""
    offset = cursor_frame / FRAMES_PER_S
    for word in aligned:
        token = text[word.position]
        token.start = offset + word.start_frame / FRAMES_PER_S
        token.end = offset + word.end_frame / FRAMES_PER_S
        _score(token, word.llr, word.frames)


def _score(token: _Token, llr: float | None, frames: int) -> None:
    """A token's fit score and the confidence reported for it (None: timed, but not judged)."""
    if llr is None:
        token.llr, token.frames, token.confidence = 0.0, 0, None
    else:
        token.llr, token.frames = llr, frames
        token.confidence = min(1.0, math.exp(llr / max(frames, 1)))


def _align_window(
    decoder, pcm: bytes, keys: list[str], open_end: bool, max_skip: int = MAX_SKIP, audible: np.ndarray | None = None
) -> list[_AlignedWord]:
    """Force-align ``keys`` (a prefix of them if ``open_end``) to one window; [] if impossible.

    Up to ``max_skip`` words in a row may be skipped at a heavy penalty (see
    :func:`_chain_grammar`); 0 forces every word into the window.

    A skip is only kept if it hides no speech. The acoustic model fits some voices so poorly
    that calling a stretch of speech silence and skipping its words scores better than the
    words themselves (a turn-final phrase before the other speaker's turn, a quiet phrase): the
    skipped words then reappear squeezed into a neighbour, and the gap between the turns becomes
    a pause inside one of them. So when words were skipped and ``audible`` (the window's frames
    above the noise floor) is known, the window is aligned again with every word forced, and
    that alignment is taken if it leaves at least ``PAUSE_MIN_S`` fewer audible frames to
    silence and noise: a word typed but never said leaves no sound behind when skipped, so
    forcing it in explains no more of the audio and the skip stays.
    """
    decoded = _decode_window(decoder, pcm, keys, open_end, max_skip, audible)
    if decoded is None:
        return []
    words, unexplained, loop_scores = decoded
    min_gain = round(PAUSE_MIN_S * FRAMES_PER_S)
    if max_skip > 0 and audible is not None and unexplained >= min_gain and _skips_words(words):
        forced = _decode_window(decoder, pcm, keys, open_end, 0, audible, loop_scores)
        if forced is not None and forced[0] and unexplained - forced[1] >= min_gain:
            return forced[0]
    return words


def _skips_words(words: list[_AlignedWord]) -> bool:
    """Whether the aligned words leave out a grammar word before the last one they reach."""
    return bool(words) and any(word.position != index for index, word in enumerate(words))


def _decode_window(
    decoder, pcm: bytes, keys: list[str], open_end: bool, max_skip: int, audible: np.ndarray | None,
    loop_scores: np.ndarray | None = None,
):
    """One forced alignment of a window: its words, how many ``audible`` frames it gives to
    silence and noise instead of a word (0 without ``audible``), and the phone loop's frame
    scores (decoded here unless given); None if it found no path."""
    if len(pcm) < 2 * MIN_DECODE_S * SAMPLE_RATE:  # 2 bytes per sample
        return None
    name = "window"
    decoder.add_fsg(name, _chain_grammar(decoder, name, keys, open_end, max_skip))
    try:
        decoder.activate_search(name)
        forced = _decode_and_realign(decoder, pcm)
    finally:
        decoder.activate_search(_LOOP_SEARCH)
        decoder.remove_search(name)
    if forced is None:
        return None
    forced_words, forced_scores = forced
    if loop_scores is None:
        loop = _decode_and_realign(decoder, pcm)
        loop_scores = loop[1] if loop is not None else None
    positions = _word_positions([word_name for word_name, _, _ in forced_words], keys)
    if positions is None:
        return None
    words = _score_words(forced_words, positions, forced_scores, loop_scores)
    unexplained = 0
    if audible is not None:
        covered = np.zeros(len(audible), dtype=bool)
        for word in words:
            covered[word.start_frame : word.end_frame] = True
        unexplained = int(np.count_nonzero(audible & ~covered))
    return words, unexplained, loop_scores


def _chain_grammar(decoder, name: str, keys: list[str], open_end: bool, max_skip: int = MAX_SKIP):
    """Grammar accepting ``keys`` in order, with penalised skips and (optionally) an early end.

    State ``i`` means "the first i words are done". There are no empty transitions, because the
    sub-word re-alignment pass cannot follow them: skipping word i is an arc from state i that
    already emits word i+1, and ending early is an arc that emits a word and goes to the end.
    """
    n = len(keys)
    transitions = []
    for state in range(n):
        transitions.append((state, state + 1, 1.0, keys[state]))
        for skipped in range(1, max_skip + 1):
            landing = state + skipped
            if landing < n - 1 or (landing == n - 1 and not open_end):
                transitions.append((state, landing + 1, SKIP_PROBABILITY**skipped, keys[landing]))
        if open_end and state < n - 1:
            transitions.append((state, n, 1.0, keys[state]))
    return decoder.create_fsg(name, 0, n, transitions)


def _decode_and_realign(decoder, pcm: bytes):
    """Decode with the active search, then re-align state by state.

    Returns (words, frame_scores): words as (name, start_frame, end_frame) including silences,
    and the acoustic score of every frame in nats. None if the search found no path. If only
    the re-alignment pass fails (we have not seen it with our beams, but PocketSphinx allows
    it), the first pass still gives the words and their times, and frame_scores is None.
    """
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    if decoder.hyp() is None:
        return None
    first_pass = [(seg.word, seg.start_frame, seg.end_frame + 1) for seg in decoder.seg()]
    try:
        decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        alignment = decoder.get_alignment()
    except RuntimeError:
        alignment = None
    if alignment is None:
        return first_pass, None
    words = [(entry.name, entry.start, entry.start + entry.duration) for entry in alignment.words()]
    n_frames = len(pcm) // 2 // (SAMPLE_RATE // FRAMES_PER_S)
    nats_per_unit = math.log(float(decoder.config["logbase"])) * 2**SENONE_SCORE_SHIFT
    return words, _frame_scores(alignment, nats_per_unit, n_frames)


def _frame_scores(alignment, nats_per_unit: float, n_frames: int) -> np.ndarray:
    """Per-frame acoustic log-likelihood (nats), spreading each phone's score over its frames.

    Alignment scores are integers in the decoder's log base, shifted down by
    ``SENONE_SCORE_SHIFT`` bits, hence ``nats_per_unit``.
    """
    scores = np.zeros(max(n_frames, 1), dtype=np.float64)
    for phone in alignment.phones():
        if phone.duration <= 0:
            continue
        stop = min(phone.start + phone.duration, len(scores))
        if phone.start < stop:
            scores[phone.start : stop] = phone.score * nats_per_unit / phone.duration
    return scores


def _word_positions(names: list[str], keys: list[str]) -> list[int | None] | None:
    """Which grammar word each aligned entry is (None for silence/noise).

    The grammar lets the decoder skip words, so a repeated word (``I I``) is ambiguous; a small
    dynamic programme picks the reading with the fewest skipped words.
    """
    spoken = [(index, _ALTERNATE_PRONUNCIATION.sub("", name)) for index, name in enumerate(names)]
    spoken = [(index, name) for index, name in spoken if not _is_filler(name)]
    positions: list[int | None] = [None] * len(names)
    if not spoken:
        return positions
    path = _fewest_skips([name for _, name in spoken], keys)
    if path is None:
        return None
    for (index, _), position in zip(spoken, path):
        positions[index] = position
    return positions


def _is_filler(name: str) -> bool:
    return name in _NON_WORDS or name[:1] in "<[+"


def _fewest_skips(spoken: list[str], keys: list[str]) -> list[int] | None:
    """Positions p_0 < p_1 < ... in ``keys`` with keys[p_j] == spoken[j], gaps <= MAX_SKIP."""
    # best[j] maps a position of word j to (skips so far, previous position)
    best: list[dict[int, tuple[int, int | None]]] = []
    first = {p: (p, None) for p in range(min(MAX_SKIP + 1, len(keys))) if keys[p] == spoken[0]}
    best.append(first)
    for j in range(1, len(spoken)):
        layer: dict[int, tuple[int, int | None]] = {}
        for previous, (skips, _) in best[-1].items():
            for position in range(previous + 1, min(previous + MAX_SKIP + 2, len(keys))):
                if keys[position] != spoken[j]:
                    continue
                candidate = (skips + position - previous - 1, previous)
                if position not in layer or candidate[0] < layer[position][0]:
                    layer[position] = candidate
        if not layer:
            return None
        best.append(layer)
    if not best[0]:
        return None
    position = min(best[-1], key=lambda p: best[-1][p][0])
    path = [position]
    for j in range(len(spoken) - 1, 0, -1):
        position = best[j][position][1]
        path.append(position)
    return path[::-1]


def _score_words(forced_words, positions, forced_scores, loop_scores) -> list[_AlignedWord]:
    """Attach the log-likelihood ratio (forced minus phone loop) over its frames to every word."""
    ratio = None
    if forced_scores is not None and loop_scores is not None:
        n = min(len(forced_scores), len(loop_scores))
        ratio = forced_scores[:n] - loop_scores[:n]
    words = []
    for (_, start, end), position in zip(forced_words, positions):
        if position is None:
            continue
        llr = None if ratio is None else float(ratio[min(start, len(ratio)) : min(end, len(ratio))].sum())
        words.append(_AlignedWord(position, start, end, llr))
    return words


# --------------------------------------------------------------------------------------------
# Mismatch checks and finishing touches


def _fit(llr: float, frames: int, min_speech_s: float = MIN_WINDOW_CHECK_S) -> float | None:
    """Mean log-likelihood ratio per frame, or None if there is too little speech to judge."""
    return llr / frames if frames >= min_speech_s * FRAMES_PER_S else None


def _poor_fit(fit: float) -> str:
    return (
        f"({fit:.1f} nats/frame below a free phone recognition of the same audio; "
        f"a matching transcript stays above {MISMATCH_LLR_PER_FRAME})"
    )


def _check_window(words: list[_AlignedWord], path, text: list[_Token], start: int, end: int) -> None:
    """Raise if a window's words explain its sound far worse than free phone recognition does.

    Checked per window, not only at the end, so that the transcript of another recording is
    rejected after the first window instead of after aligning the whole hour.
    """
    judged = [word for word in words if word.llr is not None]
    fit = _fit(sum(word.llr for word in judged), sum(word.frames for word in judged))
    if fit is not None and fit < MISMATCH_LLR_PER_FRAME:
        first = words[0].position
        raise TranscriptFileError(
            path,
            f"transcript does not match the audio: between {_clock(start / FRAMES_PER_S)} and "
            f"{_clock(end / FRAMES_PER_S)} the words from line {text[first].turn.line} on "
            f"({_excerpt(text, first)}) fit the sound poorly {_poor_fit(fit)}",
        )


def _check_turns(tokens: list[_Token], path) -> list[str]:
    """Raise for the first turn (with enough speech) whose words clearly do not describe its
    audio; return notes for turns that fit poorly but not that badly."""
    by_turn: dict[int, list[_Token]] = {}
    for token in tokens:
        by_turn.setdefault(id(token.turn), []).append(token)
    notes = []
    for turn_tokens in by_turn.values():
        fit = _fit(sum(t.llr for t in turn_tokens), sum(t.frames for t in turn_tokens), MIN_TURN_CHECK_S)
        if fit is None or fit >= MISMATCH_LLR_PER_FRAME:
            continue
        turn = turn_tokens[0].turn
        where = f"line {turn.line} ({_excerpt(turn_tokens, 0)}) was placed at {_clock(turn_tokens[0].start or 0.0)}"
        if fit < MISMATCH_TURN_LLR_PER_FRAME:
            raise TranscriptFileError(
                path,
                f"transcript does not match the audio: {where} but fits the sound poorly "
                f"({fit:.1f} nats/frame below a free phone recognition of the same audio; "
                f"a matching turn stays above {MISMATCH_TURN_LLR_PER_FRAME})",
            )
        notes.append(f"{where} but fits the sound poorly ({fit:.1f} nats/frame): check its word times")
    return notes


def _check_overall(tokens: list[_Token], path) -> None:
    """Raise if too many words had to be skipped, or if all words together fit the audio poorly.

    In matching transcripts the aligner skips few words (8 of 1440 on the marks benchmark's
    clean synthetic interview, 4 in its noisy one); a sizeable share of skipped words means the
    text was forced onto audio that does not contain it.
    """
    skipped = sum(not token.aligned for token in tokens)
    if skipped > MAX_SKIPPED_FRACTION * len(tokens):
        raise TranscriptFileError(
            path,
            f"transcript does not match the audio: {skipped} of its {len(tokens)} words could not "
            f"be placed in the recording (first: {_excerpt([t for t in tokens if not t.aligned], 0, 3)})",
        )
    frames = sum(token.frames for token in tokens)
    fit = _fit(sum(token.llr for token in tokens), frames, MIN_OVERALL_CHECK_S)
    if fit is not None and fit < MISMATCH_LLR_PER_FRAME:
        raise TranscriptFileError(
            path, f"transcript does not match the audio: its words fit the recording poorly {_poor_fit(fit)}"
        )


def _no_fit_error(path, text: list[_Token], start: int, end: int, is_last: bool) -> TranscriptFileError:
    where = f"{_clock(start / FRAMES_PER_S)}-{_clock(end / FRAMES_PER_S)}"
    detail = (
        f"the remaining words from line {text[0].turn.line} ({_excerpt(text, 0)}) cannot be fitted "
        f"into the rest of the recording ({where})"
        if is_last
        else f"no words from line {text[0].turn.line} on ({_excerpt(text, 0)}) fit the audio at {where}"
    )
    return TranscriptFileError(path, f"transcript does not match the audio: {detail}")


def _excerpt(text: list[_Token], start: int, n_words: int = 5) -> str:
    shown = " ".join(token.text for token in text[start : start + n_words])
    return repr(shown + (" ..." if len(text) > start + n_words else ""))


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _trim_pauses_from_edges(tokens: list[_Token], signal: np.ndarray) -> None:
    """Move word edges out of clear pauses.

    The acoustic model sometimes lets a weak sound (the DH of a sentence-initial "the") swallow
    the pause before it, which would hide a pause the transcript must show. A run of at least
    ``PAUSE_MIN_S`` quiet frames at a word's start or end is therefore given back to the pause.
    """
    quiet = _quiet_frames(signal)
    if quiet is None:
        return
    keep = max(1, round(MIN_WORD_S * FRAMES_PER_S))
    for token in tokens:
        if not token.aligned:
            continue
        first, stop = round(token.start * FRAMES_PER_S), round(token.end * FRAMES_PER_S)
        stop = min(stop, len(quiet))
        if stop - first <= keep:
            continue
        first += min(_pause_at_edge(quiet[first:stop]), stop - first - keep)
        stop -= min(_pause_at_edge(quiet[first:stop][::-1]), stop - first - keep)
        token.start, token.end = first / FRAMES_PER_S, stop / FRAMES_PER_S


def _pause_at_edge(quiet: np.ndarray) -> int:
    """Frames to cut from the start of a word: up to the end of a pause found at its edge.

    The pause must last ``PAUSE_MIN_S`` and start within ``EDGE_SLACK_S``; otherwise 0.
    """
    min_run = round(PAUSE_MIN_S * FRAMES_PER_S)
    for offset in range(min(round(EDGE_SLACK_S * FRAMES_PER_S) + 1, len(quiet))):
        if not quiet[offset]:
            continue
        loud = np.flatnonzero(~quiet[offset:])
        run = int(loud[0]) if len(loud) else len(quiet) - offset
        if run >= min_run:
            return offset + run
    return 0


def _interpolate_missing(tokens: list[_Token], duration_s: float) -> None:
    """Give unaligned tokens times between their aligned neighbours (confidence stays None).

    A run of k missing tokens between neighbours ending at ``a`` and starting at ``b`` shares
    the gap equally; at the recording's edges the gap is bounded by 0 and the duration.
    """
    index = 0
    while index < len(tokens):
        if tokens[index].aligned:
            index += 1
            continue
        run_end = index
        while run_end < len(tokens) and not tokens[run_end].aligned:
            run_end += 1
        gap_start = tokens[index - 1].end if index > 0 else 0.0
        gap_end = tokens[run_end].start if run_end < len(tokens) else duration_s
        gap_end = max(gap_end, gap_start)
        step = (gap_end - gap_start) / (run_end - index)
        for offset, token in enumerate(tokens[index:run_end]):
            token.start = gap_start + offset * step
            token.end = gap_start + (offset + 1) * step
            token.confidence = None
        index = run_end


def _alignment_notes(tokens: list[_Token]) -> list[str]:
    """Tell the reader which word times are guesses (call before interpolating)."""
    notes = []
    unplaced = [token.text for token in tokens if not token.aligned]
    if unplaced:
        notes.append(
            f"{len(unplaced)} word(s) could not be aligned and were timed by interpolation: "
            + _word_list(unplaced)
        )
    unscored = [token.text for token in tokens if token.aligned and token.confidence is None]
    if unscored:
        notes.append(
            f"{len(unscored)} word(s) were aligned without a confidence score: " + _word_list(unscored)
        )
    return notes


def _word_list(words: list[str], limit: int = 10) -> str:
    return ", ".join(words[:limit]) + (", ..." if len(words) > limit else "")
