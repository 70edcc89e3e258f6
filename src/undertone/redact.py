"""Pseudonymisation: names and places replaced consistently before anything is written.

A redaction list names what must not appear in any output (people, places, employers). Each
line of the list is one person or place and gets one numbered tag of its category, in the
order of the list: ``Alice`` -> ``[NAME-1]``, ``Leeds`` -> ``[PLACE-1]``. Because the number
comes from the list, not from the transcript, a term has the same tag in every transcript made
with that list, and in their corrected versions.

Everything a reader sees is redacted: the words, the speakers' labels and roles (a sidecar's
``Alice``), the notes, the settings record, and the recording's path (``Alice interview.wav``
-> ``[NAME-2] interview.wav``; the output files are then named after the redacted name too).
A term of several words ("Alice Smith") said in the transcript becomes one tag word spanning
their time, so line numbers and timings stay meaningful; the words' indices are renumbered and
every reference to them (turns, pauses, overlaps, annotations) follows.

The list is a text file, one person or place per line, optionally with a category
(``Leeds = PLACE``); ``#`` starts a comment. Names of the same person are given on one line
separated by ``|`` and share a tag (``Alice Smith | Alice | Ali = NAME``); on separate lines
they are separate people. Matching ignores case and the punctuation around words.

A redacted document records a check of its list (:func:`redaction_record`): a salted, slow
hash of the parsed list, never the terms, so that ``undertone apply`` can tell whether it was
given the same list.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from undertone.errors import ConfigError
from undertone.model import Line, Transcript, Word

DEFAULT_CATEGORY = "NAME"
ALIAS_SEPARATOR = "|"
_CATEGORY = re.compile(r"^[A-Z][A-Z0-9_]*$")
TAG = re.compile(r"\[[A-Z][A-Z0-9_]*-\d+\]")  # a tag this module writes
# The list check: PBKDF2 makes confirming a guessed list slow (see the module docstring).
CHECK_METHOD = "pbkdf2-sha256"
CHECK_ITERATIONS = 100_000

Relayout = Callable[[Transcript], list[Line]]


@dataclass(frozen=True)
class Term:
    """One way of writing something to redact: its words (normalised), category and tag."""

    words: tuple[str, ...]
    category: str = DEFAULT_CATEGORY
    tag: str = ""  # "[NAME-1]": shared by the aliases on one line of the list

    @property
    def replacement(self) -> str:
        return self.tag or f"[{self.category}]"


_PUNCTUATION = ".,!?;:\"'()[]«»“”‘’-"
_POSSESSIVE = re.compile(r"(['’]s|s['’])$")


def normalise(word: str) -> str:
    """Lower case without surrounding punctuation (``Alice,`` -> ``alice``)."""
    return word.lower().strip(_PUNCTUATION)


def _base(word: str) -> str:
    """``normalise`` without a possessive ending, so "Alice's" is found by "Alice"."""
    text = normalise(word)
    return _POSSESSIVE.sub("", text) if len(text) > 2 else text


def tag_like(tag: str, original: str) -> str:
    """The tag with the original word's possessive and trailing punctuation ("Leeds." -> "[PLACE-1].")."""
    core = original.rstrip(_PUNCTUATION)
    trailing = original[len(core) :]
    possessive = _POSSESSIVE.search(core)
    return tag + (possessive.group(0) if possessive and len(core) > 2 else "") + trailing


# --------------------------------------------------------------------------- the list


def parse_terms(text: str, source: Path | None = None) -> list[Term]:
    """Terms from a redaction list (see module docstring); longest first, so they win."""
    terms: list[Term] = []
    tags: dict[tuple[str, ...], str] = {}
    counters: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        phrase, _, category = line.partition("=")
        category = category.strip().upper() or DEFAULT_CATEGORY
        if not _CATEGORY.match(category):
            raise ConfigError(source, f"line {number}: category {category!r} must be a word like NAME or PLACE")
        aliases = [_words(part) for part in phrase.split(ALIAS_SEPARATOR)]
        if not any(aliases):
            raise ConfigError(source, f"line {number}: nothing to redact in {raw.strip()!r}")
        if not all(aliases):
            raise ConfigError(source, f"line {number}: an empty name between '{ALIAS_SEPARATOR}' in {raw.strip()!r}")
        tag = next((tags[words] for words in aliases if words in tags), None)  # a name listed before keeps its tag
        if tag is None:
            counters[category] = counters.get(category, 0) + 1
            tag = f"[{category}-{counters[category]}]"
        for words in aliases:
            if words not in tags:
                tags[words] = tag
                terms.append(Term(words, category, tag))
    return sorted(terms, key=lambda term: -len(term.words))


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(w for w in (normalise(part) for part in phrase.split()) if w)


