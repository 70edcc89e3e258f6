"""The default profile (Whisper + pyannote) through the command line, with a local model folder.

The official models cannot be downloaded here, so the model folder holds tiny random models in
the real file layout: Whisper's ``<name>.pt`` and the pyannote pipeline folder. This exercises
the same code path a user with an air-gapped ``models_dir`` takes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from synth import SR, silence, voiced
from undertone.cli import app
from undertone.errors import ModelUnavailableError
from undertone.model import json_schema

runner = CliRunner()


def _config(tmp_path: Path, models_dir: Path) -> Path:
    config = tmp_path / "air-gapped.toml"
    config.write_text(f'models_dir = "{models_dir}"\n')
    return config


def _recording(tmp_path: Path) -> Path:
    path = tmp_path / "short interview.wav"
    signal = np.concatenate([silence(0.5), voiced(110, 2.0), silence(0.8), voiced(230, 2.0), silence(0.5)])
    soundfile.write(path, signal, SR)
    return path


def test_missing_models_stop_with_what_to_download_and_where(tmp_path: Path):
    import whisper

    empty = tmp_path / "models"
    empty.mkdir()
    result = runner.invoke(
        app, ["process", str(_recording(tmp_path)), "--out", str(tmp_path / "out"),
              "--config", str(_config(tmp_path, empty))]
    )
    assert result.exit_code == ModelUnavailableError.exit_code
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert whisper._MODELS["turbo"] in message and str(empty) in message
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_default_profile_runs_from_a_local_model_folder(tmp_path: Path):
    import torch

    from tiny_models import random_pipeline_folder, tiny_whisper_checkpoint
    from undertone.diarize import pyannote_backend

    models = tmp_path / "models"
    tiny_whisper_checkpoint(models / "turbo.pt")
    pipeline = random_pipeline_folder(tmp_path / "pipeline")
    shutil.copytree(pipeline, pyannote_backend.local_pipeline_folder(pyannote_backend.DEFAULT_MODEL, models))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only add overhead on a busy machine
    try:
        result = runner.invoke(
            app, ["process", str(_recording(tmp_path)), "--out", str(tmp_path / "out"),
                  "--config", str(_config(tmp_path, models)), "--speakers", "2", "--language", "en"]
        )
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "out" / "short interview.json").read_text())
    jsonschema.validate(document, json_schema())
    assert document["pipeline"]["asr"]["backend"] == "whisper"
    assert document["pipeline"]["diarization"] == {"backend": "pyannote", "model": pyannote_backend.DEFAULT_MODEL}
    assert document["pipeline"]["config"]["models_dir"] == str(models)
    for word in document["words"]:  # random weights: arbitrary words, but well-formed ones
        assert 0.0 <= word["start"] <= word["end"] <= document["source"]["duration"] + 0.01
    assert (tmp_path / "out" / "short interview.txt").read_text().startswith("undertone transcript")


@pytest.mark.slow
def test_prefect_flow_runs_the_default_profile_from_a_local_model_folder(tmp_path: Path, prefect_api: str):
    import torch

    from flows.process_recording import process_recording
    from tiny_models import random_pipeline_folder, tiny_whisper_checkpoint
    from undertone.diarize import pyannote_backend

    models = tmp_path / "models"
    tiny_whisper_checkpoint(models / "turbo.pt")
    shutil.copytree(
        random_pipeline_folder(tmp_path / "pipeline"),
        pyannote_backend.local_pipeline_folder(pyannote_backend.DEFAULT_MODEL, models),
    )
    out = tmp_path / "out"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads only add overhead on a busy machine
    try:
        outcome = process_recording(
            _recording(tmp_path), out, profile="default", config=_config(tmp_path, models),
            speakers=2, language="en", cache_dir=tmp_path / "cache",
        )
    finally:
        torch.set_num_threads(threads)
    written = outcome.written
    assert outcome.status == "processed"
    names = {p.name for p in written}
    assert {"short interview.json", "short interview.txt", "short interview.html",
            "short interview.frames.csv"} <= names
    assert all(p.is_file() and p.parent == out for p in written)
    document = json.loads((out / "short interview.json").read_text())
    jsonschema.validate(document, json_schema())
    assert document["pipeline"]["profile"] == "default"
    assert document["pipeline"]["asr"]["backend"] == "whisper"
    assert document["pipeline"]["diarization"] == {"backend": "pyannote", "model": pyannote_backend.DEFAULT_MODEL}
    assert document["pipeline"]["config"]["models_dir"] == str(models)


def test_models_command_says_what_is_missing_and_where_it_goes(tmp_path: Path):
    import whisper

    from undertone.diarize import pyannote_backend

    models = tmp_path / "models"
    models.mkdir()
    config = _config(tmp_path, models)
    result = runner.invoke(app, ["models", "--config", str(config)])
    assert result.exit_code == ModelUnavailableError.exit_code
    assert whisper._MODELS["turbo"] in result.output
    assert str(models / "large-v3-turbo.pt") in result.output
    assert f"--local-dir {models / 'pyannote' / 'speaker-diarization-community-1'}" in result.output

    # The files in place (contents are not checked here: loading is tested above).
    (models / "large-v3-turbo.pt").write_bytes(b"checkpoint")
    folder = pyannote_backend.local_pipeline_folder(pyannote_backend.DEFAULT_MODEL, models)
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("pipeline: {}\n")
    result = runner.invoke(app, ["models", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.output.count("present") == 2


def test_offline_profile_needs_no_downloads():
    result = runner.invoke(app, ["models", "--profile", "offline"])
    assert result.exit_code == 0
    assert "MISSING" not in result.output
