"""Recordings with one microphone per person: detect them, and diarise by channel activity.

Many interviews are recorded with a lavalier or headset microphone on each person, one per
channel. Then who spoke when is nearly given: each person is loud on their own microphone and
reaches the others only as *crosstalk*: their direct sound attenuated by distance (the other
mouth is 1-2 m away instead of 15-30 cm, so by the inverse-square law 10-25 dB down) and
delayed by a few milliseconds (about 3 ms per metre), plus the room's reverberation, which is
about equally loud at every microphone. Crosstalk is loud enough to pass any voice activity
detector, so activity alone is not enough: **dominance** decides.

Levels are compared per 10 ms frame, on the grid of :mod:`undertone.diarize.vad`, after
removing the channels' *relative gain* (one recorder input may be set 10 dB hotter than the
other). For two channels the gain comes from the recording itself: the level difference
between the channels (channel 1 minus channel 2, in dB) has one hump while person 1 speaks
alone and another while person 2 does; the midpoint of the two humps is where neither channel
leads. After removing it, the speaking person's channel leads by about the same amount in both
humps: that *separation* is the typical crosstalk attenuation. (For more than two channels the
gain is each channel's speech level, a high percentile of its active frames.)

**Detection** (``channels = "auto"``): the recording is *split* (one microphone per person)
when both hold:

1. the channels are not copies of each other: the peak cross-correlation of their waveforms
   within +-30 ms is below ``COPY_CORRELATION``. Identical channels, a mono microphone written
   to two channels, and a stereo mix with a fixed pan are scaled (at most slightly delayed)
   copies, with a correlation near 1. Split channels correlate weakly: each holds its own
   voice plus the other's a tenth of the amplitude or less.
2. at least two channels each *lead* every other channel by ``LEAD_DB`` or more (in the speech
   band, gain removed) for ``MIN_LEAD_S`` of speech in all. A close microphone hears its
   wearer at least 10 dB above the others; ``LEAD_DB`` = 8 dB allows for a frame's level
   wobbling by a couple of dB. A panned mix, or a room pair of microphones, differs by a few dB
   at most once the gain is removed. (A recorder's crossed pair pointed at two people can lead
   by that much; then diarising by channel works for it too.)

Anything else (one channel, copies, only one channel ever leading) is *mixed*: the usual
diarizer works on the mono mix.

**Diarisation** asks, frame by frame, which channel *owns* each frequency band: in each of the
40 mel bands a channel owns the band when it leads every other channel there by at least half
the band's own separation (gains and separations are measured per band, from the frames where
one channel clearly leads). When one person speaks, their channel owns most bands (measured:
median 50-100% of the bands in which anything is heard); their crosstalk owns almost none
(median 0-15%). When two people speak at once, each microphone is dominated by its
wearer in the bands where that voice is the stronger of the two (different pitch harmonics,
different formants), so both channels own a share (median 15-45%). A reverberant *tail* after
someone stops is about equally loud on every microphone and owns no band on any. The thresholds
below sit between those measured ranges (synthetic close-microphone interviews, dry and in
simulated rooms; ``bench/der.py``).

A channel's speech is then: its voice activity detector says speech, its owned share (averaged
over ``OWNED_SMOOTH_S``) reaches ``ONSET_OWNED`` and stays above ``OFFSET_OWNED`` (hysteresis),
the stretch begins with an onset on that microphone (within ``ONSET_WINDOW_S`` its level and its
lead over the others both rise by half the separation; a tail only decays), gaps under
``MIN_GAP_S`` are bridged and stretches under ``MIN_TURN_S`` dropped. Together these keep
crosstalk from ever starting a turn. Two channels with speech at once are an overlap.
Speakers are the channels: labels ``CH1``, ``CH2``, ... name the channel (the pipeline numbers
speakers in order of first appearance).
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
LEAD_DB = 8.0  # dB: a channel leads when this far above every other (see the module docstring)
MIN_LEAD_S = 2.0  # s: each of two channels must lead this long in all to call a recording split

# Relative gain.
GAIN_PERCENTILES = (1.0, 99.0)  # % of level differences where the search for the two humps starts
MIN_GAIN_FRAMES = 50  # frames with speech needed to estimate a gain (0.5 s)
LEVEL_PERCENTILE = 95.0  # %: more than two channels: a channel's speech level (its loud vowels)

# Diarisation: band ownership.
DB_PER_NEPER = 10.0 / np.log(10.0)  # natural-log power (vad's log mel) to dB
BAND_HEARD_DB = 10.0  # dB: a band is heard on a channel this far above the channel's floor there
BAND_FLOOR_PERCENTILE = 10.0  # %: a channel's floor in a band (its quiet frames)
MIN_BAND_FRAMES = 20  # frames (0.2 s) needed to measure a band's gain and separation
MIN_BAND_SEPARATION_DB = 3.0  # dB: bands where channels differ less than this tell nobody apart
OWN_FRACTION = 0.5  # of a band's separation: a channel leading by this much owns the band
OWNED_SMOOTH_S = 0.15  # s: the owned share is averaged over about a syllable
ONSET_OWNED = 0.3  # owned share of the heard bands at which a channel's speech starts...
OFFSET_OWNED = 0.15  # ...and below which it stops
ONSET_WINDOW_S = 0.05  # s: the rise that marks an onset happens within this long
ONSET_RISE_FRACTION = 0.5  # of the separation: how much level and lead rise at an onset
MIN_GAP_S = 0.15  # s: shorter drops inside one person's speech are bridged
MIN_TURN_S = 0.12  # s: shorter stretches are dropped (a short "mm" lasts 0.2 s)


@dataclass(frozen=True)
class ChannelActivity:
    """Per-channel levels and voice activity on the shared 10 ms grid.

    ``energy_db`` is (n_channels, n_frames): the speech-band level of each channel in dB full
    scale; ``band_db`` (n_channels, n_frames, n_mels) the mel band levels in dB (float32);
    ``is_speech`` the voice activity decision of each channel on its own (crosstalk included).
    """

    energy_db: np.ndarray
    band_db: np.ndarray
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
    crosstalk attenuation in a split recording; ``gains_db`` the channels' relative gains.
    ``activity`` is kept for diarisation (``None`` when detection stopped early).
    """

    split: bool
    n_channels: int
    correlation: float
    lead_s: tuple[float, ...] = ()
    separation_db: float | None = None
    gains_db: tuple[float, ...] = ()
    activity: ChannelActivity | None = field(default=None, repr=False)

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
    """Levels and voice activity of each channel (channels-first array at ``sample_rate``).

    Channels are analysed one after the other, so only one channel at the analysis rate is in
    memory at a time. The band levels take 160 bytes per frame and channel (58 MB an hour).
    """
    channels = np.atleast_2d(channels)
    energies, bands, speech = [], [], []
    for signal in channels:
        frames = vad.analyse_frames(signal, sample_rate)
        voiced = vad.voiced_frames(frames.samples, frames.n_frames)
        energies.append(frames.energy_db)
        bands.append((frames.log_mel * np.float32(DB_PER_NEPER)).astype(np.float32))
        speech.append(vad.detect_voice_activity(frames.energy_db, voiced).is_speech)
    return ChannelActivity(np.array(energies), np.array(bands), np.array(speech), channels.shape[1] / sample_rate)


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
        blocks = np.stack([signal[s : s + block] for s in starts]).astype(np.float32)
        blocks -= blocks.mean(axis=1, keepdims=True)
        energies.append(float(np.sum(blocks.astype(np.float64) ** 2)))
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


