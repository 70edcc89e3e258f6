"""Known transcripts: the file format, its error messages, and how turns become output tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from undertone.errors import TranscriptFileError
from undertone.transcribe.known import (
    KnownTurn,
    parse_transcript,
    parse_transcript_text,
    spoken_form,
    tokenize,
)

GOOD = """\
# Interview 3 (comment lines and blank lines are ignored)

I: So how did you start?
P2: Well, I'd- I'd always wanted to, um, wa- walk there.

Interviewer : And then?
"""


def write(tmp_path: Path, content: bytes | str, name: str = "interview.txt") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_parses_turns_with_speakers_and_line_numbers(tmp_path):
    turns = parse_transcript(write(tmp_path, GOOD))
    assert turns == [
        KnownTurn("I", "So how did you start?", 3),
        KnownTurn("P2", "Well, I'd- I'd always wanted to, um, wa- walk there.", 4),
        KnownTurn("Interviewer", "And then?", 6),
    ]


def test_byte_order_mark_is_accepted(tmp_path):
    with_bom = write(tmp_path, "\ufeffI: Hello there.\r\nP: Hi.\r\n".encode("utf-8"))
    assert [turn.speaker for turn in parse_transcript(with_bom)] == ["I", "P"]


def test_text_parser_strips_a_bom_too():
    assert parse_transcript_text("\ufeffI: hello", None)[0].speaker == "I"


@pytest.mark.parametrize(
    "content",
    ["", "\n\n   \n", "# only a comment\n\n# and another\n"],
    ids=["empty", "blank lines", "only comments"],
)
def test_file_without_turns_is_an_error_naming_the_file(tmp_path, content):
    path = write(tmp_path, content)
    with pytest.raises(TranscriptFileError, match="no turns") as error:
        parse_transcript(path)
    assert "interview.txt" in str(error.value)


def test_line_without_speaker_names_the_line(tmp_path):
    path = write(tmp_path, "I: Hello.\n\nthis line has no speaker label\n")
    with pytest.raises(TranscriptFileError, match=r"line 3: expected 'SPEAKER: text'") as error:
        parse_transcript(path)
    assert "interview.txt" in str(error.value)


@pytest.mark.parametrize("line", [": no speaker", "Two words: a label with a space"])
def test_malformed_speaker_label_is_an_error(line):
    with pytest.raises(TranscriptFileError, match="line 1"):
        parse_transcript_text(line, "t.txt")


@pytest.mark.parametrize("line", ["P:", "P:   ", "P: ... -- !", "P: —"])
def test_turn_without_words_names_the_line_and_speaker(line):
    with pytest.raises(TranscriptFileError, match=r"line 2: turn of speaker 'P' has no words"):
        parse_transcript_text(f"I: fine\n{line}\n", "t.txt")


def test_invalid_utf8_names_the_line(tmp_path):
    path = write(tmp_path, b"I: hello\nP: caf\xe9\n")
    with pytest.raises(TranscriptFileError, match="line 2: not valid UTF-8"):
        parse_transcript(path)


def test_missing_file_and_folder_are_errors(tmp_path):
    with pytest.raises(TranscriptFileError, match="does not exist"):
        parse_transcript(tmp_path / "nope.txt")
    with pytest.raises(TranscriptFileError, match="folder"):
        parse_transcript(tmp_path)


def test_error_without_path_is_still_readable():
    with pytest.raises(TranscriptFileError) as error:
        parse_transcript_text("", None)
    assert str(error.value).startswith("contains no turns")


@pytest.mark.parametrize(
    "text, tokens",
    [
        (
            "Well, I'd- I'd always wanted to, um, wa- walk there.",
            ["Well", "I'd-", "I'd", "always", "wanted", "to", "um", "wa-", "walk", "there"],
        ),
        ('He said "Zorblat!" -- twice...', ["He", "said", "Zorblat", "twice"]),
        ("don’t stop (laughs) well-known", ["don’t", "stop", "laughs", "well-known"]),
        ("It cost 3.5 euros, 100%.", ["It", "cost", "3.5", "euros", "100"]),
        ("Café naïve", ["Café", "naïve"]),
        ("- … —", []),
    ],
)
def test_tokenize_keeps_spelling_and_drops_surrounding_punctuation(text, tokens):
    assert tokenize(text) == tokens


@pytest.mark.parametrize(
    "token, key",
    [("Don’t", "don't"), ("wa-", "wa"), ("Café", "cafe"), ("I'd", "i'd"), ("WELL-known", "well-known")],
)
def test_spoken_form_is_the_dictionary_lookup_key(token, key):
    assert spoken_form(token) == key


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_tokens_are_pieces_of_the_text_with_a_letter_or_digit(text):
    for token in tokenize(text):
        assert token and not token[0].isspace()
        assert any(char.isalnum() for char in token)
        assert token[0].isalnum()
        assert token[-1].isalnum() or (token[-1] == "-" and token[-2].isalnum())
        assert token in text
