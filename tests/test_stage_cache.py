"""Cache keys of the expensive stages, transient-failure detection and the inbox scan (no Prefect)."""

from __future__ import annotations

import os
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
