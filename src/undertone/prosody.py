"""Signal analysis: pitch and intensity tracks at 10 ms, and per-speaker reference levels.

Pure functions over arrays. Pitch uses Praat's autocorrelation method through parselmouth
(accurate and several hundred times faster than real time); intensity is the RMS level of
30 ms windows, computed from 10 ms block energies so memory stays linear in duration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from undertone.audio import FRAME_HOP_S

INTENSITY_WINDOW_BLOCKS = 3  # 3 x 10 ms = 30 ms: about two pitch periods of a low voice
SILENT_DB = -120.0  # dBFS given to digitally silent frames (log of zero)


@dataclass(frozen=True)
class Track:
    """Values sampled every ``FRAME_HOP_S`` seconds; ``times`` are frame centres (s)."""

    times: np.ndarray
    values: np.ndarray

    def index_of(self, time_s: float) -> int:
        """Frame index nearest to a time, clipped to the track."""
        index = int(round((time_s - float(self.times[0])) / FRAME_HOP_S)) if len(self.times) else 0
        return min(max(index, 0), max(len(self.times) - 1, 0))

    def between(self, start_s: float, end_s: float) -> np.ndarray:
        """Values of the frames whose centres fall in ``[start_s, end_s)``."""
        mask = (self.times >= start_s) & (self.times < end_s)
        return self.values[mask]


def intensity_track(
    samples: np.ndarray, sample_rate: int, window_blocks: int = INTENSITY_WINDOW_BLOCKS
) -> Track:
    """Intensity in dBFS (0 dB = full-scale RMS) every 10 ms over ``window_blocks`` x 10 ms.

    The 30 ms default gives a steady loudness contour; silence boundaries are measured with
    ``window_blocks=1``, because a wider window smears each speech edge into the silence.
    """
    return _from_blocks(_block_energies(samples, sample_rate), sample_rate, window_blocks)


def intensity_tracks(samples: np.ndarray, sample_rate: int) -> tuple[Track, Track]:
    """The loudness track (30 ms windows) and the silence-edge track (10 ms), from one pass over
    the signal: what the pipeline needs of every recording."""
    energy = _block_energies(samples, sample_rate)
    return _from_blocks(energy, sample_rate, INTENSITY_WINDOW_BLOCKS), _from_blocks(energy, sample_rate, 1)


# Block energies are summed in float64 this many 10 ms blocks at a time (one minute): a float64
# copy of a whole hour would be another 0.5 GB.
_ENERGY_CHUNK_BLOCKS = 6000


def _block_energies(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Sum of squares of each 10 ms block (float64): what every intensity track is made from."""
    hop = int(round(FRAME_HOP_S * sample_rate))
    n_blocks = len(samples) // hop
    energy = np.empty(n_blocks, dtype=np.float64)
    for first in range(0, n_blocks, _ENERGY_CHUNK_BLOCKS):
        last = min(first + _ENERGY_CHUNK_BLOCKS, n_blocks)
        blocks = samples[first * hop : last * hop].reshape(last - first, hop).astype(np.float64)
        energy[first:last] = np.einsum("ij,ij->i", blocks, blocks)
    return energy


def _from_blocks(energy: np.ndarray, sample_rate: int, window_blocks: int) -> Track:
    """An intensity track from block energies, over windows of ``window_blocks`` blocks."""
    n_blocks = len(energy)
    if n_blocks == 0:
        return Track(np.zeros(0), np.zeros(0))
    hop = int(round(FRAME_HOP_S * sample_rate))
    # A centred window of odd length: the block itself and (window_blocks - 1) / 2 each side.
    half = window_blocks // 2
    padded = np.pad(energy, half, mode="edge")
    window_energy = np.convolve(padded, np.ones(2 * half + 1), mode="valid")
    mean_square = window_energy / ((2 * half + 1) * hop)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(mean_square)
    db = np.maximum(db, SILENT_DB)
    times = (np.arange(n_blocks) + 0.5) * FRAME_HOP_S
    return Track(times, db.astype(np.float32))


def pitch_track(
    samples: np.ndarray,
    sample_rate: int,
    floor_hz: float = 60.0,
    ceiling_hz: float = 600.0,
) -> Track:
    """F0 in Hz every 10 ms (NaN where unvoiced), by Praat's autocorrelation method."""
    import parselmouth

    if len(samples) < sample_rate * 3 / floor_hz:  # Praat needs three periods of the floor
        return Track(np.zeros(0), np.zeros(0))
    sound = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=sample_rate)
    pitch = sound.to_pitch_ac(time_step=FRAME_HOP_S, pitch_floor=floor_hz, pitch_ceiling=ceiling_hz)
    f0 = pitch.selected_array["frequency"].astype(np.float32)
    f0[f0 <= 0] = np.nan
    return Track(np.asarray(pitch.xs(), dtype=np.float64), f0)


def noise_floor_db(intensity: Track, quantile: float = 0.05) -> float:
    """The recording's background level: a low quantile of frame intensity (dBFS)."""
    if len(intensity.values) == 0:
        return SILENT_DB
    return float(np.quantile(intensity.values, quantile))


def median_or_none(values: np.ndarray) -> float | None:
    """Median of the finite values, or None when there are none (e.g. an unvoiced speaker)."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else None


def hz_to_semitones(f0_hz: np.ndarray | float, reference_hz: float) -> np.ndarray | float:
    """Semitones relative to a reference frequency (12 per octave)."""
    return 12.0 * np.log2(np.asarray(f0_hz) / reference_hz)
