"""Loud (``WORD``) and quiet (``°words°``) stretches: level re the speaker's running median."""

from __future__ import annotations

import numpy as np

from undertone.config import MarkSettings
from undertone.features import WordContext, WordMeasures
from undertone.marks import Mark, runs

UNIT = "dB re speaker"


def loudness_marks(
    measures: WordMeasures, context: WordContext, units: list[tuple[int, int]], settings: MarkSettings
) -> list[Mark]:
    """Runs of words (within a unit) all at least ``loud_db`` above / ``quiet_db`` below the norm.

    Overlapped words are never marked: two voices together are louder than either.
    """
    relative = measures.level_re_db
    measurable = np.isfinite(relative) & ~context.overlapped
    loud = measurable & (relative >= settings.loud_db)
    quiet = measurable & (relative <= -settings.quiet_db)
    marks: list[Mark] = []
    for first, last in units:
        for kind, flags, min_words in (("loud", loud, 1), ("quiet", quiet, settings.quiet_min_words)):
            for a, b in runs(flags[first : last + 1]):
                if b - a + 1 >= min_words:
                    value = float(np.mean(relative[first + a : first + b + 1]))
                    marks.append(Mark(kind, first + a, first + b, round(value, 1), UNIT))
    return marks
