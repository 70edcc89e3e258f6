"""Corrections of a redacted transcript: the corrected version is redacted with the same list.

A reviewer types real names ("Leeds", a note about "Alice Smith"); the machine output was
redacted, so the corrected one must be too, with the same tags, and ``apply`` refuses to write
anything without the list (or with another list).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from test_correct_support import STEM, add_edits, processed_folder, word_id
from undertone.cli import app
from undertone.config import load_settings
from undertone.correct.apply import CORRECTED_DIR, apply_stem, read_document
from undertone.errors import ConfigError
from undertone.outputs import write_outputs
from undertone.redact import parse_terms, redact
from undertone.render.layout import layout_lines

runner = CliRunner()
LIST = "River = PLACE\nLeeds = PLACE\nAlice Smith | Alice\n"
HIDDEN = ("river", "leeds", "alice", "smith")
ALL_FORMATS = ("json", "txt", "html", "docx", "srt", "vtt", "eaf", "textgrid", "csv")


@pytest.fixture()
def redacted(tmp_path: Path) -> tuple[Path, Path]:
    """A processed folder whose machine output was redacted with ``LIST`` ("river" -> [PLACE-1])."""
    out, machine = processed_folder(tmp_path / "work", formats=("json",))
    render = load_settings("offline").render
    document = redact(machine, parse_terms(LIST), lambda d: layout_lines(d, render))
    final = tmp_path / "out"
    write_outputs(document, final, render, list(ALL_FORMATS), audio=tmp_path / "work" / f"{STEM}.wav")
    names = tmp_path / "names.txt"
    names.write_text(LIST)
    return final, names


def _edits(out: Path) -> None:
    machine = read_document(out / f"{STEM}.json")
    assert "[PLACE-1]" in [w.text for w in machine.words]
    add_edits(
        out,
        {"kind": "correct_word", "word": word_id(machine, "town"), "text": "Leeds"},
        {"kind": "insert_words", "after": word_id(machine, "every"), "texts": ["Alice", "Smith's"]},
        {"kind": "note", "word": word_id(machine, "kind"), "text": "Alice Smith said this about Leeds"},
        {"kind": "rename_speaker", "speaker": "S2", "label": "Alice", "role": "Leeds"},
    )


def _text_of(path: Path) -> str:
    if path.suffix == ".docx":
        with zipfile.ZipFile(path) as archive:
            return " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist()).lower()
    return path.read_text(encoding="utf-8").lower()


def test_corrected_outputs_are_redacted_with_the_machine_outputs_list(redacted):
    out, names = redacted
    _edits(out)
    applied = apply_stem(out, STEM, redaction=parse_terms(names.read_text()))
    assert len(applied.written) == len(ALL_FORMATS) + 1  # every format the machine version had, and frames
    for path in (out / CORRECTED_DIR).rglob("*"):
        if path.is_file():
            assert not [term for term in HIDDEN if term in _text_of(path)], path.name
    document = json.loads((out / CORRECTED_DIR / f"{STEM}.json").read_text())
    texts = [w["text"] for w in document["words"]]
    # The same tags as the machine version: River stays [PLACE-1]; the typed words get the list's.
    assert "[PLACE-1]" in texts and "[PLACE-2]" in texts and "[NAME-1]'s" in texts
    assert {s["id"]: (s["label"], s["role"]) for s in document["speakers"]}["S2"] == ("[NAME-1]", "[PLACE-2]")
    (note,) = document["correction"]["notes"]
    assert note["text"] == "[NAME-1] said this about [PLACE-2]" and note["line"] is not None
    assert document["redaction"] == read_document(out / f"{STEM}.json").redaction


def test_a_redacted_transcript_is_not_applied_without_its_list(redacted):
    out, names = redacted
    _edits(out)
    with pytest.raises(ConfigError, match=f"{STEM}.json: was made with a redaction list: give the same list"):
        apply_stem(out, STEM)
    with pytest.raises(ConfigError, match="not the one this transcript was redacted with"):
        apply_stem(out, STEM, redaction=parse_terms("River = PLACE\n"))
    assert not (out / CORRECTED_DIR).exists()  # nothing written, not even the folder

    result = runner.invoke(app, ["apply", str(out)])
    assert result.exit_code == ConfigError.exit_code and "--redact" in result.stderr
    assert not (out / CORRECTED_DIR).exists()
    result = runner.invoke(app, ["apply", str(out), "--redact", str(names)])
    assert result.exit_code == 0, result.output
    assert "leeds" not in (out / CORRECTED_DIR / f"{STEM}.txt").read_text().lower()


def test_an_unredacted_corrected_version_is_replaced_and_named_in_a_warning(tmp_path: Path):
    out, machine = processed_folder(tmp_path)
    add_edits(out, {"kind": "correct_word", "word": word_id(machine, "town"), "text": "Leeds"})
    apply_stem(out, STEM)  # no list: the machine output was not redacted either
    assert "Leeds" in (out / CORRECTED_DIR / f"{STEM}.txt").read_text()
    names = tmp_path / "names.txt"
    names.write_text("Leeds = PLACE\n")
    result = runner.invoke(app, ["apply", str(out), "--redact", str(names)])  # same journal, now with a list
    assert result.exit_code == 0, result.output
    assert "applied:" in result.stderr  # not "up to date": the redaction differs
    assert "Leeds" not in (out / CORRECTED_DIR / f"{STEM}.txt").read_text()
    (kept,) = (out / CORRECTED_DIR / "previous").iterdir()
    assert f"warning: {STEM}: the earlier outputs, kept in {kept}, are not redacted" in result.stderr


def test_the_review_server_applies_only_with_the_list(redacted):
    import http.client

    from undertone.correct.server import ReviewServer

    out, names = redacted
    _edits(out)
    for redaction, expected in ((None, 422), (parse_terms(names.read_text()), 200)):
        server = ReviewServer(out, redaction=redaction)
        server.start_in_thread()
        try:
            connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
            connection.request("POST", f"/api/{STEM}/apply", b"", {"X-Undertone-Token": server.token,
                                                                      "Host": f"{server.host}:{server.port}"})
            response = connection.getresponse()
            body = response.read().decode()
        finally:
            server.close()
        assert response.status == expected, body
        if expected == 422:
            assert "redaction list" in body and not (out / CORRECTED_DIR).exists()
    assert "leeds" not in (out / CORRECTED_DIR / f"{STEM}.html").read_text().lower()


def test_the_review_server_serves_outputs_named_after_a_redacted_recording(tmp_path: Path):
    from documents import make_transcript
    from undertone.config import RenderSettings
    from undertone.correct.server import ReviewServer

    document = make_transcript([("S1", ["hello"])])
    document.source.path = "[NAME-1] talk.wav"
    write_outputs(document, tmp_path, RenderSettings(), ["json", "txt"])
    server = ReviewServer(tmp_path)
    try:
        assert "[NAME-1] talk" in server.stems
        assert server.output_file("[NAME-1] talk.txt") == (tmp_path / "[NAME-1] talk.txt").resolve()
        assert server.output_file("[NAME-1] talk/../x.txt") is None
    finally:
        server.close()
