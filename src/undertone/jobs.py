"""One recording as a unit of work: is it already done, and writing what it yields.

The command line (directly or through Prefect) and the Prefect flows do the same three things
around the pipeline for each recording: decide from the fingerprint whether its outputs are
already up to date, run the stages, and write the (optionally redacted) outputs. The first and
last live here so every way of running undertone behaves the same.

With a redaction list, the outputs are named after the recording's name with the terms
redacted (``Alice interview.wav`` -> ``[NAME-2] interview.*``), and when the recording's path
names a term the outputs do not link to it (the review page and the ELAN file would show it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from undertone.config import Settings
from undertone.freshness import fingerprint, up_to_date
from undertone.outputs import kept_unredacted_warning, output_paths, write_output_set
from undertone.pipeline import Analysis
from undertone.redact import Term, path_mentions, redacted_stem
from undertone.redact import redact as redact_names
from undertone.render import parse_formats
from undertone.render.layout import layout_lines

Status = Literal["processed", "up to date"]


@dataclass(frozen=True)
class Plan:
    """What a run of one recording will produce, and whether that is already there."""

    audio: Path
    out_dir: Path
    fingerprint: str | None  # None when the recording cannot be read (loading will say why)
    targets: list[Path]  # the outputs, the .json last
    up_to_date: bool

    @property
    def document(self) -> Path:
        return self.targets[-1]


@dataclass(frozen=True)
class Outcome:
    """What became of one recording: for the command line's summary and the inbox's table."""

    audio: Path
    status: Status
    written: list[Path] = field(default_factory=list)  # every output of the recording, .json first
    duration: float | None = None
    speakers: list[str] = field(default_factory=list)
    lines: int | None = None
    warnings: list[str] = field(default_factory=list)  # one line each, for the user to act on


def plan(
    audio: Path,
    out_dir: Path,
    settings: Settings,
    formats: Iterable[str] | None,
    inputs: Iterable[Path | None] = (),
    force: bool = False,
    redaction: list[Term] | None = None,
) -> Plan:
    """Fingerprint the recording with everything its result depends on; compare with its outputs.

    ``inputs`` are the other files the result depends on (a known transcript); ``redaction``
    is the redaction list's terms (they decide the outputs and their names).
    ``formats`` as for :func:`undertone.render.parse_formats` (the JSON is always among them).
    """
    formats = parse_formats(formats)
    run_fingerprint = fingerprint(audio, settings, inputs, redaction) if audio.is_file() else None
    targets = output_paths(output_stem_of(audio, redaction), out_dir, formats)
    done = bool(run_fingerprint) and not force and up_to_date(targets[-1], run_fingerprint, targets[:-1])
    return Plan(audio, out_dir, run_fingerprint, targets, done)


def output_stem_of(audio: Path, redaction: list[Term] | None = None) -> str:
    """The name a recording's outputs get: its stem, with a redaction list's terms redacted."""
    return redacted_stem(audio, redaction) if redaction else audio.stem


def finish(
    plan: Plan,
    analysis: Analysis,
    settings: Settings,
    formats: Iterable[str] | None,
    redaction: list[Term] | None = None,
) -> Outcome:
    """Redact (if asked), stamp the fingerprint and write every output atomically."""
    terms = redaction or []
    document = redact_names(analysis.transcript, terms, lambda redacted: layout_lines(redacted, settings.render))
    document.pipeline.fingerprint = plan.fingerprint
    link = not path_mentions(plan.audio.resolve(), terms)
    written = write_output_set(
        document, plan.out_dir, settings.render, parse_formats(formats), frames=analysis.frames, audio=plan.audio, link=link
    )
    warnings = [f"{plan.audio}: {warning}" for warning in [kept_unredacted_warning(written, document)] if warning]
    if not link:
        warnings.append(
            f"{plan.audio}: its path names a term of the redaction list: the outputs are named "
            f"{plan.targets[-1].stem!r} and do not link to the recording (give it with --source to "
            "cite, review or apply); rename the recording (e.g. P2.wav) to avoid this"
        )
    return Outcome(
        audio=plan.audio,
        status="processed",
        written=written.paths,
        duration=document.source.duration,
        speakers=[speaker.label for speaker in document.speakers],
        lines=len(document.lines),
        warnings=warnings,
    )


def already_done(plan: Plan) -> Outcome:
    """The outcome of a recording whose outputs are up to date, read back from its .json."""
    try:
        document = json.loads(plan.document.read_text(encoding="utf-8"))
        duration = document["source"]["duration"]
        speakers = [speaker["label"] for speaker in document["speakers"]]
        lines = len(document["lines"])
    except (OSError, ValueError, KeyError, TypeError):
        duration, speakers, lines = None, [], None
    return Outcome(plan.audio, "up to date", list(plan.targets[-1:] + plan.targets[:-1]), duration, speakers, lines)
