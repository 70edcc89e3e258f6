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
