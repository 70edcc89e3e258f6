"""Diarisation: who spoke when, as a pyannote.core ``Annotation`` (overlapping segments allowed).

Backends:
- ``pyannote`` (default profile): pyannote.audio 4 pretrained pipeline.
- ``embedded`` (offline profile and fallback): needs no model weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyannote.core import Annotation


@dataclass
class Diarization:
    """Speaker turns (labels are arbitrary strings) and which engine produced them."""

    annotation: Annotation
    backend: str
    model: str | None
    # The same turns without overlap (one speaker at a time), when the backend provides it:
    # pyannote.audio 4 derives it for attributing ASR words, which cannot overlap.
    exclusive: Annotation | None = None
