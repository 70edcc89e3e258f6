"""No network traffic while processing: interviews are confidential.

Every way Python opens a connection or resolves a name goes through the ``socket`` module; the
guard below wraps those entry points and fails the test on any attempt to reach an address that
is not on this machine (loopback, or a Unix socket). Prefect's embedded server talks to itself
over loopback, which is allowed. The guard records attempts as well as blocking them, so a
library that swallows the error (telemetry usually does) is still caught.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from conftest import SAMPLE_AUDIO
from synth import SR, silence, voiced
from undertone.cli import app

runner = CliRunner()
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local(host: object) -> bool:
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost: resolving it is already traffic


class EgressGuard:
    """Blocks and records connection attempts and name look-ups beyond this machine."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def check(self, what: str, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if isinstance(address, (str, bytes)) and not isinstance(address, tuple):
            return  # AF_UNIX path
        if not _is_local(host):
            self.attempts.append(f"{what} {address!r}")
            raise ConnectionRefusedError(f"test guard: no network traffic allowed ({what} {address!r})")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        guard = self
        real_connect, real_connect_ex, real_sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
        real_getaddrinfo = socket.getaddrinfo

        def connect(sock, address):
            guard.check("connect", address)
            return real_connect(sock, address)

        def connect_ex(sock, address):
            guard.check("connect_ex", address)
            return real_connect_ex(sock, address)

        def sendto(sock, data, *args):
            guard.check("sendto", args[-1])
            return real_sendto(sock, data, *args)

        def getaddrinfo(host, *args, **kwargs):
            guard.check("getaddrinfo", (host,))
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket.socket, "sendto", sendto)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def no_egress(monkeypatch: pytest.MonkeyPatch) -> Iterator[EgressGuard]:
    guard = EgressGuard()
    guard.install(monkeypatch)
    yield guard
    assert guard.attempts == [], f"network traffic attempted: {guard.attempts}"


def test_the_guard_blocks_and_records_remote_connections_but_not_loopback(monkeypatch):
    guard = EgressGuard()
    guard.install(monkeypatch)
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 443), timeout=0.2)  # TEST-NET-1: never routed
    with pytest.raises(OSError):
        socket.getaddrinfo("example.org", 443)
    assert len(guard.attempts) == 2
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with socket.create_connection(server.getsockname(), timeout=1.0):
        pass
    server.close()
    assert len(guard.attempts) == 2


