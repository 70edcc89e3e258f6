"""ELAN annotation file (``.eaf``): the transcript as time-aligned tiers beside the recording.

ELAN is where conversation analysts and linguists annotate further (gesture, gaze, their own
codes) on a timeline. The file holds, as ELAN users lay out a multi-speaker transcript:

- per speaker, a turn tier named by the speaker's label (the turn as printed, in the
  transcript's notation) with a child tier ``<label> words`` holding each word with its
  times (type ``Included_In``: word annotations inside their turn, gaps allowed);
- a ``pauses``, a ``marks`` and an ``overlaps`` tier (see :mod:`undertone.render.tiers` for
  what they hold and how overlapping marks are spread over ``marks 2``, ...);
- the recording, linked by its absolute location and by its path relative to the output
  folder, so ELAN finds it after the folder and the recording are moved together.

The document's creation time is the file's date, so rendering the same document twice gives the
same bytes. With ``render.ascii`` the file is pure ASCII (tier names and annotations in their
ASCII stand-ins, the media links percent-encoded).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from pympi import Elan

from undertone.config import RenderSettings
from undertone.model import Transcript
from undertone.render.tiers import Tier, mark_tiers, overlap_tiers, pause_tiers, speaker_tiers

if TYPE_CHECKING:  # the registry in undertone.render imports this module
    from undertone.render import RenderContext

TURN_TYPE = "turn"
WORD_TYPE = "word"
MARK_TYPE = "default-lt"  # pauses and marks: free time-aligned annotations (ELAN's default type)
# ELAN's own MIME types by file suffix (MediaDescriptorUtility.mimeTypeForExtension): it picks
# a player by them, and knows wav, MPEG and QuickTime by name, other audio as "audio/*".
MIME_TYPES = {
    "wav": "audio/x-wav",
    "mpg": "video/mpeg",
    "mpeg": "video/mpeg",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "mp3": "audio/*",
    "m4a": "audio/*",
    "aac": "audio/*",
    "flac": "audio/*",
    "ogg": "audio/*",
    "opus": "audio/*",
    "aif": "audio/*",
    "aiff": "audio/*",
}
UNKNOWN_MIME_TYPE = "unknown"


def render_eaf(transcript: Transcript, settings: RenderSettings, context: RenderContext) -> bytes:
    """The ELAN document as UTF-8 XML."""
    eaf = Elan.Eaf(author="undertone")
    eaf.adocument["DATE"] = transcript.pipeline.created
    eaf.remove_tier("default")
    eaf.add_linguistic_type(TURN_TYPE)
    eaf.add_linguistic_type(WORD_TYPE, constraints="Included_In")
    for speaker in speaker_tiers(transcript, settings):
        eaf.add_tier(speaker.turns.name, ling=TURN_TYPE, part=speaker.name)
        eaf.add_tier(speaker.words.name, ling=WORD_TYPE, parent=speaker.turns.name, part=speaker.name)
        _annotate(eaf, speaker.turns)
        _annotate(eaf, speaker.words)
    for tier in pause_tiers(transcript) + mark_tiers(transcript, settings) + overlap_tiers(transcript, settings):
        eaf.add_tier(tier.name, ling=MARK_TYPE)
        _annotate(eaf, tier)
    # ELAN numbers the annotations it adds from here; pympi leaves it at 0.
    eaf.properties = [("lastUsedAnnotation", eaf.maxaid if eaf.annotations else 0)]
    link = context.media_link()
    if link is not None and context.audio is not None:
        eaf.add_linked_file(
            context.audio.resolve().as_uri(), relpath=_relative_url(link), mimetype=media_mime_type(link)
        )
    return Elan.to_string(eaf, encoding="UTF-8")


def media_mime_type(path: str) -> str:
    """The MIME type ELAN expects for a recording, from its suffix."""
    return MIME_TYPES.get(PurePosixPath(path).suffix.lower().lstrip("."), UNKNOWN_MIME_TYPE)


def _relative_url(link: str) -> str:
    # ELAN writes relative links as URLs ("./p2.wav", "../recordings/p%202.wav").
    url = quote(link)
    return url if url.startswith("../") else f"./{url}"


def _annotate(eaf: Elan.Eaf, tier: Tier) -> None:
    for interval in tier.intervals:
        eaf.add_annotation(tier.name, interval.start, interval.end, interval.text)
