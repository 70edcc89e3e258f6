"""Word error rate of the offline profile: recognition (pocketsphinx) next to the alignment mode.

Run from the repository root::

    uv run python bench/wer.py            # sample + full marks corpus (if cached) + pyannote sample
    uv run python bench/wer.py --quick    # sample + ~1 minute marks corpus + pyannote sample
    uv run python bench/wer.py --json out.json

Run time on a busy 2-core machine: about 25 minutes (pocketsphinx decodes the 8.6-minute marks
corpus twice per condition), about 4 minutes with ``--quick``.

Both modes run ``process_file`` with the offline profile (``bench/asr_sources.py``):

* *recognition*: pocketsphinx recognises the words (and the embedded diarizer the speakers), as
  ``undertone process AUDIO --profile offline`` does. This is the offline profile's accuracy.
* *alignment*: the known transcript is force-aligned (``--transcript``). It keeps every word by
  construction, so its WER only checks that no word is lost, added or reordered on the way to
  the output (expected 0); it is the baseline recognition is compared with.

Reference and hypothesis get the same normalisation (:data:`NORMALISE`, jiwer transforms): lower
case, a hyphen between letters becomes a space, punctuation removed (so "don't" and "dont"
agree), whitespace collapsed. The hypothesis is the output JSON's ``words`` in document (time)
order, the reference the transcript's words in order.

Per speaker: in recognition mode each output word is given to the reference speaker talking at
that time (the reference piece or utterance it overlaps most, else the nearest), so the figure is
the recogniser's on that person's speech, whatever the diarizer made of the speakers (its error
is ``bench/der.py``'s business). In alignment mode the output's own speakers are used: they come
from the transcript's labels.

Sources: the synthetic sample interview (``sample_audio/``), the marks benchmark's synthetic
interview (``bench/marks_corpus.py``; clean, and noisy: reverb + speech-shaped noise at 20 dB
SNR), and the real phone call in the pyannote.audio wheel (``sample.stm``'s text as reference).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import jiwer

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "bench") not in sys.path:
    sys.path.insert(0, str(REPO / "bench"))

import asr_sources  # noqa: E402
from asr_sources import Run, Source  # noqa: E402
from boundaries import load_sources  # noqa: E402

NORMALISE = jiwer.Compose([
    jiwer.ToLowerCase(),
    jiwer.SubstituteRegexes({r"(?<=\w)-(?=\w)": " "}),
    jiwer.RemovePunctuation(),
    jiwer.RemoveMultipleSpaces(),
    jiwer.Strip(),
    jiwer.ReduceToListOfListOfWords(),
])


def error_rate(reference: list[str], hypothesis: list[str]) -> dict[str, Any]:
    """WER and its counts for word lists (each normalised with :data:`NORMALISE`)."""
    ref_text, hyp_text = " ".join(reference), " ".join(hypothesis)
    n_ref = len(NORMALISE(ref_text)[0]) if ref_text.strip() else 0
    n_hyp = len(NORMALISE(hyp_text)[0]) if hyp_text.strip() else 0
    if n_ref == 0:
        return {"wer": None, "reference_words": 0, "hits": 0, "substitutions": 0, "deletions": 0, "insertions": n_hyp}
    if n_hyp == 0:
        return {"wer": 1.0, "reference_words": n_ref, "hits": 0, "substitutions": 0, "deletions": n_ref, "insertions": 0}
    out = jiwer.process_words(ref_text, hyp_text, reference_transform=NORMALISE, hypothesis_transform=NORMALISE)
    return {"wer": out.wer, "reference_words": n_ref, "hits": out.hits, "substitutions": out.substitutions,
            "deletions": out.deletions, "insertions": out.insertions}


def attribute_by_time(words: list[tuple[str, float, float]], spans: list[tuple[str, float, float]]) -> list[str | None]:
    """Each word's speaker: the span it overlaps most, else the nearest span (None without spans)."""
    out: list[str | None] = []
    for _, start, end in words:
        best, best_key = None, None
        for speaker, a, b in spans:
            overlap = min(end, b) - max(start, a)
            distance = max(a - end, start - b, 0.0)
            key = (overlap if overlap > 0 else 0.0, -distance)
            if best_key is None or key > best_key:
                best, best_key = speaker, key
        out.append(best)
    return out


def score(source: Source, run: Run) -> dict[str, Any]:
    """Overall and per-speaker WER of one run."""
    document = run.document
    hypothesis = [(w["text"], w["start"], w["end"]) for w in document["words"]]
    reference = source.words
    result = {"overall": error_rate([w.text for w in reference], [w[0] for w in hypothesis]),
              "seconds": round(run.seconds, 1), "per_speaker": {}}
    if run.mode == "alignment":
        labels = {s["id"]: s.get("label") or s["id"] for s in document["speakers"]}
        speakers = [labels.get(w["speaker"], w["speaker"]) for w in document["words"]]
    else:
        speakers = attribute_by_time(hypothesis, source.spans)
    for speaker in dict.fromkeys(w.speaker for w in reference):
        result["per_speaker"][speaker] = error_rate(
            [w.text for w in reference if w.speaker == speaker],
            [h[0] for h, who in zip(hypothesis, speakers) if who == speaker])
    return result


def _row(name: str, mode: str, who: str, s: dict[str, Any]) -> str:
    value = "-" if s["wer"] is None else f"{s['wer']:.3f}"
    return (f"{name:20s} {mode:11s} {who:12s} {s['reference_words']:6d} {value:>6s} "
            f"{s['substitutions']:5d} {s['deletions']:5d} {s['insertions']:5d}")


def print_table(results: dict[str, dict[str, Any]]) -> None:
    head = f"{'condition':20s} {'mode':11s} {'speaker':12s} {'words':>6s} {'WER':>6s} {'sub':>5s} {'del':>5s} {'ins':>5s}"
    print(head)
    print("-" * len(head))
    for name, modes in results.items():
        for mode in ("recognition", "alignment"):
            if mode not in modes:
                continue
            scored = modes[mode]
            print(_row(name, mode, "all", scored["overall"]))
            for speaker, s in scored["per_speaker"].items():
                print(_row(name, mode, f"  {speaker}", s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the ~1 minute marks corpus instead of the ~9 minute one")
    parser.add_argument("--build-full", action="store_true", help="build the full marks corpus if it is not cached")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()

    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    for source in load_sources(args.quick, args.build_full):
        results[source.name] = {}
        for mode in ("recognition", "alignment"):
            run = asr_sources.run(source, mode)
            results[source.name][mode] = score(source, run)
            print(f"{source.name}: {mode} took {run.seconds:.1f} s", flush=True)
    print()
    print_table(results)
    total = time.perf_counter() - started
    print(f"\nbenchmark took {total:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"results": results, "seconds": round(total, 1)}, indent=1) + "\n",
                             encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