def _lead_over_others(levels: np.ndarray) -> np.ndarray:
    """Each channel's level minus the loudest other channel's (channels on the first axis)."""
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
    lead = _lead_over_others(activity.energy_db - gains[:, None])
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
    gets no turns. The ``exclusive`` view gives each frame to the channel owning most bands.
    """
    channels = np.atleast_2d(channels)
    if layout is None or layout.activity is None:
        correlation = layout.correlation if layout is not None else channel_correlation(channels, sample_rate)
        layout = measure_layout(analyse_channels(channels, sample_rate), correlation)
    activity = layout.activity
    assert activity is not None  # measure_layout always keeps it
    owned = owned_share(activity, np.asarray(layout.gains_db))
    speech = direct_speech(activity, owned, np.asarray(layout.gains_db), layout.separation_db or 0.0)

    annotation, exclusive = Annotation(), Annotation()
    owner = np.where(speech.any(axis=0), np.where(speech, owned, -1.0).argmax(axis=0), -1)
    for index, mask in enumerate(speech):
        label = f"CH{index + 1}"
        for segment in vad.mask_to_timeline(mask, activity.duration):
            annotation[segment, label] = label
        for segment in vad.mask_to_timeline(owner == index, activity.duration):
            exclusive[segment, label] = label
    if layout.split:
        note = f"speakers diarised by channel activity (one microphone per person): {layout.evidence()}"
    else:
        note = f"speakers diarised by channel activity as configured (channels = split), although {layout.evidence()}"
    return Diarization(
        annotation=annotation,
        backend=BACKEND,
        model=None,
        exclusive=exclusive,
        channels={f"CH{index + 1}": index + 1 for index in range(activity.n_channels)},
        notes=[note],
    )


def owned_share(activity: ChannelActivity, gains_db: np.ndarray) -> np.ndarray:
    """(n_channels, n_frames): the share of heard bands each channel owns, averaged over
    ``OWNED_SMOOTH_S`` (see the module docstring).

    ``gains_db`` are the broadband relative gains; they pick the frames where one channel
    clearly leads, from which each band's own gains and separation are measured.
    """
    bands = activity.band_db
    n_channels, n_frames, n_bands = bands.shape
    if n_channels < 2 or n_frames == 0:
        return activity.is_speech.astype(np.float64)
    heard = bands - np.percentile(bands, BAND_FLOOR_PERCENTILE, axis=1)[:, None, :] >= BAND_HEARD_DB
    clear = _clear_frames(activity, gains_db)
    normalised = bands - _band_gains(bands, heard, clear, gains_db).astype(np.float32)[:, None, :]
    lead = _lead_over_others(normalised)
    separation = np.zeros(n_bands, dtype=np.float32)
    leader_hears = np.zeros((n_frames, n_bands), dtype=bool)
    for channel in range(n_channels):
        leader_hears |= clear[channel][:, None] & heard[channel]
    for band in range(n_bands):
        frames = leader_hears[:, band]
        if np.count_nonzero(frames) >= MIN_BAND_FRAMES:
            separation[band] = np.median(lead[:, frames, band].max(axis=0))
    informative = separation >= MIN_BAND_SEPARATION_DB
    counted = heard.any(axis=0) & informative[None, :]  # (n_frames, n_bands)
    owns = (lead >= OWN_FRACTION * separation[None, None, :]) & counted[None]
    share = owns.sum(axis=2) / np.maximum(counted.sum(axis=1), 1)[None, :]
    width = _frames(OWNED_SMOOTH_S)
    if width > 1:
        share = scipy.ndimage.uniform_filter1d(share, width, axis=1, mode="nearest")
    return share


def _clear_frames(activity: ChannelActivity, gains_db: np.ndarray) -> np.ndarray:
    """(n_channels, n_frames): frames where a channel leads by at least its own median lead."""
    lead = _lead_over_others(activity.energy_db - gains_db[:, None])
    clear = np.zeros(lead.shape, dtype=bool)
    for channel in range(activity.n_channels):
        leading = activity.is_speech[channel] & (lead[channel] > 0)
        if leading.any():
            clear[channel] = leading & (lead[channel] >= np.median(lead[channel][leading]))
    return clear


def _band_gains(bands: np.ndarray, heard: np.ndarray, clear: np.ndarray, gains_db: np.ndarray) -> np.ndarray:
    """(n_channels, n_bands) gains: per channel pair, the midpoint between the band's level
    difference while one and while the other clearly leads (as :func:`relative_gains` does for
    the whole band); least squares over all pairs, which for every pair measured is the mean
    of a channel's midpoints. Bands without enough frames fall back to the broadband gain."""
    n_channels, _, n_bands = bands.shape
    gains = np.zeros((n_channels, n_bands))
    for i in range(n_channels):
        for j in range(n_channels):
            if i == j:
                continue
            difference = bands[i] - bands[j]
            middle = 0.5 * (_band_medians(difference, clear[i], heard[i]) + _band_medians(difference, clear[j], heard[j]))
            gains[i] += np.where(np.isnan(middle), gains_db[i] - gains_db[j], middle) / n_channels
    return gains


