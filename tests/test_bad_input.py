"""Bad input, lost work and confidentiality (issue 8), through the real command line.

Every case runs ``undertone process ... --profile offline --formats txt`` on a file the test
makes. A recording that cannot be processed must give exactly one stderr line that names the
file and says the problem in plain words (no traceback, no Python exception names), its own
exit code (3 audio, 4 transcript, 5 settings, 7 outputs; see ``undertone.errors``), no output
files of its own, and must not stop the rest of the batch. Inputs that are merely unusual
(silence, noise, clipping, telephone and studio rates, six channels, late speech, odd file
names) must give a correct transcript.

Speech with known content and timing comes from espeak-ng; alignment of its known transcript
(``--transcript``) shows that the words land where the speech is, whatever the format.

Unwritable output folder: the tests run as root, for whom permission bits do not stop writes,
so the folder is put under a regular file (``file.txt/out``: "Not a directory" for root too);
the permission-bit case runs only for other users.

The ten-minute and two-hour recordings are ``slow`` (``UNDERTONE_SLOW=1``): mostly digital
silence with a few seconds of speech, processed by the full offline pipeline (measured: about
20 s and 1.5 min on two shared cores). The quick file runs in about 35 s.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from synth import SR, silence, voiced
from undertone.cli import EXIT_USAGE, app
from undertone.errors import AudioError, ConfigError, ModelUnavailableError, OutputError, TranscriptFileError, UndertoneError
from undertone.model import json_schema
from undertone.pipeline import NO_SPEECH_NOTE

runner = CliRunner()

SENTENCES = (
    ("I", "My mother never wanted me to move away."),
    ("P", "It took me three years to find a job."),
)
LEAD_S, BETWEEN_S, TAIL_S = 0.5, 0.8, 0.5  # s of silence around and between the sentences
ROOM_DBFS = -60.0  # white noise under the speech: perfectly silent gaps are unlike any room
SPAN_TOLERANCE_S = 0.15  # an aligned word may reach this far outside its sentence
PYTHON_NAMES = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b|\bErrno\b")


# Helpers --------------------------------------------------------------------------------------


def process(*arguments: str | Path, out: Path, formats: str = "txt"):
    return runner.invoke(
        app, ["process", *map(str, arguments), "--profile", "offline", "--out", str(out), "--formats", formats]
    )


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def assert_one_clear_error(result, subject: Path | str, *words: str) -> str:
    """Exactly one error line for ``subject``, saying ``words``, in a researcher's language."""
    shown = str(subject).encode("utf-8", "backslashreplace").decode()  # as stderr shows it
    mine = [line for line in error_lines(result) if shown in line]
    assert len(mine) == 1, result.stderr
    for word in words:
        assert word in mine[0], mine[0]
    assert not PYTHON_NAMES.search(result.stderr), result.stderr
    return mine[0]


def assert_no_outputs(out: Path, stem: str) -> None:
    if out.is_dir():
        leftovers = [p.name for p in out.iterdir() if p.name.startswith((f"{stem}.", f".{stem}."))]
        assert not leftovers, leftovers


def document(out: Path, stem: str) -> dict:
    data = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, json_schema())
    return data


def write(path: Path, signal: np.ndarray, rate: int = SR, subtype: str = "PCM_16") -> Path:
    soundfile.write(path, signal, rate, subtype=subtype)
    return path


def encode(source: Path, target: Path, *options: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), *options, str(target)], check=True)
    return target


def tone_speech(seconds: float = 1.0) -> np.ndarray:
    """Two voiced stretches: something for the pipeline to find, quick to process (PocketSphinx
    takes longer over a tone than over speech)."""
    half = seconds / 2
    return np.concatenate([silence(0.2), voiced(120, half - 0.3), silence(0.2), voiced(190, half - 0.3), silence(0.2)])


