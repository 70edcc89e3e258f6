"""What decides the result of an expensive stage, as a key: for caching transcription and diarisation.

Transcribing an hour of interview with Whisper on a CPU takes about an hour; re-running after a
change to annotation or rendering settings must not redo it. A stage's result depends only on
the recording's content, the settings that stage reads, the engine's version and the stage's
own code version (``STAGE_VERSION`` in its package), so those, hashed, name the cached result.
Settings that only later stages read (marks, layout, speakers' names) are left out on purpose.

The keys are used by the Prefect tasks in ``flows/``; nothing here needs Prefect.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from undertone.config import Settings
from undertone.privacy import private_dirs

if TYPE_CHECKING:
    from undertone.transcribe.known import KnownTurn

CACHE_DIR_ENV = "UNDERTONE_CACHE_DIR"

# The package whose version decides each backend's output.
ENGINE_PACKAGES = {
    "whisper": "openai-whisper",
    "pocketsphinx": "pocketsphinx",
    "pyannote": "pyannote.audio",
    "embedded": None,  # our own code: covered by the stage version
}


def default_cache_dir() -> Path:
    """Where stage results are kept: ``$UNDERTONE_CACHE_DIR``, else the user's cache folder.

    The cached results hold transcribed words, so the folder is created owner-only (see
    :func:`private_folder`).
    """
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "undertone" / "stages"


def private_folder(path: Path) -> Path:
    """Create ``path`` (and any missing parents) readable by its owner only; tighten it if it exists."""
    private_dirs(path)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def transcription_key(audio_sha256: str, settings: Settings, known: list[KnownTurn] | None = None) -> str:
    """Key of the transcription stage: recording, ASR settings (or the known transcript), engine, code."""
    from undertone.transcribe import STAGE_VERSION

    if known is not None:  # alignment of a known transcript: the ASR settings play no part
        parts: dict[str, Any] = {
            "engine": _engine_version("pocketsphinx"),
            "transcript": [asdict(turn) for turn in known],
        }
    else:
        parts = {
            "engine": _engine_version(settings.asr.backend),
            # The number of recognition processes changes how fast, not what: not part of the key.
            "asr": settings.asr.model_dump(mode="json", exclude={"processes"}),
            "models_dir": str(settings.models_dir) if settings.models_dir else None,
        }
    return _key("transcription", STAGE_VERSION, audio_sha256, parts)


def diarization_key(audio_sha256: str, settings: Settings) -> str:
    """Key of the diarisation stage: recording, diarisation settings, engine, code."""
    from undertone.diarize import STAGE_VERSION

    parts = {
        "engine": _engine_version(settings.diarization.backend),
        "diarization": settings.diarization.model_dump(mode="json"),
        "models_dir": str(settings.models_dir) if settings.models_dir else None,
    }
    return _key("diarization", STAGE_VERSION, audio_sha256, parts)


def _key(stage: str, stage_version: str, audio_sha256: str, parts: dict[str, Any]) -> str:
    """``<stage>-<sha256 of everything>``: readable in a folder listing, unique per input."""
    payload = {"stage": stage, "stage_version": stage_version, "audio": audio_sha256, **parts}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{stage}-{digest}"


def _engine_version(backend: str) -> str:
    package = ENGINE_PACKAGES.get(backend)
    if package is None:
        return backend
    try:
        return f"{package}=={version(package)}"
    except PackageNotFoundError:
        return f"{package} (not installed)"
