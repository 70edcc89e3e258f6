"""Scheduled and manual triggers through a real Prefect server and a served deployment.

``undertone serve`` runs in a subprocess against the session's local Prefect server (SQLite);
the test triggers runs through the API and through ``prefect deployment run``, as a person or
the schedule would, and checks the outputs, and that a second inbox run over an unchanged inbox
starts no recording.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from prefect_server import prefect_command
from synth import espeak, silence

SR = 16_000


def _recording(path: Path, words: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.concatenate([silence(0.3), espeak(words, "en-us"), silence(0.3)]), SR)
    return path


def _wait_for_deployments(names: list[str], server: subprocess.Popen, timeout_s: float = 300) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        for name in names:
            while True:
                assert server.poll() is None, "undertone serve exited early"
                try:
                    client.read_deployment_by_name(name)
                    break
                except ObjectNotFound:
                    assert time.monotonic() < deadline, f"{name} was not registered"
                    time.sleep(1)


def _recording_flow_runs() -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return len(client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["process-recording"]))))


@pytest.mark.slow
def test_served_inbox_and_manual_deployments(tmp_path: Path, prefect_api: str):
    from prefect.deployments import run_deployment

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    _recording(inbox / "site-a" / "P1.wav", "Thank you for coming in today.")
    environment = {**os.environ, "PREFECT_API_URL": prefect_api, "UNDERTONE_CACHE_DIR": str(tmp_path / "cache")}
    undertone = str(Path(sys.executable).with_name("undertone"))
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen(
        [undertone, "serve", "--inbox", str(inbox), "--outbox", str(outbox), "--cron", "0 2 * * *",
         "--profile", "offline", "--settle-seconds", "0", "--formats", "txt,html"],
        env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_deployments(["process-inbox/inbox", "process-recording/manual"], server)
        before = _recording_flow_runs()

        first = run_deployment("process-inbox/inbox", timeout=600, poll_interval=2)
        assert first.state.is_completed(), (first.state, (tmp_path / "serve.log").read_text()[-3000:])
        assert (outbox / "site-a" / "P1.txt").is_file() and (outbox / "site-a" / "P1.html").is_file()
        assert _recording_flow_runs() == before + 1
        written = (outbox / "site-a" / "P1.json").stat().st_mtime_ns

        second = run_deployment("process-inbox/inbox", timeout=600, poll_interval=2)
        assert second.state.is_completed()
        assert _recording_flow_runs() == before + 1  # an unchanged inbox starts no recording
        assert (outbox / "site-a" / "P1.json").stat().st_mtime_ns == written

        # A person's manual trigger, exactly as the README gives it.
        other = _recording(tmp_path / "elsewhere" / "P9.wav", "I would rather not say.")
        manual = subprocess.run(
            [*prefect_command(), "deployment", "run", "process-recording/manual",
             "--param", f"audio={other}", "--param", f"out={tmp_path / 'manual'}", "--watch"],
            env=environment, capture_output=True, text=True, timeout=600,
        )
        assert manual.returncode == 0, manual.stdout[-2000:] + manual.stderr[-2000:]
        assert (tmp_path / "manual" / "P9.txt").is_file() and (tmp_path / "manual" / "P9.html").is_file()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_serve_refuses_a_missing_inbox_and_a_bad_schedule_before_serving(tmp_path: Path):
    from typer.testing import CliRunner

    from undertone.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["serve", "--inbox", str(tmp_path / "nope"), "--outbox", str(tmp_path / "o"), "--interval", "60"])
    assert missing.exit_code == 5 and "inbox folder does not exist" in missing.output
    (tmp_path / "in").mkdir()
    both = runner.invoke(app, ["serve", "--inbox", str(tmp_path / "in"), "--outbox", str(tmp_path / "o"), "--interval", "60", "--cron", "0 2 * * *"])
    assert both.exit_code == 2 and "exactly one of --cron or --interval" in both.output
    bad = runner.invoke(app, ["serve", "--inbox", str(tmp_path / "in"), "--outbox", str(tmp_path / "o"), "--cron", "daily"])
    assert bad.exit_code == 2 and "expected five fields" in bad.output


@pytest.mark.slow
def test_prefect_yaml_deploys_to_a_work_pool_and_a_worker_runs_it(tmp_path: Path, prefect_api: str, repo: Path):
    """``prefect deploy --all`` with the shipped prefect.yaml, then a process worker runs a manual trigger."""
    environment = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "UNDERTONE_CACHE_DIR": str(tmp_path / "cache"),
        "UNDERTONE_INBOX": str(tmp_path / "inbox"),
        "UNDERTONE_OUTBOX": str(tmp_path / "outbox"),
    }
    prefect = prefect_command()

    def run(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*prefect, *arguments], cwd=repo, env=environment, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"prefect {' '.join(arguments)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done

    run("work-pool", "create", "undertone", "--type", "process", "--overwrite")
    run("--no-prompt", "deploy", "--all")

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        inbox = client.read_deployment_by_name("process-inbox/inbox")
        manual = client.read_deployment_by_name("process-recording/manual")
    assert inbox.work_pool_name == manual.work_pool_name == "undertone"
    assert inbox.parameters["inbox"] == str(tmp_path / "inbox")
    assert [s.schedule.cron for s in inbox.schedules] == ["0 2 * * *"]

    from prefect.deployments import run_deployment

    audio = _recording(tmp_path / "recordings" / "P7.wav", "We can stop whenever you like.")
    out = tmp_path / "out"
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen(
        [*prefect, "worker", "start", "--pool", "undertone"], cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        flow_run = run_deployment(
            "process-recording/manual",
            parameters={"audio": str(audio), "out": str(out), "profile": "offline"},
            timeout=600,
            poll_interval=2,
        )
        assert flow_run.state.is_completed(), (flow_run.state, (tmp_path / "worker.log").read_text()[-3000:])
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
    assert (out / "P7.json").is_file() and (out / "P7.txt").is_file()
