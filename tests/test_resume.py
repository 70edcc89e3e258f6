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


def test_redacting_outputs_made_without_the_list_names_the_unredacted_set_it_keeps(tmp_path: Path):
    audio, out = _recording(tmp_path, "p1.wav"), tmp_path / "out"
    assert _process(str(audio), "--out", str(out)).exit_code == 0
    names = tmp_path / "names.txt"
    names.write_text("Alice\n")
    result = _process(str(audio), "--out", str(out), "--redact", str(names))
    assert result.exit_code == 0, result.output
    (kept,) = (out / "previous").iterdir()
    assert f"warning: {audio}: the earlier outputs, kept in {kept}, are not redacted" in result.stderr
    assert json.loads((out / "p1.json").read_text())["redaction"]["list_check"]
    # A redacted set replaced by one redacted with the same list: nothing to warn about.
    again = _process(str(audio), "--out", str(out), "--redact", str(names), "--force")
    assert again.exit_code == 0 and "warning:" not in again.stderr
    # With another list, the kept set shows what the new one hides.
    names.write_text("Alice\nBob\n")
    other = _process(str(audio), "--out", str(out), "--redact", str(names))
    assert "are redacted with another list" in other.stderr


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


# Runs the command line like ``python -m undertone``, but kills itself (SIGKILL, as a crash or a
# power cut would) at the KILL_AT_WRITE_STEP-th step of writing outputs: a step is a temporary
# file written in full, or a rename (into place, or of an earlier set into previous/).
KILLING_COMMAND_LINE = """
import os, signal, sys

from undertone import outputs
from undertone.cli import app

steps, kill_at = 0, int(os.environ.get("KILL_AT_WRITE_STEP", "0"))


def step():
    global steps
    steps += 1
    if steps == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


class OsWithSteps:
    def __getattr__(self, name):
        return getattr(os, name)

    def replace(self, source, target):
        step()
        os.replace(source, target)


write_temporary = outputs._write_temporary


def write_temporary_with_step(target, content):
    temporary = write_temporary(target, content)
    step()
    return temporary


outputs.os = OsWithSteps()
outputs._write_temporary = write_temporary_with_step
sys.argv[0] = "undertone"
app()
"""
WRITE_STEPS_PER_RECORDING = 6  # txt, frames.csv, json: each written to a temporary, then renamed


def _batch_files(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.is_file()] if out.is_dir() else []


def _words_and_lines(document: Path) -> tuple[list, list]:
    data = json.loads(document.read_text(encoding="utf-8"))
    return data["words"], data["lines"]


@pytest.mark.slow
def test_a_batch_killed_at_random_points_completes_on_rerun_with_every_output_whole(tmp_path: Path):
    recordings = [_recording(tmp_path, f"r{k}.wav", f0=100.0 + 25 * k) for k in range(4)]
    out, reference = tmp_path / "out", tmp_path / "reference"
    script = tmp_path / "killing_cli.py"
    script.write_text(KILLING_COMMAND_LINE)
    environment = {**os.environ, "UNDERTONE_ENGINE": "direct"}

    def command(folder: Path) -> list[str]:
        return [sys.executable, str(script), "process", *map(str, recordings), "--out", str(folder),
                "--profile", "offline", "--formats", "txt"]

    # An uninterrupted run first: when its first outputs appear and how long it takes place the
    # time-drawn kills over the whole run, start-up, analysis and writing alike.
    started = time.monotonic()
    process = subprocess.Popen(command(reference), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_output = None
    while process.poll() is None:
        if first_output is None and _batch_files(reference):
            first_output = time.monotonic() - started
        time.sleep(0.02)
    total = time.monotonic() - started
    assert process.returncode == 0 and first_output is not None
    per_recording = max((total - first_output) / (len(recordings) - 1), 0.5)
    start_up = max(first_output - per_recording, 0.5)

    rng = random.Random(5)
    kills: list[dict] = []
    for round_ in range(10):
        remaining = [r for r in recordings if not (out / f"{r.stem}.json").is_file()]
        if not remaining:
            break
        if round_ % 2 == 0:  # at a random step of writing the remaining outputs
            kill_at = rng.randint(1, WRITE_STEPS_PER_RECORDING * len(remaining))
            process = subprocess.Popen(command(out), env={**environment, "KILL_AT_WRITE_STEP": str(kill_at)},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            process.wait(timeout=600)
        else:  # at a random time of the remaining run
            process = subprocess.Popen(command(out), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                process.wait(timeout=rng.uniform(0.0, start_up + per_recording * len(remaining)))
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
        if process.returncode != -signal.SIGKILL:
            continue  # it finished before the kill came
        files = _batch_files(out)
        kills.append({"outputs": bool(files), "temporaries": any(p.name.endswith(".part") for p in files)})
        # Whatever the kill interrupted, every JSON in place belongs to a whole, valid set.
        for recording in recordings:
            if (out / f"{recording.stem}.json").is_file():
                assert _whole(out, recording.stem)
    # The kills reached the writing phase, not only the start-up: some came once outputs were
    # appearing, and at least one left a temporary file behind, cut off mid-write.
    assert sum(kill["outputs"] for kill in kills) >= 2, kills
    assert any(kill["temporaries"] for kill in kills), kills

    finished = subprocess.run([sys.executable, "-m", "undertone", *command(out)[2:]], env=environment,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert all(_whole(out, r.stem) for r in recordings)
    assert not list(out.glob(".*.part")), "temporary files left behind"
    for recording in recordings:  # the same result as the run that was never interrupted
        assert _words_and_lines(out / f"{recording.stem}.json") == _words_and_lines(reference / f"{recording.stem}.json")
    up_to_date = finished.stderr.count("up to date:")
    done = finished.stderr.count("done:")
    assert up_to_date + done == len(recordings)
    # A run after that has nothing left to do.
    last = subprocess.run(command(out), env=environment, capture_output=True, text=True, timeout=600)
    assert last.returncode == 0 and last.stderr.count("up to date:") == len(recordings)
