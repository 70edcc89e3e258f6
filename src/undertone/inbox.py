"""An inbox folder of recordings: which files to process, and where each one's outputs go.

A research team drops recordings into a shared folder (often straight from a recorder or a
sync client) and collects transcripts from an outbox that mirrors its layout:
``inbox/site-a/P2.wav`` -> ``outbox/site-a/P2.txt``. Recordings are only ever read: nothing is
moved or renamed, so a recording that failed, or is still being copied in, stays where it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from undertone.errors import UndertoneError

# What the decoder reads (soundfile and ffmpeg); anything else in the inbox is left alone.
AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".aif", ".aiff", ".wma", ".mp4", ".webm"}
)


class InboxError(UndertoneError):
    """The inbox or outbox folder cannot be used."""

    exit_code = 5


@dataclass(frozen=True)
class InboxRecording:
    """One recording found in the inbox."""

    path: Path
    relative: Path  # to the inbox: names the recording in reports
    out_dir: Path  # the outbox folder mirroring its place in the inbox
    settled: bool  # False while it may still be being copied in (modified very recently)


def scan(inbox: Path, outbox: Path, settle_seconds: float = 60.0, now: float | None = None) -> list[InboxRecording]:
    """Every recording under ``inbox`` in path order, with its outbox folder.

    Hidden files and folders (``.sync``, ``._P2.wav``) are skipped, and so is the outbox when it
    lies inside the inbox. A file modified less than ``settle_seconds`` ago is reported as not
    settled: a recorder or sync client may still be writing it.
    """
    if not inbox.is_dir():
        raise InboxError(inbox, "inbox folder does not exist" if not inbox.exists() else "inbox is not a folder")
    if outbox.exists() and not outbox.is_dir():
        raise InboxError(outbox, "outbox is not a folder")
    inbox, outbox = inbox.resolve(), outbox.resolve()
    now = time.time() if now is None else now
    found = []
    for path in sorted(inbox.rglob("*")):
        relative = path.relative_to(inbox)
        if any(part.startswith(".") for part in relative.parts) or path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        if path.is_relative_to(outbox) or not path.is_file():
            continue
        settled = now - path.stat().st_mtime >= settle_seconds
        found.append(InboxRecording(path, relative, outbox / relative.parent, settled))
    return found
