"""Cache keys of the expensive stages, transient-failure detection and the inbox scan (no Prefect)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from undertone import diarize, transcribe
from undertone.config import load_settings
from undertone.errors import AudioError, ConfigError, is_transient
from undertone.inbox import InboxError, scan
from undertone.stage_cache import default_cache_dir, diarization_key, private_folder, transcription_key
from undertone.transcribe.known import KnownTurn

SHA = "a" * 64


def _settings(**overrides):
    return load_settings("offline", None, overrides)


def test_transcription_key_follows_recording_asr_settings_and_code_version(monkeypatch: pytest.MonkeyPatch):
    base = transcription_key(SHA, _settings())
    assert base == transcription_key(SHA, _settings())
    assert base.startswith("transcription-")
    assert base != transcription_key("b" * 64, _settings())
    assert base != transcription_key(SHA, _settings(asr={"language": "de"}))
    assert base != transcription_key(SHA, _settings(models_dir="/srv/models"))
    monkeypatch.setattr(transcribe, "STAGE_VERSION", "999")
    assert base != transcription_key(SHA, _settings())


def test_transcription_key_ignores_settings_only_later_stages_read():
    base = transcription_key(SHA, _settings())
    assert base == transcription_key(SHA, _settings(marks={"loud_db": 9.0}, render={"width": 60}))
    assert base == transcription_key(SHA, _settings(diarization={"speakers": 3}))
    assert base == transcription_key(SHA, _settings(pauses={"micropause_min_s": 0.15}))


def test_known_transcript_replaces_the_asr_settings_in_the_key():
    known = [KnownTurn("I", "how are you", 1), KnownTurn("P", "fine", 2)]
    aligned = transcription_key(SHA, _settings(), known)
    assert aligned != transcription_key(SHA, _settings())
    assert aligned == transcription_key(SHA, _settings(asr={"language": "de"}), known)
    assert aligned != transcription_key(SHA, _settings(), [KnownTurn("I", "how are you", 1), KnownTurn("P", "good", 2)])


def test_diarization_key_follows_its_own_settings_only(monkeypatch: pytest.MonkeyPatch):
    base = diarization_key(SHA, _settings())
    assert base.startswith("diarization-")
    assert base != diarization_key(SHA, _settings(diarization={"speakers": 2}))
    assert base != diarization_key(SHA, _settings(diarization={"channels": "mixed"}))
    assert base == diarization_key(SHA, _settings(asr={"language": "de"}, marks={"loud_db": 9.0}))
    monkeypatch.setattr(diarize, "STAGE_VERSION", "999")
    assert base != diarization_key(SHA, _settings())


def test_cache_folder_is_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("UNDERTONE_CACHE_DIR", str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache"
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    for folder in (private_folder(tmp_path / "cache" / "stages"), private_folder(loose)):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    monkeypatch.delenv("UNDERTONE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "undertone" / "stages"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TimeoutError("read timed out"), True),
        (ConnectionResetError("peer reset"), True),
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (RuntimeError("shape mismatch"), False),
        (ValueError("bad value"), False),
        (AudioError("x.wav", "not an audio file"), False),
        (ConfigError("c.toml", "malformed"), False),
    ],
)
def test_only_failures_that_may_pass_by_themselves_are_transient(error: BaseException, transient: bool):
    assert is_transient(error) is transient


def test_inbox_scan_mirrors_folders_and_skips_what_is_not_a_settled_recording(tmp_path: Path):
    inbox, outbox = tmp_path / "inbox", tmp_path / "inbox" / "out"
    for name in ["site-a/P1.wav", "site-a/P2.FLAC", "P3.mp3", "notes.txt", ".hidden.wav",
                 ".sync/P4.wav", "P1.speakers.toml", "out/P1.wav", "new.m4a"]:
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    old = 1_000_000.0
    for path in inbox.rglob("*"):
        if path.is_file() and path.name != "new.m4a":
            os.utime(path, (old, old))
    os.utime(inbox / "new.m4a", (old + 100, old + 100))
    found = scan(inbox, outbox, settle_seconds=60, now=old + 120)
    assert [str(r.relative) for r in found] == ["P3.mp3", "new.m4a", "site-a/P1.wav", "site-a/P2.FLAC"]
    assert [r.settled for r in found] == [True, False, True, True]
    assert found[2].out_dir == outbox.resolve() / "site-a"
    assert found[0].out_dir == outbox.resolve()


def test_inbox_that_is_missing_or_a_file_is_one_clear_error(tmp_path: Path):
    with pytest.raises(InboxError, match="inbox folder does not exist"):
        scan(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InboxError, match="inbox is not a folder"):
        scan(tmp_path / "file", tmp_path / "out")
    (tmp_path / "in").mkdir()
    with pytest.raises(InboxError, match="outbox is not a folder"):
        scan(tmp_path / "in", tmp_path / "file")


def test_prefect_analytics_stay_off_even_when_the_user_turned_them_on(monkeypatch: pytest.MonkeyPatch):
    """Outside CI (where Prefect switches its SDK analytics off by itself), with DO_NOT_TRACK=0."""
    from prefect._internal.analytics.ci_detection import CI_ENV_VARS
    from prefect._internal.analytics.enabled import is_telemetry_enabled

    import flows
    from undertone.privacy import disable_telemetry

    for name in CI_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DO_NOT_TRACK", "0")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "true")
    assert flows.__name__ == "flows"
    disable_telemetry()  # what importing flows, or the command line, does before any run
    assert not is_telemetry_enabled()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"


def test_a_plan_always_includes_the_json_document(tmp_path: Path):
    from undertone.jobs import plan

    audio = tmp_path / "P1.wav"
    audio.write_bytes(b"RIFF")
    chosen = plan(audio, tmp_path / "out", _settings(), ["txt"])
    assert [p.name for p in chosen.targets] == ["P1.txt", "P1.frames.csv", "P1.json"]
    assert chosen.fingerprint and not chosen.up_to_date


def test_cache_folders_and_their_new_parents_are_owner_only(tmp_path: Path):
    previous = os.umask(0o022)  # as on most machines (importing flows tightens it: see the next test)
    try:
        folder = private_folder(tmp_path / "home" / ".cache" / "undertone" / "stages")
        for made in (folder, *list(folder.parents)[:3]):
            assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    finally:
        os.umask(previous)


def test_files_prefect_writes_for_undertone_are_owner_only(tmp_path: Path):
    """Prefect writes cached results (the words) with the process's umask; importing flows tightens it."""
    import importlib

    import flows

    previous = os.umask(0o022)
    try:
        importlib.reload(flows)
        cached = tmp_path / "transcription-abc"
        cached.write_bytes(b"words")  # as Prefect's LocalFileSystem does: open(path, "wb")
        assert stat.S_IMODE(cached.stat().st_mode) == 0o600
        (tmp_path / "folder").mkdir()
        assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o700
    finally:
        os.umask(previous)


