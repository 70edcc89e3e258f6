"""A synthetic two-person interview with exact ground truth for every Jefferson mark.

Run from the repository root::

    uv run python bench/marks_corpus.py            # build (or load) the full corpus, print its stats
    uv run python bench/marks_corpus.py --quick    # the ~1 minute corpus
    uv run python bench/marks_corpus.py --force    # rebuild even if cached

``bench/marks.py`` imports :func:`load_corpus` and scores undertone against the truth.

How it is made
--------------
The same method as ``sample_audio/generate.py`` (whose functions are imported, not copied):
every piece ("segment") of a turn is synthesised on its own with ``espeak-ng``, trimmed to its
first and last audible sample and placed on a silent timeline, so every silence is digital
zero and every boundary is known to the sample. Pieces inside an intonation unit are spliced
end to end with no silence; pieces are separated by a planned micropause (0.12-0.18 s) or a
timed pause (0.25-2.5 s); turns by a gap (0.25-2.0 s), a latch (0-0.04 s) or, for a short
backchannel, an overlap (it starts 0.2-0.8 s before the other speaker stops).

A unit is ``[lead] mark [separator mark ...] tail``: two or three marks (stretches first), a
plain two-word separator between marks (so every mark has plain neighbours to be measured
against), a plain two-word lead only when the unit opens with a one-word mark (a stretch may
open a unit, right after a pause), and a plain 4-6 word tail that carries the unit's final
intonation (so no mark is ever the last word of its unit). Everything is drawn by a seeded
generator from word banks of ordinary English (every word is checked against the CMU
pronouncing dictionary shipped in the pocketsphinx wheel). The marked pieces:

* ``loud`` / ``quiet``: 2-4 words scaled by +8..+10 / -8..-10 dB (sample-exact gain);
* ``fast`` / ``slow``: 4-6 words (>= 5 syllables) at 1.6x / 0.6x the speaker's espeak speed;
* one-word marks are set to a level relative to the speaker's median word level (power mean
  over each word, word times from espeak's events, over the plain fragments and tails): 0 dB
  for pitch steps and elongations, +4 dB for emphasis - a lone word read by espeak is
  otherwise up to ~4 dB off the speaker's typical word, an unplanned loudness cue;
* ``pitch_up`` / ``pitch_down``: one word with espeak's base pitch raised / lowered until
  its median F0 is >= 5 st from the last 0.4 s of the piece before it and from the first
  0.4 s of the piece after it, each (measured with parselmouth), and >= 5.5 st from both
  pooled; its duration is kept at 0.8-1.25x its in-context duration;
* ``emphasis``: one word at +4 dB (re the speaker), +2..3 st above the last 0.4 s before it,
  and 1.3x its in-context duration;
* ``elongation``: one word at 2.2-3x (aim 2.5x) its in-context ("normal") duration;
* unit ends: ``fall`` (tail ends in '.'), ``rise`` (ends in '?', final word raised with the
  sample's ``rising_ssml``) or ``level`` (ends in ','; espeak's comma tune usually still falls
  1-3 st, so the last word may be lifted by an SSML ``<prosody pitch="+10..30%">``), each
  verified on the isolated tail;
* ``latch``: speaker change with a gap under 0.05 s.

Things learnt about espeak-ng that shape the design (measured, see the report printed by this
script):

* A word synthesised alone is 1.1-2.3x longer than inside a sentence (espeak lengthens the last
  syllable of a clause and reads a lone word in citation form). A single word spliced into a
  phrase would therefore be an unplanned elongation, so every single-word piece is
  synthesised at the speed that gives it the planned duration *relative to its in-context
  duration*; that in-context duration comes from libespeak-ng's word events for the whole
  unit read as one sentence (the CLI does not report word times), read through ctypes.
* Fragments whose last word espeak lengthens by more than 1.6x (typically monosyllables with
  long vowels) are not used as plain pieces, for the same reason.
* The sample's participant voice ``en-us+f3`` has ``echo 120 10`` in its variant file: every
  piece ends in a ~120 ms echo tail around -30 dB re speech that trimming at the sample's
  absolute threshold keeps. A splice then contains a quasi-silence the truth does not know
  and every pause looks ~0.1 s longer. The participant here is ``en-us+f1`` (no echo).
* Base pitches are moved (interviewer 50, participant 55 on espeak's 0-99 scale, instead of
  the sample's 38 and 65) so that a +-5 semitone step is reachable in both directions.
* Every piece falls in pitch at its end, as if it ended a sentence. Pieces that do not end
  their unit are therefore read as continuations (a comma appended to the text espeak reads,
  not to the transcript), which about halves that fall at a splice; and no word of a plain
  fragment, stretch or tail (but the tail's last) may step >= 3.5 st from the two words before
  it (word times from espeak's events) - only the planned pitch marks step (>= 5 st).
* Bank entries longer than a cap (plain 0.72 s, loud/quiet 0.95 s, tempo 1.5 s, tail 1.55 s at
  normal speed) are not used, which keeps 30 instances of everything in ~8.6 minutes.

Each synthesised piece is rejected and replaced if it contains an internal silence (|x| at or
below the trim threshold for >= 80 ms) or a near-silence (10 ms frames more than 35 dB below
the piece's median frame level for >= 80 ms); every tail is re-drawn until parselmouth shows its
label: median F0 of the last 250 ms of voiced frames vs the 500 ms of voiced frames before it,
``rise`` >= +2.5 st, ``fall`` <= -2.5 st, ``level`` within +-1.0 st (stricter than a plain
+-2 / +-1.5 st, so that no truth label sits on the detector's 2 st threshold). Counts of
everything rejected are in ``truth.json`` under ``stats``.

Noisy condition
---------------
The same mix, first convolved with a synthetic room impulse response (a unit direct path plus
exponentially decaying Gaussian noise starting 2.5 ms later, RT60 0.3 s, scaled to a
direct-to-reverberant energy ratio of +10 dB), then mixed with *speech-shaped* stationary noise
(Gaussian noise filtered to the long-term average spectrum of the clean mix) at 20 dB SNR
relative to the active speech level (mean power over the samples inside placed pieces, which
the truth knows exactly - the idea of ITU-T P.56's active level without its estimator). Both
files are peak-normalised to -3 dBFS. The truth is the same.

Files
-----
``bench/.cache/marks/<name>-<hash>/``: ``clean.wav``, ``noisy.wav`` (16 kHz mono int16),
``transcript.txt`` (``I: ...`` / ``P: ...``, one turn per line) and ``truth.json``. The hash
covers the parameters, the banks, this file's and ``generate.py``'s source and the espeak-ng
version, so any change rebuilds. Times in the truth are seconds rounded to 1 ms (pieces also
carry their exact sample range); word indices are 0-based positions in the transcript's word
sequence (its tokens in line order). ``truth.json`` holds ``utterances`` (every piece: speaker,
text, style, times, samples, words, the espeak text/pitch/speed/gain it was made with and its
measurements), ``turns``, ``pauses`` (micropause/pause, duration, words either side),
``gaps`` (with ``after_backchannel``), ``latches``, ``overlaps``, ``marks`` (kind, speaker,
times, words, ``word_range`` [first, last], synthesis and measurements), ``units`` (final
intonation label, last word, measured movement, ``overlapped`` by a backchannel,
``followed_by``), ``noisy_condition`` and ``stats`` (counts, rejections, bank sizes).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import hashlib
import itertools
import json
import math
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import parselmouth
import soundfile as sf
from scipy.signal import fftconvolve, welch

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "sample_audio") not in sys.path:
    sys.path.insert(0, str(REPO / "sample_audio"))

import generate as gen  # noqa: E402  (sample_audio/generate.py)

SR = gen.SAMPLE_RATE
CACHE_DIR = REPO / "bench" / ".cache" / "marks"

SPEAKERS: dict[str, dict[str, Any]] = {
    # Interviewer: British male. Participant: American female, a variant without echo.
    "I": {"voice": "en-gb+m3", "pitch": 50, "speed": 140, "amplitude": 100, "f0_range": (50.0, 300.0)},
    "P": {"voice": "en-us+f1", "pitch": 55, "speed": 150, "amplitude": 100, "f0_range": (90.0, 500.0)},
}

MARK_KINDS = ("loud", "quiet", "fast", "slow", "pitch_up", "pitch_down", "emphasis", "elongation")
SINGLE_WORD_KINDS = ("pitch_up", "pitch_down", "emphasis", "elongation")
INTONATION = ("rise", "fall", "level")
END_PUNCTUATION = {"rise": "?", "fall": ".", "level": ","}
CONTINUATION = ","
"""Appended to the espeak text (not the transcript) of every piece that does not end its unit:
espeak then reads it as a continuation, which about halves its clause-final fall at a splice."""


@dataclass(frozen=True)
class CorpusParams:
    """Everything that decides the corpus; its hash names the cache folder."""

    name: str = "full"
    seed: int = 20_250_611
    per_kind: int = 30  # instances of each mark kind, and >= this many of pauses, gaps, ...
    micropause_s: tuple[float, float] = (0.12, 0.18)
    pause_s: tuple[float, float] = (0.25, 2.5)  # log-uniform
    gap_s: tuple[float, float] = (0.25, 2.0)  # log-uniform
    latch_s: tuple[float, float] = (0.0, 0.04)
    overlap_s: tuple[float, float] = (0.2, 0.8)
    loud_db: tuple[float, float] = (8.0, 10.0)
    quiet_db: tuple[float, float] = (-10.0, -8.0)
    fast_factor: float = 1.6
    slow_factor: float = 0.6
    pitch_step_st: float = 5.0  # minimum |step| of pitch_up / pitch_down vs the neighbours
    pitch_word_duration: tuple[float, float] = (0.8, 1.25)  # x in-context, for pitch-step words
    emphasis_gain_db: float = 4.0
    emphasis_st: tuple[float, float] = (2.0, 3.0)
    emphasis_duration: tuple[float, float] = (1.2, 1.45)  # x in-context (target 1.3)
    elongation_ratio: tuple[float, float] = (2.2, 3.0)  # x in-context ("normal"); aim 2.5
    # Longest piece (s) a bank entry may give at the speaker's normal speed: keeps ~8 minutes.
    max_piece_s: tuple[tuple[str, float], ...] = (("plain", 0.72), ("loudquiet", 0.95),
                                                  ("tempo", 1.5), ("tail", 1.55))
    max_final_lengthening: float = 1.6  # plain fragments: last word alone vs in context
    max_unplanned_step_st: float = 3.5  # no unmarked word steps this far from the words before it
    rise_min_st: float = 2.5
    fall_max_st: float = -2.5
    level_max_abs_st: float = 1.0
    internal_silence_s: float = 0.08
    near_silence_db: float = 35.0
    snr_db: float = 20.0
    rt60_s: float = 0.3
    drr_db: float = 10.0


FULL = CorpusParams()
QUICK = CorpusParams(name="quick", per_kind=3, seed=7)

# --------------------------------------------------------------------------- word banks
# Ordinary English, no punctuation inside a piece. Words missing from the CMU dictionary are
# rejected (and counted) when the banks are screened.

PLAIN_FRAGMENTS = """
my mother|the neighbours|last summer|my brother|the teacher|every morning|our kitchen|the village
|my sister|in winter|after dinner|the doctor|her garden|on Sunday|the market|my father|our landlord
|the children|at breakfast|that evening|the river|my cousin|the builders|her husband|the office
|his daughter|a neighbour|the weather|on Monday|in April|that summer|his office|my grandmother
|the station|the hospital|your letter|the garage|the bakery|the picture|the visitors|some people
|my uncle|the others|our teacher|her parents|my parents|the farmer|the driver|the postman
|my partner|the baby|the paper|the music|his brother|her sister|the table|the water|the window
|the kettle|the students|the city|the country|the forest|the mountains|the island|the journey
|the middle|the corner|the bottom|that morning|next Tuesday|on Friday|in August|last winter
|our village|the workers|the nurses|her mother|his father|my daughter|my children|our family
|the cinema|the concert|the garden|the lesson|the teachers|the manager|the factory|the butcher
|the harbour|the orchard|the meadow|the chapel|the kitchen|the ladder|the engine|the football
|the holiday|the evening|my neighbour|the lorry|the pony|the cattle|the valley|the seaside
""".replace("\n", "").split("|")

SINGLE_WORDS = """
really never always very lovely yellow money morning garden mother water village window evening
many later other older early river summer winter dinner letter weather only even nearly barely
hardly simply rather honey holiday wonderful terrible beautiful horrible brilliant enormous
everyone everything nobody anyone somebody memory lemon ladder number movie alone around along
again below arrival amazing easy lonely happy hungry angry sunny rainy windy noisy busy lazy
silly funny heavy narrow gentle simple little middle normal million dollar yellow orange purple
family animal company cinema market meadow mirror valley marry carry worry hurry sorry borrow
""".split()

ELONGATION_WORDS = """
so well no all more now long slow sure way know old home mine down why how there here near far
real year ball hole road rain loud low high blue new few true soon moon room warm calm large
""".split()

LOUD_QUIET_STRETCHES = """
every single day|not at all|a long time|right away|the whole family|too much money|never again
|all the time|so many people|my own room|the very last|no idea|a lot of work|more and more
|just like that|over and over|once a week|the other day|at the weekend|for a while|in the morning
|on the radio|all over again|a little bit|the same thing|every evening|in the garden|very early
|much better|far away|quite a lot|not really|most of them|both of us|one more time|in the evening
|on the table|by the window|every Sunday|with my mother|without a penny|in the village|all of them
|a good idea|the big city|the old house|the new school|my little brother|a lovely garden
|every morning|really nothing|very little|all evening|the whole evening|my own money
|another letter|every penny|any other|so many|nobody else|all my money|never ever
|a lot of money|the other children|the river bank|our little garden|a yellow window
|every winter|the only other|almost every|the final letter|the early morning|a big family
""".replace("\n", "").split("|")

TEMPO_STRETCHES = """
as quickly as we could|all the way to the station|in the middle of the night|whenever we had the money
|with all the other children|for a couple of weeks|at the end of the summer|on the other side of town
|every morning before school|most of the older people|as soon as it was over|one of the nicest places
|in front of the whole family|a few of my old friends|until the very last minute|because of all the traffic
|whenever it was raining|after the children had gone|right in the middle of it|every single time we went
|a lot of different people|in the winter and the summer|across the road from our house|by the side of the river
|over the top of the hill|all the things we used to do|on the way to the market|at the back of the garden
|for the rest of the evening|in the corner of the kitchen|with a couple of neighbours|all the way down the valley
|at the bottom of the road|when everybody was asleep|in the heat of the afternoon|on the edge of the village
|every other Saturday|as often as we could|nearly every afternoon|all the other teachers
|most of the neighbours|a lot of the time|one of the older boys|none of the other families
|before the summer holidays|after a couple of days|in the middle of winter|with a bit of money
|all of the animals|another cup of coffee|a little bit later|a couple of hours later
|as early as possible|whenever anybody asked|with the other children|a lot of our family
|on the way to dinner|over the holiday weekend|any of the others|under the kitchen window
|behind the little cinema|beside the railway station|along the river valley|above the local bakery
|every Monday evening|every summer holiday|after the evening meeting|ahead of everybody else
|a very long letter|a beautiful yellow garden|another lovely evening|the whole of the village
""".replace("\n", "").split("|")

TAILS = """
when we were very young|before the shops closed|during the summer holidays|after the factory closed
|for almost twenty years|every weekend in summer|in the middle of winter|while the children were at school
|until the money ran out|at the end of every month|before anyone was awake|with a little help
|on the way home from work|whenever the weather was good|in the years that followed|after we moved to the city
|when my father was ill|before the baby was born|during the long summer evenings|at the bottom of the garden
|near the old railway station|in the town where I grew up|for the rest of the morning|along the edge of the river
|with all of our neighbours|in a little village nearby|when the music was playing|after the wedding was over
|on a Sunday afternoon|in the early morning|after a very long day|with nobody else around
|when I was still at school|as the evening went on|in the kitchen every morning|while we were waiting for dinner
|in the garden behind the house|when the visitors arrived|until the end of the year|before the winter came
|on the first day of term|in the middle of the afternoon|near the end of the summer|among all the other families
|in the old part of the city|for many years after that|whenever I visited my mother|when the rain finally stopped
|at the top of the stairs|behind the old brick wall|in the shade of the trees|down by the harbour wall
|under the kitchen table|on the back of the bus|by the end of the evening|in the summer of that year
|when the lights went out|around the corner from us|after the game was over|before the train arrived
|with my brother and sister|at the start of the winter|in a very small room|on the far side of the lake
|all along the main road|in the middle of the village|when we lived by the sea|long before you were born
|on the way to the beach|in the evening after dinner|when the snow came down|for the whole of the summer
|as the sun was going down|in the back of the car|on the last day of school|when the water was warm
""".replace("\n", "").split("|")

BACKCHANNELS = ["yeah", "right", "okay", "I see", "oh right", "yes", "sure", "of course",
                "that's right", "I know", "mm", "oh yes", "really", "I see yeah", "right right"]


# --------------------------------------------------------------------------- word checks

def tokens(text: str) -> list[str]:
    """Words of a piece as the transcript tokenizer will see them (punctuation stripped)."""
    out = []
    for piece in text.split():
        word = piece.strip(".,?!;:\"")
        if any(ch.isalnum() for ch in word):
            out.append(word)
    return out


_CMU: dict[str, list[str]] | None = None


def cmu() -> dict[str, list[str]]:
    """The CMU pronouncing dictionary from the pocketsphinx wheel: word -> phones."""
    global _CMU
    if _CMU is None:
        _CMU = {}
        from pocketsphinx import get_model_path  # the dictionary ships inside the wheel

        for line in Path(get_model_path("en-us/cmudict-en-us.dict")).read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if parts and "(" not in parts[0]:
                _CMU[parts[0]] = parts[1:]
    return _CMU


CMU_VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())


def syllables(words: list[str]) -> int:
    """Vowel count from the CMU phones (the pocketsphinx copy has no stress digits)."""
    return sum(sum(ph.rstrip("012") in CMU_VOWELS for ph in cmu().get(w.lower(), [])) for w in words)


def in_dictionary(text: str) -> bool:
    return all(w.lower() in cmu() for w in tokens(text))


# --------------------------------------------------------------------------- espeak timing

class EspeakTiming:
    """Word durations from libespeak-ng's synthesis events (the espeak-ng CLI reports none).

    Used only to *measure* how long each word lasts inside a sentence; the audio itself always
    comes from the CLI through ``generate.synthesise``. A word's duration runs from its WORD
    event to the next word's (the last word ends at the first pause phoneme after it).
    """

    _EVENT_WORD, _EVENT_PHONEME = 1, 7

    class _Event(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                    ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                    ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                    ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]

    _instance: EspeakTiming | None = None

    @classmethod
    def shared(cls) -> EspeakTiming:
        """The process's one instance: libespeak-ng must be initialised only once."""
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        self.lib = ctypes.CDLL(name)
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                         ctypes.POINTER(self._Event))
        self._events: list[tuple[int, int, bytes]] = []
        self._samples = 0

        def on_synth(wav, n, events):
            self._samples += max(n, 0)
            i = 0
            while events[i].type != 0:  # espeakEVENT_LIST_TERMINATED
                e = events[i]
                self._events.append((e.type, e.audio_position, e.text_position, bytes(e.id)))
                i += 1
            return 0

        self._callback = callback_type(on_synth)  # keep a reference: ctypes does not
        # AUDIO_OUTPUT_SYNCHRONOUS = 2; option 1 = phoneme events.
        self.rate = self.lib.espeak_Initialize(2, 0, None, 1)
        if self.rate <= 0:
            raise RuntimeError("libespeak-ng failed to initialise")
        self.lib.espeak_SetSynthCallback(self._callback)
        self._cache: dict[tuple, list[float] | None] = {}

    def word_starts(self, text: str, speaker: str, speed: int | None = None
                    ) -> tuple[list[float | None], float] | None:
        """Start (s) of each word of ``text`` read as one sentence, and the end of speech.

        A word's start is None when espeak reports it together with its neighbour (it does so
        for some pairs of function words, e.g. "of the"); None overall if no word event came.
        """
        v = SPEAKERS[speaker]
        key = (text, speaker, speed)
        if key in self._cache:
            return self._cache[key]
        self._events, self._samples = [], 0
        self.lib.espeak_SetVoiceByName(str(v["voice"]).encode())
        self.lib.espeak_SetParameter(1, int(speed or v["speed"]), 0)  # espeakRATE
        self.lib.espeak_SetParameter(2, int(v["amplitude"]), 0)  # espeakVOLUME
        self.lib.espeak_SetParameter(3, int(v["pitch"]), 0)  # espeakPITCH
        data = text.encode() + b"\0"
        self.lib.espeak_Synth(data, len(data), 0, 1, 0, 0, None, None)
        # A word event's text_position is the 1-based character offset of the word.
        offsets = [m.start() + 1 for m in re.finditer(r"\S+", text) if tokens(m.group())]
        at: dict[int, int] = {}
        for kind, pos, char, _ in self._events:
            if kind == self._EVENT_WORD:
                at.setdefault(char, pos)
        starts = [at[o] / 1000.0 if o in at else None for o in offsets]
        known = [x for x in starts if x is not None]
        result = None
        if known and known == sorted(known):
            pauses = [pos for kind, pos, _, ident in self._events
                      if kind == self._EVENT_PHONEME and ident.startswith(b"_") and pos / 1000.0 > known[-1]]
            end = pauses[0] / 1000.0 if pauses else self._samples / self.rate
            result = (starts, end)
        self._cache[key] = result
        return result

    def word_durations(self, text: str, speaker: str, speed: int | None = None
                       ) -> list[float | None] | None:
        """Seconds per word of ``text`` read as one sentence (None for a word without its own start)."""
        found = self.word_starts(text, speaker, speed)
        if found is None:
            return None
        starts, end = found
        bounds = [*starts, end]
        return [None if a is None or b is None else round(b - a, 4) for a, b in itertools.pairwise(bounds)]


