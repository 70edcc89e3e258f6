"""Silences measured from the audio: pauses inside turns and gaps between speakers.

ASR and alignment timestamps only say roughly where a silence is; its duration is measured on
the intensity track, as the longest run of silent 10 ms frames near the word boundary. A frame
is silent when it is far below the speaker's typical speech level, or close to the recording's
noise floor, whichever is higher (see :func:`silence_threshold_db`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from undertone.audio import FRAME_HOP_S
from undertone.config import PauseSettings
from undertone.prosody import Track

# How far beyond the engine's word boundary a silence may start or end (s): alignment engines
# are rarely further off than this, and a wider search would swallow stop closures.
BOUNDARY_SEARCH_S = 0.15
# The threshold never rises closer than this to the speaker's level (dB): quiet speech stays speech.
MIN_MARGIN_BELOW_SPEECH_DB = 10.0
# Frames this far above the noise floor are taken as sound, not silence (dB).
NOISE_MARGIN_DB = 6.0


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


def snap_word_edges(starts: np.ndarray, ends: np.ndarray, silences: list[Silence]) -> tuple[np.ndarray, np.ndarray]:
    """Move word edges onto measured silence boundaries, so words and pauses never disagree."""
    starts, ends = starts.copy(), ends.copy()
    for silence in silences:
        ends[silence.after_word] = max(silence.start, starts[silence.after_word] + FRAME_HOP_S)
        starts[silence.before_word] = min(silence.end, ends[silence.before_word] - FRAME_HOP_S)
    return starts, ends
