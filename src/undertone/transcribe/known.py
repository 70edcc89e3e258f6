"""Known transcripts (``--transcript FILE``): the words were typed by a person, only the timing is missing.

The file format is deliberately plain so that researchers can export it from any word processor::

    # Interview 3, 2024-05-02 (lines starting with '#' are comments)
    I: So how did you start?
    P2: Well, I'd- I'd always wanted to, um, wa- walk there.

One turn per line, ``SPEAKER: text``. The speaker label is any non-empty run of characters
without a colon or whitespace (``I``, ``P2``, ``Interviewer``). Blank lines are ignored. The
file is UTF-8, with or without a byte-order mark (Windows editors add one).

:func:`tokenize` decides how a turn's text becomes output words; the aligner keeps exactly one
timed word per token, so this is also the contract between the transcript and the output.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from undertone.errors import TranscriptFileError

COMMENT_PREFIX = "#"
_TURN_LINE = re.compile(r"^\s*(?P<speaker>[^:\s]+)\s*:(?P<text>.*)$")
_APOSTROPHES = "'\u2019\u02bc"  # straight, typographic and modifier-letter apostrophes
_CUTOFF_MARK = "-"


@dataclass
class KnownTurn:
    """One line of a known transcript: who spoke, what they said, and where it is in the file."""

    speaker: str
    text: str
    line: int  # 1-based line number in the transcript file, for error messages


def parse_transcript(path: Path) -> list[KnownTurn]:
    """Read and parse a transcript file; every problem raises :class:`TranscriptFileError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TranscriptFileError(path, "file does not exist") from None
    except IsADirectoryError:
        raise TranscriptFileError(path, "is a folder, not a transcript file") from None
    except OSError as error:
        raise TranscriptFileError(path, f"cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")  # strips a BOM if present
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        problem = f"line {line}: not valid UTF-8 text (save the file as UTF-8)"
        raise TranscriptFileError(path, problem) from None
    return parse_transcript_text(text, path)


def parse_transcript_text(text: str, path: Path | str | None) -> list[KnownTurn]:
    """Parse transcript text; ``path`` is only used to name the file in error messages."""
    text = text.removeprefix("\ufeff")
    turns: list[KnownTurn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(COMMENT_PREFIX):
            continue
        turns.append(_parse_turn_line(stripped, number, path))
    if not turns:
        raise TranscriptFileError(path, "contains no turns (expected lines like 'SPEAKER: text')")
    return turns


def _parse_turn_line(line: str, number: int, path: Path | str | None) -> KnownTurn:
    match = _TURN_LINE.match(line)
    if match is None:
        shown = line if len(line) <= 40 else line[:37] + "..."
        raise TranscriptFileError(
            path, f"line {number}: expected 'SPEAKER: text' but found {shown!r}"
        )
    speaker, spoken = match["speaker"], match["text"].strip()
    if not tokenize(spoken):
        raise TranscriptFileError(path, f"line {number}: turn of speaker {speaker!r} has no words")
    return KnownTurn(speaker=speaker, text=spoken, line=number)


def tokenize(text: str) -> list[str]:
    """Split a turn into the word tokens that will appear in the output.

    Spelling and case are kept as typed. Punctuation around a word is dropped (``"Well,"`` ->
    ``Well``), except a trailing hyphen, which marks a cut-off word (``wa-``). Apostrophes and
    hyphens inside a word stay (``I'd``, ``don't``, ``well-known``). Pieces with no letter or
    digit (a lone dash, an ellipsis) are not words and are dropped.
    """
    tokens = []
    for piece in text.split():
        token = _strip_punctuation(piece)
        if any(char.isalnum() for char in token):
            tokens.append(token)
    return tokens


def _strip_punctuation(piece: str) -> str:
    start, end = 0, len(piece)
    while start < end and not piece[start].isalnum():
        start += 1
    while end > start and not piece[end - 1].isalnum():
        end -= 1
    word = piece[start:end]
    if word and piece[end : end + 1] == _CUTOFF_MARK:
        word += _CUTOFF_MARK
    return word


def spoken_form(token: str) -> str:
    """The token as a pronunciation lookup key: lower case, plain apostrophe, no cut-off hyphen.

    Accents are removed (``café`` -> ``cafe``) because the English dictionary has no accented
    entries; the output keeps the original token.
    """
    word = token.rstrip(_CUTOFF_MARK).lower()
    for apostrophe in _APOSTROPHES[1:]:
        word = word.replace(apostrophe, "'")
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char))
