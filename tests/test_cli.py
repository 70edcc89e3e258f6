"""The command line: its shape, its errors, and a batch that survives a bad file."""

import json
from pathlib import Path

import jsonschema
import numpy as np
import soundfile
from typer.testing import CliRunner

from undertone.cli import app
from undertone.errors import AudioError, ConfigError

runner = CliRunner()


def test_help_documents_the_process_options():
    result = runner.invoke(app, ["process", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--out", "--profile", "--config", "--transcript", "--speakers", "--language"):
        assert option in result.output


def test_schema_command_prints_a_valid_json_schema():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {"source", "pipeline", "speakers", "words", "turns", "pauses", "overlaps", "annotations", "lines"} <= set(
        schema["required"]
    )


def test_bad_inputs_get_one_line_each_and_a_nonzero_exit(tmp_path: Path):
    empty = tmp_path / "empty.wav"
    empty.touch()
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio")
    missing = tmp_path / "missing.wav"
    result = runner.invoke(app, ["process", str(empty), str(text), str(missing), "--out", str(tmp_path / "out"),
                                 "--profile", "offline"])
    assert result.exit_code == AudioError.exit_code
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert "empty.wav: file is empty" in errors[0]
    assert "notes.mp3: not a readable audio file" in errors[1]
    assert "missing.wav: file does not exist" in errors[2]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_config_stops_before_any_work(tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text("[asr]\nbackend = 'nonsense'\n")
    audio = tmp_path / "a.wav"
    soundfile.write(audio, np.zeros(16000, dtype=np.float32), 16000)
    result = runner.invoke(app, ["process", str(audio), "--out", str(tmp_path), "--config", str(config)])
    assert result.exit_code == ConfigError.exit_code
    assert "bad.toml" in result.stderr and "asr.backend" in result.stderr


def test_transcript_needs_exactly_one_recording(tmp_path: Path):
    result = runner.invoke(app, ["process", "a.wav", "b.wav", "--out", str(tmp_path), "--transcript", "t.txt"])
    assert result.exit_code == 2


def test_two_inputs_with_one_name_never_overwrite_each_other(tmp_path: Path, monkeypatch):
    from documents import make_transcript
    from undertone import pipeline
    from undertone.errors import OutputError

    monkeypatch.setattr(pipeline, "process_file", lambda path, *args, **kwargs: _analysis(make_transcript([("S1", [path.parent.name])])))
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        soundfile.write(tmp_path / folder / "p2.wav", np.zeros(1600, dtype=np.float32), 16000)
    out = tmp_path / "out"
    result = runner.invoke(app, ["process", str(tmp_path / "a" / "p2.wav"), str(tmp_path / "b" / "p2.wav"),
                                 "--out", str(out), "--profile", "offline"])
    assert result.exit_code == OutputError.exit_code
    assert "b/p2.wav: has the same name as" in result.stderr
    assert "  a" in (out / "p2.txt").read_text().splitlines()[-1]


def _analysis(transcript):
    from undertone.frames import Frames
    from undertone.pipeline import Analysis

    empty = np.zeros(0)
    return Analysis(transcript, Frames(empty, empty, empty, np.zeros(0, dtype=object)))
