"""pyannote.audio diarisation (default profile): who spoke when, overlaps included.

The pipeline is a Hugging Face model id (gated: its conditions must be accepted on
huggingface.co and an access token given) or a local folder holding the pipeline's
``config.yaml`` and the model folders it refers to, which is how air-gapped machines get it.
With ``models_dir``, ``<models_dir>/<owner>/<name>`` (the folder ``hf download <id>
--local-dir`` fills) is looked for before the hub.

pyannote.audio 4 reports usage metrics by default; undertone switches them off before pyannote is
imported and before every run (see :mod:`undertone.privacy`).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from undertone.audio import SAMPLE_RATE
from undertone.diarize import Diarization
from undertone.device import select_device
from undertone.errors import ModelUnavailableError
from undertone.privacy import disable_telemetry

if TYPE_CHECKING:
    from pyannote.audio import Pipeline

BACKEND = "pyannote"
DEFAULT_MODEL = "pyannote/speaker-diarization-community-1"
PIPELINE_CONFIG = "config.yaml"  # the file pyannote's Pipeline.from_pretrained reads

_LOADED: dict[tuple[str, str], "Pipeline"] = {}


# ---------------------------------------------------------------------------------------------
# Finding and loading the pipeline


def local_pipeline_folder(model: str, models_dir: Path) -> Path:
    """Where a downloaded copy of the hub pipeline ``model`` is expected inside ``models_dir``."""
    return Path(models_dir).expanduser().joinpath(*model.split("/"))


def resolve_pipeline(model: str, models_dir: Path | None = None) -> Path | str:
    """The local pipeline folder (or ``config.yaml``) to load, or the hub id when none is local.

    Never downloads. Raises :class:`ModelUnavailableError` when ``model`` is a path that holds
    no pipeline, since the hub cannot help with that.
    """
    path = Path(model).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        if not (path / PIPELINE_CONFIG).is_file():
            raise ModelUnavailableError(
                path, f"not a pyannote pipeline folder: it has no {PIPELINE_CONFIG}"
            )
        return path
    if _is_path(model):
        raise ModelUnavailableError(path, "pyannote pipeline folder does not exist")
    if models_dir is not None:
        for folder in (
            local_pipeline_folder(model, models_dir),
            Path(models_dir).expanduser() / model.replace("/", "--"),
        ):
            if (folder / PIPELINE_CONFIG).is_file():
                return folder
    return model


def load_pipeline(
    model: str = DEFAULT_MODEL,
    *,
    token: str | None = None,
    models_dir: Path | None = None,
    device: str = "auto",
) -> "Pipeline":
    """Load a diarisation pipeline once per (source, device) and keep it for later recordings.

    ``token`` defaults to the ``HF_TOKEN`` environment variable. Raises
    :class:`ModelUnavailableError` saying how to get the pipeline when it cannot be loaded.
    """
    disable_telemetry()
    source = resolve_pipeline(model, models_dir)
    device = select_device(device)
    key = (str(source), device)
    if key not in _LOADED:
        import torch

        pipeline = _from_pretrained(source, model, token or os.environ.get("HF_TOKEN"), models_dir)
        _LOADED[key] = pipeline.to(torch.device(device))
    return _LOADED[key]


def clear_pipeline_cache() -> None:
    """Forget loaded pipelines (frees their memory)."""
    _LOADED.clear()


def _from_pretrained(
    source: Path | str, model: str, token: str | None, models_dir: Path | None
) -> "Pipeline":
    from pyannote.audio import Pipeline

    disable_telemetry()  # now that pyannote is imported, also flips its own switch
    # pyannote prints its own advice on download failures to stdout, which is the CLI's output.
    advice = io.StringIO()
    try:
        with contextlib.redirect_stdout(advice):
            pipeline = Pipeline.from_pretrained(source, token=token)
    except Exception as error:
        raise _unavailable(source, model, models_dir, _reason(error)) from error
    if pipeline is None:
        raise _unavailable(source, model, models_dir, "pyannote returned no pipeline")
    return pipeline


def _is_path(model: str) -> bool:
    """Hub ids look like ``owner/name``; anything else with a path shape is meant as a path."""
    return (
        model.startswith((".", "/", "~"))
        or model.count("/") > 1
        or os.sep != "/" and os.sep in model
        or model.endswith(".yaml")
    )


def _reason(error: Exception) -> str:
    """One line on why loading failed, in the user's terms where the cause is known."""
    from huggingface_hub import errors

    if isinstance(error, errors.GatedRepoError):
        return (
            "the model is gated and its conditions are not accepted for this token, "
            "or no token was given"
        )
    if isinstance(error, errors.RepositoryNotFoundError):
        return "huggingface.co has no such model, or the token is missing or invalid"
    if isinstance(error, (errors.LocalEntryNotFoundError, ConnectionError, TimeoutError)):
        return (
            "huggingface.co cannot be reached and the model is not in the local "
            "Hugging Face cache"
        )
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else 'no details'}"


