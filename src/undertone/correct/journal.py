"""The corrections journal ``<stem>.corrections.jsonl``: one JSON object per edit, append-only.

Each line is one edit: its number (``seq``, from 1), the UTC time it was made, its ``kind`` and
its target (word ids, and the line and turn as the person saw them, for a reader of the
journal). Who edited is not recorded. Lines are only ever appended; the machine document is
never touched, so every version can be rebuilt from the machine output and a prefix of the
journal.

The pydantic models below are also the review server's request schemas: every field has a
size limit, unknown fields are refused, and word texts are single tokens without control
characters.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from undertone.errors import UndertoneError
from undertone.model import AnnotationKind

JOURNAL_SUFFIX = ".corrections.jsonl"
FILE_MODE = 0o600

# Size limits: generous for real work, small enough that a hostile client cannot fill a disk
# with one request or make a replay slow.
MAX_WORD_CHARS = 64
MAX_INSERTED_WORDS = 50
MAX_TARGET_WORDS = 5_000
MAX_NOTE_CHARS = 2_000
MAX_LABEL_CHARS = 40
MAX_EDIT_BYTES = 64 * 1024  # one journal line (and one request body)
MAX_JOURNAL_EDITS = 100_000

WORD_ID = re.compile(r"w\d{1,7}|n\d{1,7}\.\d{1,3}")
SPEAKER_ID = re.compile(r"S[1-9]\d{0,3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class JournalError(UndertoneError):
    """The journal cannot be read, or an edit does not fit the transcript."""

    exit_code = 4


def machine_word_id(index: int) -> str:
    """The id of word ``index`` of the machine document."""
    return f"w{index}"


def inserted_word_id(seq: int, k: int) -> str:
    """The id of the ``k``-th word inserted by edit ``seq``."""
    return f"n{seq}.{k}"


def _word_id(value: str) -> str:
    if not WORD_ID.fullmatch(value):
        raise ValueError(f"{value[:20]!r} is not a word id (w<number> or n<edit>.<number>)")
    return value


def _speaker(value: str) -> str:
    if not SPEAKER_ID.fullmatch(value):
        raise ValueError(f"{value[:20]!r} is not a speaker id (S1, S2, ...)")
    return value


def _token(value: str) -> str:
    if not value or value != value.strip() or any(ch.isspace() for ch in value):
        raise ValueError("a word must be one token without spaces (insert further words separately)")
    if _CONTROL.search(value):
        raise ValueError("a word must not contain control characters")
    if not any(ch.isalnum() for ch in value):
        raise ValueError("a word needs at least one letter or digit")
    return value


def _text(value: str) -> str:
    if _CONTROL.search(value.replace("\n", " ").replace("\t", " ")):
        raise ValueError("text must not contain control characters")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


WordId = Annotated[str, Field(max_length=20)]
Token = Annotated[str, Field(min_length=1, max_length=MAX_WORD_CHARS)]


class _Edit(BaseModel):
    """Fields every edit has. ``line`` and ``turn`` say where the person saw the target (1-based
    line number and 0-based turn index of the version on screen): context for a reader, not used
    to find the target (word ids do that)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int | None = Field(default=None, ge=1, description="Edit number in the journal (set when appended)")
    time: str | None = Field(default=None, max_length=40, description="UTC ISO time (set when appended)")
    line: int | None = Field(default=None, ge=1, le=10_000_000)
    turn: int | None = Field(default=None, ge=0, le=10_000_000)


class CorrectWord(_Edit):
    """Replace a word's text (it is re-aligned to the audio on apply)."""

    kind: Literal["correct_word"]
    word: WordId
    text: Token

    _check_word = field_validator("word")(lambda cls, v: _word_id(v))
    _check_text = field_validator("text")(lambda cls, v: _token(v))


