"""One recording as a unit of work: is it already done, and writing what it yields.

The command line (directly or through Prefect) and the Prefect flows do the same three things
around the pipeline for each recording: decide from the fingerprint whether its outputs are
already up to date, run the stages, and write the (optionally redacted) outputs. The first and
last live here so every way of running undertone behaves the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from undertone.config import Settings
from undertone.freshness import fingerprint, up_to_date
from undertone.outputs import output_paths, write_outputs
from undertone.pipeline import Analysis
from undertone.redact import Term
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


def plan(
    audio: Path,
    out_dir: Path,
    settings: Settings,
    formats: Iterable[str] | None,
    inputs: Iterable[Path | None] = (),
    force: bool = False,
) -> Plan:
    """Fingerprint the recording with everything its result depends on; compare with its outputs.

    ``inputs`` are the other files the result depends on (a known transcript, a redaction list).
    ``formats`` as for :func:`undertone.render.parse_formats` (the JSON is always among them).
    """
    formats = parse_formats(formats)
    run_fingerprint = fingerprint(audio, settings, inputs) if audio.is_file() else None
    targets = output_paths(audio.stem, out_dir, formats)
    done = bool(run_fingerprint) and not force and up_to_date(targets[-1], run_fingerprint, targets[:-1])
    return Plan(audio, out_dir, run_fingerprint, targets, done)


def finish(
    plan: Plan,
    analysis: Analysis,
    settings: Settings,
    formats: Iterable[str] | None,
    redaction: list[Term] | None = None,
) -> Outcome:
    """Redact (if asked), stamp the fingerprint and write every output atomically."""
    document = redact_names(analysis.transcript, redaction or [], lambda redacted: layout_lines(redacted, settings.render))
    document.pipeline.fingerprint = plan.fingerprint
    written = write_outputs(document, plan.out_dir, settings.render, parse_formats(formats), frames=analysis.frames, audio=plan.audio)
    return Outcome(
        audio=plan.audio,
        status="processed",
        written=written,
        duration=document.source.duration,
        speakers=[speaker.label for speaker in document.speakers],
        lines=len(document.lines),
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
