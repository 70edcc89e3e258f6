"""Which model files a profile needs, which are on this machine, and where missing ones go.

Backs ``undertone models``: the first thing to run on an air-gapped machine. Never downloads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from undertone.config import Settings
from undertone.errors import ModelUnavailableError


@dataclass(frozen=True)
class ModelStatus:
    """One model a profile needs: ``present`` when it can be loaded without any download."""

    stage: str
    backend: str
    model: str
    present: bool
    where: str  # the local file or folder, or where a missing one must be put
    how: str  # what to do when missing (empty when present)


def check_models(settings: Settings) -> list[ModelStatus]:
    """The status of the speech-recognition and diarisation models that ``settings`` use."""
    return [_asr_status(settings), _diarization_status(settings)]


def _asr_status(settings: Settings) -> ModelStatus:
    asr = settings.asr
    if asr.backend == "pocketsphinx":
        from pocketsphinx import get_model_path

        return ModelStatus("transcribe", "pocketsphinx", asr.model, True, str(get_model_path()), "")
    from undertone.transcribe import whisper_backend

    try:
        found = whisper_backend.resolve_checkpoint(asr.model, settings.models_dir)
    except ModelUnavailableError as error:
        return ModelStatus("transcribe", "whisper", asr.model, False, str(error.path or ""), error.problem)
    if found is not None:
        return ModelStatus("transcribe", "whisper", asr.model, True, str(found), "")
    expected = whisper_backend.checkpoint_path(asr.model, settings.models_dir)
    url = whisper_backend.official_models()[asr.model]
    how = f"download {url} and save it as {expected}"
    if settings.models_dir is None:
        how += " (or let the first run download it there)"
    return ModelStatus("transcribe", "whisper", asr.model, False, str(expected), how)


def _diarization_status(settings: Settings) -> ModelStatus:
    options = settings.diarization
    if options.backend == "embedded":
        return ModelStatus("diarize", "embedded", "-", True, "(no model weights needed)", "")
    from undertone.diarize import pyannote_backend

    model = options.model or pyannote_backend.DEFAULT_MODEL
    try:
        found = pyannote_backend.resolve_pipeline(model, settings.models_dir)
    except ModelUnavailableError as error:
        return ModelStatus("diarize", "pyannote", model, False, str(error.path or ""), error.problem)
    if isinstance(found, Path):
        return ModelStatus("diarize", "pyannote", model, True, str(found), "")
    models_dir = settings.models_dir or Path("<models_dir>")
    folder = pyannote_backend.local_pipeline_folder(model, models_dir)
    token = "HF_TOKEN is set" if os.environ.get("HF_TOKEN") else "HF_TOKEN is not set"
    how = (
        f"accept the model's conditions on huggingface.co, then either set HF_TOKEN ({token}) so "
        f"the first run downloads it, or run `hf download {model} --local-dir {folder}` and set models_dir"
    )
    return ModelStatus("diarize", "pyannote", model, False, str(folder), how)
