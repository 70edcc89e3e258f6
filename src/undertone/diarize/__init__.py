"""Diarisation: who spoke when, as a pyannote.core ``Annotation`` (overlapping segments allowed).

Backends:
- ``pyannote`` (default profile): pyannote.audio 4 pretrained pipeline.
- ``embedded`` (offline profile and fallback): needs no model weights.
- ``channels`` (any profile, for recordings with one microphone per person): speakers are the
  channels, found by which channel carries direct speech (:mod:`undertone.diarize.channels`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyannote.core import Annotation

# Bump when a change to this stage's code changes the turns it returns for the same audio and
# settings: cached diarisations (keyed on it, see undertone.stage_cache) are then redone.
STAGE_VERSION = "2"


@dataclass
class Diarization:
    """Speaker turns (labels are arbitrary strings) and which engine produced them."""

    annotation: Annotation
    backend: str
    model: str | None
    # The same turns without overlap (one speaker at a time), when the backend provides it:
    # pyannote.audio 4 derives it for attributing ASR words, which cannot overlap.
    exclusive: Annotation | None = None
    # Engine label -> 1-based channel number, when the speakers are the channels of the recording.
    channels: dict[str, int] | None = None
    # Caveats for the transcript's pipeline notes (e.g. how the channel layout was decided).
    notes: list[str] = field(default_factory=list)
