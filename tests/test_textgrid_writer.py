"""The TextGrid's long text form is written by us (praatio's writer is quadratic in length): it
must be exactly what praatio itself writes for the same grid."""

from __future__ import annotations

import json
from pathlib import Path

from praatio import textgrid

from undertone.render.textgrid import long_text_form


def test_long_text_form_is_byte_for_byte_praatios(tmp_path: Path):
    grid = textgrid.Textgrid(minTimestamp=0.0, maxTimestamp=12.5)
    grid.addTier(textgrid.IntervalTier("I words", [(0.25, 0.5, 'said "no"'), (1.0, 2.125, "wa-")], 0.0, 12.5))
    grid.addTier(textgrid.IntervalTier("marks", [(3.0, 4.0, "↑ +3.1 st")], 0.0, 12.5))
    grid.addTier(textgrid.PointTier("events", [(5.5, "beep")], 0.0, 12.5))
    theirs = tmp_path / "theirs.TextGrid"
    grid.save(str(theirs), format="long_textgrid", includeBlankSpaces=True, minimumIntervalLength=None)
    prepared = tmp_path / "prepared.json"
    grid.save(str(prepared), format="textgrid_json", includeBlankSpaces=True, minimumIntervalLength=None)
    ours = long_text_form(json.loads(prepared.read_text(encoding="utf-8")))
    assert ours == theirs.read_text(encoding="utf-8")
    assert 'text = "said ""no""" ' in ours and "points: size = 1" in ours  # the cases it covers