def test_entries_cached_before_are_tightened_when_the_cache_is_used(tmp_path: Path):
    from flows.tasks import cached_in

    old = tmp_path / "cache" / "transcription-old"
    old.parent.mkdir()
    old.write_bytes(b"words")
    os.chmod(old, 0o644)
    os.chmod(old.parent, 0o755)
    cached_in(tmp_path / "cache")
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert stat.S_IMODE(old.parent.stat().st_mode) == 0o700


def _persisted_texts(folder: Path) -> list[tuple[Path, bytes]]:
    """Every file under ``folder``, with Prefect's result records decoded (base64 pickles in JSON)."""
    import base64
    import json

    found = []
    for path in (p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found.append((path, data.lower()))
        try:
            result = json.loads(data)["result"]
            found.append((path, base64.b64decode(result).lower()))
        except (ValueError, KeyError, TypeError):
            pass
    return found


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_prefect_runs_cache_owner_only_files_and_persist_nothing_unredacted(tmp_path: Path):
    """The command line's default engine (Prefect, embedded mode): cached words are 0600 files;
    with a redaction list nothing holding the words is persisted, in the cache or Prefect's home."""
    import subprocess
    import sys

    import numpy as np
    import soundfile

    from synth import SR, espeak, silence

    recording = tmp_path / "p2.wav"
    soundfile.write(recording, np.concatenate([
        silence(0.3), espeak("did you see Alice Smith", "en-gb+m3"), silence(0.6),
        espeak("yes Alice was in Leeds with Bob", "en-us+f1"), silence(0.3),
    ]), SR)
    transcript = tmp_path / "p2.transcript.txt"
    transcript.write_text("Bob: did you see Alice Smith\nAlice: yes Alice was in Leeds with Bob\n")
    names = tmp_path / "names.txt"
    names.write_text("Alice Smith | Alice\nBob\nLeeds = PLACE\n")
    out = tmp_path / "out"
    environment = {key: value for key, value in os.environ.items() if key not in ("PREFECT_API_URL", "UNDERTONE_ENGINE")}

    def run(home: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "undertone", "process", str(recording), "--transcript", str(transcript),
                   "--profile", "offline", "--formats", "txt", "--out", str(out), *extra]
        env = {**environment, "PREFECT_HOME": str(home), "UNDERTONE_CACHE_DIR": str(cache)}
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert finished.returncode == 0, finished.stderr
        return finished

    plain_cache = tmp_path / "cache-plain"
    run(tmp_path / "home-plain", plain_cache)
    entries = [p for p in plain_cache.rglob("*") if p.is_file()]
    assert [p.name.split("-")[0] for p in entries] == ["transcription"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in entries)
    assert any(b"alice" in text for _, text in _persisted_texts(plain_cache))  # the check below can see words

    home, cache = tmp_path / "home-redacted", tmp_path / "cache-redacted"
    redacted = run(home, cache, "--redact", str(names))
    assert not [p for p in cache.rglob("*") if p.is_file()]  # the transcription was not persisted
    leaks = [(path, term) for path, text in _persisted_texts(home) + _persisted_texts(cache)
             for term in (b"alice", b"leeds", b"smith", b"bob") if term in text]
    assert leaks == []
    assert "alice" not in (out / "p2.txt").read_text().lower()
    (kept,) = (out / "previous").iterdir()
    assert f"kept in {kept}, are not redacted" in redacted.stderr
