"""The Prefect flows with real components: a local Prefect server (SQLite), the offline profile.

Caching and resume: a second run of an unchanged recording skips transcription and diarisation;
a change to annotation settings re-runs only analysis and writing; a run that crashed half-way
resumes from what finished. Retries happen for transient failures only. The inbox flow mirrors
folders, isolates a bad recording, publishes its table, and does no work the second time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from synth import espeak, silence
from undertone import pipeline
from undertone.errors import AudioError
from undertone.progress import reporting_to

SR = 16_000
pytestmark = pytest.mark.slow


def _interview(path: Path, question: str = "How was your week?", answer: str = "It was hard, but better.") -> Path:
    signal = np.concatenate([silence(0.3), espeak(question, "en-us"), silence(0.6), espeak(answer, "en-gb+f3"), silence(0.3)])
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, signal, SR)
    return path


class Calls:
    """Counts how often each stage's library function really runs (not answered from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts = {"transcribe": 0, "diarize": 0, "analyse": 0}
        for name, attribute in [("transcribe", "transcribe_audio"), ("diarize", "diarize_audio"), ("analyse", "build_transcript")]:
            monkeypatch.setattr(pipeline, attribute, self._counting(name, getattr(pipeline, attribute)))

    def _counting(self, name, function):
        def counted(*args, **kwargs):
            self.counts[name] += 1
            return function(*args, **kwargs)

        return counted

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, dict.fromkeys(self.counts, 0)
        return counts


def _marks_config(tmp_path: Path, loud_db: float) -> Path:
    config = tmp_path / f"marks-{loud_db}.toml"
    config.write_text(f"[marks]\nloud_db = {loud_db}\n")
    return config


def test_stages_are_cached_and_only_what_changed_reruns(tmp_path: Path, prefect_api: str, monkeypatch: pytest.MonkeyPatch):
    from flows.process_recording import process_recording

    audio = _interview(tmp_path / "P2 interview.wav")
    out, cache = tmp_path / "out", tmp_path / "cache"
    calls = Calls(monkeypatch)

    stages: list[str] = []
    with reporting_to(stages.append):  # what the command line's status line is told
        first = process_recording(audio, out, "offline", _marks_config(tmp_path, 6.0), cache_dir=cache)
    assert first.status == "processed"
    # Told from inside the tasks, including those running in Prefect's worker threads.
    assert set(stages) == {"loading audio", "transcribing", "diarising", "analysing", "writing outputs"}
    assert calls.take() == {"transcribe": 1, "diarize": 1, "analyse": 1}
    assert {p.name for p in first.written} >= {"P2 interview.json", "P2 interview.txt", "P2 interview.html"}
    assert sorted(p.name.split("-")[0] for p in cache.iterdir()) == ["diarization", "transcription"]

    unchanged = process_recording(audio, out, "offline", _marks_config(tmp_path, 6.0), cache_dir=cache)
    assert unchanged.status == "up to date"
    assert calls.take() == {"transcribe": 0, "diarize": 0, "analyse": 0}

    # Only an annotation setting changed: analysis and writing re-run, the models do not.
    annotated = process_recording(audio, out, "offline", _marks_config(tmp_path, 9.0), cache_dir=cache)
    assert annotated.status == "processed"
    assert calls.take() == {"transcribe": 0, "diarize": 0, "analyse": 1}
    document = json.loads((out / "P2 interview.json").read_text())
    assert document["pipeline"]["config"]["marks"]["loud_db"] == 9.0
    assert [w["text"] for w in document["words"]] == [
        w["text"] for w in json.loads(next((out / "previous").iterdir()).joinpath("P2 interview.json").read_text())["words"]
    ]

    # Forcing a rewrite of the same inputs reuses the cache; a diarisation setting re-runs diarisation only.
    process_recording(audio, out, "offline", _marks_config(tmp_path, 9.0), cache_dir=cache, force=True)
    assert calls.take() == {"transcribe": 0, "diarize": 0, "analyse": 1}
    process_recording(audio, out, "offline", _marks_config(tmp_path, 9.0), speakers=2, cache_dir=cache)
    assert calls.take() == {"transcribe": 0, "diarize": 1, "analyse": 1}


