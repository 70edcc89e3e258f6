"""Nothing lost: up-to-date outputs are not redone, earlier versions are kept, a killed batch resumes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from synth import SR, silence, voiced
from undertone.cli import app
from undertone.config import load_settings
from undertone.freshness import fingerprint, speakers_sidecar
from undertone.model import json_schema

runner = CliRunner()


def _recording(folder: Path, name: str, f0: float = 120.0) -> Path:
    path = folder / name
    signal_ = np.concatenate([silence(0.4), voiced(f0, 1.2), silence(0.6), voiced(f0 * 1.8, 1.0), silence(0.4)])
    soundfile.write(path, signal_, SR)
    return path


def _process(*arguments: str):
    return runner.invoke(app, ["process", *arguments, "--profile", "offline", "--formats", "txt"])


def test_fingerprint_follows_the_recording_settings_and_input_files(tmp_path: Path):
    audio = _recording(tmp_path, "p1.wav")
    transcript = tmp_path / "p1.transcript.txt"
    transcript.write_text("I: hello\n")
    settings = load_settings("offline")
    first = fingerprint(audio, settings, [transcript])
    assert fingerprint(audio, settings, [transcript]) == first
    assert fingerprint(audio, load_settings("offline", overrides={"render": {"width": 60}}), [transcript]) != first
    transcript.write_text("I: hello there\n")
    second = fingerprint(audio, settings, [transcript])
    assert second != first
    speakers_sidecar(audio).write_text('[speakers.S1]\nlabel = "P2"\n')
    assert fingerprint(audio, settings, [transcript]) != second
    _recording(tmp_path, "p1.wav", f0=150.0)
    assert fingerprint(audio, settings, [transcript]) not in {first, second}


def test_a_second_run_over_unchanged_inputs_does_nothing(tmp_path: Path):
    audio, out = _recording(tmp_path, "p1.wav"), tmp_path / "out"
    assert _process(str(audio), "--out", str(out)).exit_code == 0
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()}
    again = _process(str(audio), "--out", str(out))
    assert again.exit_code == 0
    assert "up to date:" in again.stderr and "p1.wav" in again.stderr
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()} == before


def test_a_changed_run_keeps_the_previous_version_whole(tmp_path: Path):
    audio, out = _recording(tmp_path, "p1.wav"), tmp_path / "out"
    assert _process(str(audio), "--out", str(out)).exit_code == 0
    old_json = (out / "p1.json").read_bytes()
    old_txt = (out / "p1.txt").read_bytes()
    config = tmp_path / "narrow.toml"
    config.write_text("[render]\nwidth = 50\n")
    assert _process(str(audio), "--out", str(out), "--config", str(config)).exit_code == 0
    (kept,) = (out / "previous").iterdir()
    assert kept.name.startswith("p1 ")
    assert (kept / "p1.json").read_bytes() == old_json and (kept / "p1.txt").read_bytes() == old_txt
    assert json.loads((out / "p1.json").read_text())["pipeline"]["config"]["render"]["width"] == 50
    assert oct((out / "previous").stat().st_mode & 0o777) == oct(0o700)
    # --force redoes an up-to-date recording, and keeps what it replaces too.
    assert _process(str(audio), "--out", str(out), "--config", str(config), "--force").exit_code == 0
    assert len(list((out / "previous").iterdir())) == 2


def test_missing_output_of_a_requested_format_is_not_up_to_date(tmp_path: Path):
    audio, out = _recording(tmp_path, "p1.wav"), tmp_path / "out"
    assert _process(str(audio), "--out", str(out)).exit_code == 0
    (out / "p1.txt").unlink()
    again = _process(str(audio), "--out", str(out))
    assert again.exit_code == 0 and "up to date" not in again.stderr
    assert (out / "p1.txt").is_file()


def _whole(out: Path, stem: str) -> bool:
    """The recording's outputs are all there and agree with each other."""
    document_path = out / f"{stem}.json"
    if not document_path.is_file():
        return False
    document = json.loads(document_path.read_text(encoding="utf-8"))
    jsonschema.validate(document, json_schema())
    text = (out / f"{stem}.txt").read_text(encoding="utf-8")
    body = text.split("-" * 72 + "\n", 1)[1].splitlines()
    assert len(body) == len(document["lines"])
    for row, line in zip(body, document["lines"]):
        assert row.split()[0] == str(line["n"]) and row.endswith(line["text"].strip())
    assert (out / f"{stem}.frames.csv").read_text(encoding="utf-8").startswith("time")
    return True


@pytest.mark.slow
def test_a_batch_killed_at_random_points_completes_on_rerun_with_every_output_whole(tmp_path: Path):
    recordings = [_recording(tmp_path, f"r{k}.wav", f0=100.0 + 25 * k) for k in range(4)]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "undertone", "process", *map(str, recordings), "--out", str(out),
               "--profile", "offline", "--formats", "txt"]
    rng = random.Random(5)
    for _ in range(4):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 9.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        # Whatever the kill interrupted, every JSON in place belongs to a whole, valid set.
        for recording in recordings:
            if (out / f"{recording.stem}.json").is_file():
                assert _whole(out, recording.stem)
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert all(_whole(out, r.stem) for r in recordings)
    assert not list(out.glob(".*.part")), "temporary files left behind"
    up_to_date = finished.stderr.count("up to date:")
    done = finished.stderr.count("done:")
    assert up_to_date + done == len(recordings)
    # A run after that has nothing left to do.
    last = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert last.returncode == 0 and last.stderr.count("up to date:") == len(recordings)
