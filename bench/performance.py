"""Performance of undertone on a long interview, stage by stage, against the targets of issue 9
("Performance benchmark: one hour of interview, measured stage by stage").

Run from the repository root::

    uv run python bench/performance.py                  # 10, 30, 60 and 120 min (about 2 h)
    uv run python bench/performance.py --quick          # 2 and 5 min, for development (~5 min)
    uv run python bench/performance.py --json run.json  # also write every figure as JSON

Other options (``--help``): ``--sizes``, ``--rate``, ``--batch N MINUTES``, ``--whisper``,
``--pyin-seconds``, ``--prefect-runs``, ``--profile-dir`` (cProfile each stage; slows the run, for finding where
the time goes), ``--cache``.

The recording
-------------
The sample interview (``sample_audio/interview.wav``: 82 s, two espeak-ng speakers, 16 kHz) is
tiled end to end to the wanted length and encoded the way a phone or a recorder app gives it to
researchers: AAC in an M4A file, 48 kHz mono, 64 kbit/s (``--rate`` changes the rate). Files
are built once with ffmpeg and cached in ``bench/.cache/`` (git-ignored); the build is
deterministic.

What is measured
----------------
Each size runs in a fresh Python process, so memory figures are that run's own. The stages are
the ones ``undertone process --profile offline`` runs: *load* (decode and resample), *transcribe*
(pocketsphinx), *diarise* (embedded diarizer), *analysis* (``build_transcript``: silences,
pitch, marks, layout) and *render* (every output format written to disk). For each: wall time,
CPU time (all threads, plus child processes such as ffmpeg), times real time and peak resident
memory during the stage (the kernel's high-water mark ``VmHWM``, reset at each stage start).
*Ours* is everything except the ASR and diarisation models: load + analysis + render.
Start-up (imports) is reported separately; it is paid once per process, not per hour of audio.

Baselines, measured in the same run:

* **ffmpeg alone** decoding the same file to 16 kHz mono float (the floor for loading), beside
  ``undertone.audio.load`` on it, for the main file and two variants (16 kHz M4A, 48 kHz FLAC).
* **librosa.pyin** (the naive pitch tracker) on the first 60 s, extrapolated to one hour.
* **Whisper-shaped compute** for the default profile's model (``turbo``; also ``small.en``):
  openai-whisper's model built with the real dimensions and random weights (nothing is
  downloaded). Timed: one encoder pass on 30 s of mel, the prompt prefill, decoder steps with
  the kv-cache, and the word-timestamp pass. One 30 s window as undertone decodes it (word
  timestamps on) costs 2 encoder passes (whisper re-runs the model to align words) + prefill +
  ~100 decoder steps + the alignment decoder pass; an hour is at least 120 windows. CPU only:
  there is no GPU on the benchmark machine, so GPU figures are not measured here.

Batch throughput: N recordings (different excerpts, so different files) through the whole
offline pipeline (the stages above, outputs written), one after another in one worker process,
as ``undertone process A B C ...`` runs them (pocketsphinx recognises each recording's chunks in
one worker process per core, so one recording at a time already uses both cores: the target is
on this row), versus two recordings at once in two worker processes (``ProcessPoolExecutor``),
for comparison. Library calls, not the ``undertone`` command, so Prefect plays no part.

Prefect overhead per recording (``bench/prefect_overhead.py``, run in a fresh process): the
sample through the ``process-recording`` flow with transcription and diarisation answered from
the stage cache, against the same load, analysis and writing as plain library calls (medians of
``--prefect-runs`` each). It runs in Prefect's embedded mode unless ``PREFECT_API_URL`` is set.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

PROCESS_START = time.perf_counter()  # start-up of a child run is timed from here

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

CACHE = REPO / "bench" / ".cache"
SAMPLE = REPO / "sample_audio" / "interview.wav"

FULL_SIZES = (10.0, 30.0, 60.0, 120.0)  # minutes
QUICK_SIZES = (2.0, 5.0)
RECORDING_RATE = 48_000  # Hz: what phones and recorder apps write
ANALYSIS_RATE = 16_000  # Hz: what undertone analyses (undertone.audio.SAMPLE_RATE)
STAGES = ("load", "transcribe", "diarise", "analysis", "render")
OURS = ("load", "analysis", "render")  # everything except the ASR and diarisation models

# Encodings: name -> (file suffix, sample rate or None for --rate, ffmpeg codec arguments).
ENCODINGS: dict[str, tuple[str, int | None, list[str]]] = {
    "m4a": (".m4a", None, ["-c:a", "aac", "-b:a", "64k"]),
    "m4a-16k": (".m4a", ANALYSIS_RATE, ["-c:a", "aac", "-b:a", "48k"]),
    "flac": (".flac", None, ["-c:a", "flac"]),
}
MAIN_ENCODING = "m4a"

# Targets (issue 9, on the 2-core benchmark machine).
TARGET_S_PER_HOUR = 20.0  # ours, for a one-hour recording: >= 180x real time
TARGET_PEAK_MB = 1536.0  # ours, one hour
TARGET_LINEARITY = 2.2  # the two-hour run may take at most this many times the one-hour run
TARGET_LOAD_VS_FFMPEG = 1.5  # loading a one-hour compressed file, times ffmpeg's decode
TARGET_END_TO_END_XRT = 5.0  # offline profile end to end, times real time
TARGET_PREFECT_OVERHEAD_S = 2.0  # flow with cached stages vs the same work as plain calls
# "Independent recordings use both cores": our reading is at least 1.7 cores busy on average
# (CPU time / wall time, 85 % of the two cores) while a batch is processed as the command does.
TARGET_BATCH_CORES_BUSY = 1.7

# Whisper: real dimensions of the official checkpoints (the .pt files' "dims").
WHISPER_DIMS: dict[str, dict[str, int]] = {
    "turbo": dict(n_mels=128, n_audio_ctx=1500, n_audio_state=1280, n_audio_head=20, n_audio_layer=32,
                  n_text_ctx=448, n_text_state=1280, n_text_head=20, n_text_layer=4, n_vocab=51866),
    "small.en": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=768, n_audio_head=12, n_audio_layer=12,
                     n_text_ctx=448, n_text_state=768, n_text_head=12, n_text_layer=12, n_vocab=51864),
    "tiny": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=384, n_audio_head=6, n_audio_layer=4,
                 n_text_ctx=448, n_text_state=384, n_text_head=6, n_text_layer=4, n_vocab=51865),
}
WHISPER_WINDOW_S = 30.0
WHISPER_TOKENS_PER_WINDOW = 100  # a 30 s window of conversational speech: ~80 words

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# The recording


def sample_hash() -> str:
    """Names cached files, so a regenerated sample interview invalidates them."""
    import hashlib

    return hashlib.sha256(SAMPLE.read_bytes()).hexdigest()[:10]


def interview_file(
    minutes: float, cache: Path = CACHE, encoding: str = MAIN_ENCODING, rate: int = RECORDING_RATE, offset_s: float = 0.0
) -> Path:
    """The sample interview tiled to ``minutes``, starting ``offset_s`` into it, encoded; built once.

    The tiles are streamed to ffmpeg, so building two hours needs no big array in memory.
    """
    import soundfile

    suffix, fixed_rate, codec = ENCODINGS[encoding]
    rate = fixed_rate or rate
    path = cache / f"interview-{sample_hash()}-{minutes:g}min-{offset_s:g}s-{encoding}-{rate}{suffix}"
    if path.exists():
        return path
    sample, sample_rate = soundfile.read(SAMPLE, dtype="float32")
    assert sample_rate == ANALYSIS_RATE and sample.ndim == 1, "the sample interview is 16 kHz mono"
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"partial-{os.getpid()}-{path.name}")
    command = [
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "f32le", "-ar", str(ANALYSIS_RATE), "-ac", "1", "-i", "-",
        "-ar", str(rate), *codec, "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", str(partial),
    ]
    with subprocess.Popen(command, stdin=subprocess.PIPE) as encoder:
        assert encoder.stdin is not None
        remaining = round(minutes * 60 * ANALYSIS_RATE)
        position = round(offset_s * ANALYSIS_RATE) % len(sample)
        while remaining > 0:
            piece = sample[position : position + remaining]
            encoder.stdin.write(piece.tobytes())
            remaining -= len(piece)
            position = 0
        encoder.stdin.close()
    if encoder.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg could not encode {path.name}")
    partial.replace(path)
    return path


def describe(encoding: str, rate: int = RECORDING_RATE) -> str:
    """A recording's format in words, e.g. 'M4A (AAC) 48 kHz mono'."""
    suffix, fixed_rate, codec = ENCODINGS[encoding]
    name = suffix.lstrip(".").upper() + (" (AAC)" if "aac" in codec else "")
    return f"{name} {(fixed_rate or rate) / 1000:g} kHz mono"