@pytest.mark.slow
def test_offline_profile_sends_nothing(no_egress: EgressGuard, tmp_path: Path):
    # Recognition (not alignment) and the embedded diarizer: the offline profile's longest path.
    result = runner.invoke(
        app, ["process", str(SAMPLE_AUDIO / "interview.wav"), "--profile", "offline", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "interview.html").is_file()


@pytest.mark.slow
def test_default_profile_from_a_model_folder_sends_nothing(no_egress: EgressGuard, tmp_path: Path, monkeypatch):
    # pyannote.audio reports usage metrics by default; asking for them must not reach the network.
    import torch
    from tiny_models import random_pipeline_folder, tiny_whisper_checkpoint
    from undertone.diarize import pyannote_backend

    monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", "true")
    models = tmp_path / "models"
    tiny_whisper_checkpoint(models / "turbo.pt")
    shutil.copytree(
        random_pipeline_folder(tmp_path / "pipeline"),
        pyannote_backend.local_pipeline_folder(pyannote_backend.DEFAULT_MODEL, models),
    )
    config = tmp_path / "air-gapped.toml"
    config.write_text(f'models_dir = "{models}"\n')
    recording = tmp_path / "short.wav"
    soundfile.write(recording, np.concatenate([silence(0.5), voiced(110, 2.0), silence(0.8), voiced(230, 2.0)]), SR)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = runner.invoke(
            app, ["process", str(recording), "--out", str(tmp_path / "out"), "--config", str(config),
                  "--speakers", "2", "--language", "en"]
        )
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_prefect_flow_sends_nothing_beyond_its_local_server(prefect_api: str, no_egress: EgressGuard, tmp_path: Path):
    from flows.process_recording import process_recording

    outcome = process_recording(
        SAMPLE_AUDIO / "interview.wav", tmp_path, profile="offline",
        transcript=SAMPLE_AUDIO / "interview.transcript.txt", formats=["txt"], cache_dir=tmp_path / "cache",
    )
    assert {p.name for p in outcome.written} >= {"interview.json", "interview.txt"}


# Loaded by every Python process started with its folder on PYTHONPATH (the command line, the
# Prefect embedded server it starts, their workers): the same guard as above, logging each
# blocked attempt to a file, since those processes cannot report to this test otherwise.
GUARD_SITECUSTOMIZE = '''
import ipaddress, os, socket, sys

_LOG = os.environ["UNDERTONE_EGRESS_LOG"]
with open(_LOG + ".guarded", "a") as _f:
    _f.write(f"{os.getpid()} {' '.join(sys.argv)}\\n")


def _local(host):
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in {"localhost", "localhost.localdomain", "ip6-localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(what, address):
    if isinstance(address, (str, bytes)):
        return  # a Unix socket
    host = address[0] if isinstance(address, tuple) else None
    if not _local(host):
        with open(_LOG, "a") as f:
            f.write(f"{os.getpid()} {what} {address!r}\\n")
        raise ConnectionRefusedError(f"test guard: no network traffic allowed ({what} {address!r})")


_connect, _connect_ex, _sendto, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto, socket.getaddrinfo
)


def connect(sock, address):
    _check("connect", address)
    return _connect(sock, address)


def connect_ex(sock, address):
    _check("connect_ex", address)
    return _connect_ex(sock, address)


def sendto(sock, data, *args):
    _check("sendto", args[-1])
    return _sendto(sock, data, *args)


def getaddrinfo(host, *args, **kwargs):
    _check("getaddrinfo", (host,))
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = connect, connect_ex, sendto
socket.getaddrinfo = getaddrinfo
'''


@pytest.mark.slow
def test_the_default_command_line_through_prefects_embedded_server_sends_nothing(tmp_path: Path):
    """``undertone process`` as a user runs it: the Prefect engine (the default), no PREFECT_API_URL, a
    fresh PREFECT_HOME, so Prefect starts its embedded server; every process is guarded."""
    import os
    import subprocess
    import sys

    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD_SITECUSTOMIZE)
    log = tmp_path / "egress.log"
    recording = tmp_path / "short.wav"
    soundfile.write(recording, np.concatenate([silence(0.5), voiced(110, 2.0), silence(0.8), voiced(230, 2.0)]), SR)
    environment = {key: value for key, value in os.environ.items() if key not in ("PREFECT_API_URL", "UNDERTONE_ENGINE")}
    environment.update(
        PYTHONPATH=os.pathsep.join([str(guard), *filter(None, [os.environ.get("PYTHONPATH")])]),
        UNDERTONE_EGRESS_LOG=str(log),
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        UNDERTONE_CACHE_DIR=str(tmp_path / "cache"),
    )
    finished = subprocess.run(
        [sys.executable, "-m", "undertone", "process", str(recording), "--out", str(tmp_path / "out"),
         "--profile", "offline"],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "out" / "short.json").is_file()
    assert list((tmp_path / "cache").iterdir()), "not the Prefect engine: nothing was cached"
    guarded = (tmp_path / "egress.log.guarded").read_text().splitlines()
    assert any("prefect.server.api.server:create_app" in line for line in guarded), guarded  # the embedded server too
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"network traffic attempted: {attempts}"


def test_the_subprocess_guard_blocks_and_logs_remote_connections(tmp_path: Path):
    import os
    import subprocess
    import sys

    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD_SITECUSTOMIZE)
    log = tmp_path / "egress.log"
    probe = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 443), timeout=0.2)\nexcept OSError:\n    pass\n"
    subprocess.run([sys.executable, "-c", probe], check=True,
                   env={**os.environ, "PYTHONPATH": str(guard), "UNDERTONE_EGRESS_LOG": str(log)})
    assert "192.0.2.1" in log.read_text()
