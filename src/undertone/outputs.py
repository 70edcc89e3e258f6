"""Write a transcript's outputs atomically: every file is whole, old or new, never half-written.

All formats are rendered in memory first (a rendering error writes nothing), written to
temporary files beside their targets, and only then renamed into place. Files are created
owner-only (0600), and an output folder undertone creates is 0700: transcripts are confidential.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from undertone.config import RenderSettings
from undertone.errors import OutputError
from undertone.frames import Frames, frames_csv
from undertone.model import Transcript
from undertone.render import RenderContext, default_formats, get_renderer

FILE_MODE = 0o600
DIR_MODE = 0o700


def output_stem(transcript: Transcript) -> str:
    return Path(transcript.source.path).stem


def write_outputs(
    transcript: Transcript,
    out_dir: Path,
    settings: RenderSettings,
    formats: Iterable[str] | None = None,
    frames: Frames | None = None,
    audio: Path | None = None,
) -> list[Path]:
    """Render every requested format (default: all) and put them in ``out_dir`` as ``<stem>.<suffix>``.

    With ``frames``, the frame tracks are written too, as ``<stem>.frames.csv``. ``audio`` is
    the recording, for formats that link to it (relative to ``out_dir``).
    """
    stem = output_stem(transcript)
    context = RenderContext(out_dir=out_dir, audio=audio, frames=frames)
    rendered: list[tuple[Path, str | bytes]] = []
    for name in default_formats() if formats is None else formats:
        renderer = get_renderer(name)
        rendered.append((out_dir / f"{stem}{renderer.suffix}", renderer.render(transcript, settings, context)))
    if frames is not None:
        rendered.append((out_dir / f"{stem}.frames.csv", frames_csv(frames)))
    try:
        out_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    except OSError as error:
        raise OutputError(out_dir, f"cannot create output folder ({_reason(error)})") from None
    temporaries: list[tuple[Path, Path]] = []
    try:
        for target, content in rendered:
            temporaries.append((_write_temporary(target, content), target))
        for temporary, target in temporaries:
            os.replace(temporary, target)
    except OSError as error:
        for temporary, _ in temporaries:
            temporary.unlink(missing_ok=True)
        raise OutputError(out_dir, f"cannot write outputs ({_reason(error)})") from None
    return [target for target, _ in rendered]


def write_file(target: Path, content: str | bytes) -> Path:
    """Write one file atomically and owner-only, like every output (e.g. a cited audio clip)."""
    temporary: Path | None = None
    try:
        temporary = _write_temporary(target, content)
        os.replace(temporary, target)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise OutputError(target, f"cannot write ({_reason(error)})") from None
    return target


def _write_temporary(target: Path, content: str | bytes) -> Path:
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    temporary = Path(name)
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    try:
        os.fchmod(descriptor, FILE_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _reason(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "disk is full"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    return error.strerror or str(error)