# ---------------------------------------------------------------------------------------------
# Measuring one stage


@dataclass(frozen=True)
class StageFigures:
    """What one stage cost: wall and CPU seconds, and the process's peak memory during it."""

    stage: str
    wall_s: float
    cpu_s: float
    peak_mb: float


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak_memory() -> bool:
    """Reset the kernel's high-water mark to the current RSS, so the next peak is a stage's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _cpu_s() -> float:
    """CPU seconds of this process (all threads) and of its finished children (ffmpeg)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@contextmanager
def _rss_sampler(peak: list[float]) -> Iterator[None]:
    """Fallback where the high-water mark cannot be reset: sample VmRSS every 5 ms."""
    import threading

    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.005):
            peak[0] = max(peak[0], _status_mb("VmRSS"))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def measure(stage: str, work: Callable[[], T], profile_dir: Path | None = None, tag: str = "") -> tuple[T, StageFigures]:
    """Run ``work`` and return its result with the stage's wall time, CPU time and peak memory."""
    exact = _reset_peak_memory()
    peak = [_status_mb("VmRSS")]
    profiler = cProfile.Profile() if profile_dir else None
    wall, cpu = time.perf_counter(), _cpu_s()
    with _rss_sampler(peak) if not exact else _nothing():
        if profiler:
            profiler.enable()
        result = work()
        if profiler:
            profiler.disable()
    wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
    if exact:
        peak[0] = max(peak[0], _status_mb("VmHWM"))
    if profiler and profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile_dir / f"{tag}{stage}.prof")
    return result, StageFigures(stage, wall, cpu, peak[0])