def test_a_run_that_crashed_half_way_resumes_from_what_finished(tmp_path: Path, prefect_api: str, monkeypatch: pytest.MonkeyPatch):
    from flows.process_recording import process_recording

    audio = _interview(tmp_path / "P3.wav")
    out, cache = tmp_path / "out", tmp_path / "cache"
    calls = Calls(monkeypatch)
    counted_analysis = pipeline.build_transcript

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(pipeline, "build_transcript", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        process_recording(audio, out, "offline", cache_dir=cache)
    assert not (out / "P3.json").exists()
    assert calls.take()["transcribe"] == 1

    monkeypatch.setattr(pipeline, "build_transcript", counted_analysis)
    resumed = process_recording(audio, out, "offline", cache_dir=cache)
    assert resumed.status == "processed" and (out / "P3.json").is_file()
    assert calls.take() == {"transcribe": 0, "diarize": 0, "analyse": 1}


def test_transient_failures_are_retried_and_bad_input_is_not(tmp_path: Path, prefect_api: str, monkeypatch: pytest.MonkeyPatch):
    from flows import tasks
    from flows.process_recording import process_recording

    monkeypatch.setattr(tasks, "transcribe", tasks.transcribe.with_options(retry_delay_seconds=0))
    audio = _interview(tmp_path / "P4.wav")
    real = pipeline.transcribe_audio
    attempts: list[str] = []

    def flaky(*args, **kwargs):
        attempts.append("try")
        if len(attempts) == 1:
            raise TimeoutError("model server did not answer")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "transcribe_audio", flaky)
    assert process_recording(audio, tmp_path / "out", "offline", cache_dir=tmp_path / "cache").status == "processed"
    assert len(attempts) == 2

    attempts.clear()

    def bad_input(*args, **kwargs):
        attempts.append("try")
        raise AudioError(audio, "not a recording we can read")

    monkeypatch.setattr(pipeline, "transcribe_audio", bad_input)
    with pytest.raises(AudioError, match="not a recording we can read"):
        process_recording(audio, tmp_path / "out2", "offline", cache_dir=tmp_path / "cache2")
    assert len(attempts) == 1


def test_inbox_mirrors_folders_isolates_a_bad_recording_and_reports_a_table(tmp_path: Path, prefect_api: str, monkeypatch: pytest.MonkeyPatch):
    from prefect.artifacts import Artifact

    from flows.process_inbox import ARTIFACT_KEY, process_inbox

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    _interview(inbox / "site-a" / "P1.wav")
    _interview(inbox / "site-b" / "P2.wav", "Tell me more.", "I would rather not.")
    (inbox / "site-b" / "broken.wav").write_text("this is not audio")
    calls = Calls(monkeypatch)

    state = process_inbox(inbox, outbox, "offline", settle_seconds=0, cache_dir=tmp_path / "cache", return_state=True)
    assert state.is_failed() and "1 of 3 recordings failed" in state.message
    artifact = Artifact.get(ARTIFACT_KEY)  # the latest version of the table
    assert artifact is not None and artifact.flow_run_id == state.state_details.flow_run_id
    rows = {row["recording"]: row for row in json.loads(artifact.data)}
    assert rows["site-a/P1.wav"]["status"] == "processed"
    assert rows["site-b/P2.wav"]["status"] == "processed"
    assert rows["site-b/broken.wav"]["status"].startswith("failed: ") and "broken.wav" in rows["site-b/broken.wav"]["status"]
    assert (outbox / "site-a" / "P1.json").is_file() and (outbox / "site-b" / "P2.txt").is_file()
    assert not list(outbox.glob("site-b/broken.*"))
    assert (inbox / "site-b" / "broken.wav").is_file()  # nothing moved
    assert rows["site-a/P1.wav"]["duration"].startswith("0:0")
    assert "P1.html" in rows["site-a/P1.wav"]["outputs"]
    assert rows["site-a/P1.wav"]["speakers"]
    assert calls.take()["transcribe"] == 2

    before = {p: p.stat().st_mtime_ns for p in outbox.rglob("*") if p.is_file()}
    (inbox / "site-b" / "broken.wav").unlink()
    again = process_inbox(inbox, outbox, "offline", settle_seconds=0, cache_dir=tmp_path / "cache")
    assert {row["status"] for row in again} == {"up to date"}
    assert calls.take() == {"transcribe": 0, "diarize": 0, "analyse": 0}
    assert {p: p.stat().st_mtime_ns for p in outbox.rglob("*") if p.is_file()} == before