@dataclass(frozen=True)
class Speech:
    """Synthesised sentences laid out with known silences: the signal and each sentence's span."""

    signal: np.ndarray  # float32 at SR
    spans: list[tuple[float, float]]  # s

    def write_transcript(self, path: Path) -> Path:
        path.write_text("".join(f"{speaker}: {text}\n" for speaker, text in SENTENCES), encoding="utf-8")
        return path

    def shifted(self, seconds: float) -> Speech:
        lead = np.zeros(round(seconds * SR), np.float32)
        return Speech(np.concatenate([lead, self.signal]), [(a + seconds, b + seconds) for a, b in self.spans])


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Speech:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: it synthesises the test speech")
    import soxr

    folder = tmp_path_factory.mktemp("espeak")
    pieces, spans, clock = [np.zeros(round(LEAD_S * SR), np.float32)], [], LEAD_S
    for index, (_, text) in enumerate(SENTENCES):
        wav = folder / f"{index}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
        samples, rate = soundfile.read(wav, dtype="float32")
        voice = _trim(soxr.resample(samples, rate, SR).astype(np.float32))
        spans.append((clock, clock + len(voice) / SR))
        gap = BETWEEN_S if index < len(SENTENCES) - 1 else TAIL_S
        pieces += [voice, np.zeros(round(gap * SR), np.float32)]
        clock = spans[-1][1] + round(gap * SR) / SR
    signal = np.concatenate(pieces)
    signal += np.random.default_rng(3).standard_normal(len(signal)).astype(np.float32) * 10 ** (ROOM_DBFS / 20)
    return Speech(signal.astype(np.float32), spans)


def _trim(samples: np.ndarray) -> np.ndarray:
    """Cut espeak-ng's own leading and trailing silence, so that the sentence spans are exact."""
    hop = SR // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    energy_db = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(energy_db > energy_db.max() - 50)
    return samples[loud[0] * hop : (loud[-1] + 1) * hop]


def assert_aligned(data: dict, speech: Speech) -> None:
    """Every transcript word is timed inside its own sentence; the speakers are the transcript's."""
    words = data["words"]
    counts = [len(text.split()) for _, text in SENTENCES]
    assert len(words) == sum(counts)
    index = 0
    for (speaker, _), count, (start, end) in zip(SENTENCES, counts, speech.spans):
        for word in words[index : index + count]:
            assert start - SPAN_TOLERANCE_S <= word["start"] <= word["end"] <= end + SPAN_TOLERANCE_S, (word, start, end)
        index += count
    assert [s["label"] for s in data["speakers"]] == [speaker for speaker, _ in SENTENCES]


@pytest.fixture(scope="module")
def good_files(tmp_path_factory) -> dict[str, Path]:
    """Small valid recordings in every container the cases damage."""
    folder = tmp_path_factory.mktemp("good")
    wav = write(folder / "tone.wav", tone_speech(3.0))  # long enough for half of it to be clearly missing
    files = {"wav": wav, "flac": write(folder / "tone.flac", tone_speech(3.0))}
    if shutil.which("ffmpeg") is not None:
        files["mp3"] = encode(wav, folder / "tone.mp3")
        files["m4a"] = encode(wav, folder / "tone.m4a", "-c:a", "aac")
        files["m4a-faststart"] = encode(wav, folder / "tone-fs.m4a", "-c:a", "aac", "-movflags", "+faststart")
    return files


def _cut(source: Path, target: Path, keep: float | int) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])
    return target


# Recordings that cannot be read: exit 3, one line each, the batch goes on ----------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa" + bytes(200)

# name -> (how to make it from the good files and a folder, words the error line must contain)
UNREADABLE = {
    "empty.wav": (lambda good, d: (d / "empty.wav").write_bytes(b""), ["file is empty"]),
    "empty.m4a": (lambda good, d: (d / "empty.m4a").write_bytes(b""), ["file is empty"]),
    "half.wav": (lambda good, d: _cut(good["wav"], d / "half.wav", 0.5), ["damaged or incomplete", "copy it again"]),
    "header only.wav": (lambda good, d: _cut(good["wav"], d / "header only.wav", 44), ["damaged or incomplete"]),
    "half.flac": (lambda good, d: _cut(good["flac"], d / "half.flac", 0.5), ["damaged or incomplete"]),
    "half.mp3": (lambda good, d: _cut(good["mp3"], d / "half.mp3", 0.5), ["damaged or incomplete"]),
    "half.m4a": (lambda good, d: _cut(good["m4a"], d / "half.m4a", 0.5), ["incomplete MP4/M4A", "copy it again"]),
    "half-faststart.m4a": (
        lambda good, d: _cut(good["m4a-faststart"], d / "half-faststart.m4a", 0.5), ["damaged or incomplete"]
    ),
    "notes.wav": (lambda good, d: (d / "notes.wav").write_text("Interview notes, not audio.\n"), ["not a readable audio file"]),
    "photo.mp3": (lambda good, d: (d / "photo.mp3").write_bytes(PNG), ["not a readable audio file"]),
    "photo.flac": (lambda good, d: (d / "photo.flac").write_bytes(PNG), ["not a readable audio file"]),
    "missing.wav": (lambda good, d: None, ["file does not exist"]),
    "a folder.wav": (lambda good, d: (d / "a folder.wav").mkdir(), ["not a file"]),
    "latin1-\udce9.wav": (  # a name in Latin-1 bytes, as copied from an old system
        lambda good, d: shutil.copy(good["wav"], d / "latin1-\udce9.wav"), ["name is not UTF-8"]
    ),
}