# --------------------------------------------------------------------------- measurement

def f0_frames(x: np.ndarray, speaker: str) -> tuple[np.ndarray, np.ndarray]:
    """Times and F0 (Hz) of the voiced 10 ms frames of a piece (Praat autocorrelation)."""
    floor, ceiling = SPEAKERS[speaker]["f0_range"]
    if len(x) < int(0.05 * SR):
        return np.zeros(0), np.zeros(0)
    pitch = parselmouth.Sound(x, sampling_frequency=SR).to_pitch_ac(
        time_step=0.01, pitch_floor=floor, pitch_ceiling=ceiling)
    f0 = pitch.selected_array["frequency"]
    times = pitch.xs()
    voiced = f0 > 0
    return times[voiced], f0[voiced]


def semitones(a: float, b: float) -> float:
    return 12.0 * math.log2(a / b)


def final_movement_st(x: np.ndarray, speaker: str) -> tuple[float | None, int]:
    """Median F0 of the last 250 ms of voiced frames vs the 500 ms of voiced frames before it."""
    _, f0 = f0_frames(x, speaker)
    if len(f0) < 75:
        return None, len(f0)
    return semitones(float(np.median(f0[-25:])), float(np.median(f0[-75:-25]))), len(f0)


def pitch_step_st(before: np.ndarray, word: np.ndarray, after: np.ndarray,
                  speaker: str, context_s: float = 0.4) -> dict[str, float] | None:
    """A word's median F0 vs the last ``context_s`` of the piece before and the first of the next."""
    _, f_word = f0_frames(word, speaker)
    t_b, f_b = f0_frames(before, speaker)
    t_a, f_a = f0_frames(after, speaker)
    f_b = f_b[t_b >= len(before) / SR - context_s]
    f_a = f_a[t_a <= context_s]
    if len(f_word) < 3 or len(f_b) + len(f_a) < 5:
        return None
    word_hz = float(np.median(f_word))
    out = {"step_st": semitones(word_hz, float(np.median(np.concatenate([f_b, f_a])))),
           "word_hz": word_hz}
    if len(f_b) >= 3:
        out["step_before_st"] = semitones(word_hz, float(np.median(f_b)))
    if len(f_a) >= 3:
        out["step_after_st"] = semitones(word_hz, float(np.median(f_a)))
    return out


