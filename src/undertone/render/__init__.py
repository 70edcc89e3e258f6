"""Renderers: every output format is rendered from the one transcript document.

Adding a format is one function registered in ``RENDERERS`` (name -> file suffix, renderer).
A renderer returns text (written as UTF-8) or bytes (binary formats such as .docx).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from undertone.config import RenderSettings
from undertone.model import Transcript
from undertone.render.text import render_text


@dataclass(frozen=True)
class RenderContext:
    """Where the outputs go and where the recording is, for formats that link to the media.

    ``audio`` is the recording as the user named it; ``out_dir`` the folder the outputs are
    written to. Formats that reference the audio (review page, ELAN) link it relative to
    ``out_dir`` so that the folder and the recording can be moved together.
    """

    out_dir: Path
    audio: Path | None = None

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
