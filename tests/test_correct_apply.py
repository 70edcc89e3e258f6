"""``apply``: the corrected version from the machine document and the journal, in every format.

Fast tests use a generated recording (voiced tones, hand-timed words); the slow test uses real
synthetic speech (espeak-ng) with exactly known word times to check that corrected and inserted
words are re-timed to within 50 ms of their audio.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from synth import SR, espeak, silence
from test_correct_support import STEM, add_edits, processed_folder, word_id
from undertone.cli import app
from undertone.cite import citation, citation_label, extract
from undertone.correct.apply import CORRECTED_DIR, apply_stem, read_document
from undertone.model import json_schema
from undertone.render.layout import numbered


@pytest.fixture()
def folder(tmp_path: Path):
    return processed_folder(tmp_path)


def _txt_body(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return text.split("-" * 72 + "\n", 1)[1].splitlines()


def _check_lines_match_txt(out: Path) -> dict:
    """The corrected JSON validates, and its lines are exactly the .txt's numbered lines."""
    document = json.loads((out / CORRECTED_DIR / f"{STEM}.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, json_schema())
    body = _txt_body(out / CORRECTED_DIR / f"{STEM}.txt")
    transcript = read_document(out / CORRECTED_DIR / f"{STEM}.json")
    assert body == [numbered(line) for line in transcript.lines]
    assert [line["n"] for line in document["lines"]] == list(range(1, len(body) + 1))
    return document


def test_apply_writes_a_corrected_version_and_leaves_the_machine_output_alone(folder):
    out, machine = folder
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    add_edits(
        out,
        {"kind": "correct_word", "word": word_id(machine, "lovely"), "text": "charming", "line": 3},
        {"kind": "move_words", "words": [word_id(machine, "yeah")], "speaker": "S2"},
        {"kind": "rename_speaker", "speaker": "S2", "label": "P7", "role": "participant"},
    )
    applied = apply_stem(out, STEM)
    assert re.fullmatch(r"c3-[0-9a-f]{8}", applied.version)
    for name, content in before.items():  # the machine outputs are byte for byte as they were
        assert (out / name).read_bytes() == content
    assert sorted(p.name for p in applied.written) == sorted(f"{STEM}{s}" for s in (".json", ".txt", ".html", ".frames.csv"))
    document = _check_lines_match_txt(out)
    assert document["correction"]["version"] == applied.version
    assert document["correction"]["edits"] == 3
    words = document["words"]
    charming = next(w for w in words if w["text"] == "charming")
    assert charming["edited"] == "corrected" and charming["timing"] in ("realigned", "interpolated")
    assert charming["id"] == word_id(machine, "lovely")
    # "yeah" is now P7's: the backchannel joined P7's turns into one.
    assert [t["speaker"] for t in document["turns"]] == ["S1", "S2"]
    assert {s["id"]: s["label"] for s in document["speakers"]} == {"S1": "I", "S2": "P7"}
    header = (out / CORRECTED_DIR / f"{STEM}.txt").read_text(encoding="utf-8")
    assert f"corrected version {applied.version}" in header
    assert "Speakers:  I, P7 (participant)" in header
    assert applied.version in (out / CORRECTED_DIR / f"{STEM}.html").read_text(encoding="utf-8")


def test_nothing_changed_where_nothing_was_edited(folder):
    """Only a note: words, pauses, marks and lines are the machine's, exactly."""
    out, _ = folder
    machine = read_document(out / f"{STEM}.json")  # as written: times to the millisecond
    add_edits(out, {"kind": "note", "word": word_id(machine, "river"), "text": "river name unclear"})
    apply_stem(out, STEM)
    corrected = read_document(out / CORRECTED_DIR / f"{STEM}.json")
    assert [(w.text, w.start, w.end) for w in corrected.words] == [(w.text, w.start, w.end) for w in machine.words]
    assert corrected.pauses == machine.pauses
    assert corrected.annotations == machine.annotations
    assert [line.text for line in corrected.lines] == [line.text for line in machine.lines]
    line = next(line for line in corrected.lines if "river" in line.text)
    assert getattr(line, "notes") == ["river name unclear"]
    assert f"reviewer note, line {line.n}: river name unclear" in corrected.pipeline.notes


def test_marks_the_person_removed_stay_removed_and_added_ones_stay(folder):
    out, machine = folder
    removed = machine.annotations[0]
    first, last = f"w{removed.first_word}", f"w{removed.last_word}"
    add_edits(
        out,
        {"kind": "remove_mark", "mark": removed.kind, "first": first, "last": last},
        {"kind": "add_mark", "mark": "loud", "first": word_id(machine, "hard"), "last": word_id(machine, "hard")},
        # a correction in the same turn: its marks are measured again, the decisions still hold
        {"kind": "correct_word", "word": word_id(machine, "hard") if removed.first_word != 9 else "w10", "text": "tough"},
    )
    apply_stem(out, STEM)
    corrected = read_document(out / CORRECTED_DIR / f"{STEM}.json")
    assert not [m for m in corrected.annotations if m.kind == removed.kind and m.first_word == removed.first_word]
    added = [m for m in corrected.annotations if m.kind == "loud"]
    assert len(added) == 1 and added[0].value is None and getattr(added[0], "source") == "reviewer"
    assert corrected.words[added[0].first_word].text == "tough"
    assert "TOUGH" in (out / CORRECTED_DIR / f"{STEM}.txt").read_text(encoding="utf-8")


def test_previous_versions_stay_readable_and_an_unchanged_journal_is_up_to_date(folder):
    out, machine = folder
    add_edits(out, {"kind": "correct_word", "word": word_id(machine, "town"), "text": "city"})
    first = apply_stem(out, STEM)
    assert apply_stem(out, STEM).written == []  # same journal: nothing to do
    add_edits(out, {"kind": "delete_words", "words": [word_id(machine, "now")]})
    second = apply_stem(out, STEM)
    assert second.version != first.version and second.version.startswith("c2-")
    kept = list((out / CORRECTED_DIR / "previous").glob(f"{STEM} */{STEM}.json"))
    assert len(kept) == 1
    assert json.loads(kept[0].read_text())["correction"]["version"] == first.version
    assert "now" not in [w.text for w in read_document(out / CORRECTED_DIR / f"{STEM}.json").words]


def test_split_turn_and_checked_lines_reach_the_layout(folder):
    out, machine = folder
    add_edits(
        out,
        {"kind": "split_turn", "at": word_id(machine, "but")},
        {"kind": "checked", "scope": "line", "word": word_id(machine, "so")},
        {"kind": "checked", "scope": "transcript"},
    )
    apply_stem(out, STEM)
    document = _check_lines_match_txt(out)
    starts = [document["words"][t["first_word"]]["text"] for t in document["turns"]]
    assert starts == ["so", "well", "but", "yeah", "we"]
    assert document["lines"][0]["checked"] is True
    assert document["correction"]["checked"] is True
    body = _txt_body(out / CORRECTED_DIR / f"{STEM}.txt")
    assert any(re.match(r"\s+\d+\s+P:\s+but the new town", row) for row in body)


def test_a_journal_edit_that_does_not_fit_stops_apply_with_its_number(folder):
    out, machine = folder
    journal = out / f"{STEM}.corrections.jsonl"
    journal.write_text('{"seq":1,"time":"2026-01-01T00:00:00Z","kind":"correct_word","word":"w999","text":"x"}\n')
    result = CliRunner().invoke(app, ["apply", str(out)])
    assert result.exit_code == 4
    assert f"error: {journal}: corrections journal: edit 1 (correct_word): no word w999" in result.output
    assert not (out / CORRECTED_DIR).exists()


def test_apply_command(folder, tmp_path: Path):
    out, machine = folder
    runner = CliRunner()
    result = runner.invoke(app, ["apply", str(out)])
    assert result.exit_code == 2 and "no corrections journal" in result.output
    result = runner.invoke(app, ["apply", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "not a folder" in result.output
    add_edits(out, {"kind": "correct_word", "word": word_id(machine, "river"), "text": "canal"})
    result = runner.invoke(app, ["apply", str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(r"applied: talk: 1 edit\(s\) -> .*corrected/talk.json \(version c1-[0-9a-f]{8}\)", result.output)
    result = runner.invoke(app, ["apply", str(out)])
    assert result.exit_code == 0 and "up to date" in result.output


def test_apply_refuses_another_recording(folder):
    out, machine = folder
    add_edits(out, {"kind": "correct_word", "word": word_id(machine, "river"), "text": "canal"})
    recording = Path(machine.source.path)
    soundfile.write(recording, np.zeros(SR), SR)  # not the recording the transcript was made from
    result = CliRunner().invoke(app, ["apply", str(out)])
    assert result.exit_code == 3
    assert "is not the recording this transcript was made from" in result.output


# ---- timing of corrected words against real speech ----------------------------------------------

# One word per espeak utterance, placed with silences: every word's true start and end is exact.
SPOKEN = "my sister drove to the quiet harbour at dawn and watched the fishing boats come home".split()
WRONG_AT = SPOKEN.index("harbour")  # the transcript says "garden" here...
MISSING_AT = SPOKEN.index("fishing")  # ...and leaves out "fishing"


def _espeak_recording(folder: Path) -> tuple[Path, list[tuple[float, float]]]:
    pieces, truth, clock = [silence(0.4)], [], 0.4
    for k, word in enumerate(SPOKEN):
        sound = espeak(word, "en-us", 150)
        pieces.append(sound)
        truth.append((clock, clock + len(sound) / SR))
        clock += len(sound) / SR
        gap = 0.12 + 0.05 * (k % 3)
        pieces.append(silence(gap))
        clock += gap
    pieces.append(silence(0.4))
    path = folder / "harbour.wav"
    soundfile.write(path, np.concatenate(pieces), SR, subtype="PCM_16")
    return path, truth


@pytest.mark.slow
def test_corrected_and_inserted_words_are_timed_to_their_audio(tmp_path: Path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng")
    recording, truth = _espeak_recording(tmp_path)
    typed = list(SPOKEN)
    typed[WRONG_AT] = "garden"
    del typed[MISSING_AT]
    transcript = tmp_path / "harbour.txt"
    transcript.write_text("P: " + " ".join(typed) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["process", str(recording), "--transcript", str(transcript), "--profile", "offline", "--out", str(out),
              "--formats", "json,txt,html"],
    )
    assert result.exit_code == 0, result.output
    machine = read_document(out / "harbour.json")
    assert [w.text for w in machine.words] == typed

    journal = out / "harbour.corrections.jsonl"
    from undertone.correct.journal import append_edit, parse_edit

    append_edit(journal, parse_edit({"kind": "correct_word", "word": f"w{WRONG_AT}", "text": "harbour"}))
    append_edit(journal, parse_edit({"kind": "insert_words", "after": f"w{MISSING_AT - 1}", "texts": ["fishing"]}))
    result = CliRunner().invoke(app, ["apply", str(out)])
    assert result.exit_code == 0, result.output

    corrected = read_document(out / CORRECTED_DIR / "harbour.json")
    assert [w.text for w in corrected.words] == SPOKEN
    for index in (WRONG_AT, MISSING_AT):
        word = corrected.words[index]
        assert getattr(word, "timing") == "realigned", word
        true_start, true_end = truth[index]
        assert abs(word.start - true_start) <= 0.050, (word.text, word.start, true_start)
        assert abs(word.end - true_end) <= 0.050, (word.text, word.end, true_end)
    # The neighbour that had swallowed the missing word is back to its own audio too.
    before = corrected.words[MISSING_AT - 1]
    assert abs(before.end - truth[MISSING_AT - 1][1]) <= 0.050

    # Line numbers and citations of the corrected version are those of its .txt.
    body = _txt_body(out / CORRECTED_DIR / "harbour.txt")
    assert body == [numbered(line) for line in corrected.lines]
    last = corrected.lines[-1].n
    chosen = extract(corrected, 1, last)
    assert chosen.text().splitlines() == body[:last]
    version = corrected.correction["version"]
    assert chosen.citation() == citation(citation_label(corrected), 1, last, version=version)
    assert chosen.citation().endswith(f", version {version})")
