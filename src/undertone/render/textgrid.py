"""Praat TextGrid (``.TextGrid``): words, pauses and marks as interval tiers over the recording.

Phoneticians open the recording and this file together in Praat to check a mark against the
waveform, pitch and intensity, or to measure further. Tiers: ``<label> words`` per speaker
(each word with its times), ``pauses`` (as printed, ``(0.7)`` ``(.)``) and ``marks`` (kind and
measurement); Praat forbids overlapping intervals within a tier, so overlapping marks go on
``marks 2``, ``marks 3``, ... rather than being cut or merged (see
:mod:`undertone.render.tiers`). The grid runs from 0 to the recording's duration; stretches
without an interval are empty intervals, as Praat needs. Written in Praat's long text format.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from praatio import textgrid

from undertone.config import RenderSettings
from undertone.model import Transcript
from undertone.render.tiers import Tier, mark_tiers, pause_tiers, speaker_tiers
from undertone.render.timecode import to_ms, to_seconds

if TYPE_CHECKING:  # the registry in undertone.render imports this module
    from undertone.render import RenderContext


def render_textgrid(transcript: Transcript, settings: RenderSettings, context: RenderContext) -> str:
    """The TextGrid as text (praatio writes UTF-8, which Praat reads)."""
    tiers = [s.words for s in speaker_tiers(transcript, settings)]
    tiers += pause_tiers(transcript) + mark_tiers(transcript)
    # An interval may end a millisecond past a rounded duration; the grid must still hold it.
    end = max([to_ms(transcript.source.duration), 1] + [i.end for t in tiers for i in t.intervals])
    grid = textgrid.Textgrid(minTimestamp=0.0, maxTimestamp=to_seconds(end))
    for tier in tiers:
        grid.addTier(_interval_tier(tier, end))
    # praatio only writes to a file; a private temporary folder keeps the transcript owner-only.
    with tempfile.TemporaryDirectory(prefix="undertone-") as folder:
        path = Path(folder) / "transcript.TextGrid"
        grid.save(str(path), format="long_textgrid", includeBlankSpaces=True, minimumIntervalLength=None)
        return path.read_text(encoding="utf-8")


def _interval_tier(tier: Tier, end_ms: int) -> textgrid.IntervalTier:
    entries = [(to_seconds(i.start), to_seconds(i.end), i.text) for i in tier.intervals]
    return textgrid.IntervalTier(tier.name, entries, minT=0.0, maxT=to_seconds(end_ms))
