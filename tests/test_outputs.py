"""Outputs are written whole or not at all, owner-only."""

import os
import stat
from pathlib import Path

import pytest

from documents import make_transcript
from undertone.config import RenderSettings
from undertone.errors import OutputError
from undertone.outputs import write_outputs


def test_writes_json_and_txt_owner_only(tmp_path: Path):
    transcript = make_transcript([("S1", ["hello"])])
    written = write_outputs(transcript, tmp_path / "out", RenderSettings(), ["json", "txt"])
    assert [p.name for p in written] == ["p2.json", "p2.txt"]
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "    1  I:  hello" in written[1].read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p2.json", "p2.txt"]  # no leftovers


def test_failed_write_leaves_previous_outputs_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    out = tmp_path / "out"
    first = write_outputs(make_transcript([("S1", ["first"])]), out, RenderSettings())
    before = {p.name: p.read_bytes() for p in first}

    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):  # the second rename hits a full disk
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OutputError, match="disk is full"):
        write_outputs(make_transcript([("S1", ["second"])]), out, RenderSettings())
    assert not list(out.glob("*.part"))
    assert (out / "p2.txt").read_bytes() == before["p2.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_is_reported(tmp_path: Path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(OutputError, match="locked"):
        write_outputs(make_transcript([("S1", ["x"])]), locked, RenderSettings())


def test_output_path_that_cannot_be_a_folder_is_reported(tmp_path: Path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="report.txt.*cannot create output folder"):
        write_outputs(make_transcript([("S1", ["x"])]), blocker / "out", RenderSettings())


def test_frames_table_is_written_beside_the_transcript(tmp_path: Path):
    import numpy as np

    from undertone.frames import Frames

    frames = Frames(
        times=np.array([0.005, 0.015, 0.025]),
        f0_hz=np.array([np.nan, 120.04, 121.5]),
        intensity_db=np.array([-80.0, -20.04, -19.96]),
        speaker=np.array(["", "S1", "S1+S2"], dtype=object),
    )
    written = write_outputs(make_transcript([("S1", ["x"])]), tmp_path, RenderSettings(), ["json", "txt"], frames=frames)
    assert [p.name for p in written] == ["p2.json", "p2.txt", "p2.frames.csv"]
    assert (tmp_path / "p2.frames.csv").read_text().splitlines() == [
        "time,f0_hz,intensity_db,speaker",
        "0.005,,-80.0,",
        "0.015,120.0,-20.0,S1",
        "0.025,121.5,-20.0,S1+S2",
    ]
    assert (tmp_path / "p2.frames.csv").stat().st_mode & 0o777 == 0o600


def test_formats_parse_in_registry_order_and_always_keep_the_json():
    from undertone.render import RENDERERS, parse_formats

    assert parse_formats(None) == tuple(RENDERERS)
    assert parse_formats("all") == tuple(RENDERERS)
    assert parse_formats("txt") == ("json", "txt")
    assert parse_formats(["TXT", " json "]) == ("json", "txt")
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        parse_formats("txt,pdf")


def test_binary_renderings_are_written_byte_for_byte(tmp_path, monkeypatch):
    from undertone import render

    payload = bytes(range(256)) + b"\r\n\n"
    monkeypatch.setitem(render.RENDERERS, "bin", render.Renderer(".bin", lambda t, s, c: payload))
    written = write_outputs(make_transcript([("S1", ["x"])]), tmp_path, RenderSettings(), ["json", "bin"])
    assert [p.suffix for p in written] == [".json", ".bin"]
    assert written[-1].read_bytes() == payload


def test_media_link_is_relative_to_the_output_folder(tmp_path):
    from undertone.render import RenderContext

    audio = tmp_path / "recordings" / "p 2.wav"
    context = RenderContext(out_dir=tmp_path / "out" / "transcripts", audio=audio)
    assert context.media_link() == "../../recordings/p 2.wav"
    assert RenderContext(out_dir=tmp_path).media_link() is None


def test_every_folder_created_for_the_outputs_is_owner_only(tmp_path: Path):
    previous = os.umask(0o022)  # the usual umask: mkdir(parents=True) would make the parents 0755
    try:
        write_outputs(make_transcript([("S1", ["x"])]), tmp_path / "a" / "b" / "out", RenderSettings(), ["json"])
    finally:
        os.umask(previous)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "out"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_single_file_output_keeps_its_earlier_version(tmp_path: Path):
    from undertone.outputs import keep_previous_file, write_file

    clip = tmp_path / "clip.wav"
    assert keep_previous_file(clip) is None
    write_file(clip, b"first")
    kept = keep_previous_file(clip)
    write_file(clip, b"second")
    assert kept is not None and kept.parent == tmp_path / "previous" and kept.suffix == ".wav"
    assert kept.read_bytes() == b"first" and clip.read_bytes() == b"second"
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    again = keep_previous_file(clip)  # same second: a numbered name, never overwritten
    assert again != kept and again.read_bytes() == b"second" and kept.read_bytes() == b"first"
