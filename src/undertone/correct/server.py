"""The local review server (``undertone review OUT_DIR``): the review page with editing turned on.

Security, because transcripts are confidential:

- it listens on a loopback address only (refused otherwise), and answers only requests whose
  ``Host`` is that address (a web page elsewhere cannot reach it through DNS rebinding);
- a random token (``secrets.token_urlsafe``) is in the address it prints and is required on
  every request, pages, files and audio alike: as ``?token=`` (the first visit, which sets a
  same-site-only, script-inaccessible cookie), as that cookie, or as an ``X-Undertone-Token``
  header;
- it serves only the output files of the folder (by name, checked to resolve inside the folder:
  no ``..``, no absolute path, no symlink out) and each transcript's own recording (the file the
  document names, checked against its sha256; its path never comes from the request);
- it writes only the corrections journals and, on apply, the ``corrected/`` outputs (redacted
  with the list it was started with; a redacted transcript is not applied without its list);
- request bodies are limited in size and validated against the journal's schema; an edit that
  does not fit the transcript is refused before it is written.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from undertone.correct.apply import (
    CORRECTED_DIR,
    apply_stem,
    check_edits,
    corrected_path,
    current_version,
    read_document,
    settings_of,
)
from undertone.correct.journal import MAX_EDIT_BYTES, journal_path, parse_edit, read_journal
from undertone.errors import UndertoneError
from undertone.model import Transcript
from undertone.redact import Term
from undertone.render import RENDERERS

TOKEN_COOKIE = "undertone_token"
TOKEN_HEADER = "x-undertone-token"
# Output files the server may hand out (by suffix), besides the review pages it renders itself.
SERVED_SUFFIXES = tuple(sorted({r.suffix for r in RENDERERS.values()} | {".frames.csv", ".corrections.jsonl"}, key=len, reverse=True))
# Brackets: outputs of a recording whose name was redacted are named "[NAME-1] interview.*".
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9\[][A-Za-z0-9 ._()\[\]+-]{0,200}")


class ServerError(ValueError):
    """The server cannot start as asked (a usage problem)."""


def loopback_host(host: str) -> str:
    """``host`` if it is a loopback address (``localhost`` means 127.0.0.1); else :class:`ServerError`."""
    address = "127.0.0.1" if host == "localhost" else host
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ServerError(
            f"--host {host}: the review server listens only on this machine (127.0.0.1 or ::1), "
            "so that no one else can reach the transcripts"
        )
    return address


@dataclass
class _Stem:
    """One transcript in the folder: its machine document and (once found) its recording."""

    name: str
    machine: Transcript
    recording: Path | None
    problem: str | None  # why the recording cannot be played, if it cannot


class ReviewServer:
    """The review server for one output folder; :meth:`serve_forever` runs it, :meth:`close` stops it."""

    def __init__(
        self,
        out_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        source: Path | None = None,
        redaction: list[Term] | None = None,
    ) -> None:
        self.host = loopback_host(host)
        self.redaction = redaction or []  # applied to corrected versions (required for redacted transcripts)
        if not out_dir.is_dir():
            raise ServerError(f"{out_dir}: not a folder (give the output folder of 'undertone process')")
        self.out_dir = out_dir.resolve(strict=True)
        self.source = source
        self.stems = self._find_stems()
        if not self.stems:
            raise ServerError(f"{out_dir}: no transcript (<stem>.json from 'undertone process') in this folder")
        self.token = secrets.token_urlsafe(32)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((self.host, port))
        except OSError as error:
            self.socket.close()
            raise ServerError(f"cannot listen on {self.host}:{port} ({error.strerror})") from None
        self.port = self.socket.getsockname()[1]
        self._lock = threading.Lock()  # one apply or append at a time
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(routes=self._routes())

    # -- addresses -------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def urls(self) -> list[str]:
        """The address of each transcript's review page, with the token."""
        return [f"{self.origin}/review/{quote(name)}?token={self.token}" for name in self.stems]

    def _allowed_hosts(self) -> set[str]:
        hosts = {f"{self.host}:{self.port}", f"[{self.host}]:{self.port}"}
        if self.host == "127.0.0.1":
            hosts.add(f"localhost:{self.port}")
        return hosts

    # -- running ---------------------------------------------------------------------------

    def serve_forever(self) -> None:
        import uvicorn

        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off", server_header=False)
        self._server = uvicorn.Server(config)
        self._server.run(sockets=[self.socket])

    def start_in_thread(self) -> threading.Thread:
        """Serve in a background thread (tests); returns once the server accepts requests."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread = thread
        thread.start()
        while self._server is None or not self._server.started:
            if not thread.is_alive():
                raise RuntimeError("the review server stopped while starting")
            thread.join(0.02)
        return thread

    def close(self) -> None:
        """Stop serving (waits for a background thread), then release the port."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        try:
            self.socket.close()
        except OSError:
            pass

    # -- the folder ------------------------------------------------------------------------

    def _find_stems(self) -> dict[str, _Stem]:
        stems: dict[str, _Stem] = {}
        for path in sorted(self.out_dir.glob("*.json")):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                machine = read_document(path)
            except UndertoneError:
                continue  # not a transcript document: not offered
            stem = path.name[: -len(".json")]
            stems[stem] = _Stem(stem, machine, None, None)
        return stems

    def _recording(self, stem: _Stem) -> Path | None:
        """The recording of ``stem``, found and checked once (its sha256 must match)."""
        if stem.recording is None and stem.problem is None:
            from undertone.cite import check_recording, find_recording

            try:
                recording = find_recording(stem.machine, self.out_dir / f"{stem.name}.json", self.source)
                check_recording(recording, stem.machine)
                stem.recording = recording.resolve()
            except UndertoneError as error:
                stem.problem = str(error)
        return stem.recording

    def output_file(self, relative: str) -> Path | None:
        """The output file ``relative`` names (``x.txt`` or ``corrected/x.txt``) if it is one the
        server may hand out; None otherwise (never anything outside the folder)."""
        parts = relative.split("/")
        if not 1 <= len(parts) <= 2 or (len(parts) == 2 and parts[0] != CORRECTED_DIR):
            return None
        if not all(_SAFE_SEGMENT.fullmatch(part) for part in parts) or ".." in parts[-1].split("/"):
            return None
        name = parts[-1]
        if not name.endswith(SERVED_SUFFIXES) or name.startswith("."):
            return None
        candidate = self.out_dir.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        folder = self.out_dir / CORRECTED_DIR if len(parts) == 2 else self.out_dir
        if candidate.is_symlink() or resolved.parent != folder or not resolved.is_file():
            return None
        return resolved

    # -- requests --------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            Route("/", self._guarded(self._index), methods=["GET"]),
            Route("/review/{stem}", self._guarded(self._page), methods=["GET"]),
            Route("/media/{stem}", self._guarded(self._media), methods=["GET"]),
            Route("/files/{path:path}", self._guarded(self._file), methods=["GET"]),
            Route("/api/{stem}/journal", self._guarded(self._journal), methods=["GET"]),
            Route("/api/{stem}/edits", self._guarded(self._append), methods=["POST"]),
            Route("/api/{stem}/apply", self._guarded(self._apply), methods=["POST"]),
        ]

    def _guarded(self, handler):
        """Wrap a handler: right Host, right token, then the handler; security headers on every answer."""

        async def endpoint(request: Request) -> Response:
            if request.headers.get("host", "") not in self._allowed_hosts():
                return _secure(PlainTextResponse("wrong host", status_code=421))
            given = request.query_params.get("token") or request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE) or ""
            if not secrets.compare_digest(given.encode("utf-8", "replace"), self.token.encode("ascii")):
                return _secure(PlainTextResponse("forbidden: open the address 'undertone review' printed", status_code=403))
            if "token" in request.query_params and request.method == "GET":
                # Token from the printed address: keep it in a cookie, and drop it from the address bar.
                response: Response = RedirectResponse(request.url.remove_query_params("token").path, status_code=303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict", path="/")
                return _secure(response)
            return _secure(await handler(request))

        return endpoint

    def _stem(self, request: Request) -> _Stem | None:
        return self.stems.get(request.path_params["stem"])

    async def _index(self, request: Request) -> Response:
        from html import escape

        items = "".join(f'<li><a href="/review/{quote(name)}">{escape(name)}</a></li>' for name in self.stems)
        return HTMLResponse(f"<!DOCTYPE html><title>undertone review</title><h1>Transcripts</h1><ul>{items}</ul>")

    async def _page(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        stem = self._stem(request)
        if stem is None:
            return _not_found()
        from undertone.render.html import EDITING_CSP

        page = await run_in_threadpool(self.page_html, stem)
        return HTMLResponse(page, headers={"Content-Security-Policy": EDITING_CSP + "; frame-ancestors 'none'"})

    def page_html(self, stem: _Stem) -> str:
        """The review page of the newest version (corrected if there is one), editing on."""
        from undertone.render import RenderContext
        from undertone.render.html import Editing, render_html

        document, version, applied = stem.machine, None, 0
        if corrected_path(self.out_dir, stem.name).is_file():
            try:
                document = read_document(corrected_path(self.out_dir, stem.name))
                correction = getattr(document, "correction", {}) or {}
                version, applied = correction.get("version"), int(correction.get("edits", 0))
            except (UndertoneError, TypeError, ValueError):
                document, version, applied = stem.machine, None, 0
        recording = self._recording(stem)
        editing = Editing(
            api=f"/api/{quote(stem.name)}",
            media=f"/media/{quote(stem.name)}" if recording is not None else None,
            media_problem=stem.problem,
            applied=applied,
            version=version,
        )
        context = RenderContext(out_dir=self.out_dir, audio=None)
        return render_html(document, settings_of(stem.machine).render, context, editing=editing)

    async def _media(self, request: Request) -> Response:
        stem = self._stem(request)
        recording = self._recording(stem) if stem is not None else None
        if recording is None:
            return _not_found()
        from undertone.render.html import audio_mime_type

        return FileResponse(recording, media_type=audio_mime_type(recording), content_disposition_type="inline")

    async def _file(self, request: Request) -> Response:
        path = self.output_file(request.path_params["path"])
        if path is None:
            return _not_found()
        return FileResponse(path, media_type="application/octet-stream", filename=path.name)

    async def _journal(self, request: Request) -> Response:
        stem = self._stem(request)
        if stem is None:
            return _not_found()
        try:
            edits = read_journal(journal_path(self.out_dir, stem.name))
        except UndertoneError as error:
            return _problem(500, str(error))
        return JSONResponse(
            {
                "edits": [e.model_dump(exclude_none=True) for e in edits],
                "version": current_version(self.out_dir, stem.name),
            }
        )

    async def _append(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        stem = self._stem(request)
        if stem is None:
            return _not_found()
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _problem(415, "send the edit as application/json")
        body = await _read_body(request, MAX_EDIT_BYTES)
        if body is None:
            return _problem(413, f"an edit is at most {MAX_EDIT_BYTES} bytes")
        try:
            edit = parse_edit(body)
            if edit.seq is not None or edit.time is not None:
                raise ValueError("edit: seq and time are set by the server")
        except ValueError as error:
            return _problem(422, str(error))

        def append():
            from undertone.correct.journal import append_edit

            journal = journal_path(self.out_dir, stem.name)
            with self._lock:
                return append_edit(journal, edit, check=lambda edits: check_edits(stem.machine, edits, journal))

        try:
            stored = await run_in_threadpool(append)
        except UndertoneError as error:
            return _problem(422, error.problem)
        except OSError as error:
            return _problem(500, f"cannot write the corrections journal ({error.strerror})")
        return JSONResponse(stored.model_dump(exclude_none=True), status_code=201)

    async def _apply(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        stem = self._stem(request)
        if stem is None:
            return _not_found()
        if await _read_body(request, 1024) is None:
            return _problem(413, "apply takes no body")

        def run():
            with self._lock:
                return apply_stem(self.out_dir, stem.name, source=self.source, redaction=self.redaction)

        try:
            applied = await run_in_threadpool(run)
        except UndertoneError as error:
            return _problem(422, str(error))
        return JSONResponse(
            {"version": applied.version, "edits": applied.edits, "written": [p.name for p in applied.written]}
        )


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None if it is (or claims to be) longer than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _secure(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    if "content-security-policy" not in response.headers:
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return response


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _not_found() -> Response:
    return PlainTextResponse("not found", status_code=404)

