"""Write a transcript's outputs atomically: every file is whole, old or new, never half-written.

All formats are rendered in memory first (a rendering error writes nothing), written to
temporary files beside their targets, and only then renamed into place, the JSON document last
(so a JSON in place means its whole set is). Files are created owner-only (0600), and an output
folder undertone creates is 0700: transcripts are confidential.

A new version never silently replaces an earlier one: if outputs of the same recording are
already there, that whole set is first moved to ``previous/<stem> <its creation time>/`` in the
output folder, where it stays readable (citations name the version they came from). A single
file such as a cited audio clip is kept the same way, as ``previous/<name> <its time><suffix>``
beside it. When a redacted set replaces one that was not redacted (or was redacted with another
list), the kept set is named in a warning: it still holds what the new one hides.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from undertone.config import RenderSettings
from undertone.errors import OutputError
from undertone.frames import Frames, frames_csv
from undertone.model import Transcript
from undertone.privacy import private_dirs
from undertone.render import RENDERERS, RenderContext, default_formats, get_renderer

FILE_MODE = 0o600
DIR_MODE = 0o700
PREVIOUS_DIR = "previous"
FRAMES_SUFFIX = ".frames.csv"


def output_stem(transcript: Transcript) -> str:
    return Path(transcript.source.path).stem


def output_paths(stem: str, out_dir: Path, formats: Iterable[str] | None = None, frames: bool = True) -> list[Path]:
    """The files a run writes for a recording named ``stem``, the JSON document last."""
    names = list(default_formats() if formats is None else formats)
    paths = [out_dir / f"{stem}{get_renderer(name).suffix}" for name in names if name != "json"]
    if frames:
        paths.append(out_dir / f"{stem}{FRAMES_SUFFIX}")
    return [*paths, out_dir / f"{stem}{get_renderer('json').suffix}"]


def prepare_output_folder(out_dir: Path) -> None:
    """Check that the output folder exists and takes files, or can be created; create nothing.

    Called before a batch starts, so that an unusable ``--out`` is reported at once instead of
    after hours of processing; the folder itself is made with the first outputs, so a batch
    that fails for another reason leaves no empty folder behind.
    """
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != out_dir and not existing.is_dir():
        raise OutputError(out_dir, f"cannot create output folder (part of the path is a file: {existing})")
    if existing == out_dir and not out_dir.is_dir():
        raise OutputError(out_dir, "cannot create output folder (a file of that name is in the way)")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "write to the output folder" if existing == out_dir else f"create output folder in {existing}"
        raise OutputError(out_dir, f"cannot {what} (read-only, or no permission)")


@dataclass(frozen=True)
class OutputSet:
    """What :func:`write_output_set` did: the files written (JSON first) and where the earlier set went."""

    paths: list[Path]
    kept: Path | None  # previous/<stem> <created>/, when an earlier set was there


def write_outputs(
    transcript: Transcript,
    out_dir: Path,
    settings: RenderSettings,
    formats: Iterable[str] | None = None,
    frames: Frames | None = None,
    audio: Path | None = None,
    link: bool = True,
) -> list[Path]:
    """:func:`write_output_set`, returning only the files written (the JSON first)."""
    return write_output_set(transcript, out_dir, settings, formats, frames, audio, link).paths


def write_output_set(
    transcript: Transcript,
    out_dir: Path,
    settings: RenderSettings,
    formats: Iterable[str] | None = None,
    frames: Frames | None = None,
    audio: Path | None = None,
    link: bool = True,
) -> OutputSet:
    """Render every requested format (default: all) and put them in ``out_dir`` as ``<stem>.<suffix>``.

    With ``frames``, the frame tracks are written too, as ``<stem>.frames.csv``. ``audio`` is
    the recording, for formats that link to it (relative to ``out_dir``; not with ``link``
    False, when its name must not appear in the outputs), and is named in the error if the
    outputs cannot be written; then the folder is left as it was.
    """
    stem = output_stem(transcript)
    context = RenderContext(out_dir=out_dir, audio=audio if link else None, frames=frames)
    names = list(default_formats() if formats is None else formats)
    rendered: list[tuple[Path, str | bytes]] = []
    for name in [n for n in names if n != "json"]:
        renderer = get_renderer(name)
        rendered.append((out_dir / f"{stem}{renderer.suffix}", renderer.render(transcript, settings, context)))
    if frames is not None:
        rendered.append((out_dir / f"{stem}{FRAMES_SUFFIX}", frames_csv(frames)))
    if "json" in names:  # renamed into place last: a JSON present means its whole set is
        renderer = get_renderer("json")
        rendered.append((out_dir / f"{stem}{renderer.suffix}", renderer.render(transcript, settings, context)))
    try:
        private_dirs(out_dir)
    except OSError as error:
        raise OutputError(out_dir, f"cannot create output folder ({_reason(error)})") from None
    _remove_stale_temporaries([target for target, _ in rendered])
    temporaries: list[tuple[Path, Path]] = []
    kept: Path | None = None
    placed: list[Path] = []
    try:
        for target, content in rendered:
            temporaries.append((_write_temporary(target, content), target))
        kept = keep_previous_version(stem, out_dir)
        for temporary, target in temporaries:
            os.replace(temporary, target)
            placed.append(target)
    except OSError as error:
        for temporary, _ in temporaries:
            temporary.unlink(missing_ok=True)
        _put_back(kept, placed, out_dir)
        if audio is not None:
            raise OutputError(audio, f"outputs not written to {out_dir} ({_reason(error)})") from None
        raise OutputError(out_dir, f"outputs not written ({_reason(error)})") from None
    written = sorted((target for target, _ in rendered), key=lambda path: path.suffix != ".json")  # JSON first
    return OutputSet(written, kept)


def kept_unredacted_warning(output_set: OutputSet, document: Transcript) -> str | None:
    """A warning line when ``document`` is redacted but the earlier set it replaced was not
    redacted with the same list: that set, kept in ``previous/``, still shows what this one hides."""
    new = getattr(document, "redaction", None)
    if output_set.kept is None or not isinstance(new, dict):
        return None
    old = _redaction_of(output_set.kept / f"{output_stem(document)}.json")
    if isinstance(old, dict) and old.get("list_check") == new.get("list_check"):
        return None
    how = "not redacted" if old is None else "redacted with another list"
    return (
        f"the earlier outputs, kept in {output_set.kept}, are {how}: they still show what this "
        "redaction hides; delete that folder if they must not stay"
    )


def _redaction_of(document: Path) -> dict | None:
    try:
        value = json.loads(document.read_text(encoding="utf-8")).get("redaction")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, dict) else None


def keep_previous_version(stem: str, out_dir: Path) -> Path | None:
    """Move an existing output set of ``stem`` to ``previous/<stem> <created>/``; return that folder.

    The set is every file named ``<stem>.<suffix>`` for a suffix undertone writes. Its name
    carries the old document's creation time (or the file time if the JSON is unreadable).
    """
    suffixes = {renderer.suffix for renderer in RENDERERS.values()} | {FRAMES_SUFFIX}
    existing = [out_dir / f"{stem}{suffix}" for suffix in sorted(suffixes)]
    existing = [path for path in existing if path.is_file()]
    if not existing:
        return None
    created = _created(out_dir / f"{stem}.json") or _file_time(existing[0])
    folder = out_dir / PREVIOUS_DIR / f"{stem} {created}"
    index = 1
    while folder.exists():
        index += 1
        folder = out_dir / PREVIOUS_DIR / f"{stem} {created} ({index})"
    private_dirs(folder)
    os.chmod(out_dir / PREVIOUS_DIR, DIR_MODE)
    # The JSON first: a run killed in the middle leaves no JSON that claims a stale set.
    try:
        for path in sorted(existing, key=lambda p: p.suffix != ".json"):
            os.replace(path, folder / path.name)
    except OSError:
        _put_back(folder, [], out_dir)
        raise
    return folder


def _put_back(kept: Path | None, placed: list[Path], out_dir: Path) -> None:
    """Undo a write that failed half-way: remove the new files already renamed into place and
    return the earlier set from ``kept`` (its JSON last). Best effort: whatever cannot be moved
    back stays whole in ``previous/``."""
    for target in placed:
        target.unlink(missing_ok=True)
    if kept is None:
        return
    try:
        for path in sorted(kept.iterdir(), key=lambda p: p.suffix == ".json"):
            os.replace(path, out_dir / path.name)
        kept.rmdir()
        (out_dir / PREVIOUS_DIR).rmdir()  # only if this write created it (it is empty)
    except OSError:
        pass


def _created(document: Path) -> str | None:
    try:
        created = json.loads(document.read_text(encoding="utf-8"))["pipeline"]["created"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(created).replace(":", "-") if created else None


def _file_time(path: Path) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds").replace(":", "-")


def _remove_stale_temporaries(targets: list[Path]) -> None:
    """Delete temporary files a killed earlier run left beside these targets (ours by name)."""
    for target in targets:
        for leftover in target.parent.glob(f".{target.name}.*.part"):
            leftover.unlink(missing_ok=True)


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


def keep_previous_file(target: Path) -> Path | None:
    """Move an existing ``target`` to ``previous/<name> <its time><suffix>`` beside it; return where.

    The output policy for a single file (a cited audio clip): a new version never silently
    replaces an earlier one. Call it just before writing the new file.
    """
    if not target.is_file():
        return None
    folder = target.parent / PREVIOUS_DIR
    base = f"{target.stem} {_file_time(target)}"
    kept = folder / f"{base}{target.suffix}"
    index = 1
    while kept.exists():
        index += 1
        kept = folder / f"{base} ({index}){target.suffix}"
    try:
        private_dirs(folder)
        os.replace(target, kept)
    except OSError as error:
        raise OutputError(target, f"cannot keep the earlier version in {folder} ({_reason(error)})") from None
    return kept


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
    if error.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if error.errno == errno.EROFS:
        return "the disk is read-only"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno == errno.ENOTDIR:
        return "part of the path is a file, not a folder"
    if error.errno == errno.EEXIST:
        return "a file of that name is in the way"
    return error.strerror or str(error)