@contextmanager
def _nothing() -> Iterator[None]:
    yield


# ---------------------------------------------------------------------------------------------
# Child runs (each in a fresh process)


def run_pipeline(path: Path, profile_dir: Path | None = None) -> dict[str, Any]:
    """The offline profile on one recording, stage by stage, as ``undertone process`` runs it."""
    from undertone.audio import load
    from undertone.config import load_settings
    from undertone.outputs import write_outputs
    from undertone.pipeline import build_transcript, diarize_audio, read_speaker_names, transcribe_audio
    from undertone.render import parse_formats

    settings = load_settings("offline")
    startup = StageFigures("startup", time.perf_counter() - PROCESS_START, _cpu_s(), _status_mb("VmRSS"))
    loadavg_before = os.getloadavg()
    tag = f"{path.stem}-"
    audio, load_figures = measure("load", lambda: load(path), profile_dir, tag)
    recognition, transcribe_figures = measure("transcribe", lambda: transcribe_audio(audio, settings), profile_dir, tag)
    diarization, diarise_figures = measure("diarise", lambda: diarize_audio(audio, settings), profile_dir, tag)
    analysis, analysis_figures = measure(
        "analysis",
        lambda: build_transcript(audio, recognition, diarization, settings, read_speaker_names(path)),
        profile_dir,
        tag,
    )
    with tempfile.TemporaryDirectory() as out:
        written, render_figures = measure(
            "render",
            lambda: write_outputs(
                analysis.transcript, Path(out), settings.render, parse_formats("all"), frames=analysis.frames, audio=path
            ),
            profile_dir,
            tag,
        )
        output_mb = sum(p.stat().st_size for p in written) / 1e6
    return {
        "audio_s": audio.duration,
        "file": path.name,
        "file_mb": path.stat().st_size / 1e6,
        "sample_rate": audio.sample_rate,
        "words": len(recognition.words),
        "speakers": len(analysis.transcript.speakers),
        "lines": len(analysis.transcript.lines),
        "output_files": len(written),
        "output_mb": output_mb,
        "startup": asdict(startup),
        "stages": [asdict(f) for f in (load_figures, transcribe_figures, diarise_figures, analysis_figures, render_figures)],
        "profiled": profile_dir is not None,
        "loadavg_before": loadavg_before,
        "loadavg_after": os.getloadavg(),
    }


def run_load(path: Path) -> dict[str, Any]:
    """``undertone.audio.load`` alone on one file."""
    from undertone.audio import load

    audio, figures = measure("load", lambda: load(path))
    return {"audio_s": audio.duration, "sample_rate": audio.sample_rate, **asdict(figures)}