def _make_unreadable(name: str, good: dict[str, Path], folder: Path) -> Path:
    if ("mp3" in name or "m4a" in name) and "mp3" not in good:
        pytest.skip("ffmpeg is not installed")
    make, _ = UNREADABLE[name]
    make(good, folder)
    return folder / name


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_recording_gets_one_clear_error_and_exit_3(name: str, good_files, tmp_path: Path):
    path = _make_unreadable(name, good_files, tmp_path)
    out = tmp_path / "out"
    result = process(path, out=out)
    assert result.exit_code == AudioError.exit_code
    assert len(error_lines(result)) == 1
    assert_one_clear_error(result, path, *UNREADABLE[name][1])
    assert_no_outputs(out, path.stem)


def test_a_batch_of_bad_recordings_still_processes_the_good_one(good_files, tmp_path: Path):
    names = sorted(n for n in UNREADABLE if "mp3" in good_files or not ("mp3" in n or "m4a" in n))
    bad = [_make_unreadable(name, good_files, tmp_path) for name in names]
    good = write(tmp_path / "good one.wav", tone_speech())
    out = tmp_path / "out"
    result = process(*bad[:3], good, *bad[3:], out=out)
    assert result.exit_code == AudioError.exit_code
    assert len(error_lines(result)) == len(bad)
    for path, name in zip(bad, names):
        assert_one_clear_error(result, path, *UNREADABLE[name][1])
        assert_no_outputs(out, path.stem)
    assert f"done: {good}" in result.stderr
    assert document(out, "good one")["source"]["duration"] == pytest.approx(1.0, abs=0.01)
    assert (out / "good one.txt").is_file()


# Unusual but valid recordings: a correct transcript -------------------------------------------


def test_silence_and_noise_give_an_empty_transcript_that_says_why(tmp_path: Path):
    quiet = write(tmp_path / "silence.wav", silence(2.0))
    noise = np.random.default_rng(1).standard_normal(2 * SR).astype(np.float32) * 0.1
    hiss = write(tmp_path / "noise.wav", noise)
    out = tmp_path / "out"
    result = process(quiet, hiss, out=out)
    assert result.exit_code == 0, result.stderr
    for stem in ("silence", "noise"):
        data = document(out, stem)
        assert data["words"] == [] and data["lines"] == [] and data["speakers"] == []
        assert data["source"]["duration"] == pytest.approx(2.0)
        assert NO_SPEECH_NOTE in data["pipeline"]["notes"]
        header = (out / f"{stem}.txt").read_text(encoding="utf-8").split("-" * 72)[0]
        assert "no words found" in header and "Speakers:  none detected" in header


@pytest.mark.parametrize("variant", ["clipped", "telephone 8 kHz mu-law", "studio 96 kHz 24-bit", "six channels"])
def test_unusual_formats_align_correctly(variant: str, speech: Speech, tmp_path: Path):
    import scipy.signal

    signal, rate, subtype, channels = speech.signal, SR, "PCM_16", 1
    if variant == "clipped":
        signal = np.clip(signal * 12, -1, 1)
        assert np.mean(np.abs(signal) >= 1) > 0.05  # heavily clipped
    elif variant.startswith("telephone"):
        band = scipy.signal.butter(6, [300, 3400], btype="bandpass", fs=SR, output="sos")
        signal, rate, subtype = scipy.signal.resample_poly(scipy.signal.sosfilt(band, signal), 1, 2), 8000, "ULAW"
    elif variant.startswith("studio"):
        signal, rate, subtype = scipy.signal.resample_poly(signal, 6, 1), 96_000, "PCM_24"
    else:  # one lapel microphone, a quieter second one, and four channels of room noise
        rng = np.random.default_rng(4)
        others = [rng.standard_normal(len(signal)) * 10 ** (ROOM_DBFS / 20) for _ in range(4)]
        signal, channels = np.stack([signal, 0.3 * signal, *others], axis=1), 6
    path = write(tmp_path / f"{variant}.wav", signal.astype(np.float32), rate, subtype)
    out = tmp_path / "out"
    result = process(path, "--transcript", speech.write_transcript(tmp_path / "t.txt"), out=out)
    assert result.exit_code == 0, result.stderr
    data = document(out, variant)
    assert (data["source"]["sample_rate"], data["source"]["channels"]) == (rate, channels)
    assert data["source"]["duration"] == pytest.approx(len(speech.signal) / SR, abs=0.01)
    assert_aligned(data, speech)


