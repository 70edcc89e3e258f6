"""Apply the corrections journal: the corrected version of a transcript, in every format.

``<stem>.json`` (the machine output) is never modified. The corrected version is written by
:func:`undertone.outputs.write_outputs` into the ``corrected/`` folder beside it, with the same
file names (``corrected/<stem>.json``, ``.txt``, ``.html``, ...); an earlier corrected version
is moved to ``corrected/previous/<stem> <its creation time>/`` and stays readable.

A transcript processed with a redaction list is corrected with the same list (``--redact``):
the corrected version is redacted as the machine one was (words a reviewer typed, notes,
speaker labels), with the same tags. Without the list, or with another one, nothing is written
(:func:`check_redaction`): corrected outputs are never less redacted than the machine output.

Each corrected version has a version id, ``c<N>-<hash>``: N edits of the journal applied, and
a short hash of the machine document and those edits, so the same journal always gives the
same id and any change gives another. The id is in the JSON (``correction.version``) and in
the header of the .txt and the review page (a note), and the review page's citations name it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pydantic import ValidationError

from undertone.audio import Audio, load
from undertone.cite import check_recording, find_recording
from undertone.config import Settings
from undertone.correct.journal import JOURNAL_SUFFIX, Edit, JournalError, journal_path, read_journal
from undertone.correct.realign import realign
from undertone.correct.rebuild import rebuild
from undertone.correct.replay import Corrections, EditError, replay
from undertone.errors import ConfigError, TranscriptFileError
from undertone.frames import Frames
from undertone.model import Transcript
from undertone.outputs import PREVIOUS_DIR, kept_unredacted_warning, write_output_set
from undertone.redact import (
    Term,
    path_mentions,
    recorded_redaction,
    redact_data,
    redact_text,
    redact_with_index,
    redaction_record,
    same_list,
)
from undertone.render import RENDERERS
from undertone.render.layout import layout_lines

CORRECTED_DIR = "corrected"
MACHINE_VERSION = "machine"


@dataclass(frozen=True)
class Applied:
    """What :func:`apply_stem` did for one recording."""

    stem: str
    version: str
    edits: int
    written: list[Path]  # empty when the corrected version was already up to date
    warnings: list[str] = field(default_factory=list)  # one line each, for the user to act on


def journal_stems(out_dir: Path) -> list[str]:
    """Stems in ``out_dir`` that have a corrections journal."""
    return sorted(path.name[: -len(JOURNAL_SUFFIX)] for path in out_dir.glob(f"*{JOURNAL_SUFFIX}") if path.is_file())


def machine_path(out_dir: Path, stem: str) -> Path:
    return out_dir / f"{stem}.json"


def corrected_path(out_dir: Path, stem: str) -> Path:
    return out_dir / CORRECTED_DIR / f"{stem}.json"


def read_document(path: Path) -> Transcript:
    """A transcript document, or :class:`TranscriptFileError` with one readable line."""
    try:
        return Transcript.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise TranscriptFileError(path, "file does not exist (process the recording first)") from None
    except OSError as error:
        raise TranscriptFileError(path, f"cannot read ({error.strerror})") from None
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "document"
        raise TranscriptFileError(path, f"not an undertone transcript document ({where}: {problem['msg']})") from None


def version_id(machine_bytes: bytes, edits: list[Edit]) -> str:
    """``c<N>-<8 hex>``: N edits applied to this machine document (see the module docstring)."""
    digest = hashlib.sha256(machine_bytes)
    for edit in edits:
        digest.update(json.dumps(edit.model_dump(exclude_none=True), sort_keys=True).encode("utf-8") + b"\n")
    return f"c{len(edits)}-{digest.hexdigest()[:8]}"


def current_version(out_dir: Path, stem: str) -> str | None:
    """The version id of the corrected version in place (None if there is none)."""
    try:
        data = json.loads(corrected_path(out_dir, stem).read_bytes())
        return str(data["correction"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def current_redaction(out_dir: Path, stem: str) -> dict | None:
    """The redaction record of the corrected version in place (None if none, or not redacted)."""
    try:
        return recorded_redaction(json.loads(corrected_path(out_dir, stem).read_bytes()))
    except (OSError, ValueError, AttributeError):
        return None


def check_edits(machine: Transcript, edits: list[Edit], journal: Path) -> Corrections:
    """Replay ``edits`` without audio: :class:`JournalError` naming the edit if one does not fit."""
    try:
        return replay(machine, edits)
    except EditError as error:
        raise JournalError(journal, f"corrections journal: {error}") from None


def check_redaction(machine: Transcript, document_path: Path, redaction: list[Term] | None) -> None:
    """Refuse to correct a redacted transcript without its list, or with another one.

    Without this, a word typed by a reviewer ("Leeds") would appear in every corrected output.
    """
    if recorded_redaction(machine) is None:
        return
    if not redaction:
        raise ConfigError(
            document_path,
            "was made with a redaction list: give the same list with --redact (corrected outputs are "
            "never written unredacted)",
        )
    if not same_list(redaction, machine):
        raise ConfigError(
            document_path,
            "the --redact list is not the one this transcript was redacted with (changed since? "
            "process the recording again with the new list, then apply)",
        )


def apply_stem(
    out_dir: Path, stem: str, source: Path | None = None, force: bool = False, redaction: list[Term] | None = None
) -> Applied:
    """Write the corrected version of ``stem`` from its machine document and journal.

    ``redaction`` is the redaction list's terms: required when the machine document was
    redacted (:func:`check_redaction`), and applied to the corrected version.
    """
    document_path = machine_path(out_dir, stem)
    journal = journal_path(out_dir, stem)
    machine_bytes = _read_bytes(document_path)
    machine = read_document(document_path)
    check_redaction(machine, document_path, redaction)
    terms = redaction or []
    edits = read_journal(journal)
    version = version_id(machine_bytes, edits)
    expected = _expected_redaction(terms, machine)
    if not force and current_version(out_dir, stem) == version and current_redaction(out_dir, stem) == expected:
        return Applied(stem, version, len(edits), [])
    state = check_edits(machine, edits, journal)
    recording = find_recording(machine, document_path, source)
    check_recording(recording, machine)
    document, frames = corrected_document(
        machine, state, load(recording), version, journal.name, machine_bytes, terms
    )
    link = not path_mentions(recording.resolve(), terms)
    written = write_output_set(
        document, out_dir / CORRECTED_DIR, settings_of(machine).render, _formats(out_dir, stem),
        frames=frames, audio=recording, link=link,
    )
    warning = kept_unredacted_warning(written, document)
    return Applied(stem, version, len(edits), written.paths, [f"{stem}: {warning}"] if warning else [])


def _expected_redaction(terms: list[Term], machine: Transcript) -> dict | None:
    """The redaction record a corrected version made with ``terms`` carries."""
    return redaction_record(terms, machine.source.sha256) if terms else None


def corrected_document(
    machine: Transcript,
    state: Corrections,
    audio: Audio,
    version: str,
    journal_name: str,
    machine_bytes: bytes,
    redaction: list[Term] | None = None,
) -> tuple[Transcript, Frames]:
    """Re-time, re-measure and lay out the corrected words; record the version and the review.

    With ``redaction``, everything a reviewer wrote (words, labels, notes) is redacted too.
    """
    settings = settings_of(machine)
    terms = redaction or []
    timing_notes = realign(state, audio.mono)
    measured, frames = rebuild(machine, state, audio, settings)
    ids = [getattr(w, "id", None) or f"w{w.i}" for w in measured.words]
    document, new_index = redact_with_index(measured, terms, lambda d: layout_lines(d, settings.render))
    pipeline = document.pipeline
    pipeline.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    pipeline.fingerprint = None  # made from the journal, not from a run over the recording
    line_of = _line_of_word(document, {word_id: new_index[k] for k, word_id in enumerate(ids)})
    notes = [(line_of.get(word_id), word_id, redact_text(text, terms)) for word_id, text in state.notes]
    checked_lines = sorted({line_of[w] for w, on in state.checked.items() if on and w in line_of})
    for line in document.lines:
        line_notes = [text for n, _, text in notes if n == line.n]
        if line_notes:
            setattr(line, "notes", line_notes)
        if line.n in checked_lines:
            setattr(line, "checked", True)
    pipeline.notes = [
        f"corrected version {version}: {state.edits} edit(s) from {journal_name} applied to the machine "
        f"transcript of {machine.pipeline.created}; earlier corrected versions are in {CORRECTED_DIR}/{PREVIOUS_DIR}/",
        *machine.pipeline.notes,
        *timing_notes,
        *(_checked_note(state.transcript_checked, checked_lines)),
        *(f"reviewer note, line {n}: {text}" if n else f"reviewer note (its words were deleted): {text}" for n, _, text in notes),
    ]
    pipeline.notes = redact_data(pipeline.notes, terms)
    setattr(
        document,
        "correction",
        {
            "version": version,
            "edits": state.edits,
            "journal": journal_name,
            "machine": {
                "created": machine.pipeline.created,
                "fingerprint": machine.pipeline.fingerprint,
                "sha256": hashlib.sha256(machine_bytes).hexdigest(),
            },
            "checked": state.transcript_checked,
            "checked_lines": checked_lines,
            "notes": [{"line": n, "word": word_id, "text": text} for n, word_id, text in notes],
        },
    )
    return document, frames


def settings_of(machine: Transcript) -> Settings:
    """The settings the machine document was made with (its ``pipeline.config``)."""
    try:
        return Settings.model_validate(machine.pipeline.config)
    except ValidationError as error:
        raise ConfigError(None, f"the document's pipeline.config is not valid settings ({error.errors()[0]['msg']})") from None


def _checked_note(transcript_checked: bool, lines: list[int]) -> list[str]:
    if transcript_checked:
        return ["checked by a reviewer: the whole transcript"]
    if lines:
        return [f"lines checked by a reviewer: {_ranges(lines)}"]
    return []


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = previous = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if n is not None:
            start = previous = n
    return ", ".join(parts)


def _line_of_word(document: Transcript, position_of: dict[str, int]) -> dict[str, int]:
    """Word id -> the number of the line it is printed on (``position_of``: id -> word index;
    the words of a redacted name all map to its tag)."""
    line_at: dict[int, int] = {}
    for line in document.lines:
        if line.first_word is None or line.last_word is None:
            continue
        for index in range(line.first_word, line.last_word + 1):
            line_at[index] = line.n
    return {word_id: line_at[index] for word_id, index in position_of.items() if index in line_at}


def _formats(out_dir: Path, stem: str) -> list[str]:
    """The formats the machine version was written in (json always)."""
    present = [name for name, r in RENDERERS.items() if (out_dir / f"{stem}{r.suffix}").is_file()]
    return list(dict.fromkeys(["json", *present]))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TranscriptFileError(path, "file does not exist (process the recording first)") from None
    except OSError as error:
        raise TranscriptFileError(path, f"cannot read ({error.strerror})") from None

