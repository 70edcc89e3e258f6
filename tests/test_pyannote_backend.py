"""pyannote backend: loading, running on the in-memory waveform, telemetry, and failures.

The real pipeline is gated and cannot be downloaded here, so the tests build a pipeline folder
in the layout of ``pyannote/speaker-diarization-community-1`` (``config.yaml`` plus
``segmentation/``, ``embedding/`` and ``plda/``) from randomly initialised models, and load it
through undertone's code. Random weights give meaningless speakers: the tests check structure.
"""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from undertone.audio import SAMPLE_RATE
from undertone.diarize import Diarization
from undertone.errors import ModelUnavailableError
from undertone.privacy import TELEMETRY_OFF, disable_telemetry

disable_telemetry()  # as the CLI does, before pyannote.audio is imported
torch = pytest.importorskip("torch")
pytest.importorskip("pyannote.audio")

import yaml  # noqa: E402
from huggingface_hub import errors as hub_errors  # noqa: E402
from pyannote.audio.telemetry import metrics  # noqa: E402
from pyannote.core import Annotation, Segment  # noqa: E402

from undertone.diarize import pyannote_backend as pb  # noqa: E402
from tiny_models import random_pipeline_folder  # noqa: E402

HUB_ID = pb.DEFAULT_MODEL


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """Tiny models gain nothing from threads, and on a busy machine OpenMP waits dominate."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def pipeline_folder(tmp_path_factory) -> Path:
    return random_pipeline_folder(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, pipeline_folder) -> Path:
    """A models folder holding the random pipeline where community-1 is expected."""
    import shutil

    folder = tmp_path_factory.mktemp("models")
    shutil.copytree(pipeline_folder, pb.local_pipeline_folder(HUB_ID, folder))
    return folder


@pytest.fixture
def offline(monkeypatch):
    """The hub is unreachable, as on an air-gapped machine (and in this sandbox)."""
    from pyannote.audio.utils import hf_hub

    calls = []

    def unreachable(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs.get("token")))
        raise hub_errors.LocalEntryNotFoundError(
            "An error happened while trying to locate the file on the Hub and we cannot find "
            "the requested files in the local cache."
        )

    monkeypatch.setattr(hf_hub, "hf_hub_download", unreachable)
    pb.clear_pipeline_cache()
    return calls


@pytest.fixture
def no_file_decoding(monkeypatch):
    """pyannote must work on our waveform, never decode a file itself (torchcodec)."""
    from pyannote.audio.core import io

    monkeypatch.setattr(io, "AudioDecoder", mock.Mock(side_effect=AssertionError("decoded a file")))


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=int(seconds * SAMPLE_RATE)) * 0.1).astype(np.float32)


def tone_then_noise(seconds: float) -> np.ndarray:
    """Two acoustically different halves, so random embeddings can still tell them apart."""
    half = int(seconds * SAMPLE_RATE / 2)
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(half) / SAMPLE_RATE)
    return np.concatenate([tone, noise(seconds / 2)]).astype(np.float32)


def assert_well_formed(diarization: Diarization, duration: float) -> None:
    assert isinstance(diarization, Diarization)
    assert diarization.backend == "pyannote"
    assert isinstance(diarization.annotation, Annotation)
    assert isinstance(diarization.exclusive, Annotation)
    for annotation in (diarization.annotation, diarization.exclusive):
        for turn, _, label in annotation.itertracks(yield_label=True):
            assert 0.0 <= turn.start < turn.end <= duration
            assert isinstance(label, str)
    assert set(diarization.exclusive.labels()) <= set(diarization.annotation.labels())
    assert not diarization.exclusive.get_overlap()  # one speaker at a time


# ---------------------------------------------------------------------------------------------
# End to end with the random pipeline


def test_diarize_runs_on_the_waveform_from_a_local_folder(
    pipeline_folder, offline, no_file_decoding
):
    duration = 3.0

    diarization = pb.diarize(noise(duration), SAMPLE_RATE, model=str(pipeline_folder), device="cpu")

    assert_well_formed(diarization, duration)
    assert diarization.annotation  # the seeded random model does mark speech
    assert diarization.model == str(pipeline_folder)
    assert offline == []  # nothing was asked of the hub


def test_models_dir_holds_the_hub_pipeline_for_air_gapped_machines(models_dir, offline):
    diarization = pb.diarize(noise(2.0), SAMPLE_RATE, models_dir=models_dir, device="cpu")

    assert_well_formed(diarization, 2.0)
    assert diarization.model == HUB_ID  # reported by its id, wherever it was loaded from
    assert offline == []


def test_loaded_pipelines_are_reused(pipeline_folder, offline):
    first = pb.load_pipeline(str(pipeline_folder), device="cpu")

    assert pb.load_pipeline(str(pipeline_folder), device="cpu") is first


def test_speaker_count_settings_are_honoured(pipeline_folder, offline):
    audio = tone_then_noise(6.0)

    two = pb.diarize(audio, model=str(pipeline_folder), num_speakers=2, device="cpu")
    one = pb.diarize(audio, model=str(pipeline_folder), max_speakers=1, device="cpu")

    assert_well_formed(two, 6.0)
    assert len(two.annotation.labels()) == 2
    assert len(one.annotation.labels()) == 1


def test_telemetry_stays_off_even_when_the_user_turned_it_on(pipeline_folder, offline, monkeypatch):
    monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", "true")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "0")
    spans = mock.MagicMock()
    exports = mock.Mock()
    monkeypatch.setattr(metrics.tracer, "start_as_current_span", spans)
    monkeypatch.setattr(metrics.exporter, "export", exports)
    assert metrics.is_metrics_enabled()

    pb.diarize(noise(2.0), model=str(pipeline_folder), device="cpu")  # loads (cache cleared), runs

    assert not metrics.is_metrics_enabled()
    spans.assert_not_called()  # no pipeline-init, model-init or pipeline-apply span
    exports.assert_not_called()
    for name, value in TELEMETRY_OFF.items():
        assert os.environ[name] == value

    # The spy would have seen a span had metrics been on: the check above is not vacuous.
    monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", "true")
    metrics.track_pipeline_init(object())
    spans.assert_called_once()


def test_disable_telemetry_forces_every_switch(monkeypatch):
    for name in TELEMETRY_OFF:
        monkeypatch.setenv(name, "true")

    disable_telemetry()

    assert {name: os.environ[name] for name in TELEMETRY_OFF} == TELEMETRY_OFF
    assert not metrics.is_metrics_enabled()


# ---------------------------------------------------------------------------------------------
# Finding the pipeline and failing helpfully


def test_resolve_pipeline_prefers_local_copies(models_dir, pipeline_folder, tmp_path):
    assert pb.resolve_pipeline(HUB_ID, None) == HUB_ID
    nested = models_dir / "pyannote" / "speaker-diarization-community-1"
    assert pb.resolve_pipeline(HUB_ID, models_dir) == nested
    assert pb.resolve_pipeline(str(pipeline_folder), None) == pipeline_folder
    config = pipeline_folder / "config.yaml"
    assert pb.resolve_pipeline(str(config), None) == config
    flat = tmp_path / "pyannote--speaker-diarization-community-1"
    flat.mkdir()
    (flat / "config.yaml").write_text("pipeline: {}")
    assert pb.resolve_pipeline(HUB_ID, tmp_path) == flat
    assert pb.resolve_pipeline(HUB_ID, tmp_path / "empty") == HUB_ID


def test_hub_model_without_network_says_how_to_get_it(offline, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_from_environment")

    with pytest.raises(ModelUnavailableError) as error:
        pb.diarize(noise(1.0), device="cpu")

    message = str(error.value)
    assert HUB_ID in message
    assert f"https://huggingface.co/{HUB_ID}" in message and "HF_TOKEN" in message
    assert f"hf download {HUB_ID} --local-dir <models_dir>/{HUB_ID}" in message
    assert "models_dir" in message and "cannot be reached" in message
    assert offline and offline[0][2] == "hf_from_environment"  # the token came from HF_TOKEN


def test_missing_model_in_models_dir_names_the_folder(offline, tmp_path):
    with pytest.raises(ModelUnavailableError) as error:
        pb.load_pipeline(HUB_ID, models_dir=tmp_path, token="hf_given", device="cpu")

    expected = tmp_path / "pyannote" / "speaker-diarization-community-1"
    assert error.value.path == expected
    assert f"--local-dir {expected}" in str(error.value)
    assert offline[0][2] == "hf_given"


def test_gated_model_says_to_accept_its_conditions(monkeypatch):
    from pyannote.audio.utils import hf_hub

    def gated(*args, **kwargs):
        raise hub_errors.GatedRepoError("401 Client Error. Cannot access gated repo.", response=mock.Mock())

    monkeypatch.setattr(hf_hub, "hf_hub_download", gated)
    pb.clear_pipeline_cache()

    with pytest.raises(ModelUnavailableError, match="gated.*accept the model's conditions"):
        pb.load_pipeline(HUB_ID, device="cpu")


def test_missing_or_broken_local_folders(tmp_path, offline):
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        pb.load_pipeline(str(tmp_path / "nowhere" / "pipeline"), device="cpu")
    with pytest.raises(ModelUnavailableError, match="no config.yaml"):
        pb.load_pipeline(str(tmp_path), device="cpu")
    pipeline = {
        "name": "pyannote.audio.pipelines.SpeakerDiarization",
        "params": {"segmentation": "$model/segmentation"},  # a folder that is not there
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"pipeline": pipeline}))
    with pytest.raises(ModelUnavailableError) as error:
        pb.load_pipeline(str(tmp_path), device="cpu")
    assert error.value.path == tmp_path


def test_waveform_shapes():
    assert tuple(pb._waveform(np.zeros(10)).shape) == (1, 10)
    assert tuple(pb._waveform(np.zeros((2, 10))).shape) == (2, 10)
    assert pb._waveform(np.zeros(10, dtype=np.float64)).dtype == torch.float32
    with pytest.raises(ValueError):
        pb._waveform(np.zeros(0))


def test_legacy_output_is_a_bare_annotation():
    annotation = Annotation()
    annotation[Segment(0, 1)] = "A"

    assert pb._annotations(annotation) == (annotation, None)
