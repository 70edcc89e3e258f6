"""``undertone review`` and ``undertone apply``: correct a processed transcript, keep its timing.

Registered on the main command line by :func:`register` (see the end of ``undertone.cli``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from undertone.errors import UndertoneError

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
EXIT_USAGE = 2


def apply(
    out_dir: Annotated[
        Path, typer.Argument(metavar="OUT_DIR", help="Output folder of 'undertone process'.", show_default=False)
    ],
    source: Annotated[
        Path | None, typer.Option("--source", help="The recording, if it is not where the document says (one stem only).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write the corrected version even if it is up to date.")] = False,
    redact: Annotated[
        Path | None,
        typer.Option(help="The redaction list the transcripts were processed with (required for redacted ones)."),
    ] = None,
) -> None:
    """Apply every corrections journal in OUT_DIR: writes OUT_DIR/corrected/<stem>.* (the machine output stays)."""
    from undertone.correct.apply import CORRECTED_DIR, apply_stem, journal_stems

    redaction = _read_redaction(redact)
    if not out_dir.is_dir():
        stderr.print(f"error: {out_dir}: not a folder (give the output folder of 'undertone process')", markup=False)
        raise typer.Exit(EXIT_USAGE)
    stems = journal_stems(out_dir)
    if not stems:
        stderr.print(f"error: {out_dir}: no corrections journal (<stem>.corrections.jsonl) in this folder", markup=False)
        raise typer.Exit(EXIT_USAGE)
    if source is not None and len(stems) > 1:
        stderr.print("error: --source goes with a folder that has exactly one corrections journal", markup=False)
        raise typer.Exit(EXIT_USAGE)
    exit_code = 0
    for stem in stems:
        try:
            applied = apply_stem(out_dir, stem, source=source, force=force, redaction=redaction)
        except UndertoneError as error:
            stderr.print(f"error: {error}", markup=False)
            exit_code = exit_code or error.exit_code
            continue
        where = out_dir / CORRECTED_DIR / f"{stem}.json"
        if applied.written:
            stderr.print(f"applied: {stem}: {applied.edits} edit(s) -> {where} (version {applied.version})", markup=False)
        else:
            stderr.print(f"up to date: {where} (version {applied.version}; --force rewrites it)", markup=False)
        for warning in applied.warnings:
            stderr.print(f"warning: {warning}", markup=False)
    raise typer.Exit(exit_code)


def _read_redaction(redact: Path | None) -> list:
    """The terms of ``--redact``, or exit with one line naming the list and the problem."""
    from undertone.redact import read_terms

    if redact is None:
        return []
    try:
        return read_terms(redact)
    except UndertoneError as error:
        stderr.print(f"error: {error}", markup=False)
        raise typer.Exit(error.exit_code) from None


def review(
    out_dir: Annotated[
        Path, typer.Argument(metavar="OUT_DIR", help="Output folder of 'undertone process'.", show_default=False)
    ],
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free port).")] = 0,
    host: Annotated[
        str, typer.Option(help="Address to listen on: only loopback (127.0.0.1, ::1, localhost) is allowed.")
    ] = "127.0.0.1",
    source: Annotated[
        Path | None, typer.Option("--source", help="The recording, if it is not where the document says (one stem only).")
    ] = None,
    redact: Annotated[
        Path | None,
        typer.Option(help="The redaction list the transcripts were processed with (for applying corrections to redacted ones)."),
    ] = None,
) -> None:
    """Review and correct the transcripts in OUT_DIR in the browser (a local server; prints its address)."""
    from undertone.correct.server import ReviewServer, ServerError

    redaction = _read_redaction(redact)
    try:
        server = ReviewServer(out_dir, host=host, port=port, source=source, redaction=redaction)
    except ServerError as error:
        stderr.print(f"error: {error}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    except UndertoneError as error:
        stderr.print(f"error: {error}", markup=False)
        raise typer.Exit(error.exit_code) from None
    sys.stdout.write(f"Review {out_dir} at (keep this address private; Ctrl+C stops the server):\n")
    for url in server.urls():
        sys.stdout.write(f"  {url}\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def register(app: typer.Typer) -> None:
    """Add ``review`` and ``apply`` to the ``undertone`` command line."""
    app.command("review")(review)
    app.command("apply")(apply)
