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
from undertone.redact import list_check, parse_terms, redact, redact_path, redact_text, same_list, tag_like
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


# ----------------------------------------------------------------------------- everything a reader sees

TERMS = ("alice", "bob", "smith", "leeds")
LIST = "Alice Smith\nAlice\nBob\nLeeds = PLACE\n"


def _readable(path: Path) -> str:
    """An output's text (a .docx's XML parts), lower case, for looking for redacted terms."""
    if path.suffix == ".docx":
        import zipfile

        with zipfile.ZipFile(path) as archive:
            return " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist()).lower()
    return path.read_text(encoding="utf-8").lower()


def _assert_no_term_anywhere(out: Path) -> None:
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert not any(term in str(path.relative_to(out)).lower() for term in TERMS), path.name
        text = _readable(path)
        assert not [term for term in TERMS if term in text], path.name


def _interview(folder: Path, name: str) -> Path:
    recording = folder / name
    soundfile.write(recording, np.concatenate([
        silence(0.3), espeak("did you see Alice Smith", "en-gb+m3"), silence(0.6),
        espeak("yes Alice was in Leeds with Bob", "en-us+f1"), silence(0.3),
    ]), SR)
    return recording


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_speaker_labels_and_the_recordings_name_are_redacted_in_every_output(tmp_path: Path):
    recording = _interview(tmp_path, "Alice interview.wav")
    transcript = tmp_path / "known.txt"
    transcript.write_text("Bob: did you see Alice Smith\nAlice: yes Alice was in Leeds with Bob\n")
    names = tmp_path / "names.txt"
    names.write_text(LIST)
    out = tmp_path / "out"
    result = runner.invoke(app, ["process", str(recording), "--transcript", str(transcript), "--profile", "offline",
                                 "--out", str(out), "--redact", str(names)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "[NAME-2] interview" in result.stderr  # the name is masked, and said so
    _assert_no_term_anywhere(out)
    document = json.loads((out / "[NAME-2] interview.json").read_text())
    # One term, one tag, everywhere: in the words, the labels and the recording's name.
    assert [s["label"] for s in document["speakers"]] == ["[NAME-3]", "[NAME-2]"]
    assert [w["text"] for w in document["words"] if w["text"].startswith("[")] == [
        "[NAME-1]", "[NAME-2]", "[PLACE-1]", "[NAME-3]"
    ]
    assert document["source"]["path"].endswith("[NAME-2] interview.wav")
    assert document["redaction"]["list_check"] and "alice" not in json.dumps(document["redaction"]).lower()
    assert "[NAME-3]:" in (out / "[NAME-2] interview.txt").read_text()
    csv_rows = (out / "[NAME-2] interview.words.csv").read_text().splitlines()
    assert any(",[NAME-3]," in row for row in csv_rows[1:])  # speaker_label column
    assert recording.is_file()  # the recording itself keeps its name


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_labels_from_a_speakers_sidecar_are_redacted_too(tmp_path: Path):
    recording = _interview(tmp_path, "p4.wav")
    transcript = tmp_path / "known.txt"
    transcript.write_text("I: did you see Alice Smith\nP: yes Alice was in Leeds with Bob\n")
    (tmp_path / "p4.speakers.toml").write_text(
        '[speakers.S1]\nlabel = "Bob"\nrole = "interviewer"\n\n[speakers.S2]\nlabel = "Alice Smith"\nrole = "from Leeds"\n'
    )
    names = tmp_path / "names.txt"
    names.write_text("Alice Smith | Alice = NAME\nBob\nLeeds = PLACE\n")  # one person, two names: one tag
    out = tmp_path / "out"
    result = runner.invoke(app, ["process", str(recording), "--transcript", str(transcript), "--profile", "offline",
                                 "--out", str(out), "--redact", str(names)])
    assert result.exit_code == 0, result.output
    _assert_no_term_anywhere(out)
    document = json.loads((out / "p4.json").read_text())
    assert [(s["label"], s["role"]) for s in document["speakers"]] == [
        ("[NAME-2]", "interviewer"), ("[NAME-1]", "from [PLACE-1]")
    ]
    tags = [w["text"] for w in document["words"] if w["text"].startswith("[")]
    assert tags == ["[NAME-1]", "[NAME-1]", "[PLACE-1]", "[NAME-2]"]  # "Alice Smith" and "Alice" alike
    assert "Speakers:  [NAME-2] (interviewer), [NAME-1] (from [PLACE-1])" in (out / "p4.txt").read_text()


def test_aliases_on_one_line_share_a_tag_and_tags_follow_the_list():
    terms = parse_terms("Alice Smith | Alice | Ali = name\nBob\nLeeds | Leeds city = PLACE\nAlice\n")
    tags = {" ".join(t.words): t.tag for t in terms}
    assert tags == {"alice smith": "[NAME-1]", "alice": "[NAME-1]", "ali": "[NAME-1]", "bob": "[NAME-2]",
                    "leeds": "[PLACE-1]", "leeds city": "[PLACE-1]"}  # "Alice" again keeps its tag
    with pytest.raises(ConfigError, match="line 1: an empty name"):
        parse_terms("Alice | | Bob\n")
    # The tag is the list's, not the order of appearance: a transcript naming only Bob says [NAME-2].
    document = redact(make_transcript([("S1", "I met Bob".split())]), terms, _relayout)
    assert [w.text for w in document.words] == ["I", "met", "[NAME-2]"]


def test_free_text_and_file_names_are_redacted_without_touching_tags():
    terms = parse_terms("Alice Smith | Alice\nName = WORD\nLeeds = PLACE\n")
    assert redact_text("Alice_Smith-interview in Leeds.wav", terms) == "[NAME-1]-interview in [PLACE-1].wav"
    assert redact_text("alice's notes on [NAME-1], name", terms) == "[NAME-1]'s notes on [NAME-1], [WORD-1]"
    assert redact_text("Malice and Aliceville", terms) == "Malice and Aliceville"  # never inside a word
    assert redact_path("/data/Leeds/Alice Smith.wav", terms) == "/data/[PLACE-1]/[NAME-1].wav"


def test_the_list_check_names_the_list_not_its_terms():
    first = parse_terms("# people\nAlice\nLeeds = PLACE\n")
    same = parse_terms("Alice   # reformatted\n\nleeds=place\n")
    other = parse_terms("Alice\n")
    salt = "ab" * 32
    assert list_check(first, salt) == list_check(same, salt)
    assert list_check(first, salt) != list_check(other, salt)
    assert list_check(first, salt) != list_check(first, "cd" * 32)  # salted per recording
    document = redact(_document(), first, _relayout)
    assert same_list(same, document) and not same_list(other, document)
    assert "alice" not in json.dumps(document.redaction).lower()


def test_notes_labels_settings_and_path_of_a_document_are_redacted():
    document = _document()
    document.speakers[1].label = "Alice"
    document.pipeline.notes = ["speaker labels from Alice Smith.speakers.toml"]
    document.pipeline.config = {"speakers": {"S2": {"label": "Alice", "role": None}}, "render": {"width": 72}}
    document.source.path = "interviews/Leeds/Alice Smith.wav"
    redacted = redact(document, parse_terms("Alice Smith\nAlice\nLeeds = PLACE"), _relayout)
    assert redacted.speakers[1].label == "[NAME-2]"
    assert redacted.pipeline.notes == ["speaker labels from [NAME-1].speakers.toml"]
    assert redacted.pipeline.config == {"speakers": {"S2": {"label": "[NAME-2]", "role": None}}, "render": {"width": 72}}
    assert redacted.source.path == "interviews/[PLACE-1]/[NAME-1].wav"
    assert any(line.text.startswith("[NAME-2]:") for line in redacted.lines)  # the label is laid out again
