"""Tiny randomly initialised models, saved in the real formats, for tests of the loading code.

No official Whisper checkpoint or pyannote pipeline can be downloaded here, so tests build
models of the real architectures with random weights and save them exactly as the real files
are laid out. Random weights give meaningless words and speakers: tests check structure.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import whisper
import yaml

CHUNK_S = 2.0  # segmentation window of the test pyannote model (the real one uses 10 s)


def tiny_whisper_checkpoint(path: Path) -> Path:
    """Save a randomly initialised, multilingual Whisper of a few MB in whisper's .pt format.

    ``n_text_ctx`` is 32 rather than the real 448: whisper decodes up to ``n_text_ctx // 2``
    tokens per window, and random weights rarely stop early, so 448 would make each of the six
    fallback temperatures decode 224 tokens per window.
    """
    dims = whisper.model.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
        n_vocab=51865, n_text_ctx=32, n_text_state=64, n_text_head=2, n_text_layer=1,
    )
    torch.manual_seed(0)
    model = whisper.model.Whisper(dims)
    with torch.no_grad():
        # Whisper allocates this with torch.empty (real checkpoints overwrite it): leaving it
        # uninitialised gives NaN logits at random.
        model.decoder.positional_embedding.normal_(0.0, 0.02)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def save_pyannote_model(model, path: Path) -> None:
    """Save a model as the Lightning checkpoint ``Model.from_pretrained`` reads (no Trainer)."""
    import lightning

    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(checkpoint)  # adds pyannote's versions, architecture, specifications
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def random_pipeline_folder(folder: Path) -> Path:
    """A community-1-shaped pipeline folder with random segmentation, embedding and PLDA."""
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(0)
    segmentation = PyanNet(
        sincnet={"stride": 10},
        lstm={"hidden_size": 32, "num_layers": 1},
        linear={"hidden_size": 32, "num_layers": 1},
    )
    # As pyannote/segmentation-3.0: 3 local speakers, at most 2 at once, as a powerset.
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=CHUNK_S,
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    segmentation.build()
    save_pyannote_model(segmentation, folder / "segmentation" / "pytorch_model.bin")

    embedding = WeSpeakerResNet34()  # the community-1 architecture, 256-dimensional
    embedding.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=CHUNK_S
    )
    embedding.build()
    save_pyannote_model(embedding, folder / "embedding" / "pytorch_model.bin")

    save_random_plda(folder / "plda", dimension=256, lda_dimension=128)

    config = {
        "dependencies": {"pyannote.audio": "4.0.0"},
        "pipeline": {
            "name": "pyannote.audio.pipelines.SpeakerDiarization",
            "params": {
                "segmentation": "$model/segmentation",
                "embedding": "$model/embedding",
                "plda": "$model/plda",
                "clustering": "VBxClustering",
                "embedding_exclude_overlap": True,
                "segmentation_step": 0.5,  # fewer chunks than the real 0.1: a faster test
            },
        },
        "params": {
            "segmentation": {"min_duration_off": 0.0},
            "clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8},
        },
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def save_random_plda(folder: Path, dimension: int, lda_dimension: int) -> None:
    """VBx's x-vector transform and PLDA, in the two .npz files pyannote's PLDA loads."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(
        folder / "xvec_transform.npz",
        mean1=rng.normal(size=dimension),
        mean2=rng.normal(size=lda_dimension) * 0.1,
        lda=rng.normal(size=(dimension, lda_dimension)) / np.sqrt(dimension),
    )
    rotation, _ = np.linalg.qr(rng.normal(size=(lda_dimension, lda_dimension)))
    np.savez(
        folder / "plda.npz",
        mu=np.zeros(lda_dimension),
        tr=rotation,
        psi=np.sort(rng.uniform(0.5, 5.0, size=lda_dimension))[::-1],
    )