def run_prefect(runs: int) -> dict[str, Any]:
    """Prefect's cost per recording (``bench/prefect_overhead.py``), in this fresh process."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # flows/ lives at the repository root
    from prefect_overhead import measure as prefect_overhead

    return prefect_overhead(runs)


def run_whisper(name: str, tokens: int = WHISPER_TOKENS_PER_WINDOW) -> dict[str, Any]:
    """Time one 30 s window of a randomly initialised Whisper of the real dimensions of ``name``."""
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper, disable_sdpa

    from undertone.transcribe.whisper_backend import VERBATIM_PROMPT

    dims = ModelDimensions(**WHISPER_DIMS[name])
    torch.manual_seed(0)
    model, build = measure("build", lambda: Whisper(dims).eval())
    with torch.no_grad():
        # Allocated with torch.empty (real checkpoints overwrite it): random, or logits may be NaN.
        model.decoder.positional_embedding.normal_(0.0, 0.02)
    tokenizer = whisper.tokenizer.get_tokenizer(
        model.is_multilingual, num_languages=model.num_languages, language="en", task="transcribe"
    )
    # As whisper.transcribe builds it: previous-text marker, the verbatim prompt, then the
    # start-of-transcript sequence (start, language, task).
    prompt = [tokenizer.sot_prev, *tokenizer.encode(" " + VERBATIM_PROMPT.strip()), *tokenizer.sot_sequence]
    mel = torch.randn(1, dims.n_mels, 2 * dims.n_audio_ctx)
    with torch.no_grad():
        features, encoder = measure("encoder", lambda: model.encoder(mel))
        cache, hooks = model.install_kv_cache_hooks()
        logits, prefill = measure("prefill", lambda: model.decoder(torch.tensor([prompt]), features, kv_cache=cache))

        def steps() -> list[int]:
            out, last = [], logits
            for _ in range(tokens):
                token = last[:, -1].argmax(dim=-1, keepdim=True)
                out.append(int(token))
                last = model.decoder(token, features, kv_cache=cache)
            return out

        decoded, decode = measure("decode", steps)
        for hook in hooks:
            hook.remove()
        # Word timestamps: whisper runs the whole model again over the window's tokens and
        # reads the cross-attention (find_alignment, with scaled-dot-product attention off).
        sequence = torch.tensor([[*tokenizer.sot_sequence, *decoded, tokenizer.eot]])
        with disable_sdpa():
            _, alignment = measure("alignment decoder", lambda: model.decoder(sequence, features))
    per_token_s = decode.wall_s / tokens
    window_s = 2 * encoder.wall_s + prefill.wall_s + WHISPER_TOKENS_PER_WINDOW * per_token_s + alignment.wall_s
    windows_per_hour = 3600 / WHISPER_WINDOW_S
    return {
        "model": name,
        "dims": WHISPER_DIMS[name],
        "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "build_s": build.wall_s,
        "encoder_s": encoder.wall_s,
        "prompt_tokens": len(prompt),
        "prefill_s": prefill.wall_s,
        "timed_tokens": tokens,
        "per_token_s": per_token_s,
        "alignment_decoder_s": alignment.wall_s,
        "tokens_per_window": WHISPER_TOKENS_PER_WINDOW,
        "window_s": window_s,
        "windows_per_hour": windows_per_hour,
        "per_hour_s": window_s * windows_per_hour,
        "x_real_time": WHISPER_WINDOW_S / window_s,
        "peak_mb": max(build.peak_mb, encoder.peak_mb, decode.peak_mb, alignment.peak_mb),
        "device": "cpu",
        "gpu": "not measured (no GPU on this machine)",
    }


def run_fresh(script: Path, arguments: list[str]) -> dict[str, Any]:
    """Run ``script`` with ``arguments`` in a fresh Python process; its last stdout line is JSON.

    A fresh process makes memory figures (peak RSS) that run's own.
    """
    done = subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child(kind: str, **arguments: Any) -> dict[str, Any]:
    return run_fresh(Path(__file__), ["--child", kind, json.dumps(arguments)])


# ---------------------------------------------------------------------------------------------
# Baselines measured in the parent


def ffmpeg_decode_s(path: Path, repeats: int = 3) -> float:
    """Median wall time of ffmpeg alone decoding ``path`` to 16 kHz mono float (the floor for loading)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(ANALYSIS_RATE), "-"],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pyin_baseline(audio_path: Path = SAMPLE, seconds: float = 60.0) -> dict[str, float]:
    """librosa.pyin, the naive pitch tracker, on the first ``seconds`` of a recording tiled if
    shorter; extrapolated linearly to one hour (a whole hour would take several minutes)."""
    import librosa
    import numpy as np

    from undertone.audio import load

    audio = load(audio_path)
    samples = np.tile(audio.mono, int(np.ceil(seconds / audio.duration)))[: int(seconds * ANALYSIS_RATE)]

    def pyin(signal: np.ndarray) -> float:
        start = time.perf_counter()
        librosa.pyin(signal, fmin=60, fmax=600, sr=ANALYSIS_RATE, hop_length=160)
        return time.perf_counter() - start

    first_call = pyin(samples[:ANALYSIS_RATE])  # compiles librosa's numba code: not pitch tracking
    elapsed = pyin(samples)
    return {"audio_s": seconds, "wall_s": elapsed, "per_hour_s": elapsed * 3600 / seconds, "first_call_1s_s": first_call}


