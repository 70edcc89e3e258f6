"""Praat TextGrid (``.TextGrid``): words, pauses and marks as interval tiers over the recording.

Phoneticians open the recording and this file together in Praat to check a mark against the
waveform, pitch and intensity, or to measure further. Tiers: ``<label> words`` per speaker
(each word with its times), ``pauses`` (as printed, ``(0.7)`` ``(.)``), ``marks`` (kind and
measurement) and ``overlaps`` (who talks at once, ``overlap I+P2``); Praat forbids overlapping
intervals within a tier, so overlapping marks go on ``marks 2``, ``marks 3``, ... rather than
being cut or merged (see :mod:`undertone.render.tiers`). The grid runs from 0 to the
recording's duration; stretches without an interval are empty intervals, as Praat needs.
Written in Praat's long text format (pure ASCII with ``render.ascii``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from praatio import textgrid
from praatio.utilities.my_math import numToStr
from praatio.utilities.utils import escapeQuotes

from undertone.config import RenderSettings
from undertone.model import Transcript
from undertone.render.tiers import Tier, mark_tiers, overlap_tiers, pause_tiers, speaker_tiers
from undertone.render.timecode import to_ms, to_seconds

if TYPE_CHECKING:  # the registry in undertone.render imports this module
    from undertone.render import RenderContext


def render_textgrid(transcript: Transcript, settings: RenderSettings, context: RenderContext) -> str:
    """The TextGrid as text (praatio writes UTF-8, which Praat reads)."""
    tiers = [s.words for s in speaker_tiers(transcript, settings)]
    tiers += pause_tiers(transcript) + mark_tiers(transcript, settings) + overlap_tiers(transcript, settings)
    # An interval may end a millisecond past a rounded duration; the grid must still hold it.
    end = max([to_ms(transcript.source.duration), 1] + [i.end for t in tiers for i in t.intervals])
    grid = textgrid.Textgrid(minTimestamp=0.0, maxTimestamp=to_seconds(end))
    for tier in tiers:
        grid.addTier(_interval_tier(tier, end))
    # praatio only writes to a file; a private temporary folder keeps the transcript owner-only.
    # praatio fills the blanks and checks the tiers; its long-form writer grows one string by
    # concatenation, which took 2 s for an hour's grid and grows with the square of the length,
    # so the grid it prepared (its JSON form) is written out in the same format here.
    with tempfile.TemporaryDirectory(prefix="undertone-") as folder:
        path = Path(folder) / "transcript.json"
        grid.save(str(path), format="textgrid_json", includeBlankSpaces=True, minimumIntervalLength=None)
        return long_text_form(json.loads(path.read_text(encoding="utf-8")))


def long_text_form(grid: dict) -> str:
    """Praat's long text format of a grid in praatio's dictionary form, exactly as praatio writes it."""
    tab = " " * 4
    parts = [
        'File type = "ooTextFile"\n',
        'Object class = "TextGrid"\n\n',
        f"xmin = {numToStr(grid['xmin'])} \n",
        f"xmax = {numToStr(grid['xmax'])} \n",
        "tiers? <exists> \n",
        f"size = {len(grid['tiers'])} \n",
        "item []: \n",
    ]
    for number, tier in enumerate(grid["tiers"], start=1):
        parts += [
            f"{tab}item [{number}]:\n",
            f'{tab * 2}class = "{tier["class"]}" \n',
            f'{tab * 2}name = "{escapeQuotes(tier["name"])}" \n',
            f"{tab * 2}xmin = {numToStr(tier['xmin'])} \n",
            f"{tab * 2}xmax = {numToStr(tier['xmax'])} \n",
        ]
        entries = tier["entries"]
        if tier["class"] == "IntervalTier":
            parts.append(f"{tab * 2}intervals: size = {len(entries)} \n")
            for index, (start, end, label) in enumerate(entries, start=1):
                parts += [
                    f"{tab * 2}intervals [{index}]:\n",
                    f"{tab * 3}xmin = {numToStr(start)} \n",
                    f"{tab * 3}xmax = {numToStr(end)} \n",
                    f'{tab * 3}text = "{escapeQuotes(label)}" \n',
                ]
        else:
            parts.append(f"{tab * 2}points: size = {len(entries)} \n")
            for index, (time, label) in enumerate(entries, start=1):
                parts += [
                    f"{tab * 2}points [{index}]:\n",
                    f"{tab * 3}number = {numToStr(time)} \n",
                    f'{tab * 3}mark = "{escapeQuotes(label)}" \n',
                ]
    return "".join(parts)


def _interval_tier(tier: Tier, end_ms: int) -> textgrid.IntervalTier:
    entries = [(to_seconds(i.start), to_seconds(i.end), i.text) for i in tier.intervals]
    return textgrid.IntervalTier(tier.name, entries, minT=0.0, maxT=to_seconds(end_ms))
