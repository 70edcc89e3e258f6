"""Recordings with one microphone per person: detect them, and diarise by channel activity.

Many interviews are recorded with a lavalier or headset microphone on each person, one per
channel. Then who spoke when is nearly given: each person is loud on their own microphone and
reaches the others only as *crosstalk*, attenuated by distance (the other mouth is 1-2 m away
instead of 15-30 cm, so by the inverse-square law 10-25 dB down) and delayed by a few
milliseconds (about 3 ms per metre). Crosstalk is loud enough to pass any voice activity
detector, so activity alone is not enough: **energy dominance** decides.

Levels are compared per 10 ms frame, in the speech band, on the grid of
:mod:`undertone.diarize.vad`, after removing the channels' *relative gain* (one recorder input
may be set 10 dB hotter than the other). For two channels the gain comes from the recording
itself: the level difference between the channels (channel 1 minus channel 2, in dB) has one
mode while person 1 speaks alone and another while person 2 does; the midpoint of the two
modes is where neither channel leads. After removing it, the leading channel is ahead by about
the same amount in both modes: that *separation* ``S`` is the typical crosstalk attenuation.
(For more than two channels the gain is each channel's speech level, a high percentile of its
active frames.)

**Detection** (``channels = "auto"``): the recording is *split* (one microphone per person)
when both hold:

1. the channels are not copies of each other: the peak cross-correlation of their waveforms
   within +-30 ms is below ``COPY_CORRELATION``. Identical channels, a mono microphone
   written to two channels, and a stereo mix with a fixed pan are scaled (and at most slightly
   delayed) copies, with a correlation near 1. Split channels correlate weakly: each holds
   its own voice plus the other's at a tenth of the amplitude or less.
2. at least two channels each *lead* every other channel by ``LEAD_DB`` or more (gain
   removed) for ``MIN_LEAD_S`` of speech in all. ``LEAD_DB`` is the smallest crosstalk
   attenuation a close microphone gives (10 dB); two microphones of one recorder, or a room
   pair, differ by a few dB at most, so their channels never lead by that much.

Anything else (one channel, copies, one channel never leading) is *mixed*: the usual diarizer
works on the mono mix.

**Diarisation**: a frame is a channel's speech when that channel's voice activity detector
says speech *and* the channel is well above the crosstalk the loudest other channel explains:
its level minus (the other's level minus ``S``) is its *excess over crosstalk*, about ``2S``
when its person speaks alone, 0 for pure crosstalk and about ``S`` when both people speak at a
similar level (each microphone is then dominated by its own wearer). Hysteresis on that excess
(a stretch must reach ``ONSET_FRACTION * S`` and continues down to ``OFFSET_FRACTION * S``),
bridging of short gaps and a minimum duration keep crosstalk from ever starting a turn. Two
channels with direct speech at once are an overlap. Speakers are the channels: labels ``CH1``,
``CH2``, ... name the channel (the pipeline numbers speakers in order of first appearance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.fft
import scipy.ndimage
from pyannote.core import Annotation

from undertone.diarize import Diarization
from undertone.diarize import vad

BACKEND = "channels"

# Detection.
COPY_CORRELATION = 0.9  # peak cross-correlation at or above which channels are copies
MAX_LAG_S = 0.030  # s: lags searched for the correlation (10 m of microphone spacing)
CORRELATION_BLOCK_S = 1.0  # s: the correlation is summed over blocks of this length...
CORRELATION_MAX_BLOCKS = 240  # ...spread evenly over the recording (4 minutes of audio at most)
LEAD_DB = 8.0  # dB: see the module docstring
MIN_LEAD_S = 2.0  # s: each of two channels must lead this long in all to call a recording split

# Relative gain.
GAIN_PERCENTILES = (1.0, 99.0)  # % of level differences where the search for the two modes starts
MIN_GAIN_FRAMES = 50  # frames with speech needed to estimate the gain (0.5 s)
LEVEL_PERCENTILE = 95.0  # %: more than two channels: a channel's speech level (its loud vowels)

# Diarisation.
SMOOTH_S = 0.05  # s: levels are averaged (as power) over this long before comparing channels
ONSET_FRACTION = 0.5  # of S above the expected crosstalk: a channel's speech starts here...
OFFSET_FRACTION = 0.25  # ...and continues while it stays this far above it
MIN_GAP_S = 0.15  # s: shorter drops inside one person's speech are bridged (syllable dips)
MIN_TURN_S = 0.12  # s: shorter stretches are dropped (a short "mm" lasts 0.2 s)


@dataclass(frozen=True)
class ChannelActivity:
    """Per-channel levels and voice activity on the shared 10 ms grid.

    ``energy_db`` is (n_channels, n_frames), the in-band level of each channel in dB full scale;
    ``is_speech`` the voice activity decision of each channel on its own (crosstalk included).
    """

    energy_db: np.ndarray
    is_speech: np.ndarray
    duration: float

    @property
    def n_channels(self) -> int:
        return int(self.energy_db.shape[0])

    @property
    def n_frames(self) -> int:
        return int(self.energy_db.shape[1])


@dataclass(frozen=True)
class ChannelLayout:
    """Whether a recording has one microphone per person, and the measurements behind it.

    ``correlation`` is the smallest peak cross-correlation over channel pairs (1.0 for a
    single channel); ``lead_s`` the seconds each channel leads every other by ``LEAD_DB``;
    ``separation_db`` the typical lead of the loudest channel (gain removed), which is the
    crosstalk attenuation in a split recording. ``activity`` is kept for diarisation.
    """

    split: bool
    n_channels: int
    correlation: float
    lead_s: tuple[float, ...] = ()
    separation_db: float | None = None
    gains_db: tuple[float, ...] = ()
    activity: ChannelActivity | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "split" if self.split else "mixed"

    def evidence(self) -> str:
        """What was measured, as one clause for the transcript's notes."""
        if self.n_channels == 1:
            return "the recording has one channel"
        if self.correlation >= COPY_CORRELATION:
            return f"its {self.n_channels} channels are copies of each other (correlation {self.correlation:.2f})"
        leads = ", ".join(f"{seconds:.1f} s" for seconds in self.lead_s)
        return (
            f"its {self.n_channels} channels are not copies of each other (correlation "
            f"{self.correlation:.2f}) and lead the others by {LEAD_DB:g} dB or more for {leads}"
        )