def _band_medians(values: np.ndarray, frames: np.ndarray, heard: np.ndarray) -> np.ndarray:
    """Per band, the median of ``values`` over ``frames`` where the band is heard (NaN if too few)."""
    out = np.full(values.shape[1], np.nan)
    for band in range(values.shape[1]):
        chosen = frames & heard[:, band]
        if np.count_nonzero(chosen) >= MIN_BAND_FRAMES:
            out[band] = np.median(values[chosen, band])
    return out


def direct_speech(
    activity: ChannelActivity, owned: np.ndarray, gains_db: np.ndarray, separation_db: float
) -> np.ndarray:
    """(n_channels, n_frames) bool: where each channel carries its own person's speech.

    Stretches of voice activity whose owned share reaches ``ONSET_OWNED`` and stays above
    ``OFFSET_OWNED``, bridged over gaps under ``MIN_GAP_S``; a stretch must contain an onset
    (see :func:`onsets`) and last ``MIN_TURN_S``.
    """
    rises = onsets(activity, gains_db, max(separation_db, LEAD_DB))
    out = np.zeros(activity.is_speech.shape, dtype=bool)
    window = _frames(ONSET_WINDOW_S)
    for channel in range(activity.n_channels):
        active = activity.is_speech[channel]
        above = (owned[channel] >= OFFSET_OWNED) & active
        runs, n_runs = scipy.ndimage.label(above)
        started = np.zeros(n_runs + 1, dtype=bool)
        started[np.unique(runs[(owned[channel] >= ONSET_OWNED) & active])] = True
        started[0] = False
        # Bridged after the activity test: a short pause inside one person's speech is theirs.
        mask = _fill_gaps(started[runs], _frames(MIN_GAP_S))
        for start, end in vad.runs_of(mask):
            if not rises[channel, max(0, start - window) : end].any():
                mask[start:end] = False  # no onset on this microphone: a tail or crosstalk
        out[channel] = _drop_short(mask, _frames(MIN_TURN_S))
    return out