def longest_run(mask: np.ndarray) -> int:
    """Length of the longest run of True values."""
    if not mask.any():
        return 0
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return int(np.max(np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)))


def silence_check(x: np.ndarray, params: CorpusParams) -> str | None:
    """Why a trimmed piece is unusable ('internal silence' / 'near silence'), or None."""
    if longest_run(np.abs(x) <= gen.TRIM_THRESHOLD) >= params.internal_silence_s * SR:
        return "internal silence"
    hop = SR // 100
    n = len(x) // hop
    if n >= 3:
        frames = x[: n * hop].reshape(n, hop)
        db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
        quiet = db < np.median(db) - params.near_silence_db
        quiet[0] = quiet[-1] = False  # the edges are trimmed to audible samples anyway
        if longest_run(quiet) * hop >= params.internal_silence_s * SR:
            return "near silence"
    return None


# --------------------------------------------------------------------------- the corpus builder

@dataclass
class Piece:
    """One separately synthesised piece, placed at ``start`` (samples) on the timeline."""

    speaker: str
    text: str  # as written in the transcript (a tail carries the unit's final punctuation)
    style: str  # plain | tail | backchannel | one of MARK_KINDS
    audio: np.ndarray
    synth: dict[str, Any]
    measure: dict[str, Any] = field(default_factory=dict)
    pause_before: float = 0.0  # silence before it inside its turn (0 = spliced)
    turn: int = -1
    unit: int = -1
    start: int = 0
    first_word: int = -1

    @property
    def words(self) -> list[str]:
        return tokens(self.text)

    @property
    def end(self) -> int:
        return self.start + len(self.audio)


