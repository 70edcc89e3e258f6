"""Errors a user can act on: each names the file and the problem, and has its own exit code."""

from __future__ import annotations

from pathlib import Path


class UndertoneError(Exception):
    """Base class: ``str(error)`` is the one line shown to the user."""

    exit_code = 1

    def __init__(self, path: Path | str | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class AudioError(UndertoneError):
    """The recording cannot be read or used."""

    exit_code = 3


class TranscriptFileError(UndertoneError):
    """A known-transcript file is empty, malformed, or does not match the audio."""

    exit_code = 4


class ConfigError(UndertoneError):
    """A profile, config file or sidecar is malformed."""

    exit_code = 5


class ModelUnavailableError(UndertoneError):
    """A model the profile needs is neither present locally nor downloadable."""

    exit_code = 6


class OutputError(UndertoneError):
    """Outputs cannot be written (unwritable folder, full disk)."""

    exit_code = 7


def is_transient(error: BaseException) -> bool:
    """Might the same work succeed if simply tried again? Decides whether a stage is retried.

    Yes for a dropped connection or timeout (fetching a model, a shared drive) and for running
    out of GPU memory while another job holds it. Never for a problem with the input
    (an :class:`UndertoneError`): a bad recording stays bad however often it is read.
    """
    if isinstance(error, UndertoneError):
        return False
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()  # torch's CUDA OOM
