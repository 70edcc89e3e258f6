"""Small synthetic signals with exactly known timing, for stage tests."""

from __future__ import annotations

import numpy as np

SR = 16_000


def voiced(f0_hz: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    """A buzzy, amplitude-modulated harmonic tone: speech-like enough for pitch and intensity."""
    t = np.arange(int(round(seconds * SR))) / SR
    tone = sum(np.sin(2 * np.pi * k * f0_hz * t) / k for k in range(1, 6))
    envelope = 1.0 + 0.4 * np.sin(2 * np.pi * 4.0 * t)
    return (amplitude * 0.5 * tone * envelope).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * SR)), dtype=np.float32)


def glide(f0_start_hz: float, f0_end_hz: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    """Like :func:`voiced`, with F0 moving geometrically from ``f0_start_hz`` to ``f0_end_hz``."""
    n = int(round(seconds * SR))
    f0 = f0_start_hz * (f0_end_hz / f0_start_hz) ** (np.arange(n) / max(n - 1, 1))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    t = np.arange(n) / SR
    tone = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 1.0 + 0.4 * np.sin(2 * np.pi * 4.0 * t)
    return (amplitude * 0.5 * tone * envelope).astype(np.float32)


def two_microphones(
    tracks: list[np.ndarray],
    crosstalk_db: float = -15.0,
    delay_s: float = 0.003,
    gains_db: list[float] | None = None,
    noise_dbfs: float = -55.0,
    seed: int = 0,
) -> np.ndarray:
    """One microphone per person: channel ``k`` holds ``tracks[k]`` plus every other track
    ``crosstalk_db`` down and ``delay_s`` late (the other mouth is further away), times the
    channel's gain, plus independent hiss. Returns (n_channels, n_samples) float32."""
    n = max(len(t) for t in tracks)
    padded = [np.pad(t, (0, n - len(t))).astype(np.float64) for t in tracks]
    shift = int(round(delay_s * SR))
    leak = 10 ** (crosstalk_db / 20)
    rng = np.random.default_rng(seed)
    channels = []
    for k, own in enumerate(padded):
        channel = own.copy()
        for j, other in enumerate(padded):
            if j != k:
                channel[shift:] += leak * other[: n - shift]
        channel *= 10 ** ((gains_db[k] if gains_db else 0.0) / 20)
        channel += rng.standard_normal(n) * 10 ** (noise_dbfs / 20)
        channels.append(channel)
    return np.array(channels, dtype=np.float32)


def espeak(text: str, voice: str, words_per_minute: int = 165) -> np.ndarray:
    """Real synthetic speech: one utterance by espeak-ng at ``SR``, trimmed to where the sound
    starts and stops (-40 dB re peak), so silences placed around it are exact."""
    import subprocess
    import tempfile
    from pathlib import Path

    import soundfile
    from scipy.signal import resample_poly

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "u.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(path), text], check=True)
        x, rate = soundfile.read(path, dtype="float32")
    g = np.gcd(rate, SR)
    x = resample_poly(x, SR // g, rate // g).astype(np.float32)
    loud = np.flatnonzero(np.abs(x) > np.abs(x).max() * 0.01)
    return x[loud[0] : loud[-1] + 1]
