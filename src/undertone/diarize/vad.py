"""Energy-based voice activity detection that needs no model.

Why energy, and why relative thresholds: interview recordings differ by tens of decibels in
level and background noise, but within one recording speech is reliably louder than the pauses
between turns. So the thresholds are placed between the recording's own *noise floor* (a low
percentile of frame energies: the quiet pauses) and its *speech level* (a high percentile: the
loud vowels), not at fixed decibel values.

Energy is measured only in the band where speech carries most of its power
(``SPEECH_BAND_HZ``), which ignores mains hum, table knocks' low rumble and hiss above 4 kHz.

Loud is not enough, though: rustling paper, typing and knocks are loud too. Speech is voiced
(vowels carry a pitch) for roughly half its duration, so a region in which hardly any frame
has a pitch (``MIN_VOICED_FRACTION``) is dropped. The pitch comes from Praat's autocorrelation
tracker (through parselmouth), which is fast and needs no model.

Two thresholds give hysteresis: a region starts only where energy clears the higher *onset*
threshold and continues while it stays above the lower *offset* threshold, so quiet word
endings stay attached to their word without the background ever starting a region on its own.
Short blips are dropped, short gaps bridged, and every region is padded slightly, because an
energy detector always clips the weak consonants at the edges of words.

The frame grid (25 ms windows every 10 ms) is shared with the embedded diariser, which reuses
the log mel energies computed here alongside the energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import parselmouth
import scipy.fft
import scipy.ndimage
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view
from pyannote.core import Segment, Timeline

ANALYSIS_RATE = 16_000  # Hz: every signal is analysed at this rate (resampled if needed)
FRAME_HOP_S = 0.010  # s: one frame every 10 ms (the project-wide analysis step)
FRAME_WINDOW_S = 0.025  # s: 25 ms Hann window, short enough to follow syllables
N_FFT = 512  # samples at 16 kHz: next power of two above the 400-sample window

N_MELS = 40  # mel bands between MEL_FMIN_HZ and MEL_FMAX_HZ (for the diariser's cepstra)
MEL_FMIN_HZ = 60.0  # Hz: below the lowest voice fundamental
MEL_FMAX_HZ = 7600.0  # Hz: just under Nyquist at 16 kHz
LOG_FLOOR = 1e-8  # added to mel energies before the log (digital silence)

SPEECH_BAND_HZ = (100.0, 4000.0)  # Hz: voiced speech energy lives here; hum and hiss do not
NOISE_PERCENTILE = 10.0  # %: frames this quiet are taken as the background (pauses)
SPEECH_PERCENTILE = 95.0  # %: frames this loud are taken as typical stressed vowels
ONSET_FRACTION = 0.40  # of the floor-to-speech span (dB) a frame must clear to start speech
OFFSET_FRACTION = 0.25  # of the span a frame must stay above to continue speech
MIN_DYNAMIC_RANGE_DB = 12.0  # dB: if speech level is not this far above the floor: no speech
ABSOLUTE_FLOOR_DB = -90.0  # dB full scale: digital silence is clamped here (avoids log(0))

PITCH_FLOOR_HZ = 60.0  # Hz: below the lowest habitual male voices (creak aside)
PITCH_CEILING_HZ = 500.0  # Hz: above children's and high female voices
PITCH_SILENCE_THRESHOLD = 0.03  # of the peak amplitude (Praat default): quieter frames are unvoiced
MIN_VOICED_FRACTION = 0.10  # regions with a pitch in fewer frames than this are not speech

MIN_SPEECH_S = 0.10  # s: shorter bursts are clicks or breaths, not words
MIN_SILENCE_S = 0.10  # s: shorter gaps are stop closures inside words, not pauses
PAD_S = 0.03  # s: added to both ends, for weak consonants the energy rule clips


@dataclass(frozen=True)
class FrameAnalysis:
    """Short-time analysis of one signal on the shared 10 ms grid.

    Frame ``i`` is centred at ``i * FRAME_HOP_S`` seconds. ``energy_db`` is the in-band level
    of each frame in dB full scale (a full-scale sine is about -3 dB); ``log_mel`` is
    (n_frames, N_MELS) natural-log mel energies (float32), kept instead of the full power
    spectra, which would take 370 MB for an hour.
    """

    samples: np.ndarray  # float32 mono at ANALYSIS_RATE
    log_mel: np.ndarray
    energy_db: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.energy_db.shape[0])

    @property
    def duration(self) -> float:
        return len(self.samples) / ANALYSIS_RATE


@dataclass(frozen=True)
class VoiceActivity:
    """Per-frame speech decision and the levels it was derived from (all in dB full scale)."""

    is_speech: np.ndarray  # bool, one per frame
    noise_floor_db: float
    speech_level_db: float
    onset_db: float
    offset_db: float


def to_analysis_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at ``ANALYSIS_RATE`` (polyphase resampling if the rate differs)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected a mono 1-D signal, got shape {samples.shape}")
    if sample_rate != ANALYSIS_RATE:
        g = np.gcd(int(sample_rate), ANALYSIS_RATE)
        samples = scipy.signal.resample_poly(samples, ANALYSIS_RATE // g, int(sample_rate) // g)
        samples = samples.astype(np.float32)
    return samples


def analyse_frames(samples: np.ndarray, sample_rate: int = ANALYSIS_RATE) -> FrameAnalysis:
    """Log mel energies and in-band frame energy on the 10 ms grid.

    Frames are centred (the signal is zero-padded by half a window) so that frame ``i``
    describes time ``i * FRAME_HOP_S``, which keeps every later time conversion a plain
    multiplication.
    """
    x = to_analysis_rate(samples, sample_rate)
    win = int(round(FRAME_WINDOW_S * ANALYSIS_RATE))
    hop = int(round(FRAME_HOP_S * ANALYSIS_RATE))
    n_frames = len(x) // hop + 1 if len(x) else 0
    if n_frames == 0:
        return FrameAnalysis(x, np.zeros((0, N_MELS), np.float32), np.zeros(0))
    padded = np.pad(x, (win // 2, win // 2 + hop))
    frames = sliding_window_view(padded, win)[::hop][:n_frames]
    window = np.hanning(win).astype(np.float32)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / ANALYSIS_RATE)
    band = (freqs >= SPEECH_BAND_HZ[0]) & (freqs <= SPEECH_BAND_HZ[1])
    filters = mel_filterbank().T
    log_mel = np.empty((n_frames, N_MELS), np.float32)
    band_power = np.empty(n_frames, np.float64)
    block = 20_000  # frames at a time: the complex spectra of an hour would need gigabytes
    for start in range(0, n_frames, block):
        spec = scipy.fft.rfft(frames[start : start + block] * window, n=N_FFT, axis=1, workers=-1)
        power = spec.real**2 + spec.imag**2
        band_power[start : start + block] = power[:, band].sum(axis=1)
        log_mel[start : start + block] = np.log(power @ filters + LOG_FLOOR)
    # Parseval: sum(|X|^2) / (N_FFT * sum(w^2)) * 2 is the mean square of the windowed frame.
    mean_square = 2.0 * band_power / (N_FFT * float(np.sum(window**2)))
    energy_db = 10.0 * np.log10(np.maximum(mean_square, 10 ** (ABSOLUTE_FLOOR_DB / 10)))
    return FrameAnalysis(x, log_mel, energy_db)


def mel_filterbank(
    n_mels: int = N_MELS,
    n_fft: int = N_FFT,
    sample_rate: int = ANALYSIS_RATE,
    fmin: float = MEL_FMIN_HZ,
    fmax: float = MEL_FMAX_HZ,
) -> np.ndarray:
    """Triangular filters equally spaced on the (HTK) mel scale, shape (n_mels, n_fft//2 + 1).

    Written out rather than taken from librosa: it is ten lines, and librosa's first call costs
    seconds of just-in-time compilation.
    """

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(min(fmax, sample_rate / 2)), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def voiced_frames(samples: np.ndarray, n_frames: int) -> np.ndarray:
    """Which frames of the 10 ms grid carry a pitch (Praat autocorrelation tracker).

    ``samples`` must already be at ``ANALYSIS_RATE``. Praat needs a few pitch periods per
    analysis window, so signals shorter than that have no voiced frames.
    """
    voiced = np.zeros(n_frames, bool)
    if len(samples) < 3 * ANALYSIS_RATE / PITCH_FLOOR_HZ:
        return voiced
    sound = parselmouth.Sound(samples.astype(np.float64), sampling_frequency=ANALYSIS_RATE)
    pitch = sound.to_pitch_ac(
        time_step=FRAME_HOP_S,
        pitch_floor=PITCH_FLOOR_HZ,
        pitch_ceiling=PITCH_CEILING_HZ,
        silence_threshold=PITCH_SILENCE_THRESHOLD,
    )
    f0 = pitch.selected_array["frequency"]
    index = np.round(pitch.xs() / FRAME_HOP_S).astype(int)
    keep = (index >= 0) & (index < n_frames)
    voiced[index[keep]] = f0[keep] > 0
    return voiced


def detect_voice_activity(
    energy_db: np.ndarray,
    voiced: np.ndarray | None = None,
    *,
    onset_fraction: float = ONSET_FRACTION,
    offset_fraction: float = OFFSET_FRACTION,
    min_speech_s: float = MIN_SPEECH_S,
    min_silence_s: float = MIN_SILENCE_S,
    pad_s: float = PAD_S,
    min_voiced_fraction: float = MIN_VOICED_FRACTION,
) -> VoiceActivity:
    """Decide speech/non-speech per frame from in-band energies (see module docstring).

    ``voiced`` (one bool per frame, from :func:`voiced_frames`) enables the voicing check;
    without it the decision rests on energy alone.
    """
    n = len(energy_db)
    if n == 0:
        return VoiceActivity(np.zeros(0, bool), ABSOLUTE_FLOOR_DB, ABSOLUTE_FLOOR_DB, 0.0, 0.0)
    floor = float(np.percentile(energy_db, NOISE_PERCENTILE))
    level = float(np.percentile(energy_db, SPEECH_PERCENTILE))
    span = level - floor
    onset = floor + onset_fraction * span
    offset = floor + offset_fraction * span
    if span < MIN_DYNAMIC_RANGE_DB:
        # Nothing stands out from the background: steady noise, hum or digital silence.
        return VoiceActivity(np.zeros(n, bool), floor, level, onset, offset)

    # Hysteresis: keep every above-offset run that contains at least one above-onset frame.
    above_offset = energy_db > offset
    runs, n_runs = scipy.ndimage.label(above_offset)
    has_onset = np.zeros(n_runs + 1, bool)
    has_onset[np.unique(runs[energy_db > onset])] = True
    has_onset[0] = False
    speech = has_onset[runs]

    speech = _fill_short_runs(speech, False, _frames(min_silence_s))  # bridge short gaps
    speech = _fill_short_runs(speech, True, _frames(min_speech_s))  # drop short blips
    if voiced is not None:
        for start, end in runs_of(speech):
            if np.count_nonzero(voiced[start:end]) < min_voiced_fraction * (end - start):
                speech[start:end] = False  # loud but unpitched: a knock, rustle or breath
    pad = _frames(pad_s)
    if pad > 0 and speech.any():
        speech = scipy.ndimage.binary_dilation(speech, iterations=pad)
    return VoiceActivity(speech, floor, level, onset, offset)


def mask_to_timeline(mask: np.ndarray, duration: float | None = None, uri: str | None = None) -> Timeline:
    """Contiguous runs of True frames as segments (frame ``i`` covers ``i*hop ± hop/2``)."""
    segments = []
    for start, end in runs_of(mask):
        t0 = max(0.0, (start - 0.5) * FRAME_HOP_S)
        t1 = (end - 0.5) * FRAME_HOP_S
        if duration is not None:
            t1 = min(t1, duration)
        if t1 > t0:
            segments.append(Segment(t0, t1))
    return Timeline(segments, uri=uri)


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` frame indices of each run of True values."""
    m = np.concatenate(([False], np.asarray(mask, bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def speech_regions(
    samples: np.ndarray,
    sample_rate: int = ANALYSIS_RATE,
    *,
    onset_fraction: float = ONSET_FRACTION,
    offset_fraction: float = OFFSET_FRACTION,
    min_speech_s: float = MIN_SPEECH_S,
    min_silence_s: float = MIN_SILENCE_S,
    pad_s: float = PAD_S,
    require_voicing: bool = True,
) -> Timeline:
    """Where someone is speaking, as a pyannote ``Timeline`` of non-overlapping segments.

    ``min_silence_s`` is the shortest pause kept as a gap; raise it to get utterances rather
    than phrases. ``require_voicing=False`` skips the pitch check (faster, but keeps knocks and
    rustles). A recording with no audible speech (silence, steady noise) gives an empty
    timeline.
    """
    analysis = analyse_frames(samples, sample_rate)
    voiced = voiced_frames(analysis.samples, analysis.n_frames) if require_voicing else None
    activity = detect_voice_activity(
        analysis.energy_db,
        voiced,
        onset_fraction=onset_fraction,
        offset_fraction=offset_fraction,
        min_speech_s=min_speech_s,
        min_silence_s=min_silence_s,
        pad_s=pad_s,
    )
    return mask_to_timeline(activity.is_speech, analysis.duration)


def _frames(seconds: float) -> int:
    return int(round(seconds / FRAME_HOP_S))


def _fill_short_runs(mask: np.ndarray, value: bool, min_frames: int) -> np.ndarray:
    """Flip interior runs of ``value`` shorter than ``min_frames`` (edge gaps are kept)."""
    out = mask.copy()
    if min_frames <= 1:
        return out
    target = out if value else ~out
    for start, end in runs_of(target):
        interior = start > 0 and end < len(out)
        if end - start < min_frames and (value or interior):
            out[start:end] = not value
    return out