class Builder:
    """Draws, synthesises and verifies pieces; keeps the rejection counts."""

    def __init__(self, params: CorpusParams, tmp: Path) -> None:
        self.p = params
        self.tmp = tmp
        self.rng = np.random.default_rng(params.seed)
        self.timing = EspeakTiming.shared()
        self.rejected: dict[str, int] = {}
        self._synth_cache: dict[tuple, np.ndarray] = {}
        self._recent: dict[tuple[str, str], list[str]] = {}
        self.banks = self._screen_banks()
        self.word_level = {spk: self._median_word_level(spk) for spk in SPEAKERS}

    # ---- synthesis
    def synth(self, speaker: str, text: str, pitch: int | None = None, speed: int | None = None,
              ssml: bool = False) -> np.ndarray:
        """``generate.synthesise`` + ``generate.trim`` in the speaker's voice, memoised."""
        v = SPEAKERS[speaker]
        key = (speaker, text, pitch, speed, ssml)
        if key not in self._synth_cache:
            audio = gen.synthesise(text, str(v["voice"]), int(pitch if pitch is not None else v["pitch"]),
                                   int(speed or v["speed"]), int(v["amplitude"]), self.tmp, ssml=ssml)
            self._synth_cache[key] = gen.trim(audio)
        return self._synth_cache[key]

    def inner(self, speaker: str, text: str, pitch: int | None = None, speed: int | None = None
              ) -> np.ndarray:
        """A piece that is not the end of its unit, read as a continuation (trailing comma)."""
        return self.synth(speaker, text + CONTINUATION, pitch=pitch, speed=speed)

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    # ---- checks
    def word_steps(self, speaker: str, text: str, audio: np.ndarray, speed: int | None = None,
                   skip_last: bool = False) -> list[float] | None:
        """Each word's median F0 vs the median of the (up to) two words before it in the piece (st).

        Word times come from libespeak-ng's events for the same text, scaled to the piece's
        length; words espeak reports together count as one; frames within 20 ms of a word edge
        are left out.
        """
        found = self.timing.word_starts(text, speaker, speed=speed)
        if found is None or found[0][0] is None:
            return None
        starts, end = found
        known = [x for x in starts if x is not None]
        scale = (len(audio) / SR) / (end - known[0])
        edges = [(x - known[0]) * scale for x in [*known, end]]
        times, f0 = f0_frames(audio, speaker)
        per_word = [f0[(times > a + 0.02) & (times < b - 0.02)] for a, b in itertools.pairwise(edges)]
        steps = []
        last = len(per_word) - (1 if skip_last else 0)
        for k in range(1, last):
            before = np.concatenate(per_word[max(0, k - 2):k])
            if len(per_word[k]) >= 3 and len(before) >= 3:
                steps.append(semitones(float(np.median(per_word[k])), float(np.median(before))))
        return steps

    def unplanned_step(self, speaker: str, text: str, audio: np.ndarray, speed: int | None = None,
                       skip_last: bool = False) -> bool:
        steps = self.word_steps(speaker, text, audio, speed, skip_last)
        return steps is None or any(abs(x) >= self.p.max_unplanned_step_st for x in steps)

    # ---- bank screening
    def _screen_banks(self) -> dict[str, dict[str, list[str]]]:
        """Per speaker, the bank entries that pass the dictionary, silence, length, lengthening
        and pitch-step checks (all at the speaker's normal speed and pitch)."""
        raw = {"plain": PLAIN_FRAGMENTS, "single": SINGLE_WORDS, "elongation": ELONGATION_WORDS,
               "loudquiet": LOUD_QUIET_STRETCHES, "tempo": TEMPO_STRETCHES, "tail": TAILS,
               "backchannel": BACKCHANNELS}
        screened: dict[str, dict[str, list[str]]] = {}
        max_s = dict(self.p.max_piece_s)
        for speaker in SPEAKERS:
            screened[speaker] = {}
            for bank, entries in raw.items():
                keep = []
                for text in dict.fromkeys(e.strip() for e in entries if e.strip()):
                    if not in_dictionary(text):
                        self.reject(f"bank {bank}: word not in CMU dictionary")
                        continue
                    if bank == "tempo" and (not 4 <= len(tokens(text)) <= 6 or syllables(tokens(text)) < 5):
                        self.reject("bank tempo: not 4-6 words with >= 5 syllables")
                        continue
                    if bank in ("single", "elongation"):
                        keep.append(text)  # checked in place, at their own pitch and speed
                        continue
                    spoken = text if bank in ("tail", "backchannel") else text + CONTINUATION
                    audio = self.synth(speaker, spoken)
                    problem = silence_check(audio, self.p)
                    if problem:
                        self.reject(f"bank {bank}: {problem}")
                        continue
                    if len(audio) / SR > max_s.get(bank, math.inf):
                        self.reject(f"bank {bank}: longer than {max_s[bank]} s")
                        continue
                    if bank in ("plain", "loudquiet"):
                        ratio = self.final_lengthening(speaker, text)
                        if ratio is None or ratio > self.p.max_final_lengthening:
                            self.reject(f"bank {bank}: last word lengthened > {self.p.max_final_lengthening}x")
                            continue
                    if bank != "backchannel" and self.unplanned_step(speaker, spoken, audio,
                                                                     skip_last=bank == "tail"):
                        self.reject(f"bank {bank}: a word steps >= {self.p.max_unplanned_step_st} st")
                        continue
                    keep.append(text)
                screened[speaker][bank] = keep
        return screened

    def word_levels(self, speaker: str, spoken: str, audio: np.ndarray) -> list[float]:
        """Each word's level (dB, power mean of its samples), word times from espeak's events."""
        found = self.timing.word_starts(spoken, speaker)
        if found is None or found[0][0] is None:
            return []
        starts, end = found
        known = [x for x in starts if x is not None]
        scale = (len(audio) / SR) / (end - known[0])
        edges = [round((x - known[0]) * scale * SR) for x in [*known, end]]
        return [10 * math.log10(float(np.mean(audio[a:b] ** 2)) + 1e-12) for a, b in itertools.pairwise(edges) if b > a]

    def _median_word_level(self, speaker: str) -> float:
        """The speaker's median word level over the plain fragments and tails of the banks: the
        reference the one-word marks' levels are set against ("dB re speaker")."""
        levels = []
        for text in self.banks[speaker]["plain"]:
            levels += self.word_levels(speaker, text + CONTINUATION, self.inner(speaker, text))
        for text in self.banks[speaker]["tail"]:
            levels += self.word_levels(speaker, text + ".", self.synth(speaker, text + "."))
        return float(np.median(levels))

    def final_lengthening(self, speaker: str, text: str) -> float | None:
        """How much longer the last word is when ``text`` is a piece than inside a sentence."""
        alone = self.timing.word_durations(text + CONTINUATION, speaker)
        inside = self.timing.word_durations(f"and then {text} was there again", speaker)
        n = len(tokens(text))
        if not alone or not inside or not alone[-1] or not inside[2 + n - 1]:
            return None
        return alone[-1] / inside[2 + n - 1]

    def draw(self, speaker: str, bank: str) -> str:
        """A random entry of the speaker's bank, avoiding the last few drawn from it."""
        entries = self.banks[speaker][bank]
        recent = self._recent.setdefault((speaker, bank), [])
        while True:
            text = entries[int(self.rng.integers(len(entries)))]
            if text not in recent or len(entries) <= 3:
                break
        recent.append(text)
        del recent[: max(0, len(recent) - min(8, len(entries) // 3))]
        return text

    def uniform(self, lo_hi: tuple[float, float]) -> float:
        return float(self.rng.uniform(*lo_hi))

    def log_uniform(self, lo_hi: tuple[float, float]) -> float:
        return float(math.exp(self.rng.uniform(math.log(lo_hi[0]), math.log(lo_hi[1]))))

    # ---- pieces
    def plain(self, speaker: str) -> Piece:
        text = self.draw(speaker, "plain")
        return Piece(speaker, text, "plain", self.inner(speaker, text), {"gain_db": 0.0, "espeak_text": text + CONTINUATION})

    def backchannel(self, speaker: str) -> Piece:
        text = self.draw(speaker, "backchannel")
        return Piece(speaker, text, "backchannel", self.synth(speaker, text), {"gain_db": 0.0, "espeak_text": text})

    def tail(self, speaker: str, label: str) -> Piece:
        """A unit's final piece whose isolated audio shows ``label`` (re-drawn until it does)."""
        attempts: list[str | None] = [None] * 200
        if label == "level":
            # espeak's comma tune falls by 1-3 st; the last word may be lifted a little (SSML).
            attempts = [None, "+10%", "+20%", "+30%"] * 50
        words = ""
        for lift in attempts:
            if lift is None:
                words = self.draw(speaker, "tail")
            text = words + END_PUNCTUATION[label]
            ssml = label == "rise" or lift is not None
            if label == "rise":
                spoken = gen.rising_ssml(text)
            elif lift is not None:
                head, _, last = text.rpartition(" ")
                spoken = f'{head} <prosody pitch="{lift}">{last}</prosody>'
            else:
                spoken = text
            audio = self.synth(speaker, spoken, ssml=ssml)
            problem = silence_check(audio, self.p)
            if problem:
                self.reject(f"tail: {problem}")
                continue
            movement, voiced = final_movement_st(audio, speaker)
            ok = movement is not None and (
                (label == "rise" and movement >= self.p.rise_min_st)
                or (label == "fall" and movement <= self.p.fall_max_st)
                or (label == "level" and abs(movement) <= self.p.level_max_abs_st))
            if not ok:
                self.reject(f"tail {label}: F0 does not show it" if movement is not None
                            else "tail: under 750 ms voiced")
                continue
            return Piece(speaker, text, "tail", audio, {"gain_db": 0.0, "espeak_text": spoken},
                         {"final_movement_st": round(movement, 2), "voiced_frames": voiced})
        raise RuntimeError(f"no tail shows {label} for {speaker}")

    def stretch(self, speaker: str, kind: str) -> Piece:
        """A loud, quiet, fast or slow stretch (re-drawn if its audio fails a check)."""
        v = SPEAKERS[speaker]
        if kind in ("loud", "quiet"):
            text = self.draw(speaker, "loudquiet")
            gain = round(self.uniform(self.p.loud_db if kind == "loud" else self.p.quiet_db), 2)
            audio = self.inner(speaker, text) * gen.db_to_gain(gain)
            return Piece(speaker, text, kind, audio, {"gain_db": round(gain, 2), "espeak_text": text + CONTINUATION})
        factor = self.p.fast_factor if kind == "fast" else self.p.slow_factor
        speed = round(int(v["speed"]) * factor)
        for _ in range(100):
            text = self.draw(speaker, "tempo")
            audio = self.inner(speaker, text, speed=speed)
            problem = silence_check(audio, self.p)
            if problem:
                self.reject(f"{kind}: {problem}")
                continue
            if self.unplanned_step(speaker, text + CONTINUATION, audio, speed=speed):
                self.reject(f"{kind}: a word steps >= {self.p.max_unplanned_step_st} st")
                continue
            n = len(tokens(text))
            normal = self.inner(speaker, text)
            measure: dict[str, Any] = {"syllables": syllables(tokens(text)),
                                       "tempo_vs_alone": round(len(normal) / len(audio), 3)}
            context = self.timing.word_durations(f"and then {text} was there again", speaker)
            if context and all(d is not None for d in context[2:2 + n]):
                measure["in_context_s"] = round(sum(context[2:2 + n]), 3)
                measure["tempo_ratio"] = round(sum(context[2:2 + n]) / (len(audio) / SR), 3)
            return Piece(speaker, text, kind, audio,
                         {"gain_db": 0.0, "speed": speed, "espeak_text": text + CONTINUATION}, measure)
        raise RuntimeError(f"no usable {kind} stretch")

    def single(self, speaker: str, kind: str, before: Piece, after: Piece,
               context_words: list[str], index: int) -> Piece:
        """A one-word mark at position ``index`` of the unit's words ``context_words``."""
        bank = "elongation" if kind == "elongation" else "single"
        for _ in range(80):
            word = self.draw(speaker, bank)
            words = [*context_words[:index], word, *context_words[index + 1:]]
            durations = self.timing.word_durations(" ".join(words) + ".", speaker)
            if not durations or durations[index] is None:
                self.reject(f"{kind}: no espeak word timing")
                continue
            piece = self._single_word(speaker, kind, word, durations[index], before, after)
            if piece is not None:
                return piece
        raise RuntimeError(f"no usable {kind} word for {speaker}")

    def _at_duration(self, speaker: str, word: str, pitch: int, target_s: float) -> tuple[np.ndarray, int]:
        """The word synthesised at the espeak speed that brings it closest to ``target_s``."""
        speed = int(SPEAKERS[speaker]["speed"])
        audio = self.inner(speaker, word, pitch=pitch, speed=speed)
        for _ in range(3):
            wanted = round(min(450, max(80, speed * (len(audio) / SR) / target_s)))
            if wanted == speed:
                break
            speed = wanted
            audio = self.inner(speaker, word, pitch=pitch, speed=speed)
        return audio, speed

    def _level_gain(self, speaker: str, word: np.ndarray, target_db: float) -> tuple[float, float]:
        """The gain (dB) that puts a one-word piece ``target_db`` above the speaker's median word
        level (power mean of the word's samples, as for the reference); and its level before."""
        natural = 10 * math.log10(float(np.mean(word ** 2)) + 1e-12) - self.word_level[speaker]
        return round(target_db - natural, 2), natural

    def _single_word(self, speaker: str, kind: str, word: str, normal: float, before: Piece,
                     after: Piece) -> Piece | None:
        p = self.p
        base_pitch = int(SPEAKERS[speaker]["pitch"])
        if kind == "elongation":
            lo, hi = p.elongation_ratio
            audio, speed = self._at_duration(speaker, word, base_pitch, normal * (lo + hi) / 2)
            ratio = len(audio) / SR / normal
            if not lo <= ratio <= hi:
                self.reject(f"elongation: {lo}-{hi}x not reachable (espeak's slowest speed is 80)")
                return None
            step = pitch_step_st(before.audio, audio, after.audio, speaker)
            if silence_check(audio, p) or step is None or any(
                    abs(step.get(k, 0.0)) >= p.max_unplanned_step_st for k in ("step_before_st", "step_after_st")):
                self.reject("elongation: silence or pitch step in the word")
                return None
            gain, natural = self._level_gain(speaker, audio, 0.0)
            measure = {"normal_s": round(normal, 3), "duration_s": round(len(audio) / SR, 3),
                       "ratio": round(ratio, 2), "level_re_speaker_before_gain_db": round(natural, 2),
                       **{k: round(v, 2) for k, v in step.items()}}
            return Piece(speaker, word, kind, audio * gen.db_to_gain(gain),
                         {"gain_db": round(gain, 2), "speed": speed, "espeak_text": word + CONTINUATION}, measure)
        if kind in ("pitch_up", "pitch_down"):
            lo, hi = p.pitch_word_duration
            pitches = (range(min(99, base_pitch + 25), 100, 6) if kind == "pitch_up"
                       else range(max(0, base_pitch - 25), -1, -6))
            sign = 1 if kind == "pitch_up" else -1
            for pitch in dict.fromkeys([*pitches, 99 if kind == "pitch_up" else 0]):
                audio, speed = self._at_duration(speaker, word, pitch, normal)
                ratio = len(audio) / SR / normal
                step = pitch_step_st(before.audio, audio, after.audio, speaker)
                if step is None or not lo <= ratio <= hi or silence_check(audio, p):
                    continue
                if sign * step["step_st"] >= p.pitch_step_st + 0.5 and all(
                        sign * step.get(k, sign * p.pitch_step_st) >= p.pitch_step_st
                        for k in ("step_before_st", "step_after_st")):
                    gain, natural = self._level_gain(speaker, audio, 0.0)
                    measure = {k: round(val, 2) for k, val in step.items()}
                    measure.update(normal_s=round(normal, 3), duration_ratio=round(ratio, 2),
                                   level_re_speaker_before_gain_db=round(natural, 2))
                    return Piece(speaker, word, kind, audio * gen.db_to_gain(gain),
                                 {"gain_db": round(gain, 2), "pitch": pitch, "speed": speed,
                                  "espeak_text": word + CONTINUATION}, measure)
            self.reject(f"{kind}: step of {p.pitch_step_st} st not reached")
            return None
        # emphasis: +4 dB over the neighbours, +2..3 st over the words before, ~1.3x duration
        lo, hi = p.emphasis_duration
        best = None
        for pitch in range(base_pitch, min(99, base_pitch + 45) + 1, 3):
            audio, speed = self._at_duration(speaker, word, pitch, normal * 1.3)
            ratio = len(audio) / SR / normal
            step = pitch_step_st(before.audio, audio, after.audio, speaker)
            if step is None or "step_before_st" not in step or not lo <= ratio <= hi or silence_check(audio, p):
                continue
            st_lo, st_hi = p.emphasis_st
            rise = step["step_before_st"]
            miss = abs(rise - (st_lo + st_hi) / 2)
            if st_lo <= rise <= st_hi and step.get("step_after_st", 0.0) <= st_hi + 0.5 and (
                    best is None or miss < best[0]):
                best = (miss, pitch, speed, audio, step, ratio)
        if best is None:
            self.reject("emphasis: +2..3 st at 1.2-1.45x not reached")
            return None
        _, pitch, speed, audio, step, ratio = best
        gain, natural = self._level_gain(speaker, audio, p.emphasis_gain_db)
        measure = {k: round(val, 2) for k, val in step.items()}
        measure.update(normal_s=round(normal, 3), duration_ratio=round(ratio, 2),
                       level_re_speaker_before_gain_db=round(natural, 2), level_re_speaker_db=p.emphasis_gain_db)
        return Piece(speaker, word, kind, audio * gen.db_to_gain(gain),
                     {"gain_db": round(gain, 2), "pitch": pitch, "speed": speed,
                      "espeak_text": word + CONTINUATION}, measure)

    # ---- units
    def unit(self, speaker: str, marks: list[str], label: str) -> list[Piece]:
        """Pieces of one intonation unit: ``[lead] mark [sep mark ...] tail``."""
        layout: list[tuple[str, str]] = []  # (role, kind)
        for i, kind in enumerate(marks):
            if i > 0 or kind in SINGLE_WORD_KINDS:  # a stretch may open the unit (after a pause)
                layout.append(("plain", "plain"))
            layout.append(("mark", kind))
        if not marks:
            layout.append(("plain", "plain"))
        pieces: list[Piece | None] = []
        for role, kind in layout:
            if role == "plain":
                pieces.append(self.plain(speaker))
            elif kind in SINGLE_WORD_KINDS:
                pieces.append(None)  # needs its neighbours first
            else:
                pieces.append(self.stretch(speaker, kind))
        pieces.append(self.tail(speaker, label))
        # One-word marks last: they are fitted to their neighbours' pitch, level and duration.
        for i, (role, kind) in enumerate(layout):
            if role == "mark" and kind in SINGLE_WORD_KINDS:
                words: list[str] = []
                index = -1
                for j, piece in enumerate(pieces):
                    if j == i:
                        index = len(words)
                        words.append("placeholder")
                    else:
                        words.extend(piece.words if piece else ["placeholder"])
                pieces[i] = self.single(speaker, kind, pieces[i - 1], pieces[i + 1], words, index)
        return [p for p in pieces if p is not None]


# --------------------------------------------------------------------------- the plan

@dataclass
class TurnPlan:
    speaker: str
    units: list[tuple[list[str], str]]  # (mark kinds, final intonation label)
    gap_before: float  # >= 0 gap / latch from everything heard; ignored for the first turn
    backchannel_after: bool = False


def make_plan(b: Builder) -> list[TurnPlan]:
    """Decide speakers, units, marks, intonation labels, gaps, latches and backchannels."""
    k, rng = b.p.per_kind, b.rng
    n_main = 2 * k + 2  # -> 2k + 1 speaker changes into main turns: k + 1 gaps, k latches
    n_units = n_main + k + 1  # -> k + 1 timed pauses inside turns
    labels = list(rng.permutation([lab for lab in INTONATION for _ in range(k + 1)]))
    per_turn = np.ones(n_main, dtype=int)
    for _ in range(n_units - n_main):
        candidates = np.flatnonzero(per_turn < 3)
        per_turn[int(rng.choice(candidates))] += 1
    marks = list(rng.permutation([kind for kind in MARK_KINDS for _ in range(k)]))
    # Stretches first in a unit: a stretch may open a unit, a one-word mark needs a plain lead.
    unit_marks = [sorted(chunk, key=lambda kind: kind in SINGLE_WORD_KINDS)
                  for chunk in np.array_split(np.array(marks, dtype=object), n_units)]
    transitions = rng.permutation(["latch"] * k + ["gap"] * (n_main - 1 - k))
    backchannels = {int(i) for i in rng.choice(n_main - 1, size=k, replace=False)}
    plans: list[TurnPlan] = []
    speaker, u = "I", 0
    for t in range(n_main):
        units = [(unit_marks[u + j], str(labels[u + j])) for j in range(per_turn[t])]
        u += per_turn[t]
        if t == 0:
            gap = gen.LEAD_IN
        elif transitions[t - 1] == "latch":
            gap = b.uniform(b.p.latch_s)
        else:
            gap = b.log_uniform(b.p.gap_s)
        plans.append(TurnPlan(speaker, units, gap, backchannel_after=t in backchannels))
        if t not in backchannels:  # after a backchannel by the other speaker, this one goes on
            speaker = "P" if speaker == "I" else "I"
    return plans


# --------------------------------------------------------------------------- layout and truth

def to_samples(seconds: float) -> int:
    return gen.to_samples(seconds)


def secs(samples: int) -> float:
    return gen.secs(samples)


def place_micropauses(b: Builder, plans_units: list[list[Piece]], count: int) -> None:
    """Turn ``count`` splices (not next to a one-word mark) into micropauses, before placement."""
    candidates = []
    for unit in plans_units:
        for i in range(1, len(unit)):
            if unit[i - 1].style not in SINGLE_WORD_KINDS and unit[i].style not in SINGLE_WORD_KINDS:
                candidates.append(unit[i])
    chosen = b.rng.choice(len(candidates), size=min(count, len(candidates)), replace=False)
    for i in chosen:
        candidates[int(i)].pause_before = b.uniform(b.p.micropause_s)


def build(params: CorpusParams, tmp: Path, log=print) -> dict[str, Any]:
    """Synthesise the interview; returns the truth dict plus clean and noisy float mixes."""
    started = time.perf_counter()
    b = Builder(params, tmp)
    plans = make_plan(b)
    log(f"  plan: {len(plans)} main turns, {sum(len(p.units) for p in plans)} units")
    # Synthesise all units first, then choose micropause boundaries, then place everything.
    unit_pieces: list[list[Piece]] = []
    for plan in plans:
        for marks, label in plan.units:
            unit_pieces.append(b.unit(plan.speaker, marks, label))
    place_micropauses(b, unit_pieces, params.per_kind + 1)
    pieces, turns, length = place(b, plans, unit_pieces)
    transcript_lines, _ = assign_words(turns)
    truth = make_truth(params, b, pieces, turns, length)
    truth["stats"]["build_seconds"] = round(time.perf_counter() - started, 1)
    clean = mix_float(pieces, length)
    active = np.zeros(length, dtype=bool)
    for piece in pieces:
        active[piece.start:piece.end] = True
    noisy, noise_info = degrade(clean, active, params)
    truth["noisy_condition"] = noise_info
    return {"truth": truth, "transcript": transcript_lines, "clean": clean, "noisy": noisy}


def place(b: Builder, plans: list[TurnPlan], unit_pieces: list[list[Piece]]
          ) -> tuple[list[Piece], list[dict], int]:
    """Put every turn on the timeline (samples); gaps and overlaps as planned."""
    pieces: list[Piece] = []
    turns: list[dict] = []
    heard_until = 0
    u = 0
    for plan in plans:
        turn_pieces: list[Piece] = []
        for j in range(len(plan.units)):
            unit = unit_pieces[u]
            for piece in unit:
                piece.unit = u
            if j > 0:
                unit[0].pause_before = b.log_uniform(b.p.pause_s)
            turn_pieces.extend(unit)
            u += 1
        turn_no = len(turns)
        start = heard_until + to_samples(plan.gap_before)
        cursor = start
        for i, piece in enumerate(turn_pieces):
            if i:
                cursor += to_samples(piece.pause_before)
            piece.turn, piece.start = turn_no, cursor
            cursor += len(piece.audio)
        turns.append({"speaker": plan.speaker, "pieces": turn_pieces, "kind": "main"})
        pieces.extend(turn_pieces)
        heard_until = max(heard_until, cursor)
        if plan.backchannel_after:
            other = "P" if plan.speaker == "I" else "I"
            bc = None
            for _ in range(100):
                bc = b.backchannel(other)
                if len(bc.audio) / SR >= b.p.overlap_s[0] + 0.15:
                    break
                b.reject("backchannel: too short to overlap by 0.2 s")
            assert bc is not None
            bc.style = "backchannel"
            longest = min(b.p.overlap_s[1], len(bc.audio) / SR - 0.1)
            overlap = b.uniform((b.p.overlap_s[0], longest))
            bc.turn, bc.unit = len(turns), -1
            bc.start = cursor - to_samples(overlap)
            bc.measure["overlap_s"] = round(overlap, 3)
            turns.append({"speaker": other, "pieces": [bc], "kind": "backchannel"})
            pieces.append(bc)
            heard_until = max(heard_until, bc.end)
    return pieces, turns, heard_until + to_samples(gen.LEAD_IN)


def assign_words(turns: list[dict]) -> tuple[list[str], int]:
    """Global word indices (transcript order) for every piece; returns the transcript lines."""
    lines, index = [], 0
    for turn in turns:
        for piece in turn["pieces"]:
            piece.first_word = index
            index += len(piece.words)
        lines.append(f"{turn['speaker']}: " + " ".join(p.text for p in turn["pieces"]))
    return lines, index


def mix_float(pieces: list[Piece], length: int) -> np.ndarray:
    """All pieces added into one silent buffer (float, unnormalised)."""
    buf = np.zeros(length, dtype=np.float64)
    for piece in pieces:
        buf[piece.start:piece.end] += piece.audio
    return buf


def to_pcm(x: np.ndarray) -> np.ndarray:
    """Peak to generate.PEAK_DBFS, rounded to int16 (silence stays exact digital zero)."""
    x = x * gen.db_to_gain(gen.PEAK_DBFS) / np.max(np.abs(x))
    return np.round(x * 32767.0).astype(np.int16)


def degrade(clean: np.ndarray, active: np.ndarray, p: CorpusParams) -> tuple[np.ndarray, dict]:
    """Light reverb (synthetic exponential-decay IR) then speech-shaped noise at ``p.snr_db``."""
    rng = np.random.default_rng(p.seed + 1)
    n_ir = int(1.2 * p.rt60_s * SR)
    t = np.arange(n_ir) / SR
    tail = rng.standard_normal(n_ir) * np.exp(-3.0 * math.log(10.0) * t / p.rt60_s)
    tail[: int(0.0025 * SR)] = 0.0  # first reflection 2.5 ms after the direct sound
    tail *= math.sqrt(10 ** (-p.drr_db / 10) / np.sum(tail ** 2))
    ir = tail.copy()
    ir[0] = 1.0
    reverberant = fftconvolve(clean, ir)[: len(clean)]
    # Speech-shaped noise: white noise through the long-term spectrum of the clean speech.
    freqs, psd = welch(clean[active], fs=SR, nperseg=1024)
    white = rng.standard_normal(len(clean))
    spectrum = np.fft.rfft(white)
    shape = np.sqrt(np.interp(np.fft.rfftfreq(len(clean), 1 / SR), freqs, psd))
    noise = np.fft.irfft(spectrum * shape, n=len(clean))
    speech_power = float(np.mean(reverberant[active] ** 2))
    noise *= math.sqrt(speech_power / 10 ** (p.snr_db / 10) / np.mean(noise ** 2))
    info = {"reverb": {"rt60_s": p.rt60_s, "drr_db": p.drr_db,
                       "impulse_response": "unit direct path + Gaussian noise x exp(-6.91 t / RT60) "
                                           "from 2.5 ms, energy scaled to the DRR"},
            "noise": {"kind": "speech-shaped (Gaussian noise filtered to the clean mix's long-term "
                              "spectrum, Welch 1024)", "snr_db": p.snr_db,
                      "reference": "active speech level = mean power over samples inside placed "
                                   "pieces (after reverb)"}}
    return reverberant + noise, info


def make_truth(p: CorpusParams, b: Builder, pieces: list[Piece], turns: list[dict], length: int
               ) -> dict[str, Any]:
    """Every ground-truth table, from the sample positions."""
    def words_of(piece: Piece) -> list[int]:
        return [piece.first_word, piece.first_word + len(piece.words) - 1]

    utterances = []
    for piece in pieces:
        utterances.append({"speaker": piece.speaker, "text": piece.text, "style": piece.style,
                           "start": secs(piece.start), "end": secs(piece.end),
                           "start_sample": piece.start, "end_sample": piece.end, "turn": piece.turn,
                           "unit": piece.unit, "words": words_of(piece),
                           "pause_before": round(piece.pause_before, 3) if piece.pause_before else 0.0,
                           "synth": piece.synth, "measure": piece.measure})
    turn_records = []
    spans = []
    for t, turn in enumerate(turns):
        ps = turn["pieces"]
        start, end = ps[0].start, max(q.end for q in ps)
        spans.append((turn["speaker"], start, end, ps[0].first_word, ps[-1].first_word + len(ps[-1].words) - 1,
                      turn["kind"]))
        turn_records.append({"speaker": turn["speaker"], "kind": turn["kind"], "start": secs(start),
                             "end": secs(end), "first_word": spans[-1][3], "last_word": spans[-1][4],
                             "text": " ".join(q.text for q in ps)})

    pauses = []
    for turn in turns:
        ps = turn["pieces"]
        for a, c in itertools.pairwise(ps):
            if c.start > a.end:
                d = c.start - a.end
                pauses.append({"speaker": a.speaker, "start": secs(a.end), "end": secs(c.start),
                               "duration": secs(d),
                               "kind": "micropause" if d < to_samples(0.2) else "pause",
                               "after_word": a.first_word + len(a.words) - 1, "before_word": c.first_word,
                               "ends_unit": a.unit != c.unit})

    gaps, overlaps, latches = [], [], []
    heard_until, last_speaker, last_word, last_kind = spans[0][2], spans[0][0], spans[0][4], spans[0][5]
    for speaker, start, end, first, last, kind in spans[1:]:
        if start >= heard_until:
            record = {"start": secs(heard_until), "end": secs(start), "duration": secs(start - heard_until),
                      "from_speaker": last_speaker, "to_speaker": speaker,
                      "after_word": last_word, "before_word": first,
                      "after_backchannel": last_kind == "backchannel"}
            gaps.append(record)
            if start - heard_until < to_samples(0.05):
                latches.append({"kind": "latch", "speaker": speaker, **record})
        else:
            overlaps.append({"start": secs(start), "end": secs(min(end, heard_until)),
                             "speakers": [last_speaker, speaker], "word": first,
                             "overlapped_turn_last_word": last_word})
        if end >= heard_until:
            heard_until, last_speaker, last_word, last_kind = end, speaker, last, kind

    marks = []
    for piece in pieces:
        if piece.style in MARK_KINDS:
            marks.append({"kind": piece.style, "speaker": piece.speaker, "start": secs(piece.start),
                          "end": secs(piece.end), "words": piece.words, "word_range": words_of(piece),
                          "synth": piece.synth, "measure": piece.measure})

    units = []
    backchannel_spans = [(q.start, q.end) for q in pieces if q.style == "backchannel"]
    after_word = {g["after_word"]: ("latch" if g["duration"] < 0.05 else "gap") for g in gaps}
    after_word.update({o["overlapped_turn_last_word"]: "overlap" for o in overlaps})
    pause_after = {x["after_word"] for x in pauses}
    for piece in pieces:
        if piece.style == "tail":
            end = piece.end
            last = piece.first_word + len(piece.words) - 1
            overlapped = any(s < end and e > end - to_samples(1.0) for s, e in backchannel_spans)
            unit_pieces = [q for q in pieces if q.unit == piece.unit]
            followed_by = "pause" if last in pause_after else after_word.get(last, "end")
            units.append({"speaker": piece.speaker, "turn": piece.turn, "unit": piece.unit,
                          "label": "rise" if piece.text.endswith("?") else
                          "fall" if piece.text.endswith(".") else "level",
                          "start": secs(unit_pieces[0].start), "end": secs(end),
                          "last_word": piece.first_word + len(piece.words) - 1,
                          "tail_start": secs(piece.start), "text": " ".join(q.text for q in unit_pieces),
                          "final_movement_st": piece.measure["final_movement_st"],
                          "overlapped": overlapped, "followed_by": followed_by})

    counts = {kind: sum(m["kind"] == kind for m in marks) for kind in MARK_KINDS}
    counts.update({
        "micropause": sum(x["kind"] == "micropause" for x in pauses),
        "pause": sum(x["kind"] == "pause" for x in pauses),
        "gap (>= 0.2 s)": sum(g["duration"] >= 0.2 for g in gaps),
        "latch": len(latches), "overlap": len(overlaps),
        **{lab: sum(u["label"] == lab for u in units) for lab in INTONATION},
        "units overlapped by a backchannel": sum(u["overlapped"] for u in units),
        "turns": len(turn_records), "words": sum(len(q.words) for q in pieces),
    })
    speakers = {k: {key: v[key] for key in ("voice", "pitch", "speed")} for k, v in SPEAKERS.items()}
    return {
        "generator": "bench/marks_corpus.py", "params": asdict(p),
        "espeak_ng_version": gen.espeak_version(), "sample_rate": SR, "duration": secs(length),
        "speakers": speakers, "trim_threshold": gen.TRIM_THRESHOLD, "peak_dbfs": gen.PEAK_DBFS,
        "utterances": utterances, "turns": turn_records, "pauses": pauses, "gaps": gaps,
        "latches": latches, "overlaps": overlaps, "marks": marks, "units": units,
        "stats": {"counts": counts, "rejected": dict(sorted(b.rejected.items())),
                  "bank_sizes": {spk: {k: len(v) for k, v in banks.items()} for spk, banks in b.banks.items()}},
    }


def resynthesise(utterance: dict[str, Any], tmp: Path) -> np.ndarray:
    """A piece's audio again from its truth record, before its gain (for checking the truth)."""
    v = SPEAKERS[utterance["speaker"]]
    synth = utterance["synth"]
    text = synth.get("espeak_text") or utterance["text"]
    audio = gen.synthesise(text, str(v["voice"]), int(synth.get("pitch") or v["pitch"]),
                           int(synth.get("speed") or v["speed"]), int(v["amplitude"]), tmp,
                           ssml="<prosody" in text)
    return gen.trim(audio)


# --------------------------------------------------------------------------- cache

def corpus_key(params: CorpusParams) -> str:
    """Hash of everything the corpus depends on."""
    h = hashlib.sha256()
    h.update(json.dumps(asdict(params), sort_keys=True).encode())
    h.update(json.dumps([SPEAKERS, PLAIN_FRAGMENTS, SINGLE_WORDS, ELONGATION_WORDS, LOUD_QUIET_STRETCHES,
                         TEMPO_STRETCHES, TAILS, BACKCHANNELS], sort_keys=True).encode())
    h.update(Path(__file__).read_bytes())
    h.update(Path(gen.__file__).read_bytes())
    h.update(gen.espeak_version().encode())
    return h.hexdigest()[:12]


@dataclass
class Corpus:
    folder: Path
    clean: Path
    noisy: Path
    transcript: Path
    truth: dict[str, Any]


def load_corpus(params: CorpusParams = FULL, cache_dir: Path = CACHE_DIR, force: bool = False,
                log=print) -> Corpus:
    """The corpus for ``params`` from the cache, building it first if needed."""
    folder = cache_dir / f"{params.name}-{corpus_key(params)}"
    if force and folder.exists():
        shutil.rmtree(folder)
    if not (folder / "truth.json").is_file():
        log(f"building marks corpus {folder.name} (espeak-ng, takes a minute or two) ...")
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=cache_dir))
        try:
            with tempfile.TemporaryDirectory() as tmp:
                made = build(params, Path(tmp), log=log)
            sf.write(staging / "clean.wav", to_pcm(made["clean"]), SR, subtype="PCM_16")
            sf.write(staging / "noisy.wav", to_pcm(made["noisy"]), SR, subtype="PCM_16")
            (staging / "transcript.txt").write_text("\n".join(made["transcript"]) + "\n", encoding="utf-8")
            (staging / "truth.json").write_text(json.dumps(made["truth"], indent=1) + "\n", encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    return Corpus(folder, folder / "clean.wav", folder / "noisy.wav", folder / "transcript.txt", truth)


# --------------------------------------------------------------------------- report

def describe(truth: dict[str, Any]) -> str:
    """A human-readable summary of the corpus and its verification measurements."""
    out = []
    stats = truth["stats"]
    out.append(f"duration {truth['duration']:.1f} s ({truth['duration'] / 60:.1f} min), "
               f"espeak-ng {truth['espeak_ng_version']}, built in {stats.get('build_seconds', '?')} s")
    out.append("counts: " + ", ".join(f"{k} {v}" for k, v in stats["counts"].items()))
    out.append("bank entries kept (I / P): " + ", ".join(
        f"{bank} {stats['bank_sizes']['I'][bank]}/{stats['bank_sizes']['P'][bank]}" for bank in stats["bank_sizes"]["I"]))
    out.append("rejected while building (bank counts are over both voices): " + (", ".join(f"{k}: {v}" for k, v in stats["rejected"].items()) or "none"))

    def rng(values: list[float], unit: str = "") -> str:
        if not values:
            return "-"
        v = np.array(values)
        return f"min {v.min():+.2f}, median {np.median(v):+.2f}, max {v.max():+.2f}{unit}"

    marks = truth["marks"]
    for kind in ("pitch_up", "pitch_down"):
        ms = [m["measure"] for m in marks if m["kind"] == kind]
        out.append(f"{kind}: step vs neighbours {rng([m['step_st'] for m in ms], ' st')}; "
                   f"before {rng([m['step_before_st'] for m in ms if 'step_before_st' in m])}; "
                   f"after {rng([m['step_after_st'] for m in ms if 'step_after_st' in m])}; "
                   f"duration x in-context {rng([m['duration_ratio'] for m in ms])}")
    ms = [m for m in marks if m["kind"] == "emphasis"]
    out.append(f"emphasis: level +{truth['params']['emphasis_gain_db']} dB re speaker's median word (gain applied "
               f"{rng([m['synth']['gain_db'] for m in ms], ' dB')}), pitch vs words before "
               f"{rng([m['measure']['step_before_st'] for m in ms], ' st')}, vs after "
               f"{rng([m['measure']['step_after_st'] for m in ms if 'step_after_st' in m['measure']], ' st')}, "
               f"duration x in-context {rng([m['measure']['duration_ratio'] for m in ms])}")
    ms = [m["measure"] for m in marks if m["kind"] == "elongation"]
    out.append(f"elongation: x normal {rng([m['ratio'] for m in ms])}, normal s {rng([m['normal_s'] for m in ms])}")
    singles = [m for m in marks if m["kind"] in ("pitch_up", "pitch_down", "elongation")]
    out.append(f"pitch-step and elongated words set to the speaker's median word level; the gain that took: "
               f"{rng([m['synth']['gain_db'] for m in singles], ' dB')}")
    for kind in ("fast", "slow"):
        ms = [m["measure"] for m in marks if m["kind"] == kind]
        out.append(f"{kind}: rate x same words at normal speed {rng([m['tempo_vs_alone'] for m in ms])}; "
                   f"x in context {rng([m['tempo_ratio'] for m in ms if 'tempo_ratio' in m])} "
                   f"({sum('tempo_ratio' in m for m in ms)} measurable)")
    for kind in ("loud", "quiet"):
        out.append(f"{kind}: gain {rng([m['synth']['gain_db'] for m in marks if m['kind'] == kind], ' dB')}")
    for lab in INTONATION:
        out.append(f"{lab}: final movement {rng([u['final_movement_st'] for u in truth['units'] if u['label'] == lab], ' st')}")
    for name, rows in (("pauses", truth["pauses"]), ("gaps", truth["gaps"])):
        out.append(f"{name}: {rng([r['duration'] for r in rows], ' s')}")
    out.append(f"overlaps: {rng([o['end'] - o['start'] for o in truth['overlaps']], ' s')}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the ~1 minute corpus")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args()
    corpus = load_corpus(QUICK if args.quick else FULL, force=args.force)
    print(corpus.folder)
    print(describe(corpus.truth))


if __name__ == "__main__":
    main()
