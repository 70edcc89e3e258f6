"""Per-word measurements that the prosodic marks are drawn from.

Every mark compares a word (or a stretch of words) with a norm: the speaker's own level, pitch
and tempo, or the neighbouring words. This module computes those numbers once, as arrays with
one entry per word, from the frame tracks and the measured word edges. Pure functions: arrays in,
dataclasses out.

- level: power mean of the 30 ms intensity frames inside the word (dBFS; dominated by the vowel,
  as perceived loudness is), and the running median of the same speaker's word levels around it.
- pitch: median and peak F0 of the word's voiced frames, in semitones re the speaker's median.
- tempo: log of (measured duration / the time its sounds take at Klatt's inherent durations),
  relative to the speaker's median for words in the same position (phrase-final words are
  lengthened by every speaker, so they have their own norm).
- pace: the same for the time the word's talk takes, i.e. the word plus any silence before the
  speaker's next word too short to be reported as a pause (stop closures, the aligner's small
  holes between words). A stretch's tempo is judged on the time it took, from its first word's
  start to its last word's end: slow talk is slow in its gaps as well as its sounds.

Words spoken in overlap are measured but excluded from every norm (two voices mix there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from undertone import small_stats
from undertone.audio import FRAME_HOP_S
from undertone.prosody import Track, hz_to_semitones
from undertone.pronounce import expected_duration, phones, syllable_count

MIN_VOICED_FRAMES = 3  # a word needs 30 ms of voicing for its pitch to mean anything
MIN_WORDS_FOR_NORM = 5  # fewer words than this and a norm falls back to a broader one


@dataclass(frozen=True)
class WordContext:
    """Where each word stands: its speaker, whether it ends a unit, whether it overlaps."""

    speakers: list[str]
    unit_final: np.ndarray  # bool: last word before a timed pause, a speaker change or the end
    overlapped: np.ndarray  # bool: spoken while someone else was speaking
    countable: np.ndarray  # bool: ordinary words (not fillers or cut-offs) that norms may use


@dataclass(frozen=True)
class WordMeasures:
    """One entry per word (NaN where a measure does not exist, e.g. pitch of unvoiced words)."""

    duration: np.ndarray  # s, measured edges
    inherent: np.ndarray  # s, the word's sounds at Klatt's inherent durations
    syllables: np.ndarray  # int
    level_db: np.ndarray  # dBFS
    local_level_db: np.ndarray  # dBFS: the speaker's running median around the word
    f0_st: np.ndarray  # median F0, st re the speaker's median
    f0_peak_st: np.ndarray  # 90th percentile F0, st re the speaker's median
    tempo: np.ndarray  # log(duration / inherent) minus the speaker's norm (0 = usual pace)
    tempo_norm: dict[str, float]  # per speaker: the log stretch of an ordinary word
    time_taken: np.ndarray  # s, the word plus the unreported silence after it (see module docstring)
    pace: np.ndarray  # log(time_taken / inherent) minus the speaker's norm (0 = usual pace)

    @property
    def level_re_db(self) -> np.ndarray:
        """Level relative to the speaker's running median (dB)."""
        return self.level_db - self.local_level_db


def measure_words(
    texts: list[str],
    starts: np.ndarray,
    ends: np.ndarray,
    context: WordContext,
    intensity: Track,
    pitch: Track,
    f0_median_hz: dict[str, float | None],
    level_window_s: float,
    silence_after: np.ndarray | None = None,
) -> WordMeasures:
    """Measure every word against its speaker's norms (see the module docstring).

    ``silence_after`` is, per word, the silence before the same speaker's next word that is not
    reported as a pause (zeros if not given); it counts towards the time the talk took.
    """
    n_words = len(texts)
    word_phones = [phones(text) for text in texts]
    inherent = np.array([expected_duration(p) for p in word_phones], dtype=np.float64)
    syllables = np.array([syllable_count(p) for p in word_phones], dtype=np.int64)
    duration = np.maximum(ends - starts, FRAME_HOP_S)

    level_db = _word_levels(intensity, starts, ends)
    reference = context.countable & ~context.overlapped & np.isfinite(level_db)
    local_level = _running_median(level_db, (starts + ends) / 2, context.speakers, reference, level_window_s)

    f0_median, f0_peak = _word_pitch(pitch, starts, ends)
    f0_st = np.full(n_words, np.nan)
    f0_peak_st = np.full(n_words, np.nan)
    for speaker, median_hz in f0_median_hz.items():
        if median_hz:
            mine = np.array([s == speaker for s in context.speakers], dtype=bool)
            f0_st[mine] = hz_to_semitones(f0_median[mine], median_hz)
            f0_peak_st[mine] = hz_to_semitones(f0_peak[mine], median_hz)

    log_stretch = np.log(duration / inherent) if n_words else np.zeros(0)
    tempo, tempo_norm = _relative_tempo(log_stretch, context)
    time_taken = duration + (np.maximum(silence_after, 0.0) if silence_after is not None else 0.0)
    pace, _ = _relative_tempo(np.log(time_taken / inherent) if n_words else np.zeros(0), context)
    return WordMeasures(
        duration=duration,
        inherent=inherent,
        syllables=syllables,
        level_db=level_db,
        local_level_db=local_level,
        f0_st=f0_st,
        f0_peak_st=f0_peak_st,
        tempo=tempo,
        tempo_norm=tempo_norm,
        time_taken=time_taken,
        pace=pace,
    )


