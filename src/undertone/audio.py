"""Load recordings once, keep them read-only, and hand every stage the signal it needs.

Every analysis stage works on one mono signal at ``SAMPLE_RATE``; the original channels are
kept so that two-microphone interviews can be diarised by channel.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from undertone.errors import AudioError

SAMPLE_RATE = 16_000  # Hz: what Whisper, pyannote and pocketsphinx all expect
FRAME_HOP_S = 0.010  # s: analysis frame step for pitch and intensity tracks (10 ms)

_HASH_CHUNK = 1 << 20
# A file may declare more audio than it holds (an interrupted copy or download). Decoders then
# silently return what is there; a shortfall beyond this is reported instead of transcribing
# part of an interview as if it were all of it. Encoder padding (MP3, AAC) is a few tens of ms.
TRUNCATION_TOLERANCE_S = 0.5
# Rates outside this range are a damaged header, not a recording (telephone audio is 8 kHz).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4_000, 768_000  # Hz


@dataclass(frozen=True)
class Audio:
    """A decoded recording: ``channels`` is (n_channels, n_samples) float32 at its own rate."""

    path: Path
    sha256: str
    sample_rate: int
    channels: np.ndarray  # per channel, for cutting clips and for diarising by channel
    mono: np.ndarray  # float32 at SAMPLE_RATE, the signal every stage analyses (a view of
    # ``channels`` for a one-channel recording at that rate)

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
    if not _is_utf8(str(path)):
        # Every output names the recording, and text outputs are UTF-8.
        raise AudioError(path, "file or folder name is not UTF-8 text (made on another system?): rename it")
    decoded = None
    if _is_native_format(path):  # not MP3 and the rest: libsndfile's MP3 decoder prints on stderr
        try:
            decoded = _decode_with_soundfile(path)
        except (soundfile.LibsndfileError, RuntimeError, TypeError):
            pass  # damaged, or a variant libsndfile lacks: ffmpeg may still read it
    samples, sample_rate, declared_s = decoded or _decode_with_ffmpeg(path)
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(path, f"damaged file: its header gives an impossible sample rate ({sample_rate} Hz)")
    decoded_s = samples.shape[1] / sample_rate
    if declared_s is not None and declared_s - decoded_s > TRUNCATION_TOLERANCE_S:
        raise AudioError(
            path,
            f"damaged or incomplete file: its header promises {_clock(declared_s)} of audio but only "
            f"{_clock(decoded_s)} can be read (an interrupted copy? copy it again from the original)",
        )
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
    """Average the channels and resample to ``SAMPLE_RATE`` (float32, mono).

    A single float32 channel already at ``SAMPLE_RATE`` is returned as a view of ``channels``,
    not a copy: a mono recording is then held in memory once.
    """
    if channels.shape[0] == 1 and sample_rate == SAMPLE_RATE and channels.dtype == np.float32:
        return channels[0]
    mono = channels.mean(axis=0, dtype=np.float64).astype(np.float32)
    if sample_rate != SAMPLE_RATE:
        import soxr

        mono = soxr.resample(mono, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return mono


def _decode_with_soundfile(path: Path) -> tuple[np.ndarray, int, float | None]:
    """Samples (channels first), the rate, and the duration the header declares (s, if known)."""
    with soundfile.SoundFile(str(path)) as handle:
        sample_rate, declared_frames, container = int(handle.samplerate), handle.frames, handle.format
        samples = handle.read(dtype="float32", always_2d=True)
    if container in ("WAV", "WAVEX"):  # libsndfile shortens a cut WAV's length to what is there
        declared_frames = _wav_declared_frames(path) or declared_frames
    declared_s = declared_frames / sample_rate if sample_rate > 0 else None
    return np.ascontiguousarray(samples.T), sample_rate, declared_s


def _wav_declared_frames(path: Path) -> int | None:
    """Frames the RIFF ``data`` chunk of a WAV file declares, or None if it does not say.

    Recorders that stop abruptly leave 0 or 0xFFFFFFFF ("unknown") there; RF64 files keep the
    real size elsewhere. Only a definite size counts.
    """
    with open(path, "rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        block_align = None
        for _ in range(64):  # a WAV has a handful of chunks before its data
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if kind == b"fmt ":
                fmt = handle.read(size + size % 2)
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else None
            elif kind == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                handle.seek(size + size % 2, os.SEEK_CUR)
    return None


def _decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int, float | None]:
    """Decode compressed formats (MP3, M4A, ...) with ffmpeg at the file's own rate.

    Also returns the stream duration the container declares (s), unless ffprobe only estimated
    it from the bit rate.
    """
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise AudioError(path, "not a format soundfile reads, and ffmpeg is not installed")
    probe = subprocess.run(
        [
            "ffprobe", "-v", "warning", "-select_streams", "a:0",
            "-show_entries", "stream=sample_rate,channels,duration", "-of", "json", str(path),
        ],
        capture_output=True,
        text=True,
        errors="replace",
    )
    if "moov atom not found" in probe.stderr:
        raise AudioError(
            path,
            "incomplete MP4/M4A file: its index (moov atom) is missing, as when a recording app "
            "stopped abruptly or a copy was cut short (copy it again from the original)",
        )
    try:
        stream = json.loads(probe.stdout)["streams"][0]
        sample_rate, n_channels = int(stream["sample_rate"]), int(stream["channels"])
    except (ValueError, KeyError, IndexError, TypeError):
        sample_rate = n_channels = 0
    if probe.returncode != 0 or sample_rate <= 0 or n_channels <= 0:
        raise AudioError(path, "not a readable audio file (no audio stream found)")
    try:
        declared_s = None if "from bitrate" in probe.stderr else float(stream["duration"])
    except (KeyError, TypeError, ValueError):
        declared_s = None
    decoded = subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
            "-f", "f32le", "-acodec", "pcm_f32le", "-",
        ],
        capture_output=True,
    )
    if decoded.returncode != 0:
        raise AudioError(path, f"damaged or unsupported audio: it cannot be decoded{_ffmpeg_reason(decoded.stderr)}")
    samples = np.frombuffer(decoded.stdout, dtype=np.float32)
    usable = len(samples) - len(samples) % n_channels
    samples = samples[:usable].reshape(-1, n_channels).T
    return np.ascontiguousarray(samples), sample_rate, declared_s


# WAV (RIFF, RF64), FLAC, Ogg and AIFF open with soundfile; their first bytes say what they are.
_NATIVE_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS", b"FORM")


def _is_native_format(path: Path) -> bool:
    """Whether soundfile should decode the file (whatever its name says); else ffmpeg does."""
    with open(path, "rb") as handle:
        return handle.read(4) in _NATIVE_MAGIC


def _ffmpeg_reason(stderr: bytes) -> str:
    """ffmpeg's first error line, without its ``[decoder @ 0x...]`` prefix, in parentheses."""
    for line in stderr.decode(errors="replace").splitlines():
        line = re.sub(r"^\[[^\]]*\]\s*", "", line).strip()
        if line and not line.startswith("Last message repeated"):
            return f" (ffmpeg: {line[:120]})"
    return ""


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of the file name, kept as surrogates
        return False
    return True


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}" if minutes else f"{rest:.1f} s"
