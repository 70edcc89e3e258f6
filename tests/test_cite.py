"""Citing lines: the range, the extract as printed in the .txt, the citation, and the audio clip."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from documents import make_transcript
from undertone.audio import file_sha256
from undertone.cite import LineRangeError, citation, citation_label, clock, extract, parse_line_range, time_span
from undertone.cli import app
from undertone.config import RenderSettings
from undertone.errors import AudioError, TranscriptFileError
from undertone.model import Speaker, Transcript
from undertone.outputs import write_outputs

runner = CliRunner()
RATE = 22_050  # not the analysis rate: the clip keeps the recording's own


def _interview() -> Transcript:
    return make_transcript(
        [
            ("S1", ["so", "tell", "me", "about", "the", "first", "week", "at", "the", "new", "job"]),
            ("S2", ["well", "it", "was", "hard", "at", "first", "because", "nobody", "told", "me", "what", "to", "do",
                    "and", "I", "was", "too", "shy", "to", "ask", "anyone", "for", "help", "so", "I", "waited"]),
            ("S1", ["and", "then"]),
        ],
        pauses={16: 0.5},
        gaps={10: 0.9, 36: 0.4},
        render=RenderSettings(width=40),
    )


@pytest.fixture
def outputs(tmp_path: Path) -> tuple[Path, Path, Transcript]:
    """The interview's .json and .txt in tmp/out, and its recording in tmp/rec (linked relatively)."""
    transcript = _interview()
    recording = tmp_path / "rec" / "p2.wav"
    recording.parent.mkdir()
    n = int(round(transcript.source.duration * RATE))
    samples = (0.1 * np.sin(2 * np.pi * 220 * np.arange(n) / RATE)).astype(np.float32)
    soundfile.write(recording, np.stack([samples, -samples], axis=1), RATE, subtype="PCM_16")
    transcript.source.path = "../rec/p2.wav"  # relative to where it was processed: tmp/out
    transcript.source.sha256 = file_sha256(recording)
    write_outputs(transcript, tmp_path / "out", RenderSettings(width=40), ["json", "txt"])
    return tmp_path / "out" / "p2.json", recording, transcript


@pytest.mark.parametrize(
    ("text", "expected"),
    [("216-222", (216, 222)), ("216", (216, 216)), (" 216 – 222 ", (216, 222)), ("216-22", (216, 222)),
     ("9-10", (9, 10)), ("99-105", (99, 105)), ("216..222", (216, 222))],
)
def test_line_ranges_parse(text: str, expected: tuple[int, int]):
    assert parse_line_range(text) == expected


@pytest.mark.parametrize("text", ["", "a-b", "216-", "-3", "0", "0-4", "222-216", "12-3-4", "1.5"])
def test_malformed_line_ranges_are_refused(text: str):
    with pytest.raises(LineRangeError):
        parse_line_range(text)


def test_citation_and_time_span_format():
    assert citation("P2", 216, 222) == "(P2, Lines 216–222)"
    assert citation("P2", 216, 216) == "(P2, Line 216)"
    assert citation("P2", 216, 222, ascii=True) == "(P2, Lines 216-222)"
    assert citation("P2", 4, 6, version="c3-4afd96b3") == "(P2, Lines 4–6, version c3-4afd96b3)"
    assert time_span(751.25, 777.96) == "[00:12:31.2–00:12:58.0]"
    assert clock(3723.45) == "01:02:03.4" and clock(3723.41, up=True) == "01:02:03.5" and clock(2.0, up=True) == "00:00:02.0"


def test_a_corrected_version_is_named_in_its_citations():
    transcript = _interview()
    assert extract(transcript, 1, 1).citation() == "(P2, Line 1)"
    transcript.correction = {"version": "c2-0123abcd"}  # what `undertone apply` records
    assert extract(transcript, 1, 1).citation() == "(P2, Line 1, version c2-0123abcd)"


def test_citation_label_names_the_participant():
    transcript = _interview()  # S1 "I" (interviewer by label), S2 "P2"
    assert citation_label(transcript) == "P2"
    transcript.speakers = [Speaker(id="S1", label="Anna", role="interviewer"), Speaker(id="S2", label="Ben")]
    assert citation_label(transcript) == "Ben"
    transcript.speakers[0].role, transcript.speakers[1].role = "participant", None
    assert citation_label(transcript) == "Anna"  # a recorded role wins over word counts
    # Speaker ids made up by a diarizer name nobody: the recording's name does.
    transcript.speakers = [Speaker(id="S1", label="S1"), Speaker(id="S2", label="S2")]
    assert citation_label(transcript) == "p2"
    transcript.speakers, transcript.words = [], []
    assert citation_label(transcript) == "p2"


def test_extract_is_the_lines_as_numbered_in_the_txt(outputs: tuple[Path, Path, Transcript]):
    document, _, transcript = outputs
    txt_rows = document.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
    chosen = extract(transcript, 3, 6)
    assert chosen.text().splitlines() == txt_rows[-len(transcript.lines):][2:6]
    assert chosen.start == transcript.lines[2].start and chosen.end == transcript.lines[5].end
    with pytest.raises(LineRangeError, match=f"the transcript has lines 1-{len(transcript.lines)}$"):
        extract(transcript, 3, len(transcript.lines) + 1)