def _word_levels(intensity: Track, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Power mean of the intensity frames whose centres fall inside each word (dBFS)."""
    if len(intensity.times) == 0 or len(starts) == 0:
        return np.full(len(starts), np.nan)
    power = np.concatenate(([0.0], np.cumsum(10.0 ** (intensity.values.astype(np.float64) / 10.0))))
    first = np.searchsorted(intensity.times, starts, side="left")
    last = np.searchsorted(intensity.times, ends, side="left")
    last = np.maximum(last, np.minimum(first + 1, len(intensity.times)))  # at least one frame
    count = last - first
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_power = (power[last] - power[first]) / count
        level = 10.0 * np.log10(mean_power)
    level[count <= 0] = np.nan
    return level


def _running_median(
    values: np.ndarray, times: np.ndarray, speakers: list[str], usable: np.ndarray, window_s: float
) -> np.ndarray:
    """For each word, the median of the same speaker's usable values within ``window_s`` either side."""
    result = np.full(len(values), np.nan)
    speaker_array = np.array(speakers, dtype=object)
    for speaker in set(speakers):
        mine = np.flatnonzero(speaker_array == speaker)
        pool = mine[usable[mine]]
        if len(pool) == 0:
            continue
        pool_times, pool_values = times[pool], values[pool]
        overall = small_stats.median(pool_values)
        low = np.searchsorted(pool_times, times[mine] - window_s, side="left")
        high = np.searchsorted(pool_times, times[mine] + window_s, side="right")
        for index, a, b in zip(mine, low, high):
            result[index] = small_stats.median(pool_values[a:b]) if b - a >= MIN_WORDS_FOR_NORM else overall
    return result


def _word_pitch(pitch: Track, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and 90th-percentile F0 (Hz) of each word's voiced frames (NaN if too few)."""
    median = np.full(len(starts), np.nan)
    peak = np.full(len(starts), np.nan)
    if len(pitch.times) == 0:
        return median, peak
    first = np.searchsorted(pitch.times, starts, side="left")
    last = np.searchsorted(pitch.times, ends, side="left")
    for index, (a, b) in enumerate(zip(first, last)):
        voiced = pitch.values[a:b]
        voiced = voiced[np.isfinite(voiced)]
        if len(voiced) >= MIN_VOICED_FRAMES:
            median[index] = small_stats.median(voiced)
            peak[index] = small_stats.quantile(voiced, 0.9)
    return median, peak


def _relative_tempo(log_stretch: np.ndarray, context: WordContext) -> tuple[np.ndarray, dict[str, float]]:
    """Each word's log stretch minus its speaker's norm for words in the same position."""
    tempo = np.zeros(len(log_stretch))
    norms: dict[str, float] = {}
    speaker_array = np.array(context.speakers, dtype=object)
    usable = context.countable & ~context.overlapped
    everyone = log_stretch[usable]
    fallback = small_stats.median(everyone) if len(everyone) else 0.0
    for speaker in set(context.speakers):
        mine = speaker_array == speaker
        inner = log_stretch[mine & usable & ~context.unit_final]
        final = log_stretch[mine & usable & context.unit_final]
        inner_norm = small_stats.median(inner) if len(inner) >= MIN_WORDS_FOR_NORM else fallback
        final_norm = small_stats.median(final) if len(final) >= MIN_WORDS_FOR_NORM else inner_norm
        norms[speaker] = inner_norm
        tempo[mine & ~context.unit_final] = log_stretch[mine & ~context.unit_final] - inner_norm
        tempo[mine & context.unit_final] = log_stretch[mine & context.unit_final] - final_norm
    return tempo, norms