class InsertWords(_Edit):
    """Insert words after ``after`` (``None``: at the very start); speaker: ``after``'s by default."""

    kind: Literal["insert_words"]
    after: WordId | None
    texts: list[Token] = Field(min_length=1, max_length=MAX_INSERTED_WORDS)
    speaker: str | None = Field(default=None, max_length=8)

    _check_after = field_validator("after")(lambda cls, v: None if v is None else _word_id(v))
    _check_texts = field_validator("texts")(lambda cls, v: [_token(t) for t in v])
    _check_speaker = field_validator("speaker")(lambda cls, v: None if v is None else _speaker(v))


class DeleteWords(_Edit):
    kind: Literal["delete_words"]
    words: list[WordId] = Field(min_length=1, max_length=MAX_TARGET_WORDS)

    _check_words = field_validator("words")(lambda cls, v: [_word_id(w) for w in v])


class MoveWords(_Edit):
    """Give words (a word, or every word of a turn) to another speaker."""

    kind: Literal["move_words"]
    words: list[WordId] = Field(min_length=1, max_length=MAX_TARGET_WORDS)
    speaker: str = Field(max_length=8)

    _check_words = field_validator("words")(lambda cls, v: [_word_id(w) for w in v])
    _check_speaker = field_validator("speaker")(lambda cls, v: _speaker(v))


class SplitTurn(_Edit):
    """Start a new turn at word ``at``; with ``speaker``, the new turn (to the end of the old
    one) is that speaker's."""

    kind: Literal["split_turn"]
    at: WordId
    speaker: str | None = Field(default=None, max_length=8)

    _check_at = field_validator("at")(lambda cls, v: _word_id(v))
    _check_speaker = field_validator("speaker")(lambda cls, v: None if v is None else _speaker(v))


class MergeTurns(_Edit):
    """Join the turn that starts at word ``at`` to the turn before it (it takes that speaker)."""

    kind: Literal["merge_turns"]
    at: WordId

    _check_at = field_validator("at")(lambda cls, v: _word_id(v))


class RenameSpeaker(_Edit):
    """Give a speaker a label (a pseudonym such as ``P2``) and optionally a role."""

    kind: Literal["rename_speaker"]
    speaker: str = Field(max_length=8)
    label: str = Field(min_length=1, max_length=MAX_LABEL_CHARS)
    role: str | None = Field(default=None, max_length=MAX_LABEL_CHARS)

    _check_speaker = field_validator("speaker")(lambda cls, v: _speaker(v))
    _check_label = field_validator("label")(lambda cls, v: _label(v))
    _check_role = field_validator("role")(lambda cls, v: None if v is None else _label(v))


def _label(value: str) -> str:
    value = _text(value)
    if any(ch.isspace() for ch in value) or ":" in value:
        raise ValueError("a speaker label is one word without a colon (e.g. P2, Anna)")
    if SPEAKER_ID.fullmatch(value):
        raise ValueError(f"{value!r} looks like a speaker id; choose a label such as P2")
    return value


class RemoveMark(_Edit):
    """The person disagrees with a mark: it stays removed whatever later measurements say."""

    kind: Literal["remove_mark"]
    mark: AnnotationKind
    first: WordId
    last: WordId

    _check_first = field_validator("first", "last")(lambda cls, v: _word_id(v))


class AddMark(_Edit):
    """The person hears a mark the measurements missed (no measurement: value and unit null)."""

    kind: Literal["add_mark"]
    mark: AnnotationKind
    first: WordId
    last: WordId

    _check_first = field_validator("first", "last")(lambda cls, v: _word_id(v))


class NoteOnLine(_Edit):
    """A note attached to a line, anchored at a word of it (line numbers change between versions)."""

    kind: Literal["note"]
    word: WordId
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)

    _check_word = field_validator("word")(lambda cls, v: _word_id(v))
    _check_text = field_validator("text")(lambda cls, v: _text(v))