def _unavailable(
    source: Path | str, model: str, models_dir: Path | None, reason: str
) -> ModelUnavailableError:
    if isinstance(source, Path):
        return ModelUnavailableError(
            source,
            f"cannot be loaded as a pyannote pipeline ({reason}). The folder must hold "
            f"{PIPELINE_CONFIG} and the model folders it names, as `hf download <model id> "
            "--local-dir <folder>` creates them; download it again",
        )
    folder = local_pipeline_folder(model, models_dir or Path("<models_dir>"))
    setting = (
        f"(models_dir is {models_dir})"
        if models_dir is not None
        else "and set models_dir in the configuration to that <models_dir>"
    )
    return ModelUnavailableError(
        folder if models_dir is not None else None,
        f"pyannote pipeline '{model}' is not available ({reason}). Either accept the model's "
        f"conditions at https://huggingface.co/{model} and set the HF_TOKEN environment variable "
        "to an access token from https://huggingface.co/settings/tokens; or, for a machine "
        "without internet access, do that on another machine, run `hf download "
        f"{model} --local-dir {folder}` there (older huggingface_hub: `huggingface-cli "
        f"download`), and copy the folder to {folder} {setting}.",
    )


# ---------------------------------------------------------------------------------------------
# Diarisation


def diarize(
    samples: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    *,
    model: str = DEFAULT_MODEL,
    token: str | None = None,
    models_dir: Path | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    device: str = "auto",
) -> Diarization:
    """Speaker turns of a signal already in memory (mono, or channels-first), in seconds.

    The signal is handed to pyannote as a waveform, so the recording is not decoded twice and
    pyannote's own decoder (torchcodec) is never needed. ``num_speakers`` fixes the count;
    ``min_speakers``/``max_speakers`` bound it. Turns are clipped to the recording.
    """
    from pyannote.core import Segment

    pipeline = load_pipeline(model, token=token, models_dir=models_dir, device=device)
    disable_telemetry()  # pyannote re-reads the switch on every run; keep it off whatever happened
    waveform = _waveform(samples)
    output = pipeline(
        {"waveform": waveform, "sample_rate": sample_rate},
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )
    overlapping, exclusive = _annotations(output)
    recording = Segment(0.0, waveform.shape[-1] / sample_rate)
    return Diarization(
        annotation=overlapping.crop(recording, mode="intersection"),
        backend=BACKEND,
        model=model,
        exclusive=None if exclusive is None else exclusive.crop(recording, mode="intersection"),
    )


def _waveform(samples: np.ndarray):
    """(channels, samples) float32 tensor, the in-memory form pyannote accepts."""
    import torch

    signal = np.ascontiguousarray(samples, dtype=np.float32)
    if signal.ndim == 1:
        signal = signal[None]
    if signal.ndim != 2 or signal.shape[-1] == 0:
        raise ValueError(f"expected a non-empty (channels, samples) signal, got {signal.shape}")
    return torch.from_numpy(signal)


def _annotations(output):
    """Overlap-aware and exclusive turns from pyannote 4's output (or a bare legacy Annotation)."""
    from pyannote.core import Annotation

    if isinstance(output, Annotation):
        return output, None
    return output.speaker_diarization, getattr(output, "exclusive_speaker_diarization", None)
