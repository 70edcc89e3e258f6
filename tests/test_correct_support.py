"""Shared helpers for the review-and-correct tests (no tests here).

:func:`processed_folder` makes a real output folder in well under a second: a recording of
buzzy voiced tones (one per word) and hand-timed words run through the pipeline's own
measurement (:func:`undertone.pipeline.build_transcript`), written by ``write_outputs``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from synth import SR, silence, voiced
from undertone.audio import load
from undertone.config import load_settings
from undertone.correct.journal import append_edit, journal_path, parse_edit
from undertone.model import Transcript
from undertone.outputs import write_outputs
from undertone.pipeline import build_transcript
from undertone.transcribe import Recognition, RecognizedWord

STEM = "talk"
# (speaker, words): I asks, P answers at length, I backchannels, P goes on.
TURNS = [
    ("I", "so how did the move go".split()),
    ("P", "well it was hard at first but the new town is lovely and the people are kind".split()),
    ("I", ["yeah"]),
    ("P", "we walk to the river every evening now".split()),
]
WORD_S, WORD_GAP_S, TURN_GAP_S = 0.3, 0.08, 0.6


def processed_folder(folder: Path, formats: tuple[str, ...] = ("json", "txt", "html")) -> tuple[Path, Transcript]:
    """A recording in ``folder`` and its outputs in ``folder/out``; returns (out, document)."""
    folder.mkdir(parents=True, exist_ok=True)
    pieces, words, clock = [silence(0.5)], [], 0.5
    for turn, (speaker, texts) in enumerate(TURNS):
        f0 = 110.0 if speaker == "I" else 210.0
        for k, text in enumerate(texts):
            pieces.append(voiced(f0 * (1.0 + 0.03 * (k % 3)), WORD_S))
            words.append(RecognizedWord(text, clock, clock + WORD_S, confidence=0.9, speaker=speaker))
            clock += WORD_S
            gap = TURN_GAP_S if k == len(texts) - 1 else WORD_GAP_S
            pieces.append(silence(gap))
            clock += gap
    pieces.append(silence(0.5))
    recording = folder / f"{STEM}.wav"
    soundfile.write(recording, np.concatenate(pieces), SR, subtype="PCM_16")
    settings = load_settings("offline")
    recognition = Recognition(words=words, backend="test", model="hand-timed", language="en")
    analysis = build_transcript(load(recording), recognition, None, settings)
    out = folder / "out"
    write_outputs(analysis.transcript, out, settings.render, list(formats), frames=analysis.frames, audio=recording)
    return out, analysis.transcript


def add_edits(out: Path, *edits: dict) -> list:
    """Append edits (as the review server would) to the folder's journal."""
    return [append_edit(journal_path(out, STEM), parse_edit(edit)) for edit in edits]


def word_id(document: Transcript, text: str, occurrence: int = 0) -> str:
    """The id of the ``occurrence``-th word ``text`` of a machine document."""
    found = [w.i for w in document.words if w.text == text]
    return f"w{found[occurrence]}"
