"""Load recordings once, keep them read-only, and hand every stage the signal it needs.

Every analysis stage works on one mono signal at ``SAMPLE_RATE``; the channels are kept (at the
same rate) so that two-microphone interviews can be diarised by channel. Recordings are resampled
while they are decoded (by ffmpeg, or block by block for the formats soundfile reads), so an hour
at 48 kHz is never held whole at its own rate: that copy alone would be 0.7 GB per channel.
Clips for listening are cut from the file itself, at its own rate (:mod:`undertone.cite`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
    """A decoded recording at ``SAMPLE_RATE``; ``sample_rate`` is the file's own rate (metadata)."""

    path: Path
    sha256: str
    sample_rate: int  # the file's own rate, as reported in outputs
    channels: np.ndarray  # (n_channels, n_samples) float32 at SAMPLE_RATE, for diarising by channel
    mono: np.ndarray  # float32 at SAMPLE_RATE, the signal every stage analyses (a view of
    # ``channels`` for a one-channel recording)

    @property
    def duration(self) -> float:
        return self.channels.shape[1] / SAMPLE_RATE

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
    container = _native_container(path)
    if container is not None:  # not MP3 and the rest: libsndfile's MP3 decoder prints on stderr
        try:
            decoded = _decode_with_soundfile(path)
        except (soundfile.LibsndfileError, RuntimeError, TypeError):
            pass  # damaged, or a variant libsndfile lacks: ffmpeg may still read it
    try:
        channels, sample_rate, declared_s = decoded or _decode_with_ffmpeg(path)
    except AudioError as error:
        if container is None or not error.problem.startswith("not a readable audio file"):
            raise
        # It says what it is in its first bytes, yet neither decoder finds audio: cut short or damaged.
        raise AudioError(
            path,
            f"damaged or incomplete {container} file: it starts as one, but its header cannot be read "
            "(an interrupted copy? copy it again from the original)",
        ) from None
    decoded_s = channels.shape[1] / SAMPLE_RATE
    if declared_s is not None and declared_s - decoded_s > TRUNCATION_TOLERANCE_S:
        raise AudioError(
            path,
            f"damaged or incomplete file: its header promises {_clock(declared_s)} of audio but only "
            f"{_clock(decoded_s)} can be read (an interrupted copy? copy it again from the original)",
        )
    if channels.shape[1] == 0:
        raise AudioError(path, "contains no audio samples")
    if not np.isfinite(channels).all():
        raise AudioError(path, "contains invalid (non-finite) samples")
    return Audio(path=path, sha256=file_sha256(path), sample_rate=sample_rate, channels=channels, mono=mix(channels))


def from_array(samples: np.ndarray, sample_rate: int, path: str | Path = "<memory>") -> Audio:
    """Wrap an in-memory signal (mono 1-D or channels-first 2-D) as an :class:`Audio`."""
    samples = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    digest = hashlib.sha256(samples.tobytes()).hexdigest()
    channels = resample(samples, sample_rate)
    return Audio(path=Path(path), sha256=digest, sample_rate=sample_rate, channels=channels, mono=mix(channels))


