"""Replay journal edits onto the machine document's words: what the person changed, no audio yet.

The result (:class:`Corrections`) is the corrected word sequence with each word's id, the words
that need new times (corrected or inserted: :mod:`.realign` times them), and the person's
decisions that later measurement must respect (marks removed or added, turn breaks, labels,
notes, checked lines). An edit that does not fit (a word that is not there, a speaker who does
not exist) raises :class:`EditError` naming the edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from undertone.correct.journal import (
    AddMark,
    CorrectWord,
    DeleteWords,
    Edit,
    InsertWords,
    MarkChecked,
    MergeTurns,
    MoveWords,
    NoteOnLine,
    RemoveMark,
    RenameSpeaker,
    SplitTurn,
    inserted_word_id,
    machine_word_id,
)
from undertone.model import Transcript
from undertone.transcribe import word_kind


class EditError(ValueError):
    """An edit that does not fit the transcript as the edits before it left it."""


@dataclass
class WorkWord:
    """One word of the corrected transcript while edits are replayed."""

    id: str
    text: str
    start: float
    end: float
    speaker: str
    confidence: float | None
    kind: str
    origin: int | None  # index in the machine document; None for an inserted word
    edited: str | None = None  # "corrected" or "inserted"
    moved: bool = False  # given to another speaker by the person
    touched: bool = False  # beside a deleted word: its marks are measured again
    timing: str | None = None  # "realigned" or "interpolated" once :mod:`.realign` timed it

    @property
    def needs_timing(self) -> bool:
        return self.edited is not None


@dataclass(frozen=True)
class MarkRef:
    kind: str
    first: str
    last: str


@dataclass
class Corrections:
    """The machine document's words with every edit applied (times of edited words still old)."""

    words: list[WorkWord]
    labels: dict[str, tuple[str, str | None]]  # speaker id -> (label, role)
    breaks: set[str] = field(default_factory=set)  # words a person started a turn at
    removed_marks: list[MarkRef] = field(default_factory=list)
    added_marks: list[MarkRef] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (word id, text)
    checked: dict[str, bool] = field(default_factory=dict)  # word id -> line checked
    transcript_checked: bool = False
    edits: int = 0

    def position(self, word_id: str) -> int:
        for index, word in enumerate(self.words):
            if word.id == word_id:
                return index
        raise EditError(f"no word {word_id} in the transcript (deleted by an earlier edit, or never there)")

    def turn_span(self, index: int) -> tuple[int, int]:
        """First and last position of the turn holding position ``index``."""
        first = index
        while first > 0 and not self._starts_turn(first):
            first -= 1
        last = index
        while last + 1 < len(self.words) and not self._starts_turn(last + 1):
            last += 1
        return first, last

    def _starts_turn(self, index: int) -> bool:
        return (
            index == 0
            or self.words[index].speaker != self.words[index - 1].speaker
            or self.words[index].id in self.breaks
        )


def start(transcript: Transcript) -> Corrections:
    """The machine document's words, before any edit."""
    words = [
        WorkWord(
            id=machine_word_id(w.i),
            text=w.text,
            start=w.start,
            end=w.end,
            speaker=w.speaker or (transcript.speakers[0].id if transcript.speakers else "S1"),
            confidence=w.confidence,
            kind=w.kind,
            origin=w.i,
        )
        for w in transcript.words
    ]
    labels = {s.id: (s.label, s.role) for s in transcript.speakers}
    if not labels and words:
        labels = {"S1": ("S1", None)}
    return Corrections(words=words, labels=labels)


def replay(transcript: Transcript, edits: Iterable[Edit]) -> Corrections:
    """Apply ``edits`` in order to the machine document's words."""
    state = start(transcript)
    for edit in edits:
        try:
            _apply(state, edit)
        except EditError as error:
            raise EditError(f"edit {edit.seq} ({edit.kind}): {error}") from None
        state.edits += 1
    return state


