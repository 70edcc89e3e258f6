"""Latching (``=``): the next speaker comes in with no hearable silence and no overlap."""

from __future__ import annotations

import numpy as np

from undertone.marks import Mark

UNIT = "s"
# Turns whose words overlap by more than this are overlapping talk, not latched.
OVERLAP_TOLERANCE_S = 0.05


def latch_marks(
    speakers: list[str],
    starts: np.ndarray,
    ends: np.ndarray,
    gaps_after: set[int],
    overlaps: list[tuple[float, float]],
) -> list[Mark]:
    """Speaker changes with no measured gap (below the micropause threshold) and no overlap.

    ``gaps_after`` holds the indices of words followed by a measured gap; ``overlaps`` the
    spans where two people speak at once. The mark spans the last word of one turn and the first
    of the next; its value is the silence between them by the word edges (s, often 0).
    """
    marks: list[Mark] = []
    for index in range(len(speakers) - 1):
        if speakers[index] == speakers[index + 1] or index in gaps_after:
            continue
        silence = float(starts[index + 1] - ends[index])
        boundary = 0.5 * (starts[index + 1] + ends[index])
        in_overlap = any(start <= boundary <= end for start, end in overlaps)
        if silence < -OVERLAP_TOLERANCE_S or in_overlap:
            continue
        marks.append(Mark("latch", index, index + 1, round(max(silence, 0.0), 2), UNIT))
    return marks