def read_terms(path: Path) -> list[Term]:
    """The terms of the redaction list at ``path``; :class:`ConfigError` naming it if unusable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(path, "redaction list does not exist") from None
    except IsADirectoryError:
        raise ConfigError(path, "redaction list is a folder, not a file") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "redaction list is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(path, f"cannot read redaction list ({error.strerror})") from None
    return parse_terms(text, path)


def list_check(terms: list[Term], salt: str) -> str:
    """A check of the parsed list, salted (with the recording's sha256) and slow to compute.

    The same list (whatever its comments, spacing or order of lines with the same tags) gives
    the same check for the same recording; the terms cannot be read back from it.
    """
    canonical = json.dumps(sorted([list(term.words), term.replacement] for term in terms))
    return _pbkdf2(canonical, salt)


@lru_cache(maxsize=64)
def _pbkdf2(canonical: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", canonical.encode("utf-8"), salt.encode("utf-8"), CHECK_ITERATIONS).hex()


def redaction_record(terms: list[Term], audio_sha256: str) -> dict[str, Any]:
    """What a redacted document records of its list (the ``redaction`` field)."""
    return {
        "list_check": list_check(terms, audio_sha256),
        "method": f"{CHECK_METHOD}, {CHECK_ITERATIONS} iterations, salted with source.sha256",
    }


def recorded_redaction(document: Transcript | dict[str, Any]) -> dict[str, Any] | None:
    """The ``redaction`` record of a document (a model or its JSON), None if it was not redacted."""
    value = document.get("redaction") if isinstance(document, dict) else getattr(document, "redaction", None)
    return value if isinstance(value, dict) else None


def same_list(terms: list[Term], document: Transcript) -> bool:
    """Whether ``terms`` is the list ``document`` was redacted with."""
    record = recorded_redaction(document)
    return record is not None and record.get("list_check") == list_check(terms, document.source.sha256)


# --------------------------------------------------------------------------- free text


def redact_text(text: str, terms: list[Term]) -> str:
    """``text`` with every term replaced by its tag (tags already in it are left alone)."""
    if not terms or not text:
        return text
    pattern, tags = _text_pattern(tuple(terms))

    def replace(match: re.Match[str]) -> str:
        return match.group(0) if match.lastgroup == "tag" else tags[match.lastgroup or ""]

    return pattern.sub(replace, text)


@lru_cache(maxsize=16)
def _text_pattern(terms: tuple[Term, ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for all terms (longest first), so a tag just written is never matched again.

    Words are separated by any run of non-letters (spaces, ``_``, ``-``, ``.``), so file names
    such as ``Alice_Smith-interview.wav`` are found too; a term never matches inside a word.
    """
    alternatives = [f"(?P<tag>{TAG.pattern})"]
    tags: dict[str, str] = {}
    for index, term in enumerate(terms):
        body = r"[\W_]+".join(re.escape(word) for word in term.words)
        alternatives.append(rf"(?P<t{index}>(?<![^\W_]){body}(?![^\W_]))")
        tags[f"t{index}"] = term.replacement
    return re.compile("|".join(alternatives), re.IGNORECASE), tags


def redact_path(path: str, terms: list[Term]) -> str:
    """A file path with the terms redacted in each of its parts (separators kept)."""
    parts = re.split(r"([/\\])", path)
    return "".join(part if part in ("/", "\\") else redact_text(part, terms) for part in parts)


def mentions(text: str, terms: list[Term]) -> bool:
    """Whether ``text`` (a path, a label) contains a term of the list."""
    return redact_text(text, terms) != text


def path_mentions(path: Path | str, terms: list[Term]) -> bool:
    """Whether any part of a file path (a folder's name, the file's) contains a term."""
    return redact_path(str(path), terms) != str(path)


def redacted_stem(audio: Path, terms: list[Term]) -> str:
    """The stem the outputs of ``audio`` are named after: its own, with the terms redacted."""
    return Path(redact_text(audio.name, terms)).stem


# --------------------------------------------------------------------------- the document


def redact(transcript: Transcript, terms: list[Term], relayout: Relayout) -> Transcript:
    """A copy of ``transcript`` with every term replaced by its tag everywhere a reader sees text.

    ``relayout(transcript) -> list[Line]`` is the layout of the caller's settings (the lines
    change when a two-word name becomes one tag, or a speaker's label changes).
    """
    return redact_with_index(transcript, terms, relayout)[0]


def redact_with_index(transcript: Transcript, terms: list[Term], relayout: Relayout) -> tuple[Transcript, list[int]]:
    """:func:`redact`, and for each original word the index of the word it became."""
    if not terms:
        return transcript, list(range(len(transcript.words)))
    document, new_index = _redact_words(transcript, terms)
    _redact_free_text(document, terms + _parts_of_names(transcript.words, terms))
    document.lines = relayout(document)
    setattr(document, "redaction", redaction_record(terms, document.source.sha256))
    return document, new_index


def _redact_words(transcript: Transcript, terms: list[Term]) -> tuple[Transcript, list[int]]:
    """A deep copy whose words have the terms replaced (a term of several words becomes one)."""
    matches = _find(transcript.words, terms)
    new_words: list[Word] = []
    new_index: list[int] = []  # old word index -> new word index
    position = 0
    words = transcript.words
    while position < len(words):
        match = matches.get(position)
        if match is None:
            word = words[position]
            new_index.append(len(new_words))
            new_words.append(word.model_copy(update={"i": len(new_words), "text": redact_text(word.text, terms)}))
            position += 1
            continue
        term, length = match
        span = words[position : position + length]
        new_index.extend([len(new_words)] * length)
        new_words.append(
            span[0].model_copy(
                update={"i": len(new_words), "text": tag_like(term.replacement, span[-1].text), "end": span[-1].end, "kind": "word"}
            )
        )
        position += length

    document = transcript.model_copy(deep=True)
    document.words = new_words
    for turn in document.turns:
        turn.first_word, turn.last_word = new_index[turn.first_word], new_index[turn.last_word]
    document.pauses = [p for p in document.pauses if new_index[p.after_word] != new_index[p.before_word]]
    for pause in document.pauses:
        pause.after_word, pause.before_word = new_index[pause.after_word], new_index[pause.before_word]
    for annotation in document.annotations:
        annotation.first_word, annotation.last_word = new_index[annotation.first_word], new_index[annotation.last_word]
    document.annotations = [a for a in document.annotations if not (a.kind == "latch" and a.first_word == a.last_word)]
    return document, new_index


def _parts_of_names(words: list[Word], terms: list[Term]) -> list[Term]:
    """Each word of a name of several words found in the transcript, as a term of its own with
    the name's tag: a note quoting one of them ("could not be aligned: Smith") must not show it."""
    parts: dict[tuple[str, ...], Term] = {}
    for start, (term, length) in _find(words, terms).items():
        if length > 1:
            for word in words[start : start + length]:
                key = (_base(word.text),)
                if key[0] and key not in parts:
                    parts[key] = Term(key, term.category, term.tag)
    return list(parts.values())


def _redact_free_text(document: Transcript, terms: list[Term]) -> None:
    """Labels, roles, notes, the settings record and the recording's path, in place."""
    for speaker in document.speakers:
        speaker.label = redact_text(speaker.label, terms)
        speaker.role = None if speaker.role is None else redact_text(speaker.role, terms)
    document.pipeline.notes = [redact_text(note, terms) for note in document.pipeline.notes]
    document.pipeline.config = redact_data(document.pipeline.config, terms)
    document.source.path = redact_path(document.source.path, terms)


def redact_data(value: Any, terms: list[Term]) -> Any:
    """Every string in JSON-like data redacted (keys are left alone: they are field names)."""
    if isinstance(value, str):
        return redact_text(value, terms)
    if isinstance(value, list):
        return [redact_data(item, terms) for item in value]
    if isinstance(value, dict):
        return {key: redact_data(item, terms) for key, item in value.items()}
    return value


def _find(words: list[Word], terms: list[Term]) -> dict[int, tuple[Term, int]]:
    """Start index -> (term, length) of every non-overlapping match, longest terms first."""
    texts = [normalise(w.text) for w in words]
    bases = [_base(w.text) for w in words]
    speakers = [w.speaker for w in words]
    taken = [False] * len(words)
    found: dict[int, tuple[Term, int]] = {}
    for term in terms:
        n = len(term.words)
        for start in range(len(words) - n + 1):
            span = range(start, start + n)
            if (
                (*texts[start : start + n - 1], bases[start + n - 1]) == term.words
                and not any(taken[k] for k in span)
                and len(set(speakers[start : start + n])) == 1  # a name is said by one person
            ):
                found[start] = (term, n)
                for k in span:
                    taken[k] = True
    return found
