"""Speakers as people: labels and roles from a sidecar, the configuration, or a guess.

Speaker ids are ``S1, S2, ...`` in order of first appearance (:mod:`undertone.align`). What a
reader sees is each speaker's *label* (``I``, ``P2``, a pseudonym) and *role*, which come from,
in this order:

1. the recording's sidecar ``<stem>.speakers.toml`` beside it, if there is one;
2. else the ``[speakers]`` table of the configuration;
3. else a known transcript's own speaker names (``I:``, ``P:``);
4. else, for speakers found by diarisation, a guess: the person who asks the questions is the
   interviewer (see :func:`guess_roles`).

A table names speakers by id, or by channel for recordings diarised by channel (one microphone
per person), where the channel is the stable name (who speaks first may differ)::

    [speakers.S1]            # or [speakers.ch1]
    label = "I"
    role = "interviewer"

    [speakers.S2]
    label = "P2"
    role = "participant"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, field_validator

from undertone.errors import ConfigError
from undertone.model import Speaker, Transcript
from undertone.transcribe import FILLERS

SPEAKER_ID = re.compile(r"S[1-9]\d*")
CHANNEL_KEY = re.compile(r"ch([1-9]\d*)")
INTERVIEWER, PARTICIPANT = "interviewer", "participant"
GUESSED_LABELS = {INTERVIEWER: "I", PARTICIPANT: "P"}

# The guess needs the interviewer to have ended at least this many turns with a question...
MIN_QUESTION_TURNS = 2
# ...and to do so at least this many times as often (per turn) as anyone else: a few rising
# list intonations or quoted questions in a participant's answers must not make them the
# interviewer, and two people asking about equally often are a conversation, not an interview.
QUESTION_RATE_RATIO = 2.0

# English interrogative openings (after discourse markers and fillers are skipped). Only the
# first two words of a unit are looked at: inversion ("do you", "is that") and wh-words before
# an auxiliary or a verb ("how do", "what happens") open questions, while wh-words before a
# subject open clauses ("when I was", "what I did").
_DISCOURSE = frozenset({"and", "so", "but", "or", "okay", "ok", "well", "right", "now", "then", "alright", "oh"})
_AUXILIARIES = frozenset({
    "do", "does", "did", "is", "are", "am", "was", "were", "have", "has", "had", "can", "could",
    "would", "will", "should", "shall", "may", "might", "don't", "doesn't", "didn't", "isn't",
    "aren't", "wasn't", "weren't", "haven't", "hasn't", "can't", "couldn't", "wouldn't", "won't",
})
_SUBJECTS = frozenset({
    "you", "i", "we", "they", "he", "she", "it", "that", "this", "there", "anyone", "anybody",
    "someone", "somebody", "people", "your",
})
_WH = frozenset({"what", "why", "how", "where", "when", "who", "which", "whose"})
_WH_CONTRACTED = frozenset({"what's", "how's", "where's", "who's", "why's", "when's"})
_NOT_AFTER_SUBJECT_WH = _SUBJECTS | frozenset({"a", "an", "the", "my", "his", "her", "our", "their", "if"})
_HOW_DEGREE = frozenset({"much", "many", "long", "often", "far", "old", "come"})


# --------------------------------------------------------------------------- the table


def _label(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class SpeakerName(BaseModel):
    """How one speaker is shown: ``label`` in the transcript (``I``, ``P2``), optional ``role``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    role: str | None = None

    @field_validator("label")
    @classmethod
    def _label_not_empty(cls, value: str) -> str:
        return _label(value)

    @field_validator("role")
    @classmethod
    def _role_not_empty(cls, value: str | None) -> str | None:
        return None if value is None else _label(value)


def _check_table(table: dict[str, SpeakerName]) -> dict[str, SpeakerName]:
    """Keys are speaker ids or channels (not both); labels are unique and not someone's id."""
    by_id = [key for key in table if SPEAKER_ID.fullmatch(key)]
    by_channel = [key for key in table if CHANNEL_KEY.fullmatch(key)]
    for key in table:
        if key not in by_id and key not in by_channel:
            raise ValueError(f"{key!r} is neither a speaker id (S1, S2, ...) nor a channel (ch1, ch2, ...)")
    if by_id and by_channel:
        raise ValueError("name speakers either by id (S1, S2, ...) or by channel (ch1, ch2, ...), not both")
    seen: dict[str, str] = {}
    for key, name in table.items():
        folded = name.label.casefold()
        if folded in seen:
            raise ValueError(f"{key} and {seen[folded]} have the same label {name.label!r}; labels must be unique")
        seen[folded] = key
        if SPEAKER_ID.fullmatch(name.label) and name.label != key:
            raise ValueError(f"{key}: label {name.label!r} looks like another speaker's id")
    return table