def test_cite_command_prints_extract_citation_and_span(outputs: tuple[Path, Path, Transcript]):
    document, _, transcript = outputs
    result = runner.invoke(app, ["cite", str(document), "3-6"])
    assert result.exit_code == 0, result.output
    txt_rows = document.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
    lines = transcript.lines
    expected_span = time_span(lines[2].start, lines[5].end)
    assert result.stdout.splitlines() == txt_rows[-len(lines):][2:6] + ["", f"(P2, Lines 3–6) {expected_span}"]


def test_cite_command_cuts_the_audio(outputs: tuple[Path, Path, Transcript], tmp_path: Path):
    document, recording, transcript = outputs
    clip = tmp_path / "clip.wav"
    result = runner.invoke(app, ["cite", str(document), "3-6", "--audio", str(clip)])
    assert result.exit_code == 0, result.output
    start, end = transcript.lines[2].start, transcript.lines[5].end
    info = soundfile.info(str(clip))
    assert info.samplerate == RATE and info.channels == 2 and info.subtype == "PCM_16"
    assert abs(info.frames - (end - start) * RATE) <= 1
    original, _ = soundfile.read(recording, dtype="int16")
    cut, _ = soundfile.read(clip, dtype="int16")
    first = int(round(start * RATE))
    assert np.array_equal(cut, original[first:first + len(cut)])  # the samples themselves, not re-encoded
    assert stat.S_IMODE(clip.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.part"))


def test_cutting_a_clip_again_keeps_the_earlier_clip(outputs: tuple[Path, Path, Transcript], tmp_path: Path):
    document, _, _ = outputs
    clip = tmp_path / "clip.wav"
    assert runner.invoke(app, ["cite", str(document), "3-6", "--audio", str(clip)]).exit_code == 0
    first = clip.read_bytes()
    result = runner.invoke(app, ["cite", str(document), "2", "--audio", str(clip)])
    assert result.exit_code == 0, result.output
    (kept,) = (tmp_path / "previous").iterdir()
    assert kept.read_bytes() == first and kept.name.startswith("clip ") and kept.suffix == ".wav"
    assert clip.read_bytes() != first  # the new clip, lines 2 only
    assert f"kept the earlier clip.wav as {kept}" in result.stderr


def test_a_recording_whose_name_was_redacted_must_be_given(outputs: tuple[Path, Path, Transcript], tmp_path: Path):
    document, recording, transcript = outputs
    transcript.source.path = "../rec/[NAME-1] interview.wav"
    document.write_text(transcript.model_dump_json(by_alias=True))
    result = runner.invoke(app, ["cite", str(document), "2", "--audio", str(tmp_path / "clip.wav")])
    assert result.exit_code == AudioError.exit_code
    assert "the recording's name is redacted in this transcript" in result.stderr and "--source" in result.stderr
    result = runner.invoke(app, ["cite", str(document), "2", "--audio", str(tmp_path / "clip.wav"), "--source", str(recording)])
    assert result.exit_code == 0, result.output


def test_cite_uses_source_when_given_and_refuses_another_recording(
    outputs: tuple[Path, Path, Transcript], tmp_path: Path
):
    document, recording, _ = outputs
    copy = tmp_path / "copy.wav"
    copy.write_bytes(recording.read_bytes())
    clip = tmp_path / "clip.flac"
    result = runner.invoke(app, ["cite", str(document), "2", "--audio", str(clip), "--source", str(copy)])
    assert result.exit_code == 0, result.output
    assert soundfile.info(str(clip)).format == "FLAC"

    data, rate = soundfile.read(copy)
    soundfile.write(copy, data * 0.5, rate)  # another take: same name, other content
    result = runner.invoke(app, ["cite", str(document), "2", "--audio", str(tmp_path / "other.wav"), "--source", str(copy)])
    assert result.exit_code == AudioError.exit_code
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and "copy.wav" in errors[0] and "is not the recording this transcript was made from" in errors[0]
    assert not (tmp_path / "other.wav").exists()


def test_cite_reports_a_missing_recording(outputs: tuple[Path, Path, Transcript], tmp_path: Path):
    document, recording, _ = outputs
    recording.unlink()
    result = runner.invoke(app, ["cite", str(document), "2", "--audio", str(tmp_path / "clip.wav")])
    assert result.exit_code == AudioError.exit_code
    assert "recording not found" in result.stderr and "--source" in result.stderr


def test_cite_usage_errors_exit_2(outputs: tuple[Path, Path, Transcript], tmp_path: Path):
    document, _, transcript = outputs
    beyond = len(transcript.lines) + 1
    result = runner.invoke(app, ["cite", str(document), f"3-{beyond}"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {document}: no lines 3-{beyond}: the transcript has lines 1-{len(transcript.lines)}"
    )
    result = runner.invoke(app, ["cite", str(document), "six"])
    assert result.exit_code == 2 and "LINES" in result.stderr
    result = runner.invoke(app, ["cite", str(document), "2", "--audio", str(tmp_path / "clip.mp3")])
    assert result.exit_code == 2 and "clip.mp3" in result.stderr


def test_cite_reports_a_file_that_is_not_a_transcript(tmp_path: Path):
    missing = runner.invoke(app, ["cite", str(tmp_path / "none.json"), "2"])
    assert missing.exit_code == TranscriptFileError.exit_code and "none.json: file does not exist" in missing.stderr
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    result = runner.invoke(app, ["cite", str(other), "2"])
    assert result.exit_code == TranscriptFileError.exit_code
    assert result.stderr.count("\n") == 1 and "other.json: not an undertone transcript document" in result.stderr
