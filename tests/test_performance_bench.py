"""The performance benchmark (bench/performance.py) runs end to end and reports every figure.

A tiny run: two sizes of a few seconds, a batch of two short recordings, librosa.pyin on 3 s and
the Whisper shape of ``tiny`` with a few decoder steps. Timings on a shared machine vary, so only
the structure is checked: every stage, baseline and target is there, with positive numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "performance.py"
STAGES = {"load", "transcribe", "diarise", "analysis", "render"}
TARGETS = {
    "ours per hour (load + analysis + render)",
    "ours peak memory",
    "linear: twice the audio, times the cost",
    "loading vs ffmpeg decode",
    "offline profile end to end, one recording",
    "batch: offline throughput",
    "batch: cores busy",
    "Prefect overhead per recording",
}


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and value > 0


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> tuple[dict, str]:
    # prefect_api: the session's Prefect server, which the benchmark's flow runs connect to.
    folder = tmp_path_factory.mktemp("performance")
    report = folder / "run.json"
    done = subprocess.run(
        [
            sys.executable, str(SCRIPT), "--sizes", "0.3", "0.4", "--rate", "16000", "--batch", "2", "0.2",
            "--whisper", "tiny", "--whisper-tokens", "3", "--pyin-seconds", "3", "--prefect-runs", "1",
            "--cache", str(folder / "cache"), "--json", str(report),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(report.read_text()), done.stdout


@pytest.mark.slow
def test_every_stage_of_every_size_is_measured(results: tuple[dict, str]) -> None:
    data, _ = results
    assert [size["minutes"] for size in data["sizes"]] == [0.3, 0.4]
    for size in data["sizes"]:
        assert size["audio_s"] == pytest.approx(size["minutes"] * 60, abs=0.1)
        assert size["words"] > 0 and size["output_files"] > 0
        assert {stage["stage"] for stage in size["stages"]} == STAGES
        for figures in [size["startup"], *size["stages"]]:
            assert all(_positive(figures[key]) for key in ("wall_s", "cpu_s", "peak_mb")), figures
        assert len(size["loadavg_before"]) == 3


@pytest.mark.slow
def test_baselines_are_measured(results: tuple[dict, str]) -> None:
    data, _ = results
    assert set(data["loading"]) == {"m4a", "m4a-16k", "flac"}
    for loading in data["loading"].values():
        assert all(_positive(loading[key]) for key in ("ffmpeg_s", "load_s", "load_peak_mb", "file_mb"))
    assert all(_positive(data["pyin"][key]) for key in ("wall_s", "per_hour_s"))
    (whisper,) = data["whisper"]
    assert whisper["model"] == "tiny" and whisper["device"] == "cpu"
    for key in ("encoder_s", "prefill_s", "per_token_s", "alignment_decoder_s", "window_s", "per_hour_s", "x_real_time"):
        assert _positive(whisper[key]), key
    batch = data["batch"]
    assert batch["recordings"] == 2
    for run in (batch["one_at_a_time"], batch["two_processes"]):
        assert all(_positive(run[key]) for key in ("wall_s", "cpu_s", "x_real_time", "recordings_per_hour"))
    assert _positive(batch["speedup"])
    prefect = data["prefect"]
    assert _positive(prefect["startup_s"]) and len(prefect["flow_s"]) == len(prefect["direct_s"]) == 1
    assert all(_positive(t) for t in prefect["flow_s"] + prefect["direct_s"])


@pytest.mark.slow
def test_every_target_has_a_value_and_a_status(results: tuple[dict, str]) -> None:
    data, printed = results
    assert {target["name"] for target in data["targets"]} == TARGETS
    for target in data["targets"]:
        # Prefect's overhead is a difference of two timings: on a busy machine it can come out negative.
        measured = isinstance(target["value"], float) if target["name"].startswith("Prefect") else _positive(target["value"])
        assert measured and _positive(target["target"]), target
        assert target["status"] in {"PASS", "MISS"}
        assert target["status"] in printed
    assert "GPU figures are NOT measured" in printed


@pytest.mark.slow
def test_the_machine_is_described(results: tuple[dict, str]) -> None:
    data, _ = results
    machine = data["machine"]
    assert machine["cpu_count"] >= 1 and machine["cpu_model"] and machine["python"] and machine["torch"]
    assert machine["date"] and len(machine["loadavg_start"]) == 3 and len(machine["loadavg_end"]) == 3