def test_six_channels_without_a_transcript(tmp_path: Path):
    voice = tone_speech()
    rng = np.random.default_rng(5)
    channels = np.stack([voice, 0.3 * voice, *(rng.standard_normal(len(voice)) * 1e-3 for _ in range(4))], axis=1)
    path = write(tmp_path / "six.wav", channels.astype(np.float32))
    out = tmp_path / "out"
    result = process(path, out=out)
    assert result.exit_code == 0, result.stderr
    assert document(out, "six")["source"]["channels"] == 6


def test_file_names_with_spaces_and_accents_name_their_outputs(tmp_path: Path):
    folder = tmp_path / "Intervjuer 2024 (Åsa)"
    folder.mkdir()
    path = write(folder / "P2 – samtal med Zoë.wav", tone_speech())
    out = tmp_path / "utdata med mellanslag"
    result = process(path, out=out)
    assert result.exit_code == 0, result.stderr
    data = document(out, "P2 – samtal med Zoë")
    assert data["source"]["path"] == str(path)
    assert (out / "P2 – samtal med Zoë.txt").read_text(encoding="utf-8").startswith(
        "undertone transcript: P2 – samtal med Zoë.wav"
    )


def test_speech_after_a_long_silence_is_found_and_aligned(speech: Speech, tmp_path: Path):
    """90 s of digital silence first (a recorder started early): the aligner must not put the
    first words into the silence, and recognition finds words only in the speech."""
    late = speech.shifted(90.0)
    path = write(tmp_path / "late.wav", late.signal)
    out = tmp_path / "out"
    result = process(path, "--transcript", speech.write_transcript(tmp_path / "t.txt"), out=out)
    assert result.exit_code == 0, result.stderr
    assert_aligned(document(out, "late"), late)


# Transcript files: exit 4 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", ["contains no turns"]),
        (b"# only a comment\n\n", ["contains no turns"]),
        (b"I: hello\nthis line has no speaker\n", ["line 2", "expected 'SPEAKER: text'"]),
        (b"I: caf\xe9 au lait\n", ["line 1", "not valid UTF-8"]),
        (b"I: ...\n", ["line 1", "has no words"]),
    ],
)
def test_malformed_transcript_is_one_clear_error(content: bytes, words: list[str], tmp_path: Path):
    audio = write(tmp_path / "a.wav", tone_speech())
    transcript = tmp_path / "a transcript.txt"
    transcript.write_bytes(content)
    out = tmp_path / "out"
    result = process(audio, "--transcript", transcript, out=out)
    assert result.exit_code == TranscriptFileError.exit_code
    assert_one_clear_error(result, transcript, *words)
    assert_no_outputs(out, "a")


def test_missing_transcript_or_folder_stops_before_any_work(tmp_path: Path):
    audio = write(tmp_path / "a.wav", tone_speech())
    (tmp_path / "folder.txt").mkdir()
    for transcript, words in [(tmp_path / "nope.txt", "does not exist"), (tmp_path / "folder.txt", "is a folder")]:
        result = process(audio, "--transcript", transcript, out=tmp_path / "out")
        assert result.exit_code == TranscriptFileError.exit_code
        assert_one_clear_error(result, transcript, words)
        assert not (tmp_path / "out").exists()


def test_transcript_of_another_recording_is_refused(speech: Speech, tmp_path: Path):
    audio = write(tmp_path / "p3.wav", speech.signal)
    wrong = tmp_path / "p4.transcript.txt"
    wrong.write_text(
        "I: The quarterly budget report was submitted to the committee yesterday afternoon.\n"
        "P: Bananas and elephants dance quietly under purple umbrellas every Tuesday.\n"
    )
    out = tmp_path / "out"
    result = process(audio, "--transcript", wrong, out=out)
    assert result.exit_code == TranscriptFileError.exit_code
    assert_one_clear_error(result, wrong, "does not match the audio")
    assert_no_outputs(out, "p3")


