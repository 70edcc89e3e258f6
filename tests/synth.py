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