def resample(channels: np.ndarray, sample_rate: int) -> np.ndarray:
    """Channels-first float32 samples at ``SAMPLE_RATE`` (the input itself if already there)."""
    if sample_rate == SAMPLE_RATE:
        return channels
    import soxr

    resampled = soxr.resample(np.ascontiguousarray(channels.T), sample_rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(np.asarray(resampled, dtype=np.float32).reshape(-1, channels.shape[0]).T)


def mix(channels: np.ndarray) -> np.ndarray:
    """The mono analysis signal: the channels' average (a view of the only channel of a mono file)."""
    if channels.shape[0] == 1:
        return channels[0]
    return channels.mean(axis=0, dtype=np.float32)


# Formats soundfile reads are decoded and resampled this many seconds at a time.
_BLOCK_S = 30
# Output arrays are preallocated from the length a header declares, but never beyond this many
# float32 values (1 GiB) at first: a damaged header can declare years; longer audio grows the array.
_MAX_PREALLOCATED = 1 << 28


def _decode_with_soundfile(path: Path) -> tuple[np.ndarray, int, float | None]:
    """Channels at ``SAMPLE_RATE``, the file's rate, and the duration its header declares (s)."""
    with soundfile.SoundFile(str(path)) as handle:
        sample_rate, declared_frames, container = int(handle.samplerate), handle.frames, handle.format
        n_channels = handle.channels
        _check_rate(path, sample_rate)
        channels = _read_blocks(handle, sample_rate, n_channels)
    if container in ("WAV", "WAVEX"):  # libsndfile shortens a cut WAV's length to what is there
        declared_frames = _wav_declared_frames(path) or declared_frames
    declared_s = declared_frames / sample_rate
    return channels, sample_rate, declared_s


def _read_blocks(handle: soundfile.SoundFile, sample_rate: int, n_channels: int) -> np.ndarray:
    """Read (and resample) block by block, so the file's own rate is never held whole, and a
    header's length is trusted only up to ``_MAX_PREALLOCATED``."""
    import soxr

    resampler = None
    if sample_rate != SAMPLE_RATE:
        resampler = soxr.ResampleStream(sample_rate, SAMPLE_RATE, n_channels, dtype="float32", quality="HQ")
    expected = int(np.ceil(handle.frames * SAMPLE_RATE / sample_rate)) + SAMPLE_RATE
    out = np.empty((min(expected, _MAX_PREALLOCATED // n_channels), n_channels), dtype=np.float32)
    filled = 0
    while True:
        block = handle.read(_BLOCK_S * sample_rate, dtype="float32", always_2d=True)
        last = len(block) < _BLOCK_S * sample_rate
        piece = resampler.resample_chunk(block, last=last) if resampler else block
        if filled + len(piece) > len(out):  # a header that understated the length
            out = np.concatenate([out[:filled], np.empty((len(piece) + len(out), n_channels), np.float32)])
        out[filled : filled + len(piece)] = piece
        filled += len(piece)
        if last:
            return np.ascontiguousarray(out[:filled].T)


def _check_rate(path: Path, sample_rate: int) -> None:
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(path, f"damaged file: its header gives an impossible sample rate ({sample_rate} Hz)")


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
    """Decode compressed formats (MP3, M4A, ...) with ffmpeg, resampled to ``SAMPLE_RATE`` as it
    decodes; returns the channels, the file's own rate, and the stream duration the container
    declares (s), unless ffprobe only estimated it from the bit rate.
    """
    sample_rate, n_channels, declared_s = probe(path)
    channels = ffmpeg_decode(path, n_channels, SAMPLE_RATE, expected_s=declared_s)
    return channels, sample_rate, declared_s


def probe(path: Path) -> tuple[int, int, float | None]:
    """The first audio stream's rate, channel count and declared duration (s), by ffprobe."""
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise AudioError(path, "not a format soundfile reads, and ffmpeg is not installed")
    probed = subprocess.run(
        [
            "ffprobe", "-v", "warning", "-select_streams", "a:0",
            "-show_entries", "stream=sample_rate,channels,duration", "-of", "json", str(path),
        ],
        capture_output=True,
        text=True,
        errors="replace",
    )
    if "moov atom not found" in probed.stderr:
        raise AudioError(
            path,
            "incomplete MP4/M4A file: its index (moov atom) is missing, as when a recording app "
            "stopped abruptly or a copy was cut short (copy it again from the original)",
        )
    try:
        stream = json.loads(probed.stdout)["streams"][0]
        sample_rate, n_channels = int(stream["sample_rate"]), int(stream["channels"])
    except (ValueError, KeyError, IndexError, TypeError):
        sample_rate = n_channels = 0
    if probed.returncode != 0 or sample_rate <= 0 or n_channels <= 0:
        raise AudioError(path, "not a readable audio file (no audio stream found)")
    _check_rate(path, sample_rate)
    try:
        declared_s = None if "from bitrate" in probed.stderr else float(stream["duration"])
    except (KeyError, TypeError, ValueError):
        declared_s = None
    return sample_rate, n_channels, declared_s


def ffmpeg_decode(
    path: Path,
    n_channels: int,
    sample_rate: int,
    *,
    start_s: float = 0.0,
    duration_s: float | None = None,
    expected_s: float | None = None,
) -> np.ndarray:
    """Channels-first float32 samples of the first audio stream at ``sample_rate`` (ffmpeg resamples),
    optionally only ``duration_s`` from ``start_s``.

    ffmpeg writes into an anonymous in-memory file (``memfd``: RAM only, nothing on disk) that
    is then mapped as the array: no copy, and ffmpeg never waits for a reader. Through a pipe,
    the two processes take turns at every 64 KiB, which made loading 1.7x ffmpeg's own time;
    the pipe remains for systems without ``memfd_create``, read straight into one array sized
    from ``expected_s``.
    """
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    if start_s > 0:
        command += ["-ss", f"{start_s:.6f}"]
    command += ["-i", str(path), "-map", "0:a:0"]
    if duration_s is not None:
        command += ["-t", f"{duration_s:.6f}"]
    command += ["-ar", str(sample_rate), "-f", "f32le", "-acodec", "pcm_f32le"]
    with tempfile.TemporaryFile() as errors:
        if hasattr(os, "memfd_create"):
            returncode, samples = _decode_to_memory(command, errors)
        else:
            span_s = duration_s if duration_s is not None else expected_s
            capacity = (int((span_s or 60.0) * sample_rate) + sample_rate) * n_channels
            returncode, samples = _decode_through_pipe(command, errors, capacity)
        errors.seek(0)
        stderr = errors.read()
    if returncode != 0:
        raise AudioError(path, f"damaged or unsupported audio: it cannot be decoded{_ffmpeg_reason(stderr)}")
    usable = len(samples) - len(samples) % n_channels
    interleaved = samples[:usable].reshape(-1, n_channels)
    return interleaved.T.copy() if n_channels > 1 else interleaved.T  # (1, n) is already contiguous


def _decode_to_memory(command: list[str], errors: BinaryIO) -> tuple[int, np.ndarray]:
    """Run ffmpeg writing into a memfd; its float samples as a (copy-on-write) mapped array."""
    import mmap

    fd = os.memfd_create("undertone-decode", os.MFD_CLOEXEC)
    try:
        run = subprocess.run([*command, f"/dev/fd/{fd}"], pass_fds=(fd,), stdout=subprocess.DEVNULL, stderr=errors)
        size = os.fstat(fd).st_size // 4 * 4
        if size == 0:
            return run.returncode, np.empty(0, dtype=np.float32)
        mapped = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        return run.returncode, np.frombuffer(mapped, dtype=np.float32)
    finally:
        os.close(fd)  # the mapping keeps the memory until the array is gone


def _decode_through_pipe(command: list[str], errors: BinaryIO, capacity: int) -> tuple[int, np.ndarray]:
    with subprocess.Popen([*command, "-"], stdout=subprocess.PIPE, stderr=errors) as process:
        assert process.stdout is not None
        samples = _read_floats(process.stdout, capacity)
    return process.returncode, samples


def _read_floats(stream: BinaryIO, capacity: int) -> np.ndarray:
    """Every float32 in ``stream``, read into a preallocated array (doubled when full)."""
    buffer = np.empty(min(max(capacity, 1024), _MAX_PREALLOCATED), dtype=np.float32)
    view, filled = memoryview(buffer).cast("B"), 0  # filled: bytes
    while count := stream.readinto(view[filled:]):
        filled += count
        if filled == len(view):
            buffer = np.concatenate([buffer, np.empty_like(buffer)])
            view = memoryview(buffer).cast("B")
    samples = buffer[: filled // 4]
    return samples.copy() if len(samples) < 0.75 * len(buffer) else samples  # do not pin unused memory


# WAV (RIFF, RF64), FLAC, Ogg and AIFF open with soundfile; their first bytes say what they are.
_NATIVE_MAGIC = {b"RIFF": "WAV", b"RF64": "WAV", b"fLaC": "FLAC", b"OggS": "Ogg", b"FORM": "AIFF"}


def _native_container(path: Path) -> str | None:
    """The container soundfile should decode the file as (whatever its name says), or None for ffmpeg."""
    with open(path, "rb") as handle:
        return _NATIVE_MAGIC.get(handle.read(4))


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
