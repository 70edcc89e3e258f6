"""The frame tracks behind the marks, as a table anyone can plot or re-analyse (``<stem>.frames.csv``)."""

from __future__ import annotations

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
    """CSV text: times to the millisecond, F0 to 0.1 Hz (empty when unvoiced), intensity to 0.1 dB.

    One f-string per row over Python floats: three times faster than numpy's string formatting
    for the 360 000 rows of an hour.
    """
    lines = [CSV_HEADER]
    columns = zip(
        frames.times.tolist(), frames.f0_hz.tolist(), frames.intensity_db.tolist(), frames.speaker.astype(str).tolist()
    )
    for time, f0, level, speaker in columns:
        voiced = f"{f0:.1f}" if f0 == f0 else ""  # NaN != NaN: unvoiced
        lines.append(f"{time:.3f},{voiced},{level:.1f},{speaker}")
    return "\n".join(lines) + "\n"
