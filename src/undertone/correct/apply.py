"""Apply the corrections journal: the corrected version of a transcript, in every format.

``<stem>.json`` (the machine output) is never modified. The corrected version is written by
:func:`undertone.outputs.write_outputs` into the ``corrected/`` folder beside it, with the same
file names (``corrected/<stem>.json``, ``.txt``, ``.html``, ...); an earlier corrected version
is moved to ``corrected/previous/<stem> <its creation time>/`` and stays readable.

Each corrected version has a version id, ``c<N>-<hash>``: N edits of the journal applied, and
a short hash of the machine document and those edits, so the same journal always gives the
same id and any change gives another. The id is in the JSON (``correction.version``) and in
the header of the .txt and the review page (a note), and the review page's citations name it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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
from undertone.outputs import PREVIOUS_DIR, write_outputs
from undertone.render import RENDERERS

CORRECTED_DIR = "corrected"
MACHINE_VERSION = "machine"


@dataclass(frozen=True)
class Applied:
    """What :func:`apply_stem` did for one recording."""

    stem: str
    version: str
    edits: int
    written: list[Path]  # empty when the corrected version was already up to date


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


def check_edits(machine: Transcript, edits: list[Edit], journal: Path) -> Corrections:
    """Replay ``edits`` without audio: :class:`JournalError` naming the edit if one does not fit."""
    try:
        return replay(machine, edits)
    except EditError as error:
        raise JournalError(journal, f"corrections journal: {error}") from None


def apply_stem(out_dir: Path, stem: str, source: Path | None = None, force: bool = False) -> Applied:
    """Write the corrected version of ``stem`` from its machine document and journal."""
    document_path = machine_path(out_dir, stem)
    journal = journal_path(out_dir, stem)
    machine_bytes = _read_bytes(document_path)
    machine = read_document(document_path)
    edits = read_journal(journal)
    version = version_id(machine_bytes, edits)
    if not force and current_version(out_dir, stem) == version:
        return Applied(stem, version, len(edits), [])
    state = check_edits(machine, edits, journal)
    recording = find_recording(machine, document_path, source)
    check_recording(recording, machine)
    document, frames = corrected_document(machine, state, load(recording), version, journal.name, machine_bytes)
    written = write_outputs(
        document, out_dir / CORRECTED_DIR, settings_of(machine).render, _formats(out_dir, stem), frames=frames, audio=recording
    )
    return Applied(stem, version, len(edits), written)


def corrected_document(
    machine: Transcript, state: Corrections, audio: Audio, version: str, journal_name: str, machine_bytes: bytes
) -> tuple[Transcript, Frames]:
    """Re-time, re-measure and lay out the corrected words; record the version and the review."""
    settings = settings_of(machine)
    timing_notes = realign(state, audio.mono)
    document, frames = rebuild(machine, state, audio, settings)
    pipeline = document.pipeline
    pipeline.created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    pipeline.fingerprint = None  # made from the journal, not from a run over the recording
    line_of = _line_of_word(document)
    notes = [(line_of.get(word_id), word_id, text) for word_id, text in state.notes]
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


def _line_of_word(document: Transcript) -> dict[str, int]:
    """Word id -> the number of the line it is printed on."""
    ids = [getattr(w, "id", None) or f"w{w.i}" for w in document.words]
    line_of: dict[str, int] = {}
    for line in document.lines:
        if line.first_word is None or line.last_word is None:
            continue
        for index in range(line.first_word, line.last_word + 1):
            line_of[ids[index]] = line.n
    return line_of


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

