"""The corrections journal and the replay of its edits (no audio): schema, numbering, targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from documents import make_transcript
from undertone.correct.attention import attention, repeated_loops
from undertone.correct.journal import (
    MAX_EDIT_BYTES,
    JournalError,
    append_edit,
    parse_edit,
    read_journal,
)
from undertone.correct.replay import EditError, replay


def _doc():
    return make_transcript(
        [("S1", ["so", "how", "was", "it"]), ("S2", ["well", "it", "was", "really", "hard"]), ("S1", ["okay"])],
        annotations=[("loud", 7, 8, 7.2, "dB re speaker"), ("rise", 3, 3, 3.1, "st end re before")],
    )


def _edits(*raw: dict) -> list:
    return [parse_edit({**edit, "seq": n, "time": "2026-01-01T00:00:00.000Z"}) for n, edit in enumerate(raw, start=1)]


# ---- the schema: hostile and malformed edits are refused with a clear message ----------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"kind": "correct_word", "word": "../../etc/passwd", "text": "x"}, "word: '../../etc/passwd' is not a word id"),
        ({"kind": "correct_word", "word": "w1", "text": "two words"}, "one token without spaces"),
        ({"kind": "correct_word", "word": "w1", "text": "bad\u0000"}, "control characters"),
        ({"kind": "correct_word", "word": "w1", "text": "x" * 65}, "at most 64 characters"),
        ({"kind": "correct_word", "word": "w1", "text": "..."}, "at least one letter or digit"),
        ({"kind": "correct_word", "word": "w1"}, "text: Field required"),
        ({"kind": "correct_word", "word": "w1", "text": "x", "admin": True}, "admin: unknown field"),
        ({"kind": "drop_table", "word": "w1"}, "'kind' must be one of"),
        ({"word": "w1"}, "'kind' must be one of"),
        ({"kind": "insert_words", "after": "w1", "texts": []}, "texts: List should have at least 1 item"),
        ({"kind": "insert_words", "after": "w1", "texts": ["a"] * 51}, "at most 50 items"),
        ({"kind": "move_words", "words": ["w1"], "speaker": "<script>"}, "is not a speaker id"),
        ({"kind": "rename_speaker", "speaker": "S1", "label": "S2"}, "looks like a speaker id"),
        ({"kind": "rename_speaker", "speaker": "S1", "label": "Dr Who"}, "one word without a colon"),
        ({"kind": "add_mark", "mark": "sarcasm", "first": "w1", "last": "w1"}, "mark: Input should be"),
        ({"kind": "note", "word": "w1", "text": "x" * 2001}, "at most 2000 characters"),
        ({"kind": "note", "word": "w1", "text": "   "}, "must not be empty"),
        ({"kind": "checked", "scope": "line"}, "needs the word it is anchored at"),
        ({"kind": "correct_word", "word": "w1", "text": "x", "line": -3}, "line: Input should be greater than or equal to 1"),
    ],
)
def test_malformed_and_hostile_edits_are_refused_with_a_clear_message(edit: dict, message: str):
    with pytest.raises(ValueError, match="^edit: ") as error:
        parse_edit(json.dumps(edit))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "an edit is a JSON object"),
        (b'"correct_word"', "an edit is a JSON object"),
        (b"\xff\xfe", "not valid JSON"),
        (b" " * (MAX_EDIT_BYTES + 1), "larger than"),
    ],
)
def test_bodies_that_are_not_one_json_object_are_refused(body: bytes, message: str):
    with pytest.raises(ValueError, match=message):
        parse_edit(body)


def test_append_numbers_and_times_every_edit(tmp_path: Path):
    journal = tmp_path / "talk.corrections.jsonl"
    first = append_edit(journal, parse_edit({"kind": "correct_word", "word": "w1", "text": "who", "line": 1}))
    second = append_edit(journal, parse_edit({"kind": "delete_words", "words": ["w2"]}))
    assert (first.seq, second.seq) == (1, 2)
    assert first.time.endswith("Z") and first.time[:4].isdigit()
    rows = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [row["seq"] for row in rows] == [1, 2]
    assert rows[0] == {"seq": 1, "time": first.time, "line": 1, "kind": "correct_word", "word": "w1", "text": "who"}
    assert read_journal(journal) == [first, second]
    assert journal.stat().st_mode & 0o777 == 0o600


def test_a_check_that_refuses_writes_nothing(tmp_path: Path):
    journal = tmp_path / "talk.corrections.jsonl"

    def refuse(edits):
        raise JournalError(journal, "no")

    with pytest.raises(JournalError):
        append_edit(journal, parse_edit({"kind": "delete_words", "words": ["w2"]}), check=refuse)
    assert journal.read_bytes() == b""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"seq": 1, "kind": "nope"}\n', "line 1: 'kind' must be one of"),
        (b'{"seq": 2, "kind": "delete_words", "words": ["w1"]}\n', "line 1: edit number 2, expected 1"),
        (b"garbage\n", "line 1: not valid JSON"),
    ],
)
def test_a_damaged_journal_is_an_error_naming_the_file_and_line(tmp_path: Path, content: bytes, message: str):
    journal = tmp_path / "talk.corrections.jsonl"
    journal.write_bytes(content)
    with pytest.raises(JournalError) as error:
        read_journal(journal)
    assert str(error.value).startswith(f"{journal}: corrections journal ")
    assert message in str(error.value)


def test_a_missing_journal_has_no_edits(tmp_path: Path):
    assert read_journal(tmp_path / "none.corrections.jsonl") == []


def test_append_never_follows_a_symlink(tmp_path: Path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me\n")
    journal = tmp_path / "talk.corrections.jsonl"
    journal.symlink_to(target)
    with pytest.raises(OSError):
        append_edit(journal, parse_edit({"kind": "delete_words", "words": ["w2"]}))
    assert target.read_text() == "keep me\n"


# ---- replay: edits by stable word ids -----------------------------------------------------------


def test_replay_corrects_inserts_deletes_by_stable_ids():
    state = replay(
        _doc(),
        _edits(
            {"kind": "insert_words", "after": "w1", "texts": ["long", "ago"]},
            {"kind": "delete_words", "words": ["w0"]},
            {"kind": "correct_word", "word": "w2", "text": "were"},  # still "was", though it moved
            {"kind": "correct_word", "word": "n1.1", "text": "again"},  # a word inserted by edit 1
        ),
    )
    assert [w.text for w in state.words][:5] == ["how", "long", "again", "were", "it"]
    assert [w.id for w in state.words][:5] == ["w1", "n1.0", "n1.1", "w2", "w3"]
    assert [w.edited for w in state.words][:5] == [None, "inserted", "inserted", "corrected", None]
    assert state.words[0].touched  # beside the deleted word
    assert state.words[1].speaker == "S1"  # inserted words take the speaker of the word before


def test_moving_splitting_and_merging_turns():
    state = replay(
        _doc(),
        _edits(
            {"kind": "move_words", "words": ["w9"], "speaker": "S1"},  # "okay" -> S1 already: nothing
            {"kind": "split_turn", "at": "w7", "speaker": "S1"},  # "really hard" is the interviewer's
            {"kind": "merge_turns", "at": "w4"},  # "well it was" joins "so how was it"
        ),
    )
    assert [w.speaker for w in state.words] == ["S1"] * 10
    assert [w.moved for w in state.words] == [False] * 4 + [True] * 5 + [False]
    assert "w7" in state.breaks


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"kind": "correct_word", "word": "w99", "text": "x"}, "edit 1 (correct_word): no word w99"),
        ({"kind": "move_words", "words": ["w1"], "speaker": "S7"}, "no speaker S7 in this transcript (speakers: S1, S2)"),
        ({"kind": "merge_turns", "at": "w5"}, "w5 does not start a turn"),
        ({"kind": "merge_turns", "at": "w0"}, "w0 does not start a turn after another turn"),
        ({"kind": "split_turn", "at": "w4"}, "w4 already starts a turn"),
        ({"kind": "rename_speaker", "speaker": "S1", "label": "p2"}, "label 'p2' is already S2's"),
        ({"kind": "add_mark", "mark": "loud", "first": "w3", "last": "w1"}, "ends (w1) before it starts (w3)"),
        ({"kind": "delete_words", "words": [f"w{i}" for i in range(10)]}, "cannot delete every word"),
    ],
)
def test_edits_that_do_not_fit_name_the_edit_and_the_problem(edit: dict, message: str):
    with pytest.raises(EditError, match="^edit 1 ") as error:
        replay(_doc(), _edits(edit))
    assert message in str(error.value)


def test_a_deleted_word_cannot_be_edited_later():
    with pytest.raises(EditError, match=r"edit 2 \(correct_word\): no word w1 .*deleted"):
        replay(_doc(), _edits({"kind": "delete_words", "words": ["w1"]}, {"kind": "correct_word", "word": "w1", "text": "x"}))


def test_the_later_decision_on_a_mark_wins():
    mark = {"mark": "loud", "first": "w7", "last": "w8"}
    state = replay(_doc(), _edits({"kind": "remove_mark", **mark}, {"kind": "add_mark", **mark}))
    assert state.removed_marks == [] and len(state.added_marks) == 1
    state = replay(_doc(), _edits({"kind": "add_mark", **mark}, {"kind": "remove_mark", **mark}))
    assert state.added_marks == [] and len(state.removed_marks) == 1


def test_labels_notes_and_checks_are_kept():
    state = replay(
        _doc(),
        _edits(
            {"kind": "rename_speaker", "speaker": "S2", "label": "Anna", "role": "participant"},
            {"kind": "note", "word": "w5", "text": "laughs here?"},
            {"kind": "checked", "scope": "line", "word": "w0"},
            {"kind": "checked", "scope": "transcript"},
        ),
    )
    assert state.labels["S2"] == ("Anna", "participant")
    assert state.notes == [("w5", "laughs here?")]
    assert state.checked == {"w0": True} and state.transcript_checked
    assert state.edits == 4


# ---- words for attention ------------------------------------------------------------------------


def test_low_confidence_long_words_and_loops_are_flagged():
    doc = make_transcript([("S1", ["thanks", "for", "watching", "thanks", "for", "watching", "thanks", "for", "watching", "ok", "ok"])])
    doc.words[9].confidence = 0.2
    doc.words[10].end = doc.words[10].start + 2.5  # one word over 2.5 s: text over silence
    flags = attention(doc)
    assert {i for i, f in flags.items() if f == "suspect"} == set(range(9)) | {10}
    assert flags[9] == "low"


def test_a_short_stutter_is_not_a_loop():
    assert repeated_loops(["I", "I", "I", "think"]) == set()
    assert repeated_loops(["no", "no", "no", "no"]) == {0, 1, 2, 3}
