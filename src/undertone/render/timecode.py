"""Time as the exchange formats write it: whole milliseconds, clock stamps and cue times.

The transcript stores seconds at millisecond precision (see :mod:`undertone.model`). Every
exchange format counts in whole milliseconds (ELAN natively, subtitles in their cue times), so
times are turned into integers once, here, and all interval arithmetic is done on integers:
floats would make ``0.3 + 0.1`` and ``0.4`` different boundaries.
"""

from __future__ import annotations

MS_PER_S = 1000


def to_ms(seconds: float) -> int:
    """Seconds to whole milliseconds, rounded to the nearest (the document's own precision)."""
    return int(round(seconds * MS_PER_S))


def to_seconds(ms: int) -> float:
    """Whole milliseconds back to seconds (for formats that count in seconds, like Praat)."""
    return ms / MS_PER_S


def clock(seconds: float) -> str:
    """``hh:mm:ss``, rounded down: a turn stamped 00:01:05 has started by then, never after."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def cue_time(ms: int, decimal: str) -> str:
    """``HH:MM:SS<decimal>mmm``: SubRip separates milliseconds with ``,``, WebVTT with ``.``."""
    seconds, millis = divmod(ms, MS_PER_S)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}{decimal}{millis:03d}"
