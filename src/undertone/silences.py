"""Silences measured from the audio: pauses inside turns and gaps between speakers.

ASR and alignment timestamps only say roughly where a silence is; its duration is measured on
the intensity track, as the longest run of silent 10 ms frames near the word boundary. A frame
is silent when it is far below the speaker's typical speech level, or close to the recording's
noise floor, whichever is higher (see :func:`silence_threshold_db`), and inside a turn always
well under the level of the speaker's words around it (quiet talk is not silence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from undertone.audio import FRAME_HOP_S
from undertone.config import PauseSettings
from undertone.prosody import Track, noise_floor_db

# How far beyond the engine's word boundary a silence may start or end (s): alignment engines
# are rarely further off than this, and a wider search would swallow stop closures.
BOUNDARY_SEARCH_S = 0.15
# The threshold never rises closer than this to the speaker's level (dB): quiet speech stays speech.
MIN_MARGIN_BELOW_SPEECH_DB = 10.0
# Frames this far above the noise floor are taken as sound, not silence (dB).
NOISE_MARGIN_DB = 6.0
# Inside a turn the margin also holds against the local level: the median of the speaker's words
# within this many words either side of the boundary (about a second of talk). In a quiet
# stretch in noise, the weak sounds and closures of speech 8-10 dB under the speaker's usual
# level sit on the noise floor and were read as micropauses.
LOCAL_WORDS = 2
MIN_LOCAL_FRAMES = 10  # a local level needs 100 ms of the speaker's words
FLOOR_MARGIN_DB = NOISE_MARGIN_DB / 2  # frames this close to the noise floor are silent whatever the talk


@dataclass(frozen=True)
class Silence:
    """A measured silence between word ``after_word`` and word ``after_word + 1``."""

    start: float
    end: float
    after_word: int
    before_word: int
    kind: Literal["micropause", "pause", "gap"]
    speaker: str | None

    @property
    def duration(self) -> float:
        return self.end - self.start


def silence_threshold_db(speech_median_db: float, noise_floor_db: float, below_speech_db: float) -> float:
    """Intensity under which a frame counts as silent, for one speaker in one recording.

    Clean recordings: ``below_speech_db`` under the speaker's median (digital silence is far
    lower). Noisy recordings: just above the noise floor, but never closer than
    ``MIN_MARGIN_BELOW_SPEECH_DB`` to the speaker's median.
    """
    threshold = max(speech_median_db - below_speech_db, noise_floor_db + NOISE_MARGIN_DB)
    return min(threshold, speech_median_db - MIN_MARGIN_BELOW_SPEECH_DB)


def longest_silent_run(
    intensity: Track, start_s: float, end_s: float, threshold_db: float
) -> tuple[float, float] | None:
    """The longest stretch of frames below ``threshold_db`` within ``[start_s, end_s]`` (s)."""
    if end_s <= start_s or len(intensity.values) == 0:
        return None
    first = intensity.index_of(start_s)
    last = intensity.index_of(end_s)
    silent = intensity.values[first : last + 1] < threshold_db
    if not silent.any():
        return None
    edges = np.diff(np.concatenate(([0], silent.astype(np.int8), [0])))
    run_starts = np.flatnonzero(edges == 1)
    run_ends = np.flatnonzero(edges == -1)
    longest = int(np.argmax(run_ends - run_starts))
    # Frame k covers [t_k - hop/2, t_k + hop/2]: a run of n silent frames is n hops long.
    run_start = float(intensity.times[first + run_starts[longest]]) - FRAME_HOP_S / 2
    run_end = float(intensity.times[first + run_ends[longest] - 1]) + FRAME_HOP_S / 2
    return max(run_start, start_s - FRAME_HOP_S / 2), min(run_end, end_s + FRAME_HOP_S / 2)


def measure_silences(
    starts: np.ndarray,
    ends: np.ndarray,
    speakers: list[str],
    intensity: Track,
    thresholds_db: dict[str, float],
    settings: PauseSettings,
) -> list[Silence]:
    """Measure the silence after every word that is followed by another word.

    ``starts``/``ends`` are the words' times as the engine gave them. Returns silences of at
    least ``settings.micropause_min_s``; same-speaker silences are micropauses or pauses,
    speaker changes are gaps. Overlapping words (the next starts before this one ends by more
    than the search margin) have no silence between them.
    """
    silences: list[Silence] = []
    floor = noise_floor_db(intensity)
    for index in range(len(starts) - 1):
        this_end, next_start = float(ends[index]), float(starts[index + 1])
        # Search around the boundary, but never past the middle of either word.
        low = max(this_end - BOUNDARY_SEARCH_S, 0.5 * (starts[index] + this_end))
        high = min(next_start + BOUNDARY_SEARCH_S, 0.5 * (next_start + ends[index + 1]))
        if high - low < settings.micropause_min_s:
            continue
        same_speaker = speakers[index] == speakers[index + 1]
        threshold = min(thresholds_db[speakers[index]], thresholds_db[speakers[index + 1]])
        run = longest_silent_run(intensity, low, high, threshold)
        if run is None or run[1] - run[0] < settings.micropause_min_s - 1e-9:
            continue
        if same_speaker and not _silent_against_local_talk(
            intensity, starts, ends, speakers, index, low, high, floor, settings
        ):
            continue
        duration = run[1] - run[0]
        if not same_speaker:
            kind: Literal["micropause", "pause", "gap"] = "gap"
        elif duration < settings.timed_min_s:
            kind = "micropause"
        else:
            kind = "pause"
        silences.append(
            Silence(
                start=run[0],
                end=run[1],
                after_word=index,
                before_word=index + 1,
                kind=kind,
                speaker=speakers[index] if same_speaker else None,
            )
        )
    return silences


def _silent_against_local_talk(
    intensity: Track,
    starts: np.ndarray,
    ends: np.ndarray,
    speakers: list[str],
    index: int,
    low: float,
    high: float,
    noise_floor: float,
    settings: PauseSettings,
) -> bool:
    """Whether the boundary holds a micropause's worth of frames ``MIN_MARGIN_BELOW_SPEECH_DB``
    under the talk around it (not only under the speaker's usual level), or down at the noise
    floor (within ``FLOOR_MARGIN_DB``: quiet talk in noise may be less than 10 dB above it).
    Only the decision: the silence's extent stays measured against the usual threshold, as the
    start of a real pause holds the room's echo of the last word, above the stricter level."""
    local = _local_speech_db(intensity, starts, ends, speakers, index)
    if local is None:
        return True
    strict = max(local - MIN_MARGIN_BELOW_SPEECH_DB, noise_floor + FLOOR_MARGIN_DB)
    run = longest_silent_run(intensity, low, high, strict)
    return run is not None and run[1] - run[0] >= settings.micropause_min_s - 1e-9


def _local_speech_db(
    intensity: Track, starts: np.ndarray, ends: np.ndarray, speakers: list[str], index: int
) -> float | None:
    """Median intensity of the speaker's words within ``LOCAL_WORDS`` either side of the
    boundary after word ``index``; None if they cover too few frames."""
    pieces = []
    for j in range(max(0, index - LOCAL_WORDS + 1), min(len(starts), index + LOCAL_WORDS + 1)):
        if speakers[j] != speakers[index] or ends[j] <= starts[j]:
            continue
        pieces.append(intensity.values[intensity.index_of(float(starts[j])) : intensity.index_of(float(ends[j]))])
    values = np.concatenate(pieces) if pieces else np.zeros(0)
    return float(np.median(values)) if len(values) >= MIN_LOCAL_FRAMES else None


def snap_word_edges(starts: np.ndarray, ends: np.ndarray, silences: list[Silence]) -> tuple[np.ndarray, np.ndarray]:
    """Move word edges onto measured silence boundaries, so words and pauses never disagree."""
    starts, ends = starts.copy(), ends.copy()
    for silence in silences:
        ends[silence.after_word] = max(silence.start, starts[silence.after_word] + FRAME_HOP_S)
        starts[silence.before_word] = min(silence.end, ends[silence.before_word] - FRAME_HOP_S)
    return starts, ends