def batch_run(paths: list[Path], workers: int) -> dict[str, float]:
    """Every recording through the whole offline pipeline (:func:`run_pipeline`), in ``workers``
    fresh worker processes at once; each worker takes the next recording when it is free."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    cpu, start = _cpu_s(), time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(run_pipeline, paths))
    # The workers have exited and been waited for: their CPU time is in the children's.
    return {"workers": workers, "wall_s": time.perf_counter() - start, "cpu_s": _cpu_s() - cpu}


def batch_throughput(count: int, minutes: float, cache: Path, rate: int) -> dict[str, Any]:
    """``count`` different recordings of ``minutes``: one at a time, then over both cores."""
    # Different excerpts of the sample (each starts 17 s further in): different files and hashes.
    paths = [interview_file(minutes, cache, rate=rate, offset_s=17.0 * k) for k in range(count)]
    audio_s = count * minutes * 60
    loadavg_before = os.getloadavg()
    one = batch_run(paths, 1)
    both = batch_run(paths, 2)
    runs = {}
    for name, run in (("one_at_a_time", one), ("two_processes", both)):
        runs[name] = {
            **run,
            "x_real_time": audio_s / run["wall_s"],
            "recordings_per_hour": count * 3600 / run["wall_s"],
            "cores_busy": run["cpu_s"] / run["wall_s"],
        }
    return {
        "recordings": count,
        "minutes_each": minutes,
        "audio_s": audio_s,
        **runs,
        "speedup": one["wall_s"] / both["wall_s"],
        "loadavg_before": loadavg_before,
        "loadavg_after": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------
# Figures and targets (pure functions of the results)


def stage(size: dict[str, Any], name: str) -> dict[str, float]:
    return next(s for s in size["stages"] if s["stage"] == name)


def ours(size: dict[str, Any]) -> dict[str, float]:
    """Everything except the ASR and diarisation models: load + analysis + render."""
    parts = [stage(size, name) for name in OURS]
    return {
        "wall_s": sum(p["wall_s"] for p in parts),
        "cpu_s": sum(p["cpu_s"] for p in parts),
        "peak_mb": max(p["peak_mb"] for p in parts),
    }


def end_to_end(size: dict[str, Any]) -> dict[str, float]:
    """Start-up and every stage: what one ``undertone process`` run of this recording costs."""
    return {
        "wall_s": size["startup"]["wall_s"] + sum(s["wall_s"] for s in size["stages"]),
        "cpu_s": size["startup"]["cpu_s"] + sum(s["cpu_s"] for s in size["stages"]),
        "peak_mb": max(s["peak_mb"] for s in size["stages"]),
    }


def _hour_size(sizes: list[dict[str, Any]]) -> tuple[dict[str, Any], float, str]:
    """The one-hour run, or the longest one and the factor that scales it to one hour."""
    for size in sizes:
        if abs(size["minutes"] - 60) < 1e-9:
            return size, 1.0, "one hour"
    longest = max(sizes, key=lambda s: s["audio_s"])
    return longest, 3600 / longest["audio_s"], f"one hour, extrapolated from {longest['minutes']:g} min"


def _status(value: float | None, target: float, higher_is_better: bool) -> str:
    if value is None:
        return "n/a"
    return "PASS" if (value >= target if higher_is_better else value <= target) else "MISS"


def _target(name: str, value: float | None, target: float, higher: bool, unit: str, basis: str, shown: str) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "target": target,
        "comparison": ">=" if higher else "<=",
        "unit": unit,
        "basis": basis,
        "shown": shown,
        "status": _status(value, target, higher),
    }


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every issue-9 target with the measured value, its basis and PASS / MISS (n/a: not measured)."""
    sizes = results["sizes"]
    hour, scale, basis = _hour_size(sizes)
    ours_hour = ours(hour)
    ours_s = ours_hour["wall_s"] * scale
    targets = [
        _target("ours per hour (load + analysis + render)", ours_s, TARGET_S_PER_HOUR, False, "s", basis,
                f"{ours_s:.1f} s = {3600 / ours_s:.0f}x real time"),
        _target("ours peak memory", ours_hour["peak_mb"], TARGET_PEAK_MB, False, "MB",
                f"{hour['minutes']:g} min run", f"{ours_hour['peak_mb']:.0f} MB"),
    ]
    by_duration = sorted(sizes, key=lambda s: s["audio_s"])
    if len(by_duration) >= 2:
        small, big = by_duration[-2], by_duration[-1]
        # Cost growth for doubling the duration: exactly t(120)/t(60) in a full run.
        doubling = 2 * small["audio_s"] / big["audio_s"]
        growth = ours(big)["wall_s"] / ours(small)["wall_s"] * doubling
        # CPU time as well: it tells work from waiting for a core on a shared machine (though
        # other work there slows the CPU too, through shared caches and memory bandwidth).
        cpu_growth = ours(big)["cpu_s"] / ours(small)["cpu_s"] * doubling
        exact = abs(big["audio_s"] - 2 * small["audio_s"]) < 1
        linear_basis = f"{big['minutes']:g} min / {small['minutes']:g} min" + ("" if exact else ", scaled to a doubling")
        targets.append(_target("linear: twice the audio, times the cost", growth, TARGET_LINEARITY, False, "x",
                               linear_basis, f"{growth:.2f}x (CPU time {cpu_growth:.2f}x)"))
    else:
        targets.append(_target("linear: twice the audio, times the cost", None, TARGET_LINEARITY, False, "x",
                               "needs two sizes", "not measured"))
    loading = results.get("loading", {}).get(MAIN_ENCODING)
    if loading:
        ratio = loading["load_s"] / loading["ffmpeg_s"]
        targets.append(_target("loading vs ffmpeg decode", ratio, TARGET_LOAD_VS_FFMPEG, False, "x",
                               f"{loading['minutes']:g} min, {loading['describe']}",
                               f"{ratio:.2f}x ({loading['load_s']:.1f} s vs {loading['ffmpeg_s']:.1f} s)"))
    else:
        targets.append(_target("loading vs ffmpeg decode", None, TARGET_LOAD_VS_FFMPEG, False, "x", "", "not measured"))
    e2e = end_to_end(hour)
    xrt = hour["audio_s"] / e2e["wall_s"]
    targets.append(_target("offline profile end to end, one recording", xrt, TARGET_END_TO_END_XRT, True, "x real time",
                           f"{hour['minutes']:g} min run",
                           f"{xrt:.2f}x real time ({e2e['wall_s']:.0f} s, {e2e['cpu_s'] / e2e['wall_s']:.2f} cores busy)"))
    batch = results.get("batch")
    if batch:
        run = batch["one_at_a_time"]
        basis = f"{batch['recordings']} x {batch['minutes_each']:g} min, one at a time"
        targets.append(_target("batch: offline throughput", run["x_real_time"], TARGET_END_TO_END_XRT, True,
                               "x real time", basis,
                               f"{run['x_real_time']:.2f}x real time ({run['recordings_per_hour']:.1f} recordings/h)"))
        targets.append(_target("batch: cores busy", run["cores_busy"], TARGET_BATCH_CORES_BUSY, True,
                               "cores", basis, f"{run['cores_busy']:.2f} of {os.cpu_count()}"))
    else:
        for name, goal in (("batch: offline throughput", TARGET_END_TO_END_XRT),
                           ("batch: cores busy", TARGET_BATCH_CORES_BUSY)):
            targets.append(_target(name, None, goal, True, "x", "", "not measured"))
    prefect = results.get("prefect")
    if prefect:
        targets.append(_target("Prefect overhead per recording", prefect["overhead_s"], TARGET_PREFECT_OVERHEAD_S, False,
                               "s", f"{prefect['recording_s']:g} s sample, stages cached, {len(prefect['flow_s'])} runs",
                               f"{prefect['overhead_s']:.2f} s (flow {statistics.median(prefect['flow_s']):.2f} s vs plain "
                               f"calls {statistics.median(prefect['direct_s']):.2f} s; first run {prefect['startup_s']:.1f} s)"))
    else:
        targets.append(_target("Prefect overhead per recording", None, TARGET_PREFECT_OVERHEAD_S, False, "s", "",
                               "not measured"))
    return targets


