"""Where the models run: the GPU when PyTorch can use one, else the CPU."""

from __future__ import annotations


def select_device(device: str = "auto") -> str:
    """``auto`` means ``cuda`` when PyTorch sees a GPU, else ``cpu``; other values pass through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
