"""Pseudonymisation: a redaction list replaces names and places consistently in every output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import soundfile
from typer.testing import CliRunner

from documents import make_transcript
from synth import SR, espeak, silence
from undertone.cite import mask_clip, redacted_spans
from undertone.cli import app
from undertone.config import RenderSettings
from undertone.errors import ConfigError
from undertone.redact import parse_terms, redact, tag_like
from undertone.render import RENDERERS, RenderContext
from undertone.render.layout import layout_lines

runner = CliRunner()


def _relayout(transcript):
    return layout_lines(transcript, RenderSettings())


def _document():
    return make_transcript(
        [
            ("S1", "did Alice Smith go to Leeds".split()),
            ("S2", "yes alice smith moved to leeds. alice's sister".split()),
        ],
        pauses={1: 0.4},  # a pause inside the name: it goes with the name
        annotations=[("loud", 2, 5, 7.0, "dB re speaker"), ("rise", 5, 5, 3.0, "st end re before")],
    )


def test_terms_parse_with_categories_longest_first():
    terms = parse_terms("# people\nAlice\nAlice Smith\nLeeds = place\n\n")
    assert [(t.words, t.category) for t in terms] == [
        (("alice", "smith"), "NAME"), (("alice",), "NAME"), (("leeds",), "PLACE")
    ]
    with pytest.raises(ConfigError, match="line 1"):
        parse_terms("Leeds = two words")
    with pytest.raises(ConfigError, match="line 2: nothing to redact"):
        parse_terms("Alice\n  ...  \n")


def test_every_occurrence_gets_the_same_tag_and_indices_follow():
    original = _document()
    document = redact(original, parse_terms("Alice Smith\nAlice\nLeeds = PLACE"), _relayout)
    texts = [w.text for w in document.words]
    assert texts == ["did", "[NAME-1]", "go", "to", "[PLACE-1]", "yes", "[NAME-1]", "moved", "to", "[PLACE-1].",
                     "[NAME-2]'s", "sister"]
    assert [w.i for w in document.words] == list(range(len(texts)))
    tag = document.words[1]
    assert (tag.start, tag.end) == (original.words[1].start, original.words[2].end)  # spans both words
    assert [p.after_word for p in document.pauses] == []  # the pause inside the name is gone
    assert [(t.first_word, t.last_word) for t in document.turns] == [(0, 4), (5, 11)]
    loud, rise = document.annotations
    assert (loud.first_word, loud.last_word, rise.last_word) == (1, 4, 4)
    assert original.words[1].text == "Alice"  # the input document is not changed
    for line in document.lines:
        assert "alice" not in line.text.lower() and "leeds" not in line.text.lower()


def test_no_output_format_contains_a_redacted_term(tmp_path: Path):
    document = redact(_document(), parse_terms("Alice Smith\nAlice\nSmith\nLeeds = PLACE"), _relayout)
    document.pipeline.notes = []  # the builder's notes quote no words
    for name, renderer in RENDERERS.items():
        output = renderer.render(document, RenderSettings(), RenderContext(out_dir=tmp_path))
        if renderer.suffix == ".docx":  # a zip of XML parts
            import io
            import zipfile

            with zipfile.ZipFile(io.BytesIO(output)) as archive:
                output = " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
        elif isinstance(output, bytes):
            output = output.decode("utf-8")
        for term in ("alice", "smith", "leeds"):
            assert term not in output.lower(), (name, term)


def test_notes_quoting_words_are_redacted_too():
    document = _document()
    document.pipeline.notes = ["2 word(s) could not be aligned: Alice, Leeds"]
    redacted = redact(document, parse_terms("Alice\nLeeds = PLACE"), _relayout)
    assert redacted.pipeline.notes == ["2 word(s) could not be aligned: [NAME-1], [PLACE-1]"]


def test_tags_keep_possessives_and_punctuation():
    assert tag_like("[NAME-1]", "Alice's,") == "[NAME-1]'s,"
    assert tag_like("[PLACE-1]", "Leeds.") == "[PLACE-1]."
    assert tag_like("[NAME-1]", "Al") == "[NAME-1]"


def test_clip_masking_silences_or_beeps_only_the_redacted_words():
    document = redact(_document(), parse_terms("Alice Smith"), _relayout)
    spans = redacted_spans(document, 0.2, 3.0)
    assert spans == [pytest.approx((0.4 - 0.2, 1.1 - 0.2 + 0.4))]  # "Alice Smith", a pause inside
    rate = 16000
    samples = np.ones((3 * rate, 2), dtype=np.float32)
    silent = mask_clip(samples, rate, spans, "silence")
    first, last = round(spans[0][0] * rate), round(spans[0][1] * rate)
    assert not silent[first:last].any() and silent[:first].all() and silent[last:].all()
    beeped = mask_clip(samples, rate, spans, "beep")
    assert np.abs(beeped[first:last]).max() == pytest.approx(0.25, abs=0.01)
    assert samples.all()  # the input is not changed


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_command_line_redacts_every_output_and_reruns_when_the_list_changes(tmp_path: Path):
    recording = tmp_path / "p2.wav"
    soundfile.write(recording, np.concatenate([
        silence(0.3), espeak("did you see Alice", "en-gb+m3"), silence(0.6),
        espeak("yes Alice was in Leeds", "en-us+f1"), silence(0.3),
    ]), SR)
    transcript = tmp_path / "p2.txt"
    transcript.write_text("I: did you see Alice\nP: yes Alice was in Leeds\n")
    names = tmp_path / "names.txt"
    names.write_text("Alice\nLeeds = PLACE\n")
    out = tmp_path / "out"
    arguments = ["process", str(recording), "--transcript", str(transcript), "--profile", "offline",
                 "--out", str(out), "--redact", str(names)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    for path in out.iterdir():
        if path.is_file() and path.suffix != ".docx":
            text = path.read_text(encoding="utf-8").lower()
            assert "alice" not in text and "leeds" not in text, path.name
    words = [w["text"] for w in json.loads((out / "p2.json").read_text())["words"]]
    assert words.count("[NAME-1]") == 2 and "[PLACE-1]" in words
    names.write_text("Alice\n")  # a changed list is a changed input: processed again
    assert "up to date" not in runner.invoke(app, arguments).stderr

    bad = tmp_path / "bad.txt"
    bad.write_text("Leeds = 2 places\n")
    result = runner.invoke(app, [*arguments[:-1], str(bad)])
    assert result.exit_code == ConfigError.exit_code and str(bad) in result.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_redaction_list_text_parses_or_gives_a_config_error(text: str):
    try:
        terms = parse_terms(text)
    except ConfigError as error:
        assert str(error).startswith("line ")
        return
    assert all(term.words and all(term.words) for term in terms)