SpeakerTable = Annotated[dict[str, SpeakerName], AfterValidator(_check_table)]


class _Sidecar(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speakers: SpeakerTable


@dataclass(frozen=True)
class SpeakerNames:
    """A table of names and where it came from (a sidecar file, or ``None`` for the configuration)."""

    table: dict[str, SpeakerName]
    origin: Path | None = None

    @property
    def source(self) -> str:
        return self.origin.name if self.origin is not None else "the configuration's [speakers] table"


def read_sidecar(path: Path) -> SpeakerNames | None:
    """The speakers sidecar at ``path`` (see :func:`undertone.freshness.speakers_sidecar`), or
    ``None`` when there is none. A malformed sidecar raises :class:`ConfigError` naming it."""
    if not path.exists():
        return None
    from undertone.config import read_toml  # config imports this module for its [speakers] table

    data = read_toml(path, "speakers sidecar")
    try:
        sidecar = _Sidecar.model_validate(data)
    except ValidationError as error:
        # A misspelt key also leaves a required one missing: name the misspelling.
        problem = min(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
        where = ".".join(str(part) for part in problem["loc"]) or "sidecar"
        message = "unknown key" if problem["type"] == "extra_forbidden" else problem["msg"].removeprefix("Value error, ")
        raise ConfigError(path, f"invalid speakers sidecar: {where}: {message}") from None
    return SpeakerNames(dict(sidecar.speakers), path)


# --------------------------------------------------------------------------- naming


@dataclass(frozen=True)
class Naming:
    """The speakers with their labels and roles, and notes on how they were named."""

    speakers: list[Speaker]
    notes: list[str]


def name_speakers(
    transcript: Transcript, names: SpeakerNames | None, guess: bool, sidecar_hint: str | None = None
) -> Naming:
    """Labels and roles for ``transcript.speakers`` (see the module docstring).

    ``names`` is the sidecar or configuration table (``None`` or empty: none given); ``guess``
    allows the interviewer guess when no names are given (speakers from diarisation).
    ``sidecar_hint`` is the sidecar's file name, for the note that says how to override a guess.
    Raises :class:`ConfigError` if a given label would repeat an unnamed speaker's label.
    """
    if names is not None and names.table:
        return _apply(transcript.speakers, names)
    if not guess or len(transcript.speakers) < 2:
        return Naming(list(transcript.speakers), [])
    return _guess(transcript, sidecar_hint)


def _apply(speakers: list[Speaker], names: SpeakerNames) -> Naming:
    by_channel = any(CHANNEL_KEY.fullmatch(key) for key in names.table)
    notes: list[str] = []
    if by_channel and not any(s.channel for s in speakers):
        notes.append(
            f"{names.source} names channels, but the speakers were not diarised by channel: names not applied"
        )
        return Naming(list(speakers), notes)
    keys = {s.id: (f"ch{s.channel}" if by_channel else s.id) for s in speakers}
    named = [s.model_copy(update=names.table[keys[s.id]].model_dump()) if keys[s.id] in names.table else s for s in speakers]
    unused = sorted(set(names.table) - set(keys.values()))
    if unused:
        notes.append(f"{names.source} names {', '.join(unused)}, which did not speak in this recording")
    labels: dict[str, str] = {}
    for speaker in named:
        other = labels.get(speaker.label.casefold())
        if other is not None:
            where = f"{names.source}: " if names.origin is None else ""
            raise ConfigError(names.origin, f"{where}label {speaker.label!r} is given to {other} and {speaker.id}")
        labels[speaker.label.casefold()] = speaker.id
    notes.append(f"speaker labels from {names.source}")
    return Naming(named, notes)


@dataclass(frozen=True)
class QuestionCount:
    """How many of a speaker's turns end with a question."""

    questions: int
    turns: int

    @property
    def rate(self) -> float:
        return self.questions / self.turns if self.turns else 0.0

    def __str__(self) -> str:
        return f"{self.questions} of {self.turns} turns"


def count_questions(transcript: Transcript, language: str | None = None) -> dict[str, QuestionCount]:
    """Per speaker id: turns whose final unit is question-like, and turns in all.

    A turn's final unit runs from its last timed pause to its end (the unit final intonation
    is measured on). It is question-like when it ends in rising intonation (a ``rise``
    annotation on its last word), carries a question mark (speech recognisers punctuate), or,
    in English (or an unknown language), opens like a question (see :func:`opens_question`).
    A question ends a turn: it hands the floor to the person asked, so only final units count,
    and a participant's rising list intonation or quoted question in mid-turn does not.
    """
    rising = {a.last_word for a in transcript.annotations if a.kind == "rise"}
    unit_breaks = {p.after_word for p in transcript.pauses if p.kind == "pause"}
    english = language is None or language.lower().startswith("en")
    counts = {s.id: [0, 0] for s in transcript.speakers}
    for turn in transcript.turns:
        first = turn.first_word
        for index in range(turn.first_word, turn.last_word):
            if index in unit_breaks:
                first = index + 1
        texts = [w.text for w in transcript.words[first : turn.last_word + 1]]
        question = (
            turn.last_word in rising
            or any("?" in text for text in texts)
            or (english and opens_question(texts))
        )
        tally = counts.setdefault(turn.speaker, [0, 0])
        tally[0] += int(question)
        tally[1] += 1
    return {sid: QuestionCount(q, n) for sid, (q, n) in counts.items()}


def opens_question(texts: list[str]) -> bool:
    """Whether English words open a question: ``do you``, ``is that``, ``how do``, ``what
    happens``, ``how long``, ``tell me`` (after ``and``, ``so``, ``um``...)."""
    words = [w for w in (_bare(t) for t in texts) if w]
    while words and (words[0] in _DISCOURSE or words[0] in FILLERS):
        words = words[1:]
    if not words:
        return False
    first, second = words[0], words[1] if len(words) > 1 else ""
    if first in _WH_CONTRACTED:
        return True
    if first in _AUXILIARIES:
        return second in _SUBJECTS
    if first in _WH:
        if first == "which":  # "which part", but "which is why" continues a statement
            return bool(second) and second not in _NOT_AFTER_SUBJECT_WH | _AUXILIARIES
        return (
            second in _AUXILIARIES
            or second == "about"
            or (first == "how" and second in _HOW_DEGREE)
            or (first in {"what", "who", "whose"} and bool(second) and second not in _NOT_AFTER_SUBJECT_WH)
        )
    return first == "tell" and second == "me"


def _bare(text: str) -> str:
    return text.strip().lower().replace("’", "'").strip(".,!?;:\"()[]…-")


def guess_roles(
    transcript: Transcript, language: str | None = None
) -> tuple[dict[str, str], dict[str, QuestionCount]]:
    """The interviewer and participant among the speakers, by who asks the questions.

    The interviewer is the speaker who ends the largest share of their turns with a question
    (:func:`count_questions`), if that is at least ``MIN_QUESTION_TURNS`` turns and
    ``QUESTION_RATE_RATIO`` times anyone else's share; the participant is the speaker with the
    most words among the others. Further speakers get no role: a second interviewer, an
    interpreter or a relative cannot be told apart this way. Returns ({id: role}, counts);
    the roles are empty when the evidence is weak.
    """
    counts = count_questions(transcript, language)
    ranked = sorted(counts, key=lambda sid: counts[sid].rate, reverse=True)
    if len(ranked) < 2:
        return {}, counts
    asker, runner_up = counts[ranked[0]], counts[ranked[1]]
    if asker.questions < MIN_QUESTION_TURNS or asker.rate < QUESTION_RATE_RATIO * runner_up.rate:
        return {}, counts
    words: dict[str, int] = {}
    for word in transcript.words:
        if word.speaker is not None and word.kind == "word":
            words[word.speaker] = words.get(word.speaker, 0) + 1
    others = [sid for sid in counts if sid != ranked[0]]
    participant = max(others, key=lambda sid: words.get(sid, 0))
    return {ranked[0]: INTERVIEWER, participant: PARTICIPANT}, counts


def _guess(transcript: Transcript, sidecar_hint: str | None) -> Naming:
    roles, counts = guess_roles(transcript, transcript.pipeline.asr.language)
    asked = "; ".join(f"{sid} {counts[sid]}" for sid in sorted(counts, key=_id_order))
    where = f"in {sidecar_hint}" if sidecar_hint else "in a <recording>.speakers.toml beside the recording"
    if not roles:
        note = (
            f"speakers left unnamed: who asks the questions is unclear (turns ending with a question: "
            f"{asked}); name them {where}"
        )
        return Naming(list(transcript.speakers), [note])
    speakers = [
        s.model_copy(update={"label": GUESSED_LABELS[roles[s.id]], "role": roles[s.id]}) if s.id in roles else s
        for s in transcript.speakers
    ]
    named = ", ".join(f"{GUESSED_LABELS[role]} = {sid}" for sid, role in sorted(roles.items(), key=lambda item: _id_order(item[0])))
    note = (
        f"speaker labels guessed ({named}): the interviewer asks the questions (turns ending with a "
        f"question: {asked}); to correct them, name the speakers {where}"
    )
    return Naming(speakers, [note])


def _id_order(speaker_id: str) -> tuple[int, str]:
    return (int(speaker_id[1:]), speaker_id) if SPEAKER_ID.fullmatch(speaker_id) else (10**9, speaker_id)
