"""Pseudonymisation: names and places replaced consistently before anything is written.

A redaction list names what must not appear in any output (people, places, employers). Each
distinct term becomes a numbered tag of its category, the same everywhere in the document:
``Alice`` -> ``[NAME-1]``, ``Leeds`` -> ``[PLACE-1]``. A term of several words ("Alice
Smith") becomes one tag word spanning their time, so line numbers and timings stay meaningful;
the words' indices are renumbered and every reference to them (turns, pauses, overlaps,
annotations) follows. Pipeline notes that quote words are redacted too.

The list is a text file, one term per line, optionally with a category (``Leeds = PLACE``);
``#`` starts a comment. Matching ignores case and the punctuation around words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from undertone.errors import ConfigError
from undertone.model import Transcript, Word

DEFAULT_CATEGORY = "NAME"
_CATEGORY = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Term:
    """One thing to redact: its words (normalised) and its category."""

    words: tuple[str, ...]
    category: str = DEFAULT_CATEGORY


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


def parse_terms(text: str, source: Path | None = None) -> list[Term]:
    """Terms from a redaction list (see module docstring); longest first, so they win."""
    terms: list[Term] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        phrase, _, category = line.partition("=")
        category = category.strip().upper() or DEFAULT_CATEGORY
        words = tuple(w for w in (normalise(part) for part in phrase.split()) if w)
        if not words:
            raise ConfigError(source, f"line {number}: nothing to redact in {raw.strip()!r}")
        if not _CATEGORY.match(category):
            raise ConfigError(source, f"line {number}: category {category!r} must be a word like NAME or PLACE")
        terms.append(Term(words, category))
    return sorted(terms, key=lambda term: -len(term.words))


def read_terms(path: Path) -> list[Term]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(path, "redaction list does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "redaction list is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(path, f"cannot read redaction list ({error.strerror})") from None
    return parse_terms(text, path)


def redact(transcript: Transcript, terms: list[Term], relayout) -> Transcript:
    """A copy of ``transcript`` with every term replaced by its tag; ``relayout`` re-lays the lines.

    ``relayout(transcript) -> list[Line]`` is the layout of the caller's settings (the lines
    change when a two-word name becomes one tag).
    """
    if not terms or not transcript.words:
        return transcript
    matches = _find(transcript.words, terms)
    if not matches:
        return transcript
    tags: dict[tuple[str, tuple[str, ...]], str] = {}
    counters: dict[str, int] = {}
    new_words: list[Word] = []
    new_index: list[int] = []  # old word index -> new word index
    replaced: dict[str, str] = {}  # original text -> tag, for the notes
    position = 0
    words = transcript.words
    while position < len(words):
        match = matches.get(position)
        if match is None:
            new_index.append(len(new_words))
            new_words.append(words[position].model_copy(update={"i": len(new_words)}))
            position += 1
            continue
        term, length = match
        key = (term.category, term.words)
        if key not in tags:
            counters[term.category] = counters.get(term.category, 0) + 1
            tags[key] = f"[{term.category}-{counters[term.category]}]"
        span = words[position : position + length]
        for word in span:
            replaced[word.text] = tags[key]
        new_index.extend([len(new_words)] * length)
        new_words.append(
            span[0].model_copy(
                update={"i": len(new_words), "text": tag_like(tags[key], span[-1].text), "end": span[-1].end, "kind": "word"}
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
    document.pipeline.notes = [_redact_text(note, replaced) for note in document.pipeline.notes]
    document.lines = relayout(document)
    return document


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


def _redact_text(text: str, replaced: dict[str, str]) -> str:
    for original in sorted(replaced, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(original)}(?!\w)", replaced[original], text, flags=re.IGNORECASE)
    return text
