"""Loading recordings: formats, channels, rates, and clear errors for bad files."""

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from synth import voiced
from undertone import audio as audio_module
from undertone.audio import SAMPLE_RATE, file_sha256, load
from undertone.errors import AudioError


def _stereo(rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.stack([0.5 * np.sin(2 * np.pi * 220 * t), 0.25 * np.sin(2 * np.pi * 330 * t)], axis=1)


def test_wav_at_44k_stereo_keeps_channels_and_gives_16k_mono(tmp_path: Path):
    path = tmp_path / "two mics é.wav"
    soundfile.write(path, _stereo(44_100), 44_100, subtype="PCM_24")
    audio = load(path)
    assert (audio.sample_rate, audio.n_channels) == (44_100, 2)
    assert audio.duration == pytest.approx(1.0)
    assert len(audio.mono) == pytest.approx(SAMPLE_RATE, abs=2)
    assert audio.sha256 == file_sha256(path)


def test_flac_round_trips_samples(tmp_path: Path):
    signal = voiced(150, 0.5)
    path = tmp_path / "x.flac"
    soundfile.write(path, signal, SAMPLE_RATE)
    assert np.allclose(load(path).mono, signal, atol=1e-4)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_mp3_is_decoded_through_ffmpeg(tmp_path: Path):
    wav, mp3 = tmp_path / "x.wav", tmp_path / "x.mp3"
    soundfile.write(wav, voiced(150, 1.0), SAMPLE_RATE)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), str(mp3)], check=True)
    audio = load(mp3)
    assert audio.duration == pytest.approx(1.0, abs=0.06)  # MP3 frames pad the ends
    assert np.sqrt(np.mean(audio.mono**2)) > 0.05


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_ffmpeg_decodes_the_same_samples_through_memory_or_a_pipe(tmp_path: Path, monkeypatch):
    """ffmpeg writes into a memfd where there is one; the pipe kept for other systems agrees."""
    wav, m4a = tmp_path / "x.wav", tmp_path / "two voices.m4a"
    soundfile.write(wav, _stereo(48_000, 3.0), 48_000)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    in_memory = load(m4a)
    in_memory.channels[0, :10] = 0.0  # the mapped samples are the program's own to change
    monkeypatch.delattr(audio_module.os, "memfd_create")
    through_pipe = load(m4a)
    assert in_memory.channels.shape == through_pipe.channels.shape == (2, pytest.approx(3 * SAMPLE_RATE, abs=1100))
    assert np.array_equal(in_memory.channels[:, 10:], through_pipe.channels[:, 10:])
    assert in_memory.sample_rate == through_pipe.sample_rate == 48_000


def test_source_file_is_not_modified(tmp_path: Path):
    path = tmp_path / "x.wav"
    soundfile.write(path, voiced(150, 0.5), SAMPLE_RATE)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    load(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "file is empty"), (b"hello, this is text", "not a readable audio file"), (b"RIFF\x10\x00\x00\x00WAVEfmt ", "")],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, content: bytes, problem: str):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=f"bad.wav: .*{problem}") as caught:
        load(path)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(AudioError, match="nope.wav: file does not exist"):
        load(tmp_path / "nope.wav")


def test_mono_recording_at_the_analysis_rate_is_held_once(tmp_path: Path):
    """The analysis signal of a one-channel 16 kHz file is a view of its channel, not a copy;
    a stereo file keeps both channels beside the mix (for diarising by channel)."""
    path = tmp_path / "mono.wav"
    soundfile.write(path, voiced(150, 0.5), SAMPLE_RATE)
    audio = load(path)
    assert np.shares_memory(audio.mono, audio.channels)
    stereo = tmp_path / "stereo.wav"
    soundfile.write(stereo, np.stack([voiced(150, 0.5), voiced(220, 0.5)], axis=1), SAMPLE_RATE)
    audio = load(stereo)
    assert audio.channels.shape[0] == 2 and not np.shares_memory(audio.mono, audio.channels)


@pytest.mark.parametrize("rate", [SAMPLE_RATE, 48_000])
def test_a_header_declaring_years_of_audio_is_a_damaged_file_not_an_out_of_memory(tmp_path: Path, rate: int):
    """Memory is preallocated from the declared length, but only so far: a FLAC whose header
    claims 2^36 samples (years) gets the truncation message, not a MemoryError."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(rate // 2, np.float32), rate, format="FLAC")
    data = bytearray(buffer.getvalue())
    # STREAMINFO starts at byte 8; its total-samples field is the low 36 bits of bytes 21-25.
    field = int.from_bytes(data[21:26], "big") | ((1 << 36) - 1)
    data[21:26] = field.to_bytes(5, "big")
    path = tmp_path / "huge.flac"
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match="huge.flac: damaged or incomplete file"):
        load(path)


@pytest.mark.parametrize(("cut", "suffix"), [(20, ".flac"), (42, ".flac"), (30, ".wav")])
def test_a_file_cut_inside_its_header_is_reported_as_damaged(tmp_path: Path, cut: int, suffix: str):
    """Its first bytes say FLAC (or WAV), but the metadata stops short: not "not an audio file"."""
    buffer = io.BytesIO()
    soundfile.write(buffer, voiced(150, 0.5), SAMPLE_RATE, format="FLAC" if suffix == ".flac" else "WAV")
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(buffer.getvalue()[:cut])
    container = "FLAC" if suffix == ".flac" else "WAV"
    with pytest.raises(AudioError, match=f"cut{suffix}: damaged or incomplete {container} file") as caught:
        load(path)
    assert "\n" not in str(caught.value)
