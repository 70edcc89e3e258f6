"""Speed and memory of everything after the models: pitch, intensity, silences, word edges,
marks, layout and rendering (issue: "all analysis after ASR and diarisation for a one-hour
recording: <= 20 s on this 2-core machine, peak memory <= 1.5 GB, linear in duration").

Run from the repository root::

    uv run python bench/analysis_speed.py                 # 10, 30, 60 and 120 minutes
    uv run python bench/analysis_speed.py --minutes 10    # one size only
    uv run python bench/analysis_speed.py --json out.json

Input: the sample interview (82 s, two speakers) aligned once with its known transcript, then
tiled end to end to the wanted length together with its words, so the analysis sees a real
interview's density of words, pauses and turns. Each size runs in a fresh subprocess, so the
peak memory (``ru_maxrss``) is that run's own: audio, tracks, transcript and rendered outputs.

Baseline, measured in the same run: ``librosa.pyin`` (the naive pitch tracker) on the first 60 s
of the same audio, extrapolated linearly to one hour (running it on a whole hour would take
about seven minutes).

``bench/performance.py`` measures the whole pipeline (loading, models, analysis, rendering) on an
encoded recording; the targets, the pyin baseline and the fresh-process runner live there and
are shared with this script.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for path in (REPO / "src", REPO / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from performance import (  # noqa: E402
    CACHE,
    SAMPLE,
    TARGET_LINEARITY,
    TARGET_PEAK_MB,
    TARGET_S_PER_HOUR,
    pyin_baseline,
    run_fresh,
)

SAMPLE_TRANSCRIPT = REPO / "sample_audio" / "interview.transcript.txt"


def aligned_sample():
    """The sample's words aligned once with pocketsphinx (cached: alignment is not measured here)."""
    from undertone.transcribe import sphinx
    from undertone.transcribe.known import parse_transcript
    from undertone.audio import SAMPLE_RATE, load

    cached = CACHE / f"sample-words-{_sample_hash()}.pickle"
    if cached.exists():
        return pickle.loads(cached.read_bytes())
    audio = load(SAMPLE)
    recognition = sphinx.align(audio.mono, parse_transcript(SAMPLE_TRANSCRIPT), SAMPLE_RATE)
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(pickle.dumps(recognition))
    return recognition


def tiled(minutes: float):
    """Audio and words of the sample repeated end to end to ``minutes``."""
    from undertone.audio import SAMPLE_RATE, from_array, load

    audio = load(SAMPLE)
    recognition = aligned_sample()
    copies = int(np.ceil(minutes * 60 / audio.duration))
    samples = np.tile(audio.mono, copies)[: int(minutes * 60 * SAMPLE_RATE)]
    words = []
    for copy in range(copies):
        offset = copy * len(audio.mono) / SAMPLE_RATE
        words += [replace(w, start=w.start + offset, end=w.end + offset) for w in recognition.words]
    duration = len(samples) / SAMPLE_RATE
    words = [w for w in words if w.end <= duration]
    return from_array(samples, SAMPLE_RATE, f"tiled-{minutes:g}min.wav"), replace(recognition, words=words)


def run_one(minutes: float) -> dict[str, float]:
    """Time build_transcript and rendering for one size (called in a fresh subprocess)."""
    from undertone.config import load_settings
    from undertone.frames import frames_csv
    from undertone.pipeline import build_transcript
    from undertone.render import render_json
    from undertone.render.text import render_text

    audio, recognition = tiled(minutes)
    settings = load_settings("offline")
    wall, cpu = time.perf_counter(), time.process_time()
    analysis = build_transcript(audio, recognition, None, settings)
    analysed_wall = time.perf_counter() - wall
    render_json(analysis.transcript, settings.render)
    render_text(analysis.transcript, settings.render)
    frames_csv(analysis.frames)
    return {
        "minutes": minutes,
        "audio_s": audio.duration,
        "words": len(recognition.words),
        "marks": len(analysis.transcript.annotations),
        "analysis_wall_s": analysed_wall,
        "total_wall_s": time.perf_counter() - wall,
        "total_cpu_s": time.process_time() - cpu,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="*", default=[10, 30, 60, 120])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # internal: run one size
    arguments = parser.parse_args()
    if arguments.one is not None:
        sys.stdout.write(json.dumps(run_one(arguments.one)) + "\n")
        return

    aligned_sample()  # cache the alignment before timing anything
    rows = []
    for minutes in arguments.minutes:
        rows.append(run_fresh(Path(__file__), ["--one", str(minutes)]))
    baseline = pyin_baseline()

    print(f"{'audio':>8} {'words':>7} {'marks':>6} {'analysis':>9} {'+render':>8} {'cpu':>7} {'x RT':>7} {'peak MB':>8}")
    for row in rows:
        print(
            f"{row['minutes']:>6g} m {row['words']:>7d} {row['marks']:>6d} {row['analysis_wall_s']:>8.1f}s "
            f"{row['total_wall_s']:>7.1f}s {row['total_cpu_s']:>6.1f}s {row['audio_s'] / row['total_wall_s']:>7.0f} "
            f"{row['peak_mb']:>8.0f}"
        )
    by_minutes = {row["minutes"]: row for row in rows}
    if 60 in by_minutes:
        hour = by_minutes[60]
        print(f"\none hour: {hour['total_wall_s']:.1f} s (target <= {TARGET_S_PER_HOUR:.0f} s), "
              f"peak {hour['peak_mb']:.0f} MB (target <= {TARGET_PEAK_MB:.0f} MB)")
        if 120 in by_minutes:
            ratio = by_minutes[120]["total_wall_s"] / hour["total_wall_s"]
            print(f"two hours / one hour: {ratio:.2f}x (target <= {TARGET_LINEARITY}x)")
    print(f"baseline librosa.pyin: {baseline['wall_s']:.1f} s for {baseline['audio_s']:.0f} s of audio "
          f"= {baseline['per_hour_s']:.0f} s per hour (pitch alone)")
    if arguments.json:
        arguments.json.write_text(json.dumps({"sizes": rows, "pyin_baseline": baseline}, indent=1) + "\n")


def _sample_hash() -> str:
    import hashlib

    digest = hashlib.sha256(SAMPLE.read_bytes() + SAMPLE_TRANSCRIPT.read_bytes())
    return digest.hexdigest()[:12]


if __name__ == "__main__":
    main()
