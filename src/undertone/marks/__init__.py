"""Prosodic marks (Jefferson / Conversation Analysis notation), each with the number behind it.

One module per family of marks, each a pure function of the per-word measurements
(:mod:`undertone.features`) and the settings' thresholds:

- :mod:`~undertone.marks.loudness`  ``WORD`` louder, ``°words°`` quieter
- :mod:`~undertone.marks.tempo`     ``>fast<``, ``<slow>``, ``wo::rd`` elongation
- :mod:`~undertone.marks.pitch`     ``↑ ↓`` pitch steps, ``? , .`` final intonation
- :mod:`~undertone.marks.emphasis`  ``_word_`` stress beyond the neighbours
- :mod:`~undertone.marks.turns`     ``=`` latching

Laughter is not marked: telling laughter from speech reliably needs a trained classifier, and
undertone runs without downloaded weights; the contract's ``laughter`` kind stays unused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from undertone.model import AnnotationKind


@dataclass(frozen=True)
class Mark:
    """A mark on words ``first_word..last_word`` with the measurement that triggered it."""

    kind: AnnotationKind
    first_word: int
    last_word: int
    value: float | None
    unit: str | None


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive index ranges of the consecutive True stretches in ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return [(int(a), int(b) - 1) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


def intonation_units(speakers: list[str], unit_breaks_after: set[int]) -> list[tuple[int, int]]:
    """Split the words into units: a unit ends at a speaker change, a timed pause or the end.

    ``unit_breaks_after`` holds the indices of words followed by a timed pause. Units are the
    stretches that final intonation, tempo and loudness marks are measured within.
    """
    units: list[tuple[int, int]] = []
    first = 0
    for index in range(len(speakers)):
        last_of_unit = (
            index == len(speakers) - 1
            or speakers[index + 1] != speakers[index]
            or index in unit_breaks_after
        )
        if last_of_unit:
            units.append((first, index))
            first = index + 1
    return units
