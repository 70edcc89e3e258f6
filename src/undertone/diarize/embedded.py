"""Prototype (being rewritten)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import parselmouth
import scipy.fft
from pyannote.core import Annotation, Segment

from undertone.diarize import Diarization
from undertone.diarize import vad

N_MELS = 40
MEL_FMIN_HZ = 60.0
MEL_FMAX_HZ = 7600.0
N_CEPS = 19  # c1..c19
PITCH_FLOOR_HZ = 60.0
PITCH_CEILING_HZ = 500.0
WINDOW_S = 1.5
WINDOW_HOP_S = 0.75
MIN_WINDOW_S = 0.3


def mel_filterbank(n_mels=N_MELS, n_fft=vad.N_FFT, sr=vad.ANALYSIS_RATE, fmin=MEL_FMIN_HZ, fmax=MEL_FMAX_HZ):
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel2hz(m):
        return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = mel2hz(np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (mid - lo)
    down = (hi - freqs[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


@dataclass
class FrameFeatures:
    mfcc: np.ndarray
    log_f0: np.ndarray
    is_speech: np.ndarray
    energy_db: np.ndarray


def frame_features(samples, sample_rate=vad.ANALYSIS_RATE):
    a = vad.analyse_frames(samples, sample_rate)
    act = vad.detect_voice_activity(a.energy_db)
    fb = mel_filterbank()
    logmel = np.log(a.power @ fb.T + 1e-8)
    ceps = scipy.fft.dct(logmel, type=2, norm="ortho", axis=1)[:, 1 : N_CEPS + 1]
    log_f0 = np.full(a.n_frames, np.nan)
    if len(a.samples) > 0.1 * vad.ANALYSIS_RATE:
        snd = parselmouth.Sound(a.samples.astype(np.float64), sampling_frequency=vad.ANALYSIS_RATE)
        pitch = snd.to_pitch_ac(time_step=vad.FRAME_HOP_S, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
        f0 = pitch.selected_array["frequency"]
        idx = np.round(pitch.xs() / vad.FRAME_HOP_S).astype(int)
        ok = (idx < a.n_frames) & (f0 > 0)
        log_f0[idx[ok]] = np.log(f0[ok])
    return FrameFeatures(ceps.astype(np.float32), log_f0, act.is_speech, a.energy_db)


def speech_windows(is_speech, window_s=WINDOW_S, hop_s=WINDOW_HOP_S, min_s=MIN_WINDOW_S):
    win = int(round(window_s / vad.FRAME_HOP_S))
    hop = int(round(hop_s / vad.FRAME_HOP_S))
    mn = int(round(min_s / vad.FRAME_HOP_S))
    out = []
    for s, e in vad.runs_of(is_speech):
        n = e - s
        if n < mn:
            continue
        if n <= win:
            out.append((s, e))
            continue
        k = int(np.ceil((n - win) / hop)) + 1
        starts = np.linspace(s, e - win, k).round().astype(int)
        out.extend((int(a), int(a) + win) for a in starts)
    return out


def window_embeddings(ff, windows, pitch_weight=3.0):
    feats = []
    for s, e in windows:
        m = ff.mfcc[s:e]
        lf = ff.log_f0[s:e]
        lf = lf[np.isfinite(lf)]
        p = np.median(lf) if len(lf) >= 5 else np.nan
        feats.append(np.concatenate([m.mean(0), m.std(0), [p]]))
    X = np.array(feats)
    col = X[:, -1]
    if np.isfinite(col).any():
        col[~np.isfinite(col)] = np.nanmean(col)
    else:
        col[:] = 0
    mu = X.mean(0)
    sd = X.std(0) + 1e-6
    Z = (X - mu) / sd
    Z[:, -1] *= pitch_weight
    return Z
