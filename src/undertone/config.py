"""Settings: TOML profiles validated by pydantic, read once at the edge and passed down.

A run's settings are the profile (``config/<name>.toml``), then a user's ``--config`` file,
then command-line options, each overriding the one before. Unknown keys are errors, so a
typo in a config file is reported instead of silently ignored.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from undertone.errors import ConfigError
from undertone.speakers import SpeakerTable

DEFAULT_PROFILE = "default"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AsrSettings(_Section):
    backend: Literal["whisper", "pocketsphinx"] = "whisper"
    model: str = Field("turbo", description="Whisper model name or checkpoint path")
    language: str | None = Field(None, description="ISO 639-1 code; None = auto-detect")
    verbatim: bool = Field(True, description="Keep fillers, repetitions and cut-off words")
    align_words: bool = Field(
        True,
        description="Re-time recognised words by forced alignment where the language has an aligner "
        "(English: pocketsphinx): Whisper's word times come from attention, not from the audio",
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    processes: int | None = Field(
        None,
        ge=1,
        description="Worker processes for pocketsphinx recognition and for re-timing recognised "
        "words (it uses one core each); None = one per CPU core. The words are the same for any number.",
    )


class DiarizationSettings(_Section):
    backend: Literal["pyannote", "embedded"] = "pyannote"
    model: str | None = "pyannote/speaker-diarization-community-1"
    speakers: int | None = Field(None, ge=1, description="Exact number of speakers, if known")
    min_speakers: int = Field(1, ge=1)
    max_speakers: int = Field(4, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # How a recording with several channels is diarised. "split": one microphone per person,
    # so the speakers are the channels, found by which channel carries direct speech (backend
    # and model are not used). "mixed": the channels are mixed to mono for the backend.
    # "auto": split when the channels are not copies of each other and each of two leads the
    # other by many dB for a while (undertone.diarize.channels), else mixed. One-channel
    # recordings are always mixed.
    channels: Literal["auto", "mixed", "split"] = "auto"

    @model_validator(mode="after")
    def _range(self) -> "DiarizationSettings":
        if self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers must not exceed max_speakers")
        return self


class PauseSettings(_Section):
    # Silences shorter than this are ordinary articulation (stop closures last up to ~100 ms)
    # and are not transcribed at all.
    micropause_min_s: float = Field(0.1, gt=0)
    # Jefferson: a micropause "(.)" is a hearable pause under two tenths of a second; from
    # 0.2 s on, pauses are timed "(0.2)".
    timed_min_s: float = Field(0.2, gt=0)
    # Silence measurement: a 10 ms frame is silent when it is this far below the speaker's
    # median speech intensity (speech rarely dips more than ~25 dB inside a word).
    silence_below_speaker_db: float = Field(25.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> "PauseSettings":
        if self.micropause_min_s > self.timed_min_s:
            raise ValueError("micropause_min_s must not exceed timed_min_s")
        return self


class ProsodySettings(_Section):
    # Wide first-pass range covering adult voices; each speaker's own range is then
    # re-estimated from their quantiles (second pass).
    pitch_floor_hz: float = Field(60.0, gt=0)
    pitch_ceiling_hz: float = Field(600.0, gt=0)


class MarkSettings(_Section):
    """Thresholds for the prosodic marks. Every mark's measurement is kept in the JSON, so a
    reader who prefers another threshold can re-draw the marks without re-running anything."""

    # Loudness re the speaker's running median word level (Jefferson's CAPS and °degree signs°:
    # "markedly" louder or quieter). 6 dB is a doubling of sound pressure, well above the ~1 dB
    # loudness difference limen and above ordinary word-to-word variation of one speaker.
    loud_db: float = Field(6.0, gt=0)
    quiet_db: float = Field(6.0, gt=0)
    # A quiet stretch needs this many words: single words drop in level at the end of every
    # phrase (final lowering), which is not the trailing-off °quiet talk° marks.
    quiet_min_words: int = Field(2, ge=1)
    # The running median covers the speaker's own words within this many seconds either side.
    level_window_s: float = Field(30.0, gt=0)
    # Tempo (>fast< <slow>): rate of a stretch of words vs the speaker's own median rate,
    # normalised for the words' sounds. 1.3x is about twice the just-noticeable tempo
    # difference of speech (~5-10%) and beyond one speaker's ordinary phrase-to-phrase spread.
    tempo_ratio: float = Field(1.3, gt=1)
    # ...and beyond this many robust standard deviations of the speaker's own stretch rates,
    # so a speaker whose pace varies a lot is not marked everywhere. 1.25 (was 1.5) with the
    # stretch timed first word to last and windows of 3-5 words: F1 of fast + slow summed over
    # both conditions of bench/marks.py 3.45 against 3.42 at 1.5 and 3.34 at 1.0.
    tempo_spread_z: float = Field(1.25, ge=0)
    tempo_min_words: int = Field(3, ge=2)
    # Elongation (wo::rd): a word this many times longer than the speaker takes for words of
    # its sounds, at least this much longer in seconds, and clearly longer than its neighbours.
    elongation_ratio: float = Field(1.8, gt=1)
    elongation_min_extra_s: float = Field(0.15, ge=0)
    # Pitch steps (↑ ↓): a word's median F0 this many semitones above or below the preceding
    # words. Pitch-accent excursions in English are typically 2-4 st; a step beyond 4 st is
    # heard as a marked shift into high or low pitch.
    pitch_step_st: float = Field(4.0, gt=0)
    # Final intonation (? , .): median F0 of the last 250 ms of voiced speech of a unit vs the
    # 500 ms before it (voiced time, so a tracker's coarser frame step does not stretch the
    # window); 2 st is about twice the threshold for hearing a pitch movement as rising or
    # falling ('t Hart, Collier & Cohen 1990).
    final_movement_st: float = Field(2.0, gt=0)
    # Emphasis (_word_): a word's combined prominence, each cue the smaller of its excess over
    # the neighbours and over the speaker's norm, in steps of 3 dB loudness, 2 st pitch and 25%
    # duration. Loudness must give a full step (3 dB, ~3x the 1 dB loudness JND: prominence is
    # heard through loudness far more than F0, Kochanski et al. 2005) and a second cue must
    # contribute (one cue alone is a loudness, pitch or elongation mark, not stress).
    emphasis_score: float = Field(3.0, gt=0)


class RenderSettings(_Section):
    width: int = Field(72, ge=30, le=400, description="Characters per transcript line")
    timestamps: bool = Field(False, description="Print [hh:mm:ss] at the start of each turn")
    ascii: bool = Field(False, description="Pure-ASCII output for tools that choke on ↑ ↓ °")
    notation: Literal["plain", "standard", "jefferson"] = "standard"
    embed_audio: bool = Field(
        False,
        description="Review page: embed the recording in the .html (base64, about 1.33x the "
        "recording's size) instead of linking it relative to the page",
    )


class Settings(_Section):
    profile: str = DEFAULT_PROFILE
    models_dir: Path | None = Field(
        None, description="Local model folder for air-gapped machines (never download)"
    )
    asr: AsrSettings = AsrSettings()
    diarization: DiarizationSettings = DiarizationSettings()
    pauses: PauseSettings = PauseSettings()
    prosody: ProsodySettings = ProsodySettings()
    marks: MarkSettings = MarkSettings()
    render: RenderSettings = RenderSettings()
    # Labels and roles by speaker id (S1, S2... in order of first appearance) or by channel
    # (ch1, ch2... of a split recording), e.g. [speakers.S2] label = "P2", role = "participant".
    # A recording's own sidecar (<stem>.speakers.toml) replaces this table.
    speakers: SpeakerTable = Field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """The effective settings as plain JSON data (stored in every output)."""
        return self.model_dump(mode="json")


def option_overrides(
    speakers: int | None = None, language: str | None = None, channels: str | None = None
) -> dict[str, Any]:
    """Settings overrides from the per-run options (``--speakers``, ``--language``, ``--channels``)."""
    overrides: dict[str, Any] = {}
    if speakers is not None:
        overrides.setdefault("diarization", {})["speakers"] = speakers
    if channels is not None:
        overrides.setdefault("diarization", {})["channels"] = channels
    if language is not None:
        overrides["asr"] = {"language": language}
    return overrides


def profiles_dir() -> Path:
    """Where the shipped profiles live: inside the installed package, or ``config/`` in a checkout."""
    packaged = Path(__file__).parent / "profiles"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "config"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def load_settings(
    profile: str = DEFAULT_PROFILE,
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Combine a profile, an optional config file and overrides into validated settings.

    ``profile`` is a shipped profile name or a path to a TOML file.
    """
    profile_path = _profile_path(profile)
    merged = read_toml(profile_path)
    if config_file is not None:
        merged = _deep_merge(merged, read_toml(Path(config_file)))
    if overrides:
        merged = _deep_merge(merged, overrides)
    merged.setdefault("profile", profile_path.stem)
    try:
        return Settings.model_validate(merged)
    except ValidationError as error:
        origin = config_file if config_file is not None else profile_path
        raise ConfigError(origin, f"invalid settings: {_first_problem(error)}") from None


def _profile_path(profile: str) -> Path:
    candidate = Path(profile)
    if candidate.suffix == ".toml":
        if not candidate.is_file():
            raise ConfigError(candidate, "profile file does not exist")
        return candidate
    path = profiles_dir() / f"{profile}.toml"
    if not path.is_file():
        known = ", ".join(available_profiles()) or "none found"
        raise ConfigError(None, f"unknown profile {profile!r} (available: {known})")
    return path


def read_toml(path: Path, what: str = "config file") -> dict[str, Any]:
    """A TOML file's table; every problem raises :class:`ConfigError` naming the file and ``what`` it is."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(path, f"{what} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, f"{what} is not valid TOML ({error})") from None
    except UnicodeDecodeError:  # tomllib decodes the bytes before parsing
        raise ConfigError(path, f"{what} is not UTF-8 text (save the file as UTF-8)") from None
    except RecursionError:
        raise ConfigError(path, f"{what} is not valid TOML (nested too deeply)") from None
    except IsADirectoryError:
        raise ConfigError(path, f"is a folder, not a {what}") from None
    except OSError as error:
        raise ConfigError(path, f"cannot read {what} ({error.strerror})") from None


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "settings"
    return f"{where}: {problem['msg']}"
