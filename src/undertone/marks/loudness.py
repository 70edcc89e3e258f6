"""Loud (``WORD``) and quiet (``°words°``) stretches: level re the speaker's running median.

Loud is a word-by-word judgement (every word of a ``WORD`` run is itself loud). Quiet is judged
over the stretch, as the convention has it (talk that drops away, ``°like this°``): the
stretch's level as a whole must be ``quiet_db`` below the norm, and each of its words clearly
below it (half that), since words differ in loudness by their sounds ("the" vs "away") by a
few dB even when the speaker's voice does not change.
"""

from __future__ import annotations

import numpy as np

from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures
from undertone.marks import Mark, runs

UNIT = "dB re speaker"
# Each word of a quiet stretch is at least this share of ``quiet_db`` below the norm.
QUIET_WORD_SHARE = 0.5


def loudness_marks(
    measures: WordMeasures, context: WordContext, units: list[tuple[int, int]], settings: MarkSettings
) -> list[Mark]:
    """Runs of words (within a unit) at least ``loud_db`` above / ``quiet_db`` below the norm.

    Overlapped words are never marked: two voices together are louder than either.
    """
    relative = measures.level_re_db
    measurable = np.isfinite(relative) & ~context.overlapped
    loud = measurable & (relative >= settings.loud_db)
    softer = measurable & (relative <= -settings.quiet_db * QUIET_WORD_SHARE)
    marks: list[Mark] = []
    for first, last in units:
        for a, b in runs(loud[first : last + 1]):
            value = float(np.mean(relative[first + a : first + b + 1]))
            marks.append(Mark("loud", first + a, first + b, round(value, 1), UNIT))
        for a, b in runs(softer[first : last + 1]):
            a, b = first + a, first + b
            # Edge words only somewhat softer belong to the talk around the stretch.
            while a <= b and relative[a] > -settings.quiet_db:
                a += 1
            while b >= a and relative[b] > -settings.quiet_db:
                b -= 1
            if b - a + 1 < settings.quiet_min_words:
                continue
            value = _stretch_level(relative[a : b + 1], measures.duration[a : b + 1])
            if value <= -settings.quiet_db:
                marks.append(Mark("quiet", a, b, round(value, 1), UNIT))
    return marks


def _stretch_level(relative_db: np.ndarray, durations: np.ndarray) -> float:
    """The level of a stretch: its words' power averaged over their durations (dB re speaker)."""
    power = np.sum(durations * 10.0 ** (relative_db / 10.0)) / np.sum(durations)
    return float(10.0 * np.log10(power))