def _apply(state: Corrections, edit: Edit) -> None:
    if isinstance(edit, CorrectWord):
        word = state.words[state.position(edit.word)]
        word.text, word.kind = edit.text, word_kind(edit.text)
        word.edited = word.edited or "corrected"
    elif isinstance(edit, InsertWords):
        _insert(state, edit)
    elif isinstance(edit, DeleteWords):
        positions = sorted({state.position(word_id) for word_id in edit.words})
        if len(positions) == len(state.words):
            raise EditError("cannot delete every word of the transcript")
        for index in reversed(positions):
            for neighbour in (index - 1, index + 1):
                if 0 <= neighbour < len(state.words):
                    state.words[neighbour].touched = True
            state.breaks.discard(state.words[index].id)
            del state.words[index]
    elif isinstance(edit, MoveWords):
        _check_speaker(state, edit.speaker)
        for word_id in edit.words:
            word = state.words[state.position(word_id)]
            if word.speaker != edit.speaker:
                word.speaker, word.moved = edit.speaker, True
    elif isinstance(edit, SplitTurn):
        index = state.position(edit.at)
        first, last = state.turn_span(index)
        if index == first and edit.speaker is None:
            raise EditError(f"word {edit.at} already starts a turn")
        if edit.speaker is not None:
            _check_speaker(state, edit.speaker)
            for word in state.words[index : last + 1]:
                if word.speaker != edit.speaker:
                    word.speaker, word.moved = edit.speaker, True
        state.breaks.add(edit.at)
    elif isinstance(edit, MergeTurns):
        index = state.position(edit.at)
        first, last = state.turn_span(index)
        if index != first or index == 0:
            raise EditError(f"word {edit.at} does not start a turn after another turn")
        state.breaks.discard(edit.at)
        speaker = state.words[index - 1].speaker
        for word in state.words[index : last + 1]:
            if word.speaker != speaker:
                word.speaker, word.moved = speaker, True
    elif isinstance(edit, RenameSpeaker):
        _check_speaker(state, edit.speaker)
        for other, (label, _) in state.labels.items():
            if other != edit.speaker and label.casefold() == edit.label.casefold():
                raise EditError(f"label {edit.label!r} is already {other}'s")
        state.labels[edit.speaker] = (edit.label, edit.role if edit.role is not None else state.labels[edit.speaker][1])
    elif isinstance(edit, (RemoveMark, AddMark)):
        first, last = state.position(edit.first), state.position(edit.last)
        if last < first:
            raise EditError(f"the mark ends ({edit.last}) before it starts ({edit.first})")
        reference = MarkRef(edit.mark, edit.first, edit.last)
        if isinstance(edit, RemoveMark):  # the later decision wins
            state.added_marks = [m for m in state.added_marks if m != reference]
            state.removed_marks.append(reference)
        else:
            state.removed_marks = [m for m in state.removed_marks if m != reference]
            state.added_marks.append(reference)
    elif isinstance(edit, NoteOnLine):
        state.position(edit.word)
        state.notes.append((edit.word, edit.text))
    elif isinstance(edit, MarkChecked):
        if edit.scope == "transcript":
            state.transcript_checked = edit.checked
        else:
            assert edit.word is not None
            state.position(edit.word)
            state.checked[edit.word] = edit.checked
    else:  # pragma: no cover - the journal schema admits no other kind
        raise EditError(f"unknown edit {edit!r}")


def _insert(state: Corrections, edit: InsertWords) -> None:
    assert edit.seq is not None, "edits are numbered when they are appended"
    if edit.after is None:
        index = 0
        neighbour = state.words[0] if state.words else None
    else:
        index = state.position(edit.after) + 1
        neighbour = state.words[index - 1]
    speaker = edit.speaker or (neighbour.speaker if neighbour else next(iter(state.labels), "S1"))
    _check_speaker(state, speaker)
    # Until re-aligned, inserted words sit at the boundary they were inserted at.
    at = neighbour.end if neighbour is not None and edit.after is not None else (neighbour.start if neighbour else 0.0)
    new = [
        WorkWord(
            id=inserted_word_id(edit.seq, k),
            text=text,
            start=at,
            end=at,
            speaker=speaker,
            confidence=None,
            kind=word_kind(text),
            origin=None,
            edited="inserted",
        )
        for k, text in enumerate(edit.texts)
    ]
    state.words[index:index] = new


def _check_speaker(state: Corrections, speaker: str) -> None:
    if speaker not in state.labels:
        known = ", ".join(state.labels) or "none"
        raise EditError(f"no speaker {speaker} in this transcript (speakers: {known})")