class MarkChecked(_Edit):
    """A line (anchored at a word of it) or the whole transcript checked (or unchecked again)."""

    kind: Literal["checked"]
    scope: Literal["line", "transcript"]
    word: WordId | None = None
    checked: bool = True

    _check_word = field_validator("word")(lambda cls, v: None if v is None else _word_id(v))

    @model_validator(mode="after")
    def _line_needs_word(self) -> "MarkChecked":
        if self.scope == "line" and self.word is None:
            raise ValueError("a checked line needs the word it is anchored at")
        return self


Edit = Annotated[
    Union[
        CorrectWord, InsertWords, DeleteWords, MoveWords, SplitTurn, MergeTurns, RenameSpeaker,
        RemoveMark, AddMark, NoteOnLine, MarkChecked,
    ],
    Field(discriminator="kind"),
]
EDIT_ADAPTER: TypeAdapter[Edit] = TypeAdapter(Edit)
EDIT_KINDS = (
    "correct_word", "insert_words", "delete_words", "move_words", "split_turn", "merge_turns",
    "rename_speaker", "remove_mark", "add_mark", "note", "checked",
)


def journal_path(out_dir: Path, stem: str) -> Path:
    return out_dir / f"{stem}{JOURNAL_SUFFIX}"


def parse_edit(data: bytes | str | dict, where: str = "edit") -> Edit:
    """One edit from JSON (bytes, text or parsed), or :class:`ValueError` with one readable line."""
    if isinstance(data, (bytes, str)):
        if len(data) > MAX_EDIT_BYTES:
            raise ValueError(f"{where}: larger than {MAX_EDIT_BYTES} bytes")
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{where}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: an edit is a JSON object")
    try:
        return EDIT_ADAPTER.validate_python(data)
    except ValidationError as error:
        raise ValueError(f"{where}: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """The first problem of a validation error as ``field: message``."""
    problem = error.errors()[0]
    # The discriminated union puts the kind first in the location: drop it for the reader.
    location = [str(part) for part in problem["loc"] if str(part) not in EDIT_KINDS]
    where = ".".join(location)
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "union_tag_invalid" or problem["type"] == "union_tag_not_found":
        message = f"'kind' must be one of {', '.join(EDIT_KINDS)}"
        where = ""
    if problem["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{where}: {message}" if where else message


def read_journal(path: Path) -> list[Edit]:
    """Every edit in the journal, in order (none if there is no journal)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise JournalError(path, f"cannot read the corrections journal ({error.strerror})") from None
    return parse_journal(raw, path)


def parse_journal(raw: bytes, path: Path) -> list[Edit]:
    edits: list[Edit] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            edit = parse_edit(line, f"line {number}")
        except ValueError as error:
            raise JournalError(path, f"corrections journal {error}") from None
        if edit.seq != len(edits) + 1:
            raise JournalError(path, f"corrections journal line {number}: edit number {edit.seq}, expected {len(edits) + 1}")
        edits.append(edit)
    return edits


def append_edit(path: Path, edit: Edit, check: Callable[[list[Edit]], None] | None = None) -> Edit:
    """Append ``edit`` as the next edit (number and time set here) and return it as stored.

    The journal is locked while the edit is numbered and written, so two clients never get the
    same number. ``check(edits)`` may refuse the new list of edits (raise) before anything is
    written: the review server replays the journal with the edit to make sure it fits.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    with os.fdopen(descriptor, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.seek(0)
        edits = parse_journal(handle.read(), path)
        if len(edits) >= MAX_JOURNAL_EDITS:
            raise JournalError(path, f"the corrections journal is full ({MAX_JOURNAL_EDITS} edits)")
        stored = edit.model_copy(update={"seq": len(edits) + 1, "time": utc_now()})
        stored = EDIT_ADAPTER.validate_python(stored.model_dump())  # re-checked as a whole
        if check is not None:
            check([*edits, stored])
        line = json.dumps(stored.model_dump(exclude_none=True), ensure_ascii=False, separators=(",", ":"))
        handle.seek(0, os.SEEK_END)
        handle.write(line.encode("utf-8") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return stored


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
