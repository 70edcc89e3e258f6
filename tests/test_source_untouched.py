"""Source recordings are never modified or moved: not by processing, applying corrections or reviewing.

Each test records the recording's folder (every file's bytes, modification time and mode) before
and compares after; processing covers a format soundfile reads (WAV) and one ffmpeg decodes (M4A).
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile
from typer.testing import CliRunner

from synth import SR, silence, voiced
from test_correct_support import STEM, add_edits, processed_folder, word_id
from undertone.cli import app

runner = CliRunner()


def _snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file in ``folder`` (not below): its sha256, mtime (ns) and mode."""
    return {
        path.name: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, path.stat().st_mode)
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


def _recordings(folder: Path) -> list[Path]:
    folder.mkdir()
    signal = np.concatenate([silence(0.4), voiced(120, 1.2), silence(0.6), voiced(220, 1.0), silence(0.4)])
    wav = folder / "p1 interview.wav"
    soundfile.write(wav, signal, SR)
    if shutil.which("ffmpeg") is None:
        return [wav]
    m4a = folder / "p2.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    return [wav, m4a]


def test_processing_leaves_the_recordings_as_they_were(tmp_path: Path):
    recordings = _recordings(tmp_path / "recordings")
    assert len(recordings) == 2 or shutil.which("ffmpeg") is None
    before = _snapshot(tmp_path / "recordings")
    names = tmp_path / "names.txt"
    names.write_text("interview = WORD\n")  # the redacted name of the outputs does not rename the recording
    result = runner.invoke(app, ["process", *map(str, recordings), "--out", str(tmp_path / "out"),
                                 "--profile", "offline", "--redact", str(names)])
    assert result.exit_code == 0, result.output
    expected = ["p1 [WORD-1].json", "p2.json"][: len(recordings)]
    assert all((tmp_path / "out" / name).is_file() for name in expected)
    assert _snapshot(tmp_path / "recordings") == before


def test_applying_and_reviewing_leave_the_recording_as_it_was(tmp_path: Path):
    out, machine = processed_folder(tmp_path / "work")
    before = _snapshot(tmp_path / "work")
    add_edits(out, {"kind": "correct_word", "word": word_id(machine, "lovely"), "text": "charming"})
    assert runner.invoke(app, ["apply", str(out)]).exit_code == 0

    from undertone.correct.server import ReviewServer

    server = ReviewServer(out)
    server.start_in_thread()
    try:
        for method, path in (("GET", f"/media/{STEM}"), ("GET", f"/review/{STEM}"), ("POST", f"/api/{STEM}/apply")):
            connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
            connection.request(method, path, b"" if method == "POST" else None,
                               {"X-Undertone-Token": server.token, "Host": f"{server.host}:{server.port}"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200, path
    finally:
        server.close()
    assert _snapshot(tmp_path / "work") == before