# --------------------------------------------------------------------------- analysis


def analyse_channels(channels: np.ndarray, sample_rate: int) -> ChannelActivity:
    """Level and voice activity of each channel (channels-first array at ``sample_rate``).

    Channels are analysed one after the other, so only one channel at the analysis rate is in
    memory at a time.
    """
    channels = np.atleast_2d(channels)
    energies, speech = [], []
    for signal in channels:
        frames = vad.analyse_frames(signal, sample_rate)
        voiced = vad.voiced_frames(frames.samples, frames.n_frames)
        energies.append(frames.energy_db)
        speech.append(vad.detect_voice_activity(frames.energy_db, voiced).is_speech)
    return ChannelActivity(np.array(energies), np.array(speech), channels.shape[1] / sample_rate)


def channel_correlation(channels: np.ndarray, sample_rate: int, max_lag_s: float = MAX_LAG_S) -> float:
    """Smallest, over channel pairs, peak normalised cross-correlation within +-``max_lag_s``.

    The correlation is summed over up to ``CORRELATION_MAX_BLOCKS`` blocks of
    ``CORRELATION_BLOCK_S`` spread over the recording and normalised by the blocks' total
    energy, so loud passages weigh more than quiet ones, as in a whole-file correlation.
    1.0 for a single channel; 0.0 if a channel is silent.
    """
    channels = np.atleast_2d(channels)
    n_channels, n_samples = channels.shape
    if n_channels < 2:
        return 1.0
    block = min(n_samples, max(1, int(round(CORRELATION_BLOCK_S * sample_rate))))
    lag = min(block - 1, int(round(max_lag_s * sample_rate)))
    starts = np.arange(0, n_samples - block + 1, block)
    if len(starts) > CORRELATION_MAX_BLOCKS:
        starts = starts[np.linspace(0, len(starts) - 1, CORRELATION_MAX_BLOCKS).round().astype(int)]
    n_fft = scipy.fft.next_fast_len(block + lag)
    spectra, energies = [], []
    for signal in channels:
        blocks = np.stack([signal[s : s + block] for s in starts]).astype(np.float64)
        blocks -= blocks.mean(axis=1, keepdims=True)
        energies.append(float(np.sum(blocks**2)))
        spectra.append(scipy.fft.rfft(blocks, n=n_fft, axis=1))
    smallest = 1.0
    for i in range(n_channels):
        for j in range(i + 1, n_channels):
            if energies[i] == 0.0 or energies[j] == 0.0:
                return 0.0
            # Linear cross-correlation summed over blocks: lags 0..lag, then -lag..-1 at the end.
            summed = scipy.fft.irfft((np.conj(spectra[i]) * spectra[j]).sum(axis=0), n=n_fft)
            lags = np.concatenate([summed[: lag + 1], summed[n_fft - lag :]]) if lag else summed[:1]
            peak = float(np.max(np.abs(lags)) / np.sqrt(energies[i] * energies[j]))
            smallest = min(smallest, peak)
    return smallest


