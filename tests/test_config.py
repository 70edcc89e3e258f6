from pathlib import Path

import pytest

from undertone.config import available_profiles, load_settings
from undertone.errors import ConfigError


def test_shipped_profiles_load_and_differ():
    assert {"default", "offline"} <= set(available_profiles())
    default, offline = load_settings("default"), load_settings("offline")
    assert (default.asr.backend, default.diarization.backend) == ("whisper", "pyannote")
    assert (offline.asr.backend, offline.diarization.backend) == ("pocketsphinx", "embedded")
    assert offline.profile == "offline"


def test_config_file_and_overrides_apply_in_order(tmp_path: Path):
    config = tmp_path / "mine.toml"
    config.write_text('[render]\nwidth = 60\n[pauses]\ntimed_min_s = 0.25\n')
    settings = load_settings("offline", config, {"render": {"width": 80}})
    assert settings.render.width == 80  # command line beats config file
    assert settings.pauses.timed_min_s == 0.25  # config file beats profile
    assert settings.asr.backend == "pocketsphinx"  # profile kept where nobody overrides


def test_typo_in_config_is_an_error_naming_the_file(tmp_path: Path):
    config = tmp_path / "typo.toml"
    config.write_text("[pauses]\nmicropause_min = 0.1\n")
    with pytest.raises(ConfigError, match="typo.toml.*pauses.micropause_min"):
        load_settings("offline", config)


def test_malformed_toml_and_unknown_profile(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[render\nwidth=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings("offline", bad)
    with pytest.raises(ConfigError, match="unknown profile 'nope'.*offline"):
        load_settings("nope")


def test_inconsistent_thresholds_rejected():
    with pytest.raises(ConfigError, match="micropause_min_s"):
        load_settings("offline", overrides={"pauses": {"micropause_min_s": 0.3, "timed_min_s": 0.2}})
