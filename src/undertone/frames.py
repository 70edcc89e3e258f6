"""The frame tracks behind the marks, as a table anyone can plot or re-analyse (``<stem>.frames.csv``)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

CSV_HEADER = "time,f0_hz,intensity_db,speaker"


@dataclass(frozen=True)
class Frames:
    """One row per 10 ms frame: centre time (s), F0 (Hz, NaN unvoiced), intensity (dBFS), speaker.

    ``speaker`` is the id whose word covers the frame, ``S1+S2`` in overlapping talk, and ``""``
    where nobody speaks.
    """

    times: np.ndarray
    f0_hz: np.ndarray
    intensity_db: np.ndarray
    speaker: np.ndarray

    def __post_init__(self) -> None:
        lengths = {len(self.times), len(self.f0_hz), len(self.intensity_db), len(self.speaker)}
        if len(lengths) > 1:
            raise ValueError(f"frame columns differ in length: {sorted(lengths)}")


def frames_csv(frames: Frames) -> str:
    """CSV text: times to the millisecond, F0 to 0.1 Hz (empty when unvoiced), intensity to 0.1 dB."""
    f0 = np.char.mod("%.1f", np.nan_to_num(frames.f0_hz, nan=0.0))
    f0[~np.isfinite(frames.f0_hz)] = ""
    columns = (
        np.char.mod("%.3f", frames.times),
        f0,
        np.char.mod("%.1f", frames.intensity_db),
        frames.speaker.astype(str),
    )
    buffer = io.StringIO()
    buffer.write(CSV_HEADER + "\n")
    for row in zip(*columns):
        buffer.write(",".join(row) + "\n")
    return buffer.getvalue()