def relative_gains(activity: ChannelActivity) -> np.ndarray:
    """Each channel's gain in dB relative to the others (mean zero); see the module docstring."""
    n_channels = activity.n_channels
    anyone = activity.is_speech.any(axis=0)
    if n_channels < 2 or np.count_nonzero(anyone) < MIN_GAIN_FRAMES:
        return np.zeros(n_channels)
    if n_channels == 2:
        difference = activity.energy_db[0, anyone] - activity.energy_db[1, anyone]
        low, high = _two_modes(difference)
        middle = 0.5 * (low + high)
        return np.array([0.5 * middle, -0.5 * middle])
    levels = np.array([
        np.percentile(energy[speech], LEVEL_PERCENTILE) if speech.any() else np.median(energy)
        for energy, speech in zip(activity.energy_db, activity.is_speech)
    ])
    return levels - levels.mean()


def _two_modes(values: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Centres of the low and high humps of ``values`` (two-medians, started at the extremes).

    Started at the 1st and 99th percentiles, so a person who speaks for only a few percent of
    the recording still gets their own hump.
    """
    low, high = (float(v) for v in np.percentile(values, GAIN_PERCENTILES))
    for _ in range(iterations):
        cut = 0.5 * (low + high)
        below, above = values[values < cut], values[values >= cut]
        if len(below) == 0 or len(above) == 0:
            break
        new_low, new_high = float(np.median(below)), float(np.median(above))
        if abs(new_low - low) < 1e-3 and abs(new_high - high) < 1e-3:
            break
        low, high = new_low, new_high
    return low, high


def _levels(activity: ChannelActivity, gains: np.ndarray, smooth_s: float = 0.0) -> np.ndarray:
    """Levels with the gains removed, optionally averaged as power over ``smooth_s``."""
    levels = activity.energy_db - gains[:, None]
    width = int(round(smooth_s / vad.FRAME_HOP_S))
    if width > 1:
        power = scipy.ndimage.uniform_filter1d(10.0 ** (levels / 10.0), width, axis=1, mode="nearest")
        levels = 10.0 * np.log10(np.maximum(power, 10 ** (vad.ABSOLUTE_FLOOR_DB / 10)))
    return levels


def _lead_over_others(levels: np.ndarray) -> np.ndarray:
    """(n_channels, n_frames): each channel's level minus the loudest other channel's."""
    if len(levels) < 2:
        return np.zeros_like(levels)
    order = np.sort(levels, axis=0)
    loudest, second = order[-1], order[-2]
    others = np.where(levels >= loudest[None, :], second[None, :], loudest[None, :])
    return levels - others


# --------------------------------------------------------------------------- detection


def detect_layout(channels: np.ndarray, sample_rate: int) -> ChannelLayout:
    """Decide whether a recording has one microphone per person (see the module docstring).

    Copies are recognised from the correlation alone, before any per-channel analysis.
    """
    channels = np.atleast_2d(channels)
    n_channels = channels.shape[0]
    if n_channels < 2:
        return ChannelLayout(split=False, n_channels=n_channels, correlation=1.0)
    correlation = channel_correlation(channels, sample_rate)
    if correlation >= COPY_CORRELATION:
        return ChannelLayout(split=False, n_channels=n_channels, correlation=correlation)
    return measure_layout(analyse_channels(channels, sample_rate), correlation)


def measure_layout(activity: ChannelActivity, correlation: float) -> ChannelLayout:
    """The layout from per-channel activity and the channels' ``correlation``."""
    gains = relative_gains(activity)
    lead = _lead_over_others(_levels(activity, gains))
    anyone = activity.is_speech.any(axis=0)
    leading = activity.is_speech & (lead >= LEAD_DB)
    lead_s = tuple(float(np.count_nonzero(row) * vad.FRAME_HOP_S) for row in leading)
    separation = float(np.median(lead.max(axis=0)[anyone])) if anyone.any() else 0.0
    split = correlation < COPY_CORRELATION and sum(seconds >= MIN_LEAD_S for seconds in lead_s) >= 2
    return ChannelLayout(
        split=split,
        n_channels=activity.n_channels,
        correlation=correlation,
        lead_s=lead_s,
        separation_db=separation,
        gains_db=tuple(float(g) for g in gains),
        activity=activity,
    )


# --------------------------------------------------------------------------- diarisation


def diarize(
    channels: np.ndarray, sample_rate: int, *, layout: ChannelLayout | None = None
) -> Diarization:
    """Who spoke when, one speaker per channel (labels ``CH1``, ``CH2``...), overlaps included.

    ``layout`` is the result of :func:`detect_layout` for the same signal (its analysis is
    reused); without it the channels are analysed here. A channel whose person never speaks
    gets no turns. The ``exclusive`` view gives each frame to the channel furthest ahead.
    """
    channels = np.atleast_2d(channels)
    if layout is None or layout.activity is None:
        correlation = layout.correlation if layout is not None else channel_correlation(channels, sample_rate)
        layout = measure_layout(analyse_channels(channels, sample_rate), correlation)
    activity = layout.activity
    gains = np.asarray(layout.gains_db)
    separation = max(layout.separation_db or 0.0, LEAD_DB)
    speech = direct_speech(activity, gains, separation)

    annotation, exclusive = Annotation(), Annotation()
    lead = _lead_over_others(_levels(activity, gains, SMOOTH_S))
    owner = np.where(speech.any(axis=0), np.where(speech, lead, -np.inf).argmax(axis=0), -1)
    for index, mask in enumerate(speech):
        label = f"CH{index + 1}"
        for segment in vad.mask_to_timeline(mask, activity.duration):
            annotation[segment, label] = label
        for segment in vad.mask_to_timeline(owner == index, activity.duration):
            exclusive[segment, label] = label
    used = {f"CH{index + 1}": index + 1 for index in range(activity.n_channels)}
    if layout.split:
        note = f"speakers diarised by channel activity (one microphone per person): {layout.evidence()}"
    else:
        note = f"speakers diarised by channel activity as configured (channels = split), although {layout.evidence()}"
    return Diarization(
        annotation=annotation, backend=BACKEND, model=None, exclusive=exclusive, channels=used, notes=[note]
    )


def direct_speech(activity: ChannelActivity, gains: np.ndarray, separation_db: float) -> np.ndarray:
    """(n_channels, n_frames) bool: where each channel carries its own person's speech.

    A channel's *excess over crosstalk* is its level minus (the loudest other channel's level
    minus ``separation_db``). Runs above ``OFFSET_FRACTION * separation_db`` that reach
    ``ONSET_FRACTION * separation_db`` and lie within the channel's voice activity are speech;
    then gaps under ``MIN_GAP_S`` are bridged and stretches under ``MIN_TURN_S`` dropped.
    """
    excess = _lead_over_others(_levels(activity, gains, SMOOTH_S)) + separation_db
    onset, offset = ONSET_FRACTION * separation_db, OFFSET_FRACTION * separation_db
    out = np.zeros(activity.is_speech.shape, dtype=bool)
    gap, shortest = _frames(MIN_GAP_S), _frames(MIN_TURN_S)
    for index in range(activity.n_channels):
        active = activity.is_speech[index]
        above = (excess[index] >= offset) & active
        runs, n_runs = scipy.ndimage.label(above)
        started = np.zeros(n_runs + 1, dtype=bool)
        started[np.unique(runs[(excess[index] >= onset) & active])] = True
        started[0] = False
        # Bridged after the activity test: a short pause inside one person's speech is theirs.
        out[index] = _drop_short(_fill_gaps(started[runs], gap), shortest)
    return out


def _frames(seconds: float) -> int:
    return int(round(seconds / vad.FRAME_HOP_S))


def _fill_gaps(mask: np.ndarray, shortest: int) -> np.ndarray:
    out = mask.copy()
    runs = vad.runs_of(mask)
    for (_, end), (start, _) in zip(runs[:-1], runs[1:]):
        if start - end < shortest:
            out[end:start] = True
    return out


def _drop_short(mask: np.ndarray, shortest: int) -> np.ndarray:
    out = mask.copy()
    for start, end in vad.runs_of(mask):
        if end - start < shortest:
            out[start:end] = False
    return out
