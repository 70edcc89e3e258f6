"""Property and fuzz tests (issue 8): whatever the input, the parsers fail only with undertone's own
errors, and every renderer is total and deterministic over valid documents.

* The audio loader gets random bytes and damaged copies (cut, bytes overwritten, pieces
  spliced) of small valid WAV, FLAC and MP3 files: it either returns a usable recording or
  raises :class:`AudioError` with one line naming the file.
* The known-transcript parser gets random text and bytes: :class:`TranscriptFileError` or turns.
* The settings loader and the speakers sidecar parser get random TOML-like text and bytes:
  :class:`ConfigError` or valid settings.
* Every renderer in ``RENDERERS`` renders random small valid transcripts, twice identically;
  the JSON document parses back to the same document and validates against the schema.

Each test is bounded (``max_examples``); the whole file runs in well under half a minute.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from functools import cache
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents import make_transcript
from synth import SR, voiced
from undertone.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, load
from undertone.config import RenderSettings, Settings, load_settings
from undertone.errors import AudioError, ConfigError, TranscriptFileError
from undertone.model import Transcript, json_schema
from undertone.render import RENDERERS, RenderContext, render_json
from undertone.transcribe.known import parse_transcript, tokenize

BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _one_line_naming(error: Exception, path: Path) -> None:
    message = str(error)
    assert "\n" not in message and path.name in message, message


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# Audio loader --------------------------------------------------------------------------------


@cache
def _valid_file(kind: str) -> bytes:
    """A small valid recording of the given format (0.2 s of a voiced tone)."""
    buffer = io.BytesIO()
    signal = voiced(140, 0.2)
    if kind == "wav":
        soundfile.write(buffer, signal, SR, format="WAV", subtype="PCM_16")
    elif kind == "flac":
        soundfile.write(buffer, signal, SR, format="FLAC")
    else:
        if shutil.which("ffmpeg") is None:
            pytest.skip("ffmpeg is not installed: it makes the MP3 seed")
        soundfile.write(buffer, signal, SR, format="WAV")
        encoded = subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "wav", "-i", "-", "-f", "mp3", "-"],
            input=buffer.getvalue(), capture_output=True, check=True,
        )
        return encoded.stdout
    return buffer.getvalue()


@st.composite
def damaged_recordings(draw) -> tuple[str, bytes]:
    """(suffix, content): random bytes, or a valid file cut short, overwritten or spliced."""
    kind = draw(st.sampled_from(["wav", "flac", "mp3"]))
    how = draw(st.sampled_from(["random", "cut", "overwrite", "splice"]))
    if how == "random":
        return kind, draw(st.binary(min_size=1, max_size=2048))
    data = bytearray(_valid_file(kind))
    if how == "cut":
        return kind, bytes(data[: draw(st.integers(1, len(data)))])
    if how == "overwrite":
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            patch = draw(st.binary(min_size=1, max_size=16))
            data[at : at + len(patch)] = patch
        return kind, bytes(data)
    start = draw(st.integers(0, len(data)))
    return kind, bytes(data[:start] + draw(st.binary(max_size=64)) + data[start:])


@BOUNDED
@given(recording=damaged_recordings())
def test_audio_loader_raises_only_audio_errors(recording: tuple[str, bytes], scratch: Path):
    suffix, content = recording
    path = scratch / f"fuzzed recording.{suffix}"
    path.write_bytes(content)
    try:
        audio = load(path)
    except AudioError as error:
        _one_line_naming(error, path)
        return
    assert MIN_SAMPLE_RATE <= audio.sample_rate <= MAX_SAMPLE_RATE
    assert audio.channels.shape[1] > 0 and audio.mono.dtype == np.float32
    assert np.all(np.isfinite(audio.mono))


# Known-transcript parser --------------------------------------------------------------------

TURN_LINE = st.builds(
    lambda speaker, colon, text: f"{speaker}{colon}{text}",
    st.text(min_size=0, max_size=6),
    st.sampled_from([":", ": ", " : ", "", "::"]),
    st.text(max_size=40),
)


@BOUNDED
@given(
    content=st.one_of(
        st.binary(max_size=400),
        st.lists(st.one_of(TURN_LINE, st.just("# comment"), st.just("")), max_size=8).map(
            lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")
        ),
    )
)
def test_transcript_parser_raises_only_transcript_errors(content: bytes, scratch: Path):
    path = scratch / "fuzzed.transcript.txt"
    path.write_bytes(content)
    try:
        turns = parse_transcript(path)
    except TranscriptFileError as error:
        _one_line_naming(error, path)
        return
    assert turns
    for turn in turns:
        assert turn.speaker and ":" not in turn.speaker and not any(c.isspace() for c in turn.speaker)
        assert tokenize(turn.text)


# Settings and speakers sidecar --------------------------------------------------------------

TOML_KEY = st.one_of(
    st.sampled_from(
        ["width", "timestamps", "ascii", "notation", "backend", "model", "language", "speakers",
         "min_speakers", "max_speakers", "micropause_min_s", "timed_min_s", "models_dir", "label",
         "role", "channels", "loud_db", "pitch_floor_hz"]
    ),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True),
)
TOML_VALUE = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(x), repr(x))),
    st.sampled_from(["true", "false", '"whisper"', '"embedded"', '"split"', '""', "[]", "{}", "[1, 'a']",
                     '"S2"', "1979-05-27", '"""multi\nline"""', "{ label = 'P2' }"]),
    st.text(max_size=12).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.text(max_size=12),  # anything, usually not TOML
)
TOML_LINE = st.one_of(
    st.sampled_from(["[asr]", "[diarization]", "[pauses]", "[render]", "[marks]", "[prosody]",
                     "[speakers.S1]", "[speakers.S2]", "[speakers.ch1]", "[speakers.x]", "[[render]]", "[render"]),
    st.builds(lambda key, value: f"{key} = {value}", TOML_KEY, TOML_VALUE),
    st.text(max_size=20),
)
TOML_FILES = st.one_of(
    st.lists(TOML_LINE, max_size=10).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
    st.binary(max_size=200),
    st.integers(1, 3000).map(lambda depth: ("x = " + "[" * depth + "]" * depth).encode()),
)


@BOUNDED
@given(content=TOML_FILES)
def test_settings_loader_raises_only_config_errors(content: bytes, scratch: Path):
    path = scratch / "fuzzed config.toml"
    path.write_bytes(content)
    try:
        loaded = load_settings("offline", path)
    except ConfigError as error:
        _one_line_naming(error, path)
        return
    assert isinstance(loaded, Settings)


@BOUNDED
@given(content=TOML_FILES)
def test_speakers_sidecar_parser_raises_only_config_errors(content: bytes, scratch: Path):
    from undertone.speakers import SpeakerNames, read_sidecar

    path = scratch / "fuzzed.speakers.toml"
    path.write_bytes(content)
    try:
        names = read_sidecar(path)
    except ConfigError as error:
        _one_line_naming(error, path)
        return
    assert isinstance(names, SpeakerNames) and names.table


# Renderers and the JSON document ------------------------------------------------------------

# Words as recognisers and typists produce them: no spaces, but markup, quotes, notation
# characters and any script.
WORD = st.text(
    alphabet=st.one_of(
        st.sampled_from("<>&\"'°↑↓=:()[]_-.,?!é€ßŁ中😀"),
        st.characters(exclude_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp")),
    ),
    min_size=1,
    max_size=8,
)
MARK_UNITS = {
    "loud": "dB re speaker", "quiet": "dB re speaker", "fast": "x speaker rate", "slow": "x speaker rate",
    "pitch_up": "st re preceding words", "pitch_down": "st re preceding words", "rise": "st end re before",
    "fall": "st end re before", "level": "st end re before", "elongation": "x expected", "emphasis": "score",
    "laughter": None,
}


@st.composite
def documents(draw) -> tuple[Transcript, RenderSettings]:
    """A valid transcript of 1-5 turns by up to three speakers, with pauses, gaps, marks and
    overlaps, laid out with random render settings."""
    render = RenderSettings(
        width=draw(st.integers(30, 120)),
        timestamps=draw(st.booleans()),
        ascii=draw(st.booleans()),
        notation=draw(st.sampled_from(["plain", "standard", "jefferson"])),
    )
    turns = draw(
        st.lists(st.tuples(st.sampled_from(["S1", "S2", "S3"]), st.lists(WORD, min_size=1, max_size=6)), min_size=1, max_size=5)
    )
    ends_of_turns, first_of_turns, count = set(), [], 0
    for _, words in turns:
        first_of_turns.append(count)
        count += len(words)
        ends_of_turns.add(count - 1)
    silence = st.floats(0.05, 3.0).map(lambda s: round(s, 3))
    pauses = {i: draw(silence) for i in range(count - 1) if i not in ends_of_turns and draw(st.booleans())}
    gaps = {i: draw(silence) for i in sorted(ends_of_turns - {count - 1}) if draw(st.booleans())}
    marks = []
    for first, (_, words) in zip(first_of_turns, turns):
        if draw(st.booleans()):
            kind = draw(st.sampled_from(sorted(MARK_UNITS)))
            a = first + draw(st.integers(0, len(words) - 1))
            b = draw(st.integers(a, first + len(words) - 1))
            value = None if MARK_UNITS[kind] is None else draw(st.floats(-20, 20).map(lambda v: round(v, 2)))
            marks.append((kind, a, b, value, MARK_UNITS[kind]))
        if len(words) > 1 and draw(st.booleans()):
            marks.append(("latch", first, first + 1, 0.0, "s"))
    overlaps = draw(st.lists(st.tuples(st.floats(0, 3), st.floats(0.05, 1.0)), max_size=2))
    transcript = make_transcript(
        turns, pauses=pauses, gaps=gaps, render=render, annotations=marks,
        overlaps=[(round(a, 3), round(a + d, 3)) for a, d in overlaps],
    )
    return transcript, render


@settings(max_examples=50, deadline=None)
@given(document=documents())
def test_every_renderer_is_total_and_deterministic(document: tuple[Transcript, RenderSettings]):
    transcript, render = document
    context = RenderContext(out_dir=Path("/tmp/undertone-fuzz-out"))
    for name, renderer in RENDERERS.items():
        first = renderer.render(transcript, render, context)
        assert first, f"{name} rendered nothing"
        assert renderer.render(transcript, render, context) == first, f"{name} is not deterministic"
        if isinstance(first, str):
            first.encode("utf-8")  # written as UTF-8: no lone surrogates


@settings(max_examples=50, deadline=None)
@given(document=documents())
def test_json_document_round_trips_and_follows_the_schema(document: tuple[Transcript, RenderSettings]):
    transcript, render = document
    text = render_json(transcript, render)
    parsed = Transcript.model_validate_json(text)
    assert parsed.to_json_dict() == transcript.to_json_dict()
    assert render_json(parsed, render) == text
    jsonschema.validate(parsed.to_json_dict(), json_schema())