def onsets(activity: ChannelActivity, gains_db: np.ndarray, separation_db: float) -> np.ndarray:
    """(n_channels, n_frames) bool: frames where a channel's level *and* its lead over the
    others rose by ``ONSET_RISE_FRACTION * separation_db`` within ``ONSET_WINDOW_S``.

    Someone starting to speak raises both on their own microphone. Crosstalk raises the level
    but not the lead (every channel rises together); a reverberant tail raises the lead (the
    speaker's own channel loses its direct sound first) but not the level.
    """
    levels = activity.energy_db - gains_db[:, None]
    lead = _lead_over_others(levels)
    window = max(_frames(ONSET_WINDOW_S), 1)
    rise = ONSET_RISE_FRACTION * separation_db
    # Before the recording starts, every channel is taken to be quiet (its lowest level) and
    # nobody leads, so speech from the first frame on has its onset too.
    quiet = levels.min(axis=1, keepdims=True) if levels.size else levels[:, :0]
    before_levels = np.concatenate([np.repeat(quiet, window, axis=1), levels[:, :-window]], axis=1)
    before_lead = np.concatenate([np.zeros((len(lead), window)), lead[:, :-window]], axis=1)
    return (levels - before_levels[:, : levels.shape[1]] >= rise) & (lead - before_lead[:, : lead.shape[1]] >= rise)


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
