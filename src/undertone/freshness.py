"""Is a recording's output already up to date? A fingerprint of everything that decides it.

A run's result depends on the recording's content, the effective settings, undertone's version,
and the files read beside the recording (a known transcript, a speakers sidecar). Their hash is
stored in the document (``pipeline.fingerprint``); a later run over the same inputs finds the
same fingerprint in the existing ``<stem>.json`` and has nothing to do. This is what makes a
killed batch resumable (finished recordings are skipped, and the JSON is always renamed into
place last, so its presence means the whole set is there) and lets an inbox be re-scanned
cheaply.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from undertone import __version__
from undertone.audio import file_sha256
from undertone.config import Settings
from undertone.redact import Term, list_check

SPEAKERS_SIDECAR_SUFFIX = ".speakers.toml"


def speakers_sidecar(audio: Path) -> Path:
    """Where a recording's speakers sidecar (names, roles, pseudonyms) lives: beside it."""
    return audio.with_name(audio.stem + SPEAKERS_SIDECAR_SUFFIX)


def fingerprint(
    audio: Path, settings: Settings, inputs: Iterable[Path | None] = (), redaction: list[Term] | None = None
) -> str:
    """Hash of the recording's content, the settings, the version and the other input files.

    ``inputs`` are further files the result depends on (a transcript); the speakers sidecar
    beside the recording is always included when it exists. A missing input counts as absent.
    A redaction list enters as its salted check (:func:`undertone.redact.list_check`), not as
    the file's plain hash: the fingerprint is in every output, and a plain hash of a short list
    ("Alice") is confirmed by hashing a guess.
    """
    audio_sha256 = file_sha256(audio)
    parts = {
        "audio": audio_sha256,
        "settings": settings.to_record(),
        "version": __version__,
        "inputs": [
            file_sha256(path) if path.is_file() else None
            for path in [*(p for p in inputs if p is not None), speakers_sidecar(audio)]
        ],
    }
    if redaction:
        parts["redaction"] = list_check(redaction, audio_sha256)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def recorded_fingerprint(document_path: Path) -> str | None:
    """The fingerprint stored in an existing output document, or None if unreadable or absent."""
    try:
        document = json.loads(document_path.read_text(encoding="utf-8"))
        value = document["pipeline"].get("fingerprint")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def up_to_date(document_path: Path, expected: str, other_outputs: Iterable[Path]) -> bool:
    """True when ``document_path`` carries ``expected`` and every other requested output exists."""
    return recorded_fingerprint(document_path) == expected and all(p.is_file() for p in other_outputs)
