"""Renderers: every output format is rendered from the one transcript document.

Adding a format is one function registered in ``RENDERERS`` (name -> file suffix, renderer).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from undertone.config import RenderSettings
from undertone.model import Transcript
from undertone.render.text import render_text


def render_json(transcript: Transcript, settings: RenderSettings) -> str:
    """The full document, per ``shared/contract.md``."""
    return json.dumps(transcript.to_json_dict(), ensure_ascii=False, indent=1) + "\n"


@dataclass(frozen=True)
class Renderer:
    suffix: str
    render: Callable[[Transcript, RenderSettings], str]


RENDERERS: dict[str, Renderer] = {
    "json": Renderer(".json", render_json),
    "txt": Renderer(".txt", render_text),
}
DEFAULT_FORMATS = ("json", "txt")


def get_renderer(name: str) -> Renderer:
    try:
        return RENDERERS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r} (available: {', '.join(RENDERERS)})") from None