def machine() -> dict[str, Any]:
    """What the figures were measured on, so runs can be compared."""
    import numpy

    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True, text=True).stdout.strip())
    versions = {}
    for package in ("torch", "pocketsphinx", "librosa", "openai-whisper"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # not installed: say so rather than fail the benchmark
            versions[package] = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(memory_kb / 1024**2, 1),
        "gpu": "none used (CPU only)",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        **versions,
        "ffmpeg": ffmpeg,
        "git_commit": commit + ("+uncommitted changes" if dirty else ""),
        "loadavg_start": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------------
# The whole benchmark


@dataclass(frozen=True)
class Plan:
    """What one benchmark run measures."""

    sizes: tuple[float, ...] = FULL_SIZES
    rate: int = RECORDING_RATE
    batch_count: int = 4
    batch_minutes: float = 5.0
    whisper: tuple[str, ...] = ("turbo", "small.en")
    whisper_tokens: int = WHISPER_TOKENS_PER_WINDOW
    pyin_seconds: float = 60.0
    prefect_runs: int = 3  # timed flow runs for the Prefect overhead (0: skip)
    cache: Path = CACHE
    profile_dir: Path | None = None


def run_benchmark(plan: Plan, say: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """Build the recordings, run every measurement, and return all figures with the targets."""
    results: dict[str, Any] = {"machine": machine(), "plan": {**asdict(plan), "cache": str(plan.cache),
                                                              "profile_dir": str(plan.profile_dir) if plan.profile_dir else None}}
    paths = {}
    for minutes in plan.sizes:
        say(f"building the {minutes:g} min recording (cached after the first time)")
        paths[minutes] = interview_file(minutes, plan.cache, rate=plan.rate)
    results["sizes"] = []
    for minutes in plan.sizes:
        say(f"pipeline, offline profile, {minutes:g} min")
        arguments = {"path": str(paths[minutes]), "profile_dir": str(plan.profile_dir) if plan.profile_dir else None}
        results["sizes"].append({"minutes": minutes, **_child("pipeline", **arguments)})

    loading_minutes = 60.0 if 60.0 in plan.sizes else max(plan.sizes)
    results["loading"] = {}
    for encoding in ENCODINGS:
        say(f"loading vs ffmpeg: {loading_minutes:g} min {encoding}")
        path = interview_file(loading_minutes, plan.cache, encoding=encoding, rate=plan.rate)
        loaded = _child("load", path=str(path))
        results["loading"][encoding] = {
            "minutes": loading_minutes,
            "file": path.name,
            "describe": describe(encoding, plan.rate),
            "file_mb": path.stat().st_size / 1e6,
            "ffmpeg_s": ffmpeg_decode_s(path),
            "load_s": loaded["wall_s"],
            "load_cpu_s": loaded["cpu_s"],
            "load_peak_mb": loaded["peak_mb"],
            "sample_rate": loaded["sample_rate"],
        }

    if plan.pyin_seconds > 0:
        say(f"librosa.pyin on {plan.pyin_seconds:g} s")
        results["pyin"] = pyin_baseline(paths[plan.sizes[0]], plan.pyin_seconds)
    results["whisper"] = []
    for name in plan.whisper:
        say(f"Whisper-shaped compute: {name}, random weights")
        results["whisper"].append(_child("whisper", name=name, tokens=plan.whisper_tokens))
    if plan.batch_count > 0:
        say(f"batch: {plan.batch_count} x {plan.batch_minutes:g} min, one at a time, then two processes")
        results["batch"] = batch_throughput(plan.batch_count, plan.batch_minutes, plan.cache, plan.rate)
    if plan.prefect_runs > 0:
        say(f"Prefect overhead: the sample through the flow with cached stages, {plan.prefect_runs} runs each way")
        results["prefect"] = _child("prefect", runs=plan.prefect_runs)
    results["targets"] = evaluate_targets(results)
    results["machine"]["loadavg_end"] = os.getloadavg()
    return results


# ---------------------------------------------------------------------------------------------
# Printing


def print_report(results: dict[str, Any]) -> None:
    """Every figure as tables, the targets with PASS / MISS last."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(width=130, highlight=False)
    m = results["machine"]
    console.print(
        f"machine: {m['cpu_count']} cores, {m['cpu_model']}, {m['memory_gb']} GB, no GPU used | python {m['python']}, "
        f"torch {m['torch']} | {m['date']} | commit {m['git_commit']} | load average at start "
        f"{' '.join(f'{v:.2f}' for v in m['loadavg_start'])}, at end {' '.join(f'{v:.2f}' for v in m['loadavg_end'])}"
    )
    console.print(f"recording: the sample interview (two speakers) tiled, as {describe(MAIN_ENCODING, results['plan']['rate'])}; "
                  "offline profile (pocketsphinx + embedded diarizer), every output format written")

    table = Table(title="Stages (each size in a fresh process)", box=box.SIMPLE_HEAD)
    for column in ("audio", "stage", "wall s", "cpu s", "cores", "x real time", "peak MB", "load avg"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for size in results["sizes"]:
        audio_s = size["audio_s"]
        rows = [("startup", size["startup"])] + [(s["stage"], s) for s in size["stages"]]
        rows += [("= ours (load+analysis+render)", ours(size)), ("= end to end", end_to_end(size))]
        for index, (name, figures) in enumerate(rows):
            rt = "" if name == "startup" else f"{audio_s / figures['wall_s']:.1f}"
            table.add_row(
                f"{size['minutes']:g} min" if index == 0 else "",
                name,
                f"{figures['wall_s']:.1f}",
                f"{figures['cpu_s']:.1f}",
                f"{figures['cpu_s'] / figures['wall_s']:.2f}",
                rt,
                f"{figures['peak_mb']:.0f}",
                f"{size['loadavg_before'][0]:.1f} -> {size['loadavg_after'][0]:.1f}" if index == 0 else "",
                end_section=index == len(rows) - 1,
            )
    console.print(table)
    console.print("  startup = imports and settings (once per process); peak MB of 'startup' is the RSS after it. "
                  "cores = cpu s / wall s. load avg = the machine's 1-minute load average before -> after the run "
                  f"(above {results['machine']['cpu_count']}: other work competed for the cores).")

    table = Table(title="Loading vs ffmpeg alone (decode to 16 kHz mono float)", box=box.SIMPLE_HEAD)
    for column in ("file", "MB", "ffmpeg s", "load s", "load / ffmpeg", "load peak MB"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for loading in results["loading"].values():
        table.add_row(f"{loading['minutes']:g} min {loading['describe']}", f"{loading['file_mb']:.0f}", f"{loading['ffmpeg_s']:.2f}", f"{loading['load_s']:.2f}",
                      f"{loading['load_s'] / loading['ffmpeg_s']:.2f}x", f"{loading['load_peak_mb']:.0f}")
    console.print(table)

    table = Table(title="Model baselines (CPU; extrapolated to one hour)", box=box.SIMPLE_HEAD)
    for column in ("what", "measured", "per hour of audio", "x real time"):
        table.add_column(column, justify="left" if column in ("what", "measured") else "right")
    if results.get("pyin"):
        p = results["pyin"]
        table.add_row("librosa.pyin (pitch only)", f"{p['wall_s']:.1f} s for {p['audio_s']:g} s", f"{p['per_hour_s']:.0f} s",
                      f"{3600 / p['per_hour_s']:.1f}")
    hour_run, scale, _ = _hour_size(results["sizes"])
    for name, label in (("transcribe", "pocketsphinx (offline ASR)"), ("diarise", "embedded diarizer")):
        s = stage(hour_run, name)
        table.add_row(label, f"{s['wall_s']:.0f} s for {hour_run['minutes']:g} min", f"{s['wall_s'] * scale:.0f} s",
                      f"{hour_run['audio_s'] / s['wall_s']:.1f}")
    for w in results["whisper"]:
        table.add_row(
            f"Whisper {w['model']} shape ({w['parameters_m']:.0f} M params, random weights)",
            f"encoder {w['encoder_s']:.2f} s, {w['per_token_s'] * 1000:.0f} ms/token, window {w['window_s']:.1f} s",
            f"{w['per_hour_s']:.0f} s",
            f"{w['x_real_time']:.2f}",
        )
    console.print(table)
    if results["whisper"]:
        console.print(f"  Whisper window = 2 encoder passes (decode + word timestamps) + prompt prefill + "
                      f"{WHISPER_TOKENS_PER_WINDOW} decoder steps (kv-cache) + alignment pass; >= 120 windows per hour; "
                      f"torch threads {results['whisper'][0]['torch_threads']}.")
        console.print("  GPU figures are NOT measured here: this machine has no GPU.")

    if results.get("batch"):
        b = results["batch"]
        table = Table(title=f"Batch: {b['recordings']} different recordings of {b['minutes_each']:g} min, offline profile, "
                            "outputs written", box=box.SIMPLE_HEAD)
        for column in ("how", "wall s", "cores busy", "x real time", "recordings/h"):
            table.add_column(column, justify="left" if column == "how" else "right")
        for name, label in (("one_at_a_time", "one at a time (as the command runs a batch)"),
                            ("two_processes", "two at once, in two worker processes")):
            r = b[name]
            table.add_row(label, f"{r['wall_s']:.0f}", f"{r['cores_busy']:.2f}", f"{r['x_real_time']:.2f}",
                          f"{r['recordings_per_hour']:.1f}")
        console.print(table)
        console.print(f"  two at once vs one at a time: {b['speedup']:.2f}x")

    table = Table(title="Targets (issue 9)", box=box.SIMPLE_HEAD)
    for column in ("target", "measured", "goal", "basis", "status"):
        table.add_column(column)
    for t in results["targets"]:
        goal = f"{t['comparison']} {t['target']:g} {t['unit']}"
        table.add_row(t["name"], t["shown"], goal, t["basis"], t["status"])
    console.print(table)
    console.print("  ours = everything except the ASR and diarisation models.")


def parse_arguments(argv: list[str] | None = None) -> tuple[argparse.Namespace, Plan]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 and 5 min, a small batch and tiny Whisper: for development")
    parser.add_argument("--sizes", type=float, nargs="+", help="recording lengths in minutes (default 10 30 60 120)")
    parser.add_argument("--rate", type=int, default=RECORDING_RATE, help="sample rate of the recordings (Hz)")
    parser.add_argument("--batch", type=float, nargs=2, metavar=("N", "MINUTES"), help="batch of N recordings (0 skips)")
    parser.add_argument("--whisper", nargs="*", choices=sorted(WHISPER_DIMS), help="Whisper shapes to time (none: skip)")
    parser.add_argument("--whisper-tokens", type=int, default=WHISPER_TOKENS_PER_WINDOW, help="decoder steps actually timed")
    parser.add_argument("--pyin-seconds", type=float, default=60.0, help="audio for librosa.pyin (0 skips)")
    parser.add_argument("--prefect-runs", type=int, help="timed flow runs for Prefect's overhead (default 3, quick 1; 0 skips)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the recordings are built (default bench/.cache)")
    parser.add_argument("--profile-dir", type=Path, help="cProfile each stage into DIR/<file>-<stage>.prof (slower)")
    parser.add_argument("--show", type=Path, metavar="JSON", help="print the tables of a saved run and exit")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # internal: one measurement in a fresh process
    arguments = parser.parse_args(argv)
    quick = arguments.quick
    batch = arguments.batch or ((2, 1.0) if quick else (4, 5.0))
    plan = Plan(
        sizes=tuple(arguments.sizes or (QUICK_SIZES if quick else FULL_SIZES)),
        rate=arguments.rate,
        batch_count=int(batch[0]),
        batch_minutes=batch[1],
        whisper=tuple(arguments.whisper if arguments.whisper is not None else (("tiny",) if quick else ("turbo", "small.en"))),
        whisper_tokens=arguments.whisper_tokens,
        pyin_seconds=arguments.pyin_seconds,
        prefect_runs=arguments.prefect_runs if arguments.prefect_runs is not None else (1 if quick else 3),
        cache=arguments.cache,
        profile_dir=arguments.profile_dir,
    )
    return arguments, plan


def main(argv: list[str] | None = None) -> None:
    arguments, plan = parse_arguments(argv)
    if arguments.child:
        kind, child_arguments = arguments.child[0], json.loads(arguments.child[1])
        if kind == "pipeline":
            profile_dir = child_arguments["profile_dir"]
            result = run_pipeline(Path(child_arguments["path"]), Path(profile_dir) if profile_dir else None)
        elif kind == "load":
            result = run_load(Path(child_arguments["path"]))
        elif kind == "prefect":
            result = run_prefect(child_arguments["runs"])
        else:
            result = run_whisper(child_arguments["name"], child_arguments["tokens"])
        sys.stdout.write(json.dumps(result) + "\n")
        return
    if arguments.show:
        saved = json.loads(arguments.show.read_text())
        print_report({**saved, "targets": evaluate_targets(saved)})
        return
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed to build the recordings and for the loading baseline")
    started = time.perf_counter()
    results = run_benchmark(plan, say=lambda message: print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr))
    results["benchmark_wall_s"] = time.perf_counter() - started
    print_report(results)
    if arguments.json:
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