def test_inbox_leaves_a_recording_that_is_still_being_copied(tmp_path: Path, prefect_api: str):
    from flows.process_inbox import process_inbox

    inbox = tmp_path / "inbox"
    _interview(inbox / "fresh.wav")
    rows = process_inbox(inbox, tmp_path / "outbox", "offline", settle_seconds=3600, cache_dir=tmp_path / "cache")
    assert [row["status"].split(":")[0] for row in rows] == ["waiting"]
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").iterdir())


def test_command_line_runs_each_recording_as_the_flow_with_one_line_per_failure(
    tmp_path: Path, prefect_api: str, monkeypatch: pytest.MonkeyPatch
):
    from typer.testing import CliRunner

    from undertone.cli import app

    monkeypatch.setenv("UNDERTONE_ENGINE", "prefect")
    monkeypatch.setenv("UNDERTONE_CACHE_DIR", str(tmp_path / "cache"))
    good = _interview(tmp_path / "P5.wav")
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    out = tmp_path / "out"
    calls = Calls(monkeypatch)
    runner = CliRunner()

    result = runner.invoke(app, ["process", str(good), str(bad), "--out", str(out), "--profile", "offline"])
    assert result.exit_code == AudioError.exit_code, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(f"done: {good} -> {out / 'P5.json'}")
    assert lines[1] == f"error: {bad}: not a readable audio file (no audio stream found)"
    assert len(lines) == 2  # no Prefect logs or tracebacks on the terminal
    assert calls.take()["transcribe"] == 1
    assert (tmp_path / "cache").is_dir()

    again = runner.invoke(app, ["process", str(good), "--out", str(out), "--profile", "offline"])
    assert again.exit_code == 0 and again.output.startswith("up to date: ")
    forced = runner.invoke(app, ["process", str(good), "--out", str(out), "--profile", "offline", "--force"])
    assert forced.exit_code == 0 and forced.output.startswith("done: ")
    assert calls.take() == {"transcribe": 0, "diarize": 0, "analyse": 1}  # the models' results came from the cache


def test_inbox_on_a_dask_cluster_runs_recordings_in_worker_processes(tmp_path: Path, prefect_api: str):
    from distributed import LocalCluster

    from flows.process_inbox import on_dask

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    _interview(inbox / "P1.wav")
    _interview(inbox / "P2.wav", "And after that?", "We moved away.")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        rows = on_dask(cluster.scheduler_address)(inbox, outbox, "offline", settle_seconds=0, cache_dir=tmp_path / "cache")
        prefixes = list(cluster.scheduler.task_prefixes)
    assert [row["status"] for row in rows] == ["processed", "processed"]
    assert (outbox / "P1.json").is_file() and (outbox / "P2.json").is_file()
    assert prefixes == ["process_one"]  # the recordings ran as Dask tasks, in the workers' processes


def test_command_line_needs_no_server_prefects_embedded_mode(tmp_path: Path):
    """No PREFECT_API_URL: Prefect starts its own temporary local server for the run."""
    import os
    import subprocess
    import sys

    audio = _interview(tmp_path / "P6.wav")
    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    environment.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"), UNDERTONE_ENGINE="prefect", UNDERTONE_CACHE_DIR=str(tmp_path / "cache")
    )
    undertone = str(Path(sys.executable).with_name("undertone"))
    done = subprocess.run(
        [undertone, "process", str(audio), "--out", str(tmp_path / "out"), "--profile", "offline", "--formats", "txt"],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1].startswith(f"done: {audio}")
    assert "prefect" not in done.stderr.lower()  # Prefect's own logs stay off the terminal
    assert (tmp_path / "out" / "P6.txt").is_file()
    assert any(p.name.startswith("transcription-") for p in (tmp_path / "cache").iterdir())


def test_prefect_overhead_benchmark_reports_its_figures(tmp_path: Path, prefect_api: str, repo: Path):
    import sys

    sys.path.insert(0, str(repo / "bench"))
    try:
        from prefect_overhead import main
    finally:
        sys.path.remove(str(repo / "bench"))
    main(["--runs", "1", "--json", str(tmp_path / "overhead.json")])
    figures = json.loads((tmp_path / "overhead.json").read_text())
    assert figures["recording_s"] > 60 and figures["target_s"] == 2.0
    assert len(figures["flow_s"]) == len(figures["direct_s"]) == 1
    assert all(t > 0 for t in figures["flow_s"] + figures["direct_s"])
    assert figures["status"] in {"PASS", "MISS"}
