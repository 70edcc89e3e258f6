"""What running a recording through Prefect costs beyond the work itself (issue: "Prefect overhead
per recording (flow with cached tasks, nothing to recompute): <= 2 s").

Run from the repository root::

    uv run python bench/prefect_overhead.py            # 3 timed runs each way
    uv run python bench/prefect_overhead.py --json out.json

The recording is the sample interview aligned to its transcript (offline, deterministic).
Measured in one process:

- *start-up*: the first flow run, which starts Prefect's embedded local server (no
  ``PREFECT_API_URL``) or connects to the configured one; paid once per ``undertone process``.
- *flow*: ``process-recording`` with ``force`` (outputs rewritten) while transcription and
  diarisation are answered from the stage cache: load, analyse and write really run.
- *direct, same work* (the baseline, same run): the same load, analysis and writing as plain
  library calls, with the cached stage results held in memory.

Overhead per recording = flow - direct (medians).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_audio" / "interview.wav"
TRANSCRIPT = REPO / "sample_audio" / "interview.transcript.txt"
TARGET_OVERHEAD_S = 2.0


def measure(runs: int = 3) -> dict[str, Any]:
    """Start-up, flow and direct times (s) for the sample, and the overhead per recording."""
    from flows.console import quiet_prefect_console
    from flows.process_recording import process_recording
    from undertone import jobs, pipeline
    from undertone.audio import load
    from undertone.config import load_settings
    from undertone.transcribe.known import parse_transcript

    quiet_prefect_console()
    settings = load_settings("offline")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)

        def flow_run() -> float:
            started = time.perf_counter()
            process_recording(
                SAMPLE, work / "flow", "offline", transcript=TRANSCRIPT, force=True, cache_dir=work / "cache"
            )
            return time.perf_counter() - started

        startup = flow_run()  # starts (or connects to) the server; fills the stage cache
        flow = [flow_run() for _ in range(runs)]

        audio = load(SAMPLE)
        recognition = pipeline.transcribe_audio(audio, settings, parse_transcript(TRANSCRIPT), TRANSCRIPT)

        def direct_run() -> float:
            started = time.perf_counter()
            plan = jobs.plan(SAMPLE, work / "direct", settings, None, [TRANSCRIPT], force=True)
            analysis = pipeline.build_transcript(load(SAMPLE), recognition, None, settings)
            jobs.finish(plan, analysis, settings, None)
            return time.perf_counter() - started

        direct = [direct_run() for _ in range(runs)]
    overhead = statistics.median(flow) - statistics.median(direct)
    return {
        "recording_s": round(audio.duration, 1),
        "startup_s": round(startup, 2),
        "flow_s": [round(t, 2) for t in flow],
        "direct_s": [round(t, 2) for t in direct],
        "overhead_s": round(overhead, 2),
        "target_s": TARGET_OVERHEAD_S,
        "status": "PASS" if overhead <= TARGET_OVERHEAD_S else "MISS",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args(argv)
    figures = measure(arguments.runs)
    print(
        f"Prefect per recording ({figures['recording_s']} s sample, stages cached):\n"
        f"  first run: server start or connect, fills the stage cache  {figures['startup_s']:6.2f} s  (once)\n"
        f"  flow, stages cached, median of {arguments.runs:<2}                      {statistics.median(figures['flow_s']):6.2f} s\n"
        f"  direct library calls, same work (baseline)                 {statistics.median(figures['direct_s']):6.2f} s\n"
        f"  overhead per recording                                     {figures['overhead_s']:6.2f} s  "
        f"(target <= {TARGET_OVERHEAD_S:.0f} s: {figures['status']})"
    )
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    main()
