"""The ``undertone`` command line.

``undertone process AUDIO... --out DIR`` keeps this exact shape: other tooling depends on it.
Each failed input gets one line on stderr naming the file and the problem; the others are still
processed; the exit code is non-zero (the failure's own code, see ``undertone.errors``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from undertone.privacy import disable_telemetry

disable_telemetry()

from undertone import __version__  # noqa: E402
from undertone.errors import OutputError, TranscriptFileError, UndertoneError  # noqa: E402
from undertone.progress import reporting_to  # noqa: E402

if TYPE_CHECKING:
    from undertone.config import Settings
    from undertone.jobs import Outcome
    from undertone.redact import Term

app = typer.Typer(
    name="undertone",
    help=(
        "Turn recorded interviews into line-numbered transcripts that keep pauses, overlaps, "
        "pitch, emphasis, tempo and loudness, in Jefferson / Conversation Analysis notation. "
        "Everything runs locally."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per message, never wrapped

EXIT_USAGE = 2


class ChannelMode(str, Enum):
    """``--channels``: how a recording with several channels is diarised (settings: diarization.channels)."""

    auto = "auto"
    mixed = "mixed"
    split = "split"


class Engine(str, Enum):
    """``--engine``: how each recording is run."""

    prefect = "prefect"
    direct = "direct"


@app.command()
def process(
    audio: Annotated[list[Path], typer.Argument(help="Recordings (WAV, FLAC, MP3, M4A, ...).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="Folder for the outputs (created if missing).")],
    profile: Annotated[
        str, typer.Option(help="Settings profile: 'default' (Whisper + pyannote) or 'offline' (no downloads), or a TOML file.")
    ] = "default",
    config: Annotated[Path | None, typer.Option(help="TOML file overriding the profile's settings.")] = None,
    transcript: Annotated[
        Path | None,
        typer.Option(help="Known transcript to align instead of running ASR: one turn per line, 'SPEAKER: text'."),
    ] = None,
    speakers: Annotated[int | None, typer.Option(min=1, help="Number of speakers, if known.")] = None,
    language: Annotated[str | None, typer.Option(help="Language code (e.g. 'en'); default: detect.")] = None,
    channels: Annotated[
        ChannelMode | None,
        typer.Option(
            help="Several channels: 'split' = one microphone per person, speakers are the channels; "
            "'mixed' = diarise the mono mix; 'auto' (the settings' default) = split when the channels "
            "are not copies of each other and each leads by many dB for a while.",
            show_default=False,
        ),
    ] = None,
    formats: Annotated[
        str,
        typer.Option(help="Comma-separated output formats (see 'undertone formats'), or 'all'. The .json is always written."),
    ] = "all",
    force: Annotated[
        bool, typer.Option("--force", help="Process even recordings whose outputs are up to date.")
    ] = False,
    redact: Annotated[
        Path | None,
        typer.Option(
            help="Redaction list: one person or place per line ('Leeds = PLACE'; several names of one "
            "person: 'Alice Smith | Alice'), replaced by [NAME-1], [PLACE-1], ... in every output, "
            "speaker labels and the recording's name included."
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            envvar="UNDERTONE_ENGINE",
            help="'prefect': each recording runs as the process-recording flow (Prefect's embedded local "
            "mode, or the server in PREFECT_API_URL), which caches transcription and diarisation so a "
            "re-run after changing other settings, or after a crash, does not redo them; 'direct': plain "
            "function calls, no cache, no Prefect start-up time (about 20 s on a small machine).",
        ),
    ] = Engine.prefect,
) -> None:
    """Process recordings: writes OUT/<stem>.json, .frames.csv and every chosen format for each."""
    from undertone.config import load_settings, option_overrides
    from undertone.jobs import output_stem_of
    from undertone.outputs import prepare_output_folder
    from undertone.redact import read_terms
    from undertone.render import parse_formats

    try:
        chosen_formats = parse_formats(formats)
    except ValueError as error:
        stderr.print(f"error: --formats: {error}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None

    if transcript is not None and len(audio) > 1:
        stderr.print("error: --transcript goes with exactly one recording")
        raise typer.Exit(EXIT_USAGE)
    try:
        overrides = option_overrides(speakers, language, channels.value if channels else None)
        settings = load_settings(profile, config, overrides)
        if transcript is not None and not transcript.is_file():
            problem = "is a folder, not a transcript file" if transcript.is_dir() else "transcript file does not exist"
            raise TranscriptFileError(transcript, problem)
        redaction_terms = read_terms(redact) if redact is not None else []
        prepare_output_folder(out)  # an unusable --out is reported before any work
    except UndertoneError as error:
        stderr.print(f"error: {error}", markup=False)
        raise typer.Exit(error.exit_code) from None

    if engine is Engine.prefect:
        run_one = _prefect_runner(profile, config, transcript, speakers, language, channels, chosen_formats, redact, force)
    else:
        run_one = _direct_runner(settings, transcript, chosen_formats, redaction_terms, force)

    exit_code = 0
    stems_written: dict[str, Path] = {}
    for path in audio:
        try:
            stem = output_stem_of(path, redaction_terms)
            if stem in stems_written:  # outputs are named by stem: never overwrite a sibling's
                raise OutputError(path, f"has the same name as {stems_written[stem]}; process it into another --out folder")
            with stderr.status(f"{path.name}: starting") as status, reporting_to(
                lambda stage, name=path.name: status.update(f"{name}: {stage}")
            ):
                outcome = run_one(path, out)
            stems_written[stem] = path
        except UndertoneError as error:
            stderr.print(f"error: {error}", markup=False)
            exit_code = exit_code or error.exit_code
            continue
        except MemoryError:  # a long many-channel recording on a small machine: say so plainly
            stderr.print(f"error: {path}: not enough memory to process this recording", markup=False)
            exit_code = exit_code or 1
            continue
        except Exception as error:  # one broken recording must not stop the batch
            stderr.print(f"error: {path}: unexpected failure ({type(error).__name__}: {error})", markup=False)
            exit_code = exit_code or 1
            continue
        if outcome.status == "up to date":
            stderr.print(
                f"up to date: {path} -> {outcome.written[0]} (same recording, settings and inputs; --force redoes it)",
                markup=False,
            )
            continue
        stderr.print(
            f"done: {path} -> {', '.join(str(p) for p in outcome.written)} "
            f"({outcome.duration:.1f} s, {len(outcome.speakers)} speakers, {outcome.lines} lines)",
            markup=False,
        )
        for warning in outcome.warnings:
            stderr.print(f"warning: {warning}", markup=False)
    raise typer.Exit(exit_code)


RunOne = Callable[[Path, Path], "Outcome"]


def _direct_runner(
    settings: Settings,
    transcript: Path | None,
    formats: list[str],
    redaction_terms: list[Term],
    force: bool,
) -> RunOne:
    """Run one recording with plain library calls (``--engine direct``)."""
    from undertone import jobs
    from undertone.pipeline import process_file

    def run(path: Path, out: Path) -> Outcome:
        plan = jobs.plan(path, out, settings, formats, [transcript], force, redaction_terms)
        if plan.up_to_date:
            return jobs.already_done(plan)
        analysis = process_file(path, settings, transcript)
        return jobs.finish(plan, analysis, settings, formats, redaction_terms)

    return run


def _prefect_runner(
    profile: str,
    config: Path | None,
    transcript: Path | None,
    speakers: int | None,
    language: str | None,
    channels: ChannelMode | None,
    formats: list[str],
    redact: Path | None,
    force: bool,
) -> RunOne:
    """Run one recording as the ``process-recording`` flow (``--engine prefect``)."""
    from flows.console import quiet_prefect_console
    from flows.process_recording import process_recording

    quiet_prefect_console()  # one status line per recording, one error line per failure

    def run(path: Path, out: Path) -> Outcome:
        return process_recording(
            path,
            out,
            profile=profile,
            config=config,
            transcript=transcript,
            speakers=speakers,
            language=language,
            formats=formats,
            channels=channels.value if channels else None,
            redact=redact,
            force=force,
        )

    return run


@app.command()
def serve(
    inbox: Annotated[Path, typer.Option(help="Folder of recordings to watch (subfolders included).")],
    outbox: Annotated[Path, typer.Option(help="Folder for the outputs, mirroring the inbox's subfolders.")],
    cron: Annotated[
        str | None, typer.Option(help="When to scan the inbox, as a cron line, e.g. '0 2 * * *' (02:00 daily).")
    ] = None,
    interval: Annotated[
        float | None, typer.Option(min=1, help="Or: scan the inbox every this many seconds.")
    ] = None,
    profile: Annotated[str, typer.Option(help="Settings profile for every recording.")] = "default",
    config: Annotated[Path | None, typer.Option(help="TOML file overriding the profile's settings.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Recordings processed at once.")] = 2,
    formats: Annotated[str, typer.Option(help="Comma-separated output formats, or 'all'.")] = "all",
    settle_seconds: Annotated[
        float, typer.Option(min=0, help="Leave recordings changed this recently (still being copied in).")
    ] = 60.0,
    redact: Annotated[
        Path | None,
        typer.Option(help="Redaction list applied to every recording, as for 'undertone process --redact'."),
    ] = None,
) -> None:
    """Serve the inbox flow on a schedule, and the one-recording flow on demand, until Ctrl-C.

    Runs are scheduled by the Prefect server in PREFECT_API_URL (start one with 'prefect server
    start'); trigger one recording with: prefect deployment run 'process-recording/manual'
    --param audio=/path/P2.wav --param out=/path/out
    """
    from datetime import timedelta

    from undertone.config import load_settings
    from undertone.inbox import scan
    from undertone.redact import read_terms
    from undertone.render import parse_formats

    if (cron is None) == (interval is None):
        stderr.print("error: give exactly one of --cron or --interval", markup=False)
        raise typer.Exit(EXIT_USAGE)
    if cron is not None and len(cron.split()) not in (5, 6):
        stderr.print(f"error: --cron {cron!r}: expected five fields, e.g. '0 2 * * *'", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        chosen_formats = parse_formats(formats)
    except ValueError as error:
        stderr.print(f"error: --formats: {error}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        load_settings(profile, config)  # a broken profile or list is reported now, not at 2 a.m.
        if redact is not None:
            read_terms(redact)
        scan(inbox, outbox, settle_seconds)
    except UndertoneError as error:
        stderr.print(f"error: {error}", markup=False)
        raise typer.Exit(error.exit_code) from None

    from flows.serve import serve as serve_flows

    serve_flows(
        inbox,
        outbox,
        cron=cron,
        interval=timedelta(seconds=interval) if interval is not None else None,
        profile=profile,
        config=config,
        concurrency=concurrency,
        formats=chosen_formats,
        settle_seconds=settle_seconds,
        redact=redact,
    )


@app.command()
def cite(
    document: Annotated[
        Path, typer.Argument(metavar="OUT.json", help="A transcript document written by 'undertone process'.", show_default=False)
    ],
    lines: Annotated[
        str, typer.Argument(metavar="LINES", help="A line or range as numbered in the .txt: 216 or 216-222.", show_default=False)
    ],
    audio: Annotated[
        Path | None,
        typer.Option(
            "--audio",
            help="Also cut the lines' audio into this file (.wav, .flac or .ogg); an existing file of that "
            "name is kept in previous/ beside it, as for every output.",
        ),
    ] = None,
    source: Annotated[
        Path | None, typer.Option("--source", help="The recording, if it is not where the document says (source.path).")
    ] = None,
    mask: Annotated[
        str,
        typer.Option(help="Redacted words ([NAME-1], ...) in the clip: 'beep', 'silence', or 'none' (keep the voice)."),
    ] = "beep",
) -> None:
    """Print lines as numbered in the .txt, then their citation and time span; optionally cut their audio."""
    from pydantic import ValidationError

    from undertone import cite as citing
    from undertone.model import Transcript
    from undertone.outputs import keep_previous_file, write_file

    try:
        first, last = citing.parse_line_range(lines)
    except citing.LineRangeError as error:
        stderr.print(f"error: LINES: {error}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    if mask not in ("beep", "silence", "none"):
        stderr.print(f"error: --mask {mask}: use beep, silence or none", markup=False)
        raise typer.Exit(EXIT_USAGE)
    if audio is not None and audio.suffix.lower() not in citing.CLIP_FORMATS:
        stderr.print(f"error: --audio {audio}: use a {', '.join(citing.CLIP_FORMATS)} file name", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        transcript = Transcript.model_validate_json(document.read_bytes())
    except FileNotFoundError:
        stderr.print(f"error: {document}: file does not exist", markup=False)
        raise typer.Exit(TranscriptFileError.exit_code) from None
    except OSError as error:
        stderr.print(f"error: {document}: cannot read ({error.strerror})", markup=False)
        raise typer.Exit(TranscriptFileError.exit_code) from None
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "document"
        stderr.print(f"error: {document}: not an undertone transcript document ({where}: {problem['msg']})", markup=False)
        raise typer.Exit(TranscriptFileError.exit_code) from None
    try:
        chosen = citing.extract(transcript, first, last)
    except citing.LineRangeError as error:
        stderr.print(f"error: {document}: {error}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None

    try:
        if audio is not None:
            if chosen.start is None or chosen.end is None:
                raise UndertoneError(document, f"lines {lines} have no times to cut audio from")
            recording = citing.find_recording(transcript, document, source)
            citing.check_recording(recording, transcript)
            samples, rate, subtype = citing.cut_clip(recording, chosen.start, chosen.end)
            if mask != "none":
                spans = citing.redacted_spans(transcript, chosen.start, chosen.end)
                samples = citing.mask_clip(samples, rate, spans, mask)
            clip = citing.encode_clip(audio, samples, rate, subtype)
            kept = keep_previous_file(audio)  # never overwrite an earlier clip silently
            write_file(audio, clip)
    except UndertoneError as error:
        stderr.print(f"error: {error}", markup=False)
        raise typer.Exit(error.exit_code) from None

    sys.stdout.write(f"{chosen.text()}\n\n{chosen.citation()} {chosen.span()}\n")
    if audio is not None:
        stderr.print(f"wrote {audio} ({len(samples) / rate:.1f} s from {recording})", markup=False)
        if kept is not None:
            stderr.print(f"kept the earlier {audio.name} as {kept}", markup=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the transcript document (undertone.transcript/1)."""
    from undertone.model import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def models(
    profile: Annotated[str, typer.Option(help="Settings profile to check.")] = "default",
    config: Annotated[Path | None, typer.Option(help="TOML file overriding the profile's settings.")] = None,
) -> None:
    """Show the models a profile needs, which are present, and where to put missing ones.

    Exits 0 when every model is on this machine, 6 when one still has to be downloaded.
    """
    from undertone.config import load_settings
    from undertone.errors import ModelUnavailableError
    from undertone.model_files import check_models

    try:
        statuses = check_models(load_settings(profile, config))
    except UndertoneError as error:
        stderr.print(f"error: {error}", markup=False)
        raise typer.Exit(error.exit_code) from None
    for status in statuses:
        state = "present" if status.present else "MISSING"
        sys.stdout.write(f"{status.stage:<11} {status.backend:<13} {status.model:<42} {state:<8} {status.where}\n")
        if status.how:
            sys.stdout.write(f"{'':<11} -> {status.how}\n")
    raise typer.Exit(0 if all(s.present for s in statuses) else ModelUnavailableError.exit_code)


@app.command("formats")
def list_formats() -> None:
    """List the output formats 'undertone process --formats' can write."""
    from undertone.render import RENDERERS

    for name, renderer in RENDERERS.items():
        sys.stdout.write(f"{name:<8} {renderer.suffix:<12} {renderer.description}\n")


@app.command()
def profiles() -> None:
    """List the shipped settings profiles."""
    from undertone.config import available_profiles, profiles_dir

    for name in available_profiles():
        sys.stdout.write(f"{name}\t{profiles_dir() / (name + '.toml')}\n")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"undertone {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """undertone: interview transcripts that keep how things were said."""
from undertone.cli_correct import register as _register_correction_commands  # noqa: E402
_register_correction_commands(app)
