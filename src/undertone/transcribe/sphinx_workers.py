"""Recognition chunks, and groups of recognised words to re-time, decoded in worker processes,
so that pocketsphinx uses every core.

PocketSphinx holds Python's GIL while it decodes, so threads cannot run two decoders side by
side; processes can. The workers are plain child programs (``python -m
undertone.transcribe.sphinx_workers``) fed through pipes, not ``multiprocessing``: its "spawn"
start method runs the caller's main script again in every child, which breaks (or repeats the
work of) any script that calls the pipeline without an ``if __name__ == "__main__"`` guard.

The protocol, one request at a time per worker: the parent writes a JSON header line
``{"offset_s": ..., "samples": n}`` (recognise a chunk) or ``{"align": [...], "samples": n}``
(re-time these words, the fields of :class:`RecognizedWord`, in this audio) followed by ``n``
little-endian float32 samples at 16 kHz; the worker answers with one JSON line, ``{"words":
[...]}`` (``null`` when the aligner refused the words) or ``{"error": "..."}``. Closing its input
ends a worker. One thread per worker in the parent hands out the next request when its worker
is free, so a slow one does not hold up the others.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

import numpy as np

from undertone.errors import ModelUnavailableError
from undertone.transcribe import RecognizedWord

Chunk = tuple[np.ndarray, float]  # samples (float32, 16 kHz) and where they start, in seconds
Group = tuple[np.ndarray, list[RecognizedWord]]  # samples (float32, 16 kHz) and the words said there


def recognize_chunks(chunks: Sequence[Chunk], workers: int) -> list[list[RecognizedWord]]:
    """The words of every chunk (in chunk order), decoded by ``workers`` child processes."""
    requests = [({"offset_s": offset_s}, samples) for samples, offset_s in chunks]
    return _in_workers(requests, workers)  # type: ignore[return-value]  # recognition never refuses


def align_groups(groups: Sequence[Group], workers: int) -> list[list[RecognizedWord] | None]:
    """For every group (its audio, its words), the aligner's words, or None where it refused
    them (see :func:`undertone.transcribe.realign.aligned_words`); by ``workers`` processes."""
    requests = [({"align": [asdict(word) for word in words]}, samples) for samples, words in groups]
    return _in_workers(requests, workers)


def _in_workers(requests: Sequence[tuple[dict, np.ndarray]], workers: int) -> list[list[RecognizedWord] | None]:
    """Every request's answer (in request order), from ``workers`` child processes."""
    results: list[list[RecognizedWord] | None] = [None] * len(requests)
    failures: list[BaseException] = []
    next_index = iter(range(len(requests)))
    hand_out = threading.Lock()

    def serve(process: subprocess.Popen) -> None:
        try:
            while not failures:
                with hand_out:
                    index = next(next_index, None)
                if index is None:
                    return
                results[index] = _ask(process, *requests[index])
        except BaseException as error:  # reported by the caller's thread, below
            failures.append(error)

    processes = [_start_worker() for _ in range(workers)]
    try:
        threads = [threading.Thread(target=serve, args=(process,), daemon=True) for process in processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for process in processes:
            _stop(process)
    if failures:
        raise failures[0]
    return results


def _start_worker() -> subprocess.Popen:
    # The child must import this very copy of undertone, even when the caller found it through
    # sys.path rather than an installed package (the benchmarks do that).
    source_root = str(Path(__file__).resolve().parents[2])
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, environment.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "undertone.transcribe.sphinx_workers"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )


def _ask(process: subprocess.Popen, request: dict, samples: np.ndarray) -> list[RecognizedWord] | None:
    """Send one request and its audio to a worker and wait for its words."""
    assert process.stdin is not None and process.stdout is not None
    data = np.ascontiguousarray(samples, dtype="<f4")
    header = json.dumps({**request, "samples": len(data)}).encode() + b"\n"
    try:
        process.stdin.write(header)
        process.stdin.write(memoryview(data).cast("B"))
        process.stdin.flush()
        answer = process.stdout.readline()
    except BrokenPipeError:
        answer = b""
    if not answer:
        raise RuntimeError(f"a pocketsphinx worker process stopped: {_stderr_tail(process)}")
    reply = json.loads(answer)
    if "error" in reply:
        raise ModelUnavailableError(None, reply["error"])
    if reply["words"] is None:
        return None
    return [RecognizedWord(**word) for word in reply["words"]]


def _stop(process: subprocess.Popen) -> None:
    try:
        if process.stdin is not None:
            process.stdin.close()
    except OSError:  # the worker is already gone
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _stderr_tail(process: subprocess.Popen) -> str:
    process.wait()
    text = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
    return text.splitlines()[-1] if text else f"exit code {process.returncode}"


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """The worker's loop: a request in, its words out, until the input closes."""
    from undertone.transcribe import realign, sphinx

    while header := requests.readline():
        request = json.loads(header)
        size = 4 * request["samples"]
        samples = np.frombuffer(_read_exactly(requests, size), dtype="<f4")
        try:
            if "align" in request:
                words = realign.aligned_words(samples, [RecognizedWord(**word) for word in request["align"]])
            else:
                words = sphinx.recognize_chunk(samples, request["offset_s"])
            reply = {"words": None if words is None else [asdict(word) for word in words]}
        except ModelUnavailableError as error:
            reply = {"error": error.problem}
        replies.write(json.dumps(reply).encode() + b"\n")
        replies.flush()


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError(f"expected {size} bytes of samples, got {len(data)}")
    return data


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
