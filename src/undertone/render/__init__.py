"""Renderers: every output format is rendered from the one transcript document.

Adding a format is one function registered in ``RENDERERS`` (name -> file suffix, renderer).
A renderer returns text (written as UTF-8) or bytes (binary formats such as .docx).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from undertone.config import RenderSettings
from undertone.frames import Frames
from undertone.model import Transcript
from undertone.render.html import render_html
from undertone.render.elan import render_eaf
from undertone.render.subtitles import render_srt, render_vtt
from undertone.render.text import render_text
from undertone.render.textgrid import render_textgrid
from undertone.render.word import render_docx
from undertone.render.words_csv import render_words_csv


@dataclass(frozen=True)
class RenderContext:
    """Where the outputs go and where the recording is, for formats that link to the media.

    ``audio`` is the recording as the user named it; ``out_dir`` the folder the outputs are
    written to. Formats that reference the audio (review page, ELAN) link it relative to
    ``out_dir`` so that the folder and the recording can be moved together. ``frames`` are the
    10 ms pitch and intensity tracks, when the caller has them (the review page draws pitch
    contours from them; every format works without).
    """

    out_dir: Path
    audio: Path | None = None
    frames: Frames | None = field(default=None, compare=False)

    def media_link(self) -> str | None:
        """The recording's path relative to the output folder (POSIX separators), if known."""
        if self.audio is None:
            return None
        relative = os.path.relpath(self.audio.resolve(), self.out_dir.resolve())
        return Path(relative).as_posix()


def render_json(transcript: Transcript, settings: RenderSettings) -> str:
    """The full document, per ``shared/contract.md``."""
    return json.dumps(transcript.to_json_dict(), ensure_ascii=False, indent=1) + "\n"


@dataclass(frozen=True)
class Renderer:
    suffix: str
    render: Callable[[Transcript, RenderSettings, RenderContext], str | bytes]
    description: str = ""


RENDERERS: dict[str, Renderer] = {
    "json": Renderer(".json", lambda t, s, c: render_json(t, s), "the full document (always written)"),
    "txt": Renderer(".txt", lambda t, s, c: render_text(t, s), "line-numbered transcript"),
    "html": Renderer(".html", render_html, "review page: listen, search, toggle marks, cite lines"),
    "docx": Renderer(".docx", render_docx, "Word: a paragraph per turn starting [hh:mm:ss] Label: (NVivo/ATLAS.ti/MAXQDA), Word's line numbers = the .txt's"),
    "srt": Renderer(".srt", render_srt, "SubRip subtitles: one cue per printed line"),
    "vtt": Renderer(".vtt", render_vtt, "WebVTT subtitles: one cue per printed line, speakers as voices"),
    "eaf": Renderer(".eaf", render_eaf, "ELAN: turn and word tiers per speaker, pauses, marks, overlaps, linked recording"),
    "textgrid": Renderer(".TextGrid", render_textgrid, "Praat TextGrid: word tiers per speaker, pauses, marks, overlaps"),
    "csv": Renderer(".words.csv", render_words_csv, "one row per word with times, confidence, mark measurements, overlap and pause after"),
}
ALWAYS = ("json",)  # the document every other output is rendered from, and tools read


def default_formats() -> tuple[str, ...]:
    """Every registered format: a run writes them all unless ``--formats`` says otherwise."""
    return tuple(RENDERERS)


def get_renderer(name: str) -> Renderer:
    try:
        return RENDERERS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r} (available: {', '.join(RENDERERS)})") from None


def parse_formats(names: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validated format names in registry order, always including the JSON document.

    Accepts a comma-separated string or a list; ``None`` or ``"all"`` mean every format.
    """
    if names is None:
        return default_formats()
    if isinstance(names, str):
        names = names.split(",")
    wanted = {n.strip().lower() for n in names if n.strip()}
    if not wanted or "all" in wanted:
        return default_formats()
    for name in wanted:
        get_renderer(name)
    return tuple(name for name in RENDERERS if name in wanted or name in ALWAYS)