# Settings and the speakers sidecar: exit 5 ---------------------------------------------------

BAD_CONFIGS = {
    "not toml": (b"[render\nwidth = ", ["not valid TOML"]),
    "unknown key": (b"[render]\nwidht = 60\n", ["render.widht"]),
    "wrong value": (b"[render]\nwidth = 'wide'\n", ["render.width"]),
    "out of range": (b"[render]\nwidth = 5\n", ["render.width"]),
    "latin-1": (b"# r\xe9glages\n[render]\nwidth = 60\n", ["not UTF-8"]),
    "nested too deeply": (b"x = " + b"[" * 3000 + b"]" * 3000, ["nested too deeply"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_malformed_config_stops_before_any_work(case: str, tmp_path: Path):
    content, words = BAD_CONFIGS[case]
    config = tmp_path / "my settings.toml"
    config.write_bytes(content)
    audio = write(tmp_path / "a.wav", tone_speech())
    result = process(audio, "--config", config, out=tmp_path / "out")
    assert result.exit_code == ConfigError.exit_code
    assert len(error_lines(result)) == 1
    assert_one_clear_error(result, config, *words)
    assert not (tmp_path / "out").exists()


def test_missing_config_or_profile(tmp_path: Path):
    audio = write(tmp_path / "a.wav", tone_speech())
    result = process(audio, "--config", tmp_path / "nope.toml", out=tmp_path / "out")
    assert result.exit_code == ConfigError.exit_code
    assert_one_clear_error(result, tmp_path / "nope.toml", "does not exist")
    result = runner.invoke(app, ["process", str(audio), "--profile", "ofline", "--out", str(tmp_path / "out")])
    assert result.exit_code == ConfigError.exit_code
    assert_one_clear_error(result, "unknown profile 'ofline'", "available:")


BAD_SIDECARS = {
    "not toml": (b"[speakers.S1\nlabel = ", ["not valid TOML"]),
    "unknown key": (b'[speakers.S1]\nlable = "Anna"\n', ["speakers.S1.lable", "unknown key"]),
    "empty label": (b'[speakers.S1]\nlabel = "  "\n', ["must not be empty"]),
    "latin-1": (b'[speakers.S1]\nlabel = "\xc5sa"\n', ["not UTF-8"]),
}


def test_malformed_speakers_sidecar_fails_its_recording_only(tmp_path: Path):
    pytest.importorskip("undertone.speakers", reason="the speakers sidecar is not implemented yet")
    recordings, sidecars = [], []
    for index, (content, _) in enumerate(BAD_SIDECARS.values()):
        recordings.append(write(tmp_path / f"p{index}.wav", tone_speech()))
        sidecars.append(tmp_path / f"p{index}.speakers.toml")
        sidecars[-1].write_bytes(content)
    other = write(tmp_path / "p9.wav", tone_speech())
    out = tmp_path / "out"
    result = process(*recordings, other, out=out)
    assert result.exit_code == ConfigError.exit_code
    assert len(error_lines(result)) == len(BAD_SIDECARS)
    for recording, sidecar, (_, words) in zip(recordings, sidecars, BAD_SIDECARS.values()):
        assert_one_clear_error(result, sidecar, *words)
        assert_no_outputs(out, recording.stem)
    assert (out / "p9.txt").is_file() and f"done: {other}" in result.stderr


# Outputs that cannot be written: exit 7, earlier outputs untouched -----------------------------


def test_output_folder_under_a_file_is_reported_before_any_work(tmp_path: Path):
    audio = write(tmp_path / "a.wav", tone_speech())
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file, not a folder")
    for out, words in [(blocker / "out", "part of the path is a file"), (blocker, "a file of that name is in the way")]:
        result = process(audio, out=out)
        assert result.exit_code == OutputError.exit_code
        assert len(error_lines(result)) == 1
        assert_one_clear_error(result, out, "cannot create output folder", words)
        assert "done:" not in result.stderr
    assert blocker.read_text() == "a file, not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the permission bits say")
def test_read_only_output_folder_is_reported_before_any_work(tmp_path: Path):
    audio = write(tmp_path / "a.wav", tone_speech())
    out = tmp_path / "locked"
    out.mkdir(mode=0o500)
    result = process(audio, out=out)
    assert result.exit_code == OutputError.exit_code
    assert_one_clear_error(result, out, "cannot write to the output folder")


@pytest.fixture
def earlier_outputs(tmp_path: Path):
    """A recording processed once: (recording, output folder, the outputs' bytes)."""
    audio = write(tmp_path / "p7.wav", tone_speech())
    out = tmp_path / "out"
    assert process(audio, out=out).exit_code == 0
    return audio, out, {p.name: p.read_bytes() for p in out.iterdir()}


def _disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["writing", "renaming"])
def test_full_disk_leaves_the_earlier_outputs_as_they_were(where: str, earlier_outputs, monkeypatch, tmp_path: Path):
    audio, out, before = earlier_outputs
    config = tmp_path / "narrow.toml"
    config.write_text("[render]\nwidth = 50\n")  # a changed run: the earlier set would move to previous/
    if where == "writing":
        monkeypatch.setattr(os, "fsync", _disk_full)
    else:  # the earlier set is moved aside, then the second new file cannot be renamed into place
        real_replace, calls = os.replace, []

        def replace(source, target):
            calls.append(target)
            if Path(target).parent == out and len([c for c in calls if Path(c).parent == out]) == 2:
                _disk_full()
            return real_replace(source, target)

        monkeypatch.setattr(os, "replace", replace)
    others = [write(tmp_path / "p8.wav", tone_speech())] if where == "renaming" else []
    result = process(audio, *others, "--config", config, out=out)
    monkeypatch.undo()
    assert result.exit_code == OutputError.exit_code
    line = assert_one_clear_error(result, audio, "disk is full")
    assert str(out) in line
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {name: content for name, content in after.items() if name.startswith("p7")} == before
    assert not (out / "previous").exists()
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    if where == "renaming":  # only the one rename failed: the next recording is written
        assert (out / "p8.json").is_file()


def test_exit_codes_are_distinct():
    codes = [UndertoneError.exit_code, EXIT_USAGE, AudioError.exit_code, TranscriptFileError.exit_code,
             ConfigError.exit_code, ModelUnavailableError.exit_code, OutputError.exit_code]
    assert codes == [1, 2, 3, 4, 5, 6, 7]


# Long recordings (slow) -------------------------------------------------------------------------


@pytest.mark.slow
def test_no_speech_for_the_first_ten_minutes(speech: Speech, tmp_path: Path):
    late = speech.shifted(600.0)
    path = write(tmp_path / "late start.wav", late.signal)
    transcript = speech.write_transcript(tmp_path / "t.txt")
    recognised, aligned = tmp_path / "recognised", tmp_path / "aligned"
    started = time.monotonic()
    result = process(path, out=recognised)
    assert result.exit_code == 0, result.stderr
    print(f"ten minutes, offline recognition: {time.monotonic() - started:.1f} s")
    words = document(recognised, "late start")["words"]
    # Recognised words lie in the speech block after the silence (which begins with half a
    # second of room noise, where PocketSphinx may hear a short word at the noise's onset).
    assert words and all(600.0 - SPAN_TOLERANCE_S <= w["start"] for w in words)
    result = process(path, "--transcript", transcript, out=aligned)
    assert result.exit_code == 0, result.stderr
    assert_aligned(document(aligned, "late start"), late)


@pytest.mark.slow
def test_two_hour_recording(speech: Speech, tmp_path: Path):
    """Two hours at 16 kHz (230 MB), silent but for the two sentences at 30:00 and 1:59:00."""
    path = tmp_path / "two hours.wav"
    at = (1800.0, 7140.0)
    with soundfile.SoundFile(path, "w", SR, 1, subtype="PCM_16") as handle:
        minute = np.zeros(60 * SR, np.float32)
        for start in range(0, 7200, 60):
            block = minute
            if start in at:
                block = minute.copy()
                block[: len(speech.signal)] = speech.signal
            handle.write(block)
    out = tmp_path / "out"
    started = time.monotonic()
    result = process(path, out=out)
    assert result.exit_code == 0, result.stderr
    print(f"two hours, offline recognition: {time.monotonic() - started:.1f} s")
    data = document(out, "two hours")
    assert data["source"]["duration"] == pytest.approx(7200.0)
    spans = [(t, t + len(speech.signal) / SR) for t in at]  # the blocks with room noise and speech
    assert {round(word["start"] / 60) for word in data["words"]} == {30, 119}  # minutes
    for word in data["words"]:
        assert any(a - SPAN_TOLERANCE_S <= word["start"] <= b + SPAN_TOLERANCE_S for a, b in spans), word
    assert [line["n"] for line in data["lines"]] == list(range(1, len(data["lines"]) + 1))
