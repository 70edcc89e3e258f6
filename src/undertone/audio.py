"""Load recordings once, keep them read-only, and hand every stage the signal it needs.

Every analysis stage works on one mono signal at ``SAMPLE_RATE``; the original channels are
kept so that two-microphone interviews can be diarised by channel.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from undertone.errors import AudioError

SAMPLE_RATE = 16_000  # Hz: what Whisper, pyannote and pocketsphinx all expect
FRAME_HOP_S = 0.010  # s: analysis frame step for pitch and intensity tracks (10 ms)

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Audio:
    """A decoded recording: ``channels`` is (n_channels, n_samples) float32 at its own rate."""

    path: Path
    sha256: str
    sample_rate: int
    channels: np.ndarray
    mono: np.ndarray  # float32 at SAMPLE_RATE, the signal every stage analyses

    @property
    def duration(self) -> float:
        return self.channels.shape[1] / self.sample_rate

    @property
    def n_channels(self) -> int:
        return int(self.channels.shape[0])


def file_sha256(path: Path) -> str:
    """Content hash of a file: names the recording in outputs and caches."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def load(path: str | Path) -> Audio:
    """Decode a recording (WAV/FLAC/OGG natively, anything else through ffmpeg).

    The file is opened read-only and never modified. Raises :class:`AudioError` with a message
    that names the file and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(path, "file does not exist")
    if not path.is_file():
        raise AudioError(path, "not a file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    try:
        samples, sample_rate = _decode_with_soundfile(path)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        samples, sample_rate = _decode_with_ffmpeg(path)
    if samples.shape[1] == 0:
        raise AudioError(path, "contains no audio samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError(path, "contains invalid (non-finite) samples")
    mono = to_analysis_signal(samples, sample_rate)
    return Audio(
        path=path,
        sha256=file_sha256(path),
        sample_rate=sample_rate,
        channels=samples,
        mono=mono,
    )


def from_array(samples: np.ndarray, sample_rate: int, path: str | Path = "<memory>") -> Audio:
    """Wrap an in-memory signal (mono 1-D or channels-first 2-D) as an :class:`Audio`."""
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    digest = hashlib.sha256(samples.tobytes()).hexdigest()
    return Audio(
        path=Path(path),
        sha256=digest,
        sample_rate=sample_rate,
        channels=samples,
        mono=to_analysis_signal(samples, sample_rate),
    )


def to_analysis_signal(channels: np.ndarray, sample_rate: int) -> np.ndarray:
    """Average the channels and resample to ``SAMPLE_RATE`` (float32, mono)."""
    mono = channels.mean(axis=0, dtype=np.float64).astype(np.float32)
    if sample_rate != SAMPLE_RATE:
        import soxr

        mono = soxr.resample(mono, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return mono


def _decode_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
    samples, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(samples.T), int(sample_rate)


def _decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """Decode compressed formats (MP3, M4A, ...) with ffmpeg at the file's own rate."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise AudioError(path, "not a format soundfile reads, and ffmpeg is not installed")
    probe = subprocess.run(
        [
            "ffprobe", "-v", "error", "-select_streams", "a:0",
            "-show_entries", "stream=sample_rate,channels", "-of", "csv=p=0", str(path),
        ],
        capture_output=True,
        text=True,
    )
    fields = probe.stdout.strip().split(",")
    if probe.returncode != 0 or len(fields) < 2 or not all(f.strip().isdigit() for f in fields[:2]):
        raise AudioError(path, "not a readable audio file (no audio stream found)")
    sample_rate, n_channels = int(fields[0]), int(fields[1])
    decoded = subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
            "-f", "f32le", "-acodec", "pcm_f32le", "-",
        ],
        capture_output=True,
    )
    if decoded.returncode != 0:
        reason = decoded.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(path, f"audio is corrupt or truncated ({reason[-1] if reason else 'ffmpeg failed'})")
    samples = np.frombuffer(decoded.stdout, dtype=np.float32)
    usable = len(samples) - len(samples) % n_channels
    samples = samples[:usable].reshape(-1, n_channels).T
    return np.ascontiguousarray(samples), sample_rate
