"""Word boundary accuracy: the word start/end times undertone writes, against ground truth.

Run from the repository root::

    uv run python bench/boundaries.py            # sample + full marks corpus (if cached) + pyannote sample
    uv run python bench/boundaries.py --quick    # sample + ~1 minute marks corpus + pyannote sample
    uv run python bench/boundaries.py --json out.json

Run time on a busy 2-core machine: about 25 minutes (pocketsphinx decodes the 8.6-minute marks
corpus twice per condition), about 4 minutes with ``--quick``.

Targets (issue 3): median |error| <= 30 ms and 90th percentile <= 80 ms over every word start and
end, on synthetic speech whose word times are known.

What is measured
----------------
``words[].start`` and ``words[].end`` of the output JSON of ``process_file`` with the offline
profile, in two modes: *alignment* (the known transcript, force-aligned by pocketsphinx) and
*recognition* (pocketsphinx recognition; only the words it gets right are compared: paired with
reference words by jiwer's word alignment, and no more than ``MATCH_TOLERANCE_S`` away from the
reference word). Every word contributes its start and its end. Under recognition rows, "anchored
pairs only" keeps the pairs with a matched neighbour pair (see ``anchored_pairs``): an isolated
match of a short word in misrecognised text is often another occurrence of it.
Error = undertone's time minus the true time (positive: too late). Under each output row, the
same figures for the edges more than 1 s from overlapping talk (two speakers' pieces overlap:
the backchannels): the aligner places a known transcript's turns one after the other, so talk
over the other speaker is misplaced, and the words around it with it. The tables give the median
and 90th percentile of |error|, the mean signed error (bias) and, as ``>250``, how many edges are
more than 250 ms off: those belong to words the aligner put in the wrong place altogether.

Each run also records the earlier stages (see ``bench/asr_sources.py``), measured in the same
run, as baselines: what refinement adds is the difference between the rows.

* ``aligner, decoded``: pocketsphinx's forced alignment as decoded (10 ms frames); the few words
  it does not place get their final, interpolated times here too, so all rows score the same
  edges;
* ``aligner, pause-trimmed``: after the aligner moves edges out of clear pauses (what the
  transcription stage returns); for recognition, ``recogniser``: its word times, and
  ``force-aligned``: those words re-timed by forced alignment
  (``undertone.transcribe.realign``, what the default profile does to Whisper's words; the
  offline profile's output keeps the recogniser's times; pocketsphinx's own times come from the
  same model, so this row is close to the recogniser's);
* ``imitation``: Whisper cannot run here, so its output is imitated: every word of the
  conversation in one stream (a backchannel after the turn it was said over), edges off by
  ~0.1 s, phrase-final words cut short (``IMITATION_*``); then re-timed as the default profile
  does (``align_words``) once the diarisation has given each word its speaker: here the true
  speakers stand in for the diarisation;
* ``output``: after the pipeline snaps word edges onto the silences it measures.

Ground truth
------------
* Synthetic speech (``sample_audio/interview.wav``; ``bench/marks_corpus.py``, clean and noisy):
  word edges at the edges of a synthesised piece are exact to the sample (first/last audible
  sample); edges inside a piece come from libespeak-ng's word and pause events, and at a pause
  inside a piece from the audible edges around it (see ``bench/asr_sources.py``). The breakdown
  table separates them, and edges at a silence from edges between touching words.
* The pyannote.audio sample (a real phone call): its STM gives *utterance* start and end times,
  placed by hand, and no word times. Those rows compare the first word's start and the last
  word's end of each utterance with the STM times: they say whether undertone puts the edges
  of talk where a human annotator did, at a human's precision (tens of ms at best, with their
  own conventions about breaths and trailing sounds), not millisecond accuracy.
* Not used, with the reason printed: ``/work/shared/data``'s AMI excerpts (speaker turns, no
  words or text to align) and FDA sentences (laryngograph F0, no word or utterance times).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "bench") not in sys.path:
    sys.path.insert(0, str(REPO / "bench"))

import asr_sources  # noqa: E402
from asr_sources import RefUtterance, RefWord, Run, Source  # noqa: E402

TARGET_MEDIAN_MS = 30.0
TARGET_P90_MS = 80.0
GROSS_MS = 250.0  # an edge this far off belongs to a misplaced word (longer than most words)
SILENCE_S = 0.02  # a true edge with at least this much silence beside it is "at a silence"
# Recognition: a word matched by text but this far from the reference word is another instance
# of it (the text alignment pairs a common word across a stretch of misrecognised ones).
MATCH_TOLERANCE_S = 1.0
# The aligner places a known transcript's turns one after the other, so talk over the other
# speaker (a backchannel) is misplaced, and so are the words around it; edges this close to
# overlapping talk are also summarised apart.
OVERLAP_MARGIN_S = 1.0
SHARED_DATA = REPO.parent / "shared" / "data"

STAGE_LABELS = {
    "alignment": {"decoder": "aligner, decoded", "engine": "aligner, pause-trimmed", "output": "output"},
    "recognition": {"engine": "recogniser", "realigned": "force-aligned", "output": "output"},
    "imitation": {"coarse": "attention-like times", "realigned": "force-aligned, by speaker"},
}
# Whisper cannot run here (no weights), so its word times are imitated on the true words: each
# edge off by a normal error of this SD, and a phrase's last word ending this much early (at
# most; uniform), as attention-derived times do.
IMITATION_SD_S = 0.1
RTTM_MATCH_S = 0.5  # s: an STM edge and an RTTM edge further apart are different segmentations
IMITATION_FINAL_CUT_S = 0.3
IMITATION_PHRASE_GAP_S = 0.3  # s of silence after a word that ends a phrase

Times = list[tuple[float, float] | None]


# --------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class EdgeError:
    """One word edge: which side, what the truth there is, and the signed error (s)."""

    side: str  # "start" | "end"
    exact: bool  # the true time is a piece edge (exact to the sample), not an espeak event
    at_silence: bool  # silence of at least SILENCE_S beside the true edge
    error: float
    word: int = -1  # reference word index
    truth: float = 0.0  # the true time (s)


def summarise(errors_s: list[float]) -> dict[str, Any]:
    """n, median and 90th percentile of |error|, mean signed error (bias), in ms; and how many
    errors are gross (over ``GROSS_MS``: the word is misplaced, not its edge)."""
    if not errors_s:
        return {"n": 0, "median_abs_ms": None, "p90_abs_ms": None, "mean_signed_ms": None, "gross": 0}
    e = np.asarray(errors_s, dtype=float) * 1000.0
    return {"n": int(len(e)), "median_abs_ms": float(np.median(np.abs(e))),
            "p90_abs_ms": float(np.percentile(np.abs(e), 90)), "mean_signed_ms": float(np.mean(e)),
            "gross": int(np.sum(np.abs(e) > GROSS_MS))}


def verdict(summary: dict[str, Any]) -> str:
    """"meets" when both targets hold, otherwise which one is missed."""
    if not summary["n"]:
        return "-"
    missed = [name for name, value, target in (("median", summary["median_abs_ms"], TARGET_MEDIAN_MS),
                                               ("p90", summary["p90_abs_ms"], TARGET_P90_MS)) if value > target]
    return "meets" if not missed else "MISSES " + " and ".join(missed)


def silence_beside(words: list[RefWord]) -> list[tuple[bool, bool]]:
    """For each reference word: is there >= SILENCE_S of silence before its start / after its end?

    Silence means no other word's true extent (any speaker) within that distance. Edges espeak
    does not report lie inside a piece, so they are taken to touch the neighbouring word.
    """
    spans = []
    for i, w in enumerate(words):
        start = w.start if w.start is not None else (words[i - 1].end if i > 0 else None)
        end = w.end if w.end is not None else (words[i + 1].start if i + 1 < len(words) else None)
        spans.append((start, end))
    known = sorted((s, e, i) for i, (s, e) in enumerate(spans) if s is not None and e is not None)
    starts = np.array([s for s, _, _ in known])
    ends = np.array([e for _, e, _ in known])
    index = np.array([i for _, _, i in known])
    out = []
    for i, w in enumerate(words):
        others = index != i
        before = w.start is not None and not np.any(others & (starts < w.start) & (ends > w.start - SILENCE_S))
        after = w.end is not None and not np.any(others & (ends > w.end) & (starts < w.end + SILENCE_S))
        out.append((bool(before), bool(after)))
    return out


def edge_errors(reference: list[RefWord], predicted: Times, pairs: list[tuple[int, int]] | None = None
                ) -> list[EdgeError]:
    """Errors of every known true edge. ``predicted`` is indexed like ``reference`` unless
    ``pairs`` gives (reference index, predicted index) matches."""
    pairs = pairs if pairs is not None else [(i, i) for i in range(len(reference))]
    context = silence_beside(reference)
    out = []
    for i, j in pairs:
        word, times = reference[i], predicted[j]
        if times is None:
            continue
        if word.start is not None:
            out.append(EdgeError("start", word.start_exact, context[i][0], times[0] - word.start, i, word.start))
        if word.end is not None:
            out.append(EdgeError("end", word.end_exact, context[i][1], times[1] - word.end, i, word.end))
    return out


def near_in_time(word: RefWord, start: float, end: float, tolerance_s: float = MATCH_TOLERANCE_S) -> bool:
    """Does a recognised word [start, end] lie within ``tolerance_s`` of the reference word?"""
    known = [t for t in (word.start, word.end) if t is not None]
    if not known:
        return True
    return start < max(known) + tolerance_s and end > min(known) - tolerance_s


def match_words(reference: list[str], hypothesis: list[str]) -> list[tuple[int, int]]:
    """(reference index, hypothesis index) of words jiwer's alignment finds equal (normalised)."""
    import jiwer

    ref = [asr_sources.normalise_word(w) or "_" for w in reference]
    hyp = [asr_sources.normalise_word(w) or "_" for w in hypothesis]
    if not ref or not hyp:
        return []
    pairs = []
    for chunk in jiwer.process_words(" ".join(ref), " ".join(hyp)).alignments[0]:
        if chunk.type == "equal":
            pairs.extend(zip(range(chunk.ref_start_idx, chunk.ref_end_idx),
                             range(chunk.hyp_start_idx, chunk.hyp_end_idx)))
    return pairs


def utterance_errors(utterances: list[RefUtterance], predicted: Times) -> dict[str, list[float]]:
    """First-word start minus utterance start, and last-word end minus utterance end (s)."""
    out: dict[str, list[float]] = {"start": [], "end": []}
    for u in utterances:
        first, last = predicted[u.first_word], predicted[u.last_word]
        if first is not None:
            out["start"].append(first[0] - u.start)
        if last is not None:
            out["end"].append(last[1] - u.end)
    return out


def rttm_agreement(source: Source, match_s: float = RTTM_MATCH_S) -> dict[str, Any] | None:
    """How far the recording's second human reference (its RTTM speaker turns) puts the same
    edges as the STM: for each STM utterance start (end), the nearest RTTM turn start (end), where
    one lies within ``match_s`` (the two segment the talk differently elsewhere). This is how
    precise hand-placed edges are, the floor under any comparison with them."""
    rttm = sorted(Path(source.audio).parent.glob("*.rttm"))
    if not source.utterances or not rttm:
        return None
    rows = [line.split() for line in rttm[0].read_text(encoding="utf-8").splitlines() if line.strip()]
    starts = np.array([float(row[3]) for row in rows])
    ends = starts + np.array([float(row[4]) for row in rows])
    out: dict[str, list[float]] = {"start": [], "end": []}
    for u in source.utterances:
        for key, edges, time_s in (("start", starts, u.start), ("end", ends, u.end)):
            nearest = edges[np.argmin(np.abs(edges - time_s))]
            if abs(nearest - time_s) <= match_s:
                out[key].append(float(nearest - time_s))
    return {"utterance_starts": summarise(out["start"]), "utterance_ends": summarise(out["end"]),
            "all": summarise(out["start"] + out["end"]), "unmatched": 2 * len(source.utterances) - len(out["start"]) - len(out["end"])}


def overlap_regions(spans: list[tuple[str, float, float]]) -> list[tuple[float, float]]:
    """Where two speakers' pieces or utterances overlap in time."""
    ordered = sorted(spans, key=lambda x: x[1])
    regions = []
    for k, (speaker, start, end) in enumerate(ordered):
        for other, a, b in ordered[k + 1:]:
            if a >= end:
                break
            if other != speaker and min(end, b) > a:
                regions.append((a, min(end, b)))
    return regions


def near_overlap(words: list[RefWord], regions: list[tuple[float, float]],
                 margin_s: float = OVERLAP_MARGIN_S) -> list[bool]:
    """For each reference word: is any of its known true edges within ``margin_s`` of overlapping talk?"""
    out = []
    for w in words:
        times = [t for t in (w.start, w.end) if t is not None]
        out.append(any(a - margin_s <= t <= b + margin_s for t in times for a, b in regions))
    return out


def largest_errors(words: list[RefWord], errors: list[EdgeError], times: dict[str, Times], count: int = 8
                   ) -> list[dict[str, Any]]:
    """The output's largest edge errors, with the word's context and every stage's time."""
    out = []
    for e in sorted(errors, key=lambda e: -abs(e.error))[:count]:
        stages = {stage: (None if t[e.word] is None else round(t[e.word][0 if e.side == "start" else 1], 3))
                  for stage, t in times.items()}
        context = " ".join(w.text if k != e.word else f"[{w.text}]"
                           for k, w in enumerate(words[max(0, e.word - 2): e.word + 3], start=max(0, e.word - 2)))
        out.append({"word": e.word, "side": e.side, "truth": round(e.truth, 3), "error_ms": round(e.error * 1000),
                    "speaker": words[e.word].speaker, "context": context, "stages": stages,
                    "truth_kind": "piece edge" if e.exact else "espeak event",
                    "at_silence": e.at_silence})
    return out


def group_summaries(errors: list[EdgeError]) -> dict[str, dict[str, Any]]:
    """Summaries by the kind of true edge (the breakdown table)."""
    groups: dict[str, list[float]] = {}
    for e in errors:
        where = "at a silence" if e.at_silence else "touching words"
        truth = "piece edge" if e.exact else "espeak event"
        groups.setdefault(f"{e.side}s {where}, {truth}", []).append(e.error)
    return {name: summarise(values) for name, values in sorted(groups.items())}


# --------------------------------------------------------------------------- runs

def score_alignment(source: Source, run: Run) -> dict[str, Any]:
    times = asr_sources.alignment_stage_times(run, len(source.words))
    result: dict[str, Any] = {"seconds": round(run.seconds, 1), "refusal": run.refusal, "stages": {}}
    for stage, predicted in times.items():
        if source.utterances:
            utt = utterance_errors(source.utterances, predicted)
            result["stages"][stage] = {"utterance_starts": summarise(utt["start"]),
                                       "utterance_ends": summarise(utt["end"]),
                                       "all": summarise(utt["start"] + utt["end"])}
        else:
            errors = edge_errors(source.words, predicted)
            near = near_overlap(source.words, overlap_regions(source.spans))
            result["stages"][stage] = {"all": summarise([e.error for e in errors]),
                                       "away_from_overlaps": summarise([e.error for e in errors if not near[e.word]]),
                                       "groups": group_summaries(errors)}
            if stage == "output":
                result["largest_errors"] = largest_errors(source.words, errors, times)
    return result


def anchored_pairs(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Matched (reference, hypothesis) pairs with a matched neighbour on either side.

    Where recognition is mostly wrong, the text alignment also pairs a frequent short word with
    another occurrence of it nearby ("the ah and [the] people" with "the office wonderful [the]
    island": 0.6 s apart); its "boundary error" is then a pairing error. A pair whose neighbour
    pair also matches is anchored in correctly recognised context.
    """
    matched = set(pairs)
    return [(i, j) for i, j in pairs if (i - 1, j - 1) in matched or (i + 1, j + 1) in matched]


def score_recognition(source: Source, run: Run) -> dict[str, Any]:
    result: dict[str, Any] = {"seconds": round(run.seconds, 1), "stages": {}}
    reference = [w.text for w in source.words]
    for stage in [stage for stage in ("engine", "realigned", "output") if stage in run.stages]:
        words = sorted(run.stages[stage], key=lambda w: (w[1], w[2]))
        matched = match_words(reference, [w[0] for w in words])
        pairs = [(i, j) for i, j in matched if near_in_time(source.words[i], words[j][1], words[j][2])]
        errors = edge_errors(source.words, [(s, e) for _, s, e in words], pairs)
        anchored = {i for i, _ in anchored_pairs(pairs)}
        near = near_overlap(source.words, overlap_regions(source.spans))
        result["stages"][stage] = {"all": summarise([e.error for e in errors]),
                                   "anchored": summarise([e.error for e in errors if e.word in anchored]),
                                   "away_from_overlaps": summarise([e.error for e in errors if not near[e.word]]),
                                   "groups": group_summaries(errors),
                                   "matched_words": len(pairs), "far_matches_dropped": len(matched) - len(pairs),
                                   "reference_words": len(reference), "hypothesis_words": len(words)}
    return result


def filled_spans(words: list[RefWord]) -> list[tuple[float, float] | None]:
    """Every reference word's (start, end), with the edges the reference lacks (espeak reports
    some word pairs as one) shared out by letters between the known edges around them (a run's
    end is the next word's start), within one speaker's consecutive words; None where no known
    edge bounds a word."""
    spans: list[tuple[float, float] | None] = [None] * len(words)
    index = 0
    while index < len(words):
        if words[index].start is None:
            index += 1
            continue
        last = index  # the run index..last: inner edges unknown, last's end known
        while words[last].end is None and last + 1 < len(words) and words[last + 1].start is None \
                and words[last + 1].speaker == words[index].speaker:
            last += 1
        run_end = words[last].end
        if run_end is None and last + 1 < len(words) and words[last + 1].speaker == words[index].speaker:
            run_end = words[last + 1].start  # the run, reported as one, ends where the next word starts
        if run_end is None:
            index = last + 1
            continue
        letters = np.cumsum([0] + [max(len(words[k].text), 1) for k in range(index, last + 1)])
        edges = words[index].start + (run_end - words[index].start) * letters / letters[-1]
        for k in range(index, last + 1):
            spans[k] = (float(edges[k - index]), float(edges[k - index + 1]))
        index = last + 1
    return spans


def score_imitation(source: Source, seed: int = 0) -> dict[str, Any]:
    """Whisper-like words and times, then re-timed by forced alignment as the default profile does
    (``align_words``) once the diarisation has given each word its speaker (here the true
    speakers stand in for it): both scored against the truth.

    Whisper decodes one stream of text: every word of the conversation, in its order (a backchannel
    after the turn it was said over), with start times that never go back. Each edge is the true
    one (for edges the reference lacks, :func:`filled_spans`) off by ``IMITATION_SD_S``, and a
    phrase's last word ends up to ``IMITATION_FINAL_CUT_S`` early.
    """
    from undertone.audio import load
    from undertone.transcribe import Recognition, RecognizedWord
    from undertone.transcribe.realign import align_recognised_words

    rng = np.random.default_rng(seed)
    spans = filled_spans(source.words)
    placed = [i for i, span in enumerate(spans) if span is not None]
    coarse: list[RecognizedWord] = []
    for position, index in enumerate(placed):
        true_start, true_end = spans[index]
        start = max(true_start + rng.normal(0.0, IMITATION_SD_S), coarse[-1].start + 0.01 if coarse else 0.0)
        end = true_end + rng.normal(0.0, IMITATION_SD_S)
        following = spans[placed[position + 1]] if position + 1 < len(placed) else None
        if following is None or following[0] - true_end >= IMITATION_PHRASE_GAP_S:
            end -= IMITATION_FINAL_CUT_S * rng.random()
        coarse.append(RecognizedWord(source.words[index].text, start, max(end, start + 0.05)))
    samples = load(source.audio).mono  # at the pipeline's rate, whatever the file's
    speakers = [source.words[index].speaker for index in placed]
    started = time.perf_counter()
    realigned = align_recognised_words(samples, Recognition(coarse, "imitation", "-", "en"), speakers).words
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"seconds": round(seconds, 1), "stages": {}, "words": len(coarse)}
    near = near_overlap(source.words, overlap_regions(source.spans))
    for stage, words in (("coarse", coarse), ("realigned", realigned)):
        predicted: Times = [None] * len(source.words)
        for index, word in zip(placed, words):  # re-timing keeps the order (starts never go back)
            predicted[index] = (word.start, word.end)
        errors = edge_errors(source.words, predicted)
        result["stages"][stage] = {"all": summarise([e.error for e in errors]),
                                   "away_from_overlaps": summarise([e.error for e in errors if not near[e.word]])}
    return result


def load_sources(quick: bool, build_full: bool, log=print) -> list[Source]:
    sources: list[Source] = []
    with tempfile.TemporaryDirectory() as tmp:
        sources.append(asr_sources.sample_interview(Path(tmp)))
    sources.extend(asr_sources.marks_corpus_sources(quick, build_full, log=log))
    try:
        sources.append(asr_sources.stm_source(asr_sources.pyannote_sample_dir()))
    except FileNotFoundError as error:
        log(f"pyannote.audio sample skipped: {error}")
    log(shared_data_status())
    return sources


def shared_data_status() -> str:
    if not SHARED_DATA.is_dir():
        return f"{SHARED_DATA} skipped: not present on this machine"
    found = sorted(p.relative_to(SHARED_DATA).as_posix() for p in SHARED_DATA.rglob("*")
                   if p.suffix.lower() in {".stm", ".textgrid", ".ctm"})
    if found:
        return f"{SHARED_DATA}: word/utterance references found but not read by this benchmark: {found}"
    return (f"{SHARED_DATA} skipped: no word or utterance times there (AMI: speaker turns without "
            "text; FDA: laryngograph F0 without word times)")


# --------------------------------------------------------------------------- report

def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.0f}" if signed else f"{value:.0f}"


def print_main_table(results: dict[str, dict[str, Any]]) -> None:
    head = (f"{'condition':24s} {'mode':11s} {'stage':24s} {'n':>5s} {'median':>7s} {'p90':>6s} "
            f"{'bias':>6s} {'>250':>5s}  verdict (median <= {TARGET_MEDIAN_MS:.0f} ms, p90 <= {TARGET_P90_MS:.0f} ms)")
    print(head)
    print("-" * len(head))
    for name, modes in results.items():
        for mode, scored in modes.items():
            if mode not in STAGE_LABELS:
                continue
            for stage, figures in scored["stages"].items():
                s = figures["all"]
                label = STAGE_LABELS[mode][stage]
                if mode == "recognition":
                    label += f" ({figures['matched_words']}/{figures['reference_words']})"
                judged = verdict(s) if stage in ("output", "realigned") else ""
                print(f"{name:24s} {mode:11s} {label:24s} {s['n']:5d} {_fmt(s['median_abs_ms']):>7s} "
                      f"{_fmt(s['p90_abs_ms']):>6s} {_fmt(s['mean_signed_ms'], True):>6s} {s['gross']:5d}  {judged}")
                anchored = figures.get("anchored")
                if anchored and stage in ("output", "realigned"):
                    print(f"{'':24s} {'':11s} {'  anchored pairs only':24s} {anchored['n']:5d} "
                          f"{_fmt(anchored['median_abs_ms']):>7s} {_fmt(anchored['p90_abs_ms']):>6s} "
                          f"{_fmt(anchored['mean_signed_ms'], True):>6s} {anchored['gross']:5d}  {verdict(anchored)}")
                away = figures.get("away_from_overlaps")
                if stage in ("output", "realigned") and away and away["n"] < s["n"]:
                    print(f"{'':24s} {'':11s} {'  >1 s from overlaps':24s} {away['n']:5d} "
                          f"{_fmt(away['median_abs_ms']):>7s} {_fmt(away['p90_abs_ms']):>6s} "
                          f"{_fmt(away['mean_signed_ms'], True):>6s} {away['gross']:5d}  {verdict(away)}")


def print_breakdown(results: dict[str, dict[str, Any]]) -> None:
    print("\nBreakdown by true edge, alignment mode: output (and the decoded aligner times), ms")
    head = f"{'condition':24s} {'true edge':44s} {'n':>5s} {'median':>7s} {'p90':>6s} {'bias':>6s}   decoded: median/p90/bias"
    print(head)
    print("-" * len(head))
    for name, modes in results.items():
        scored = modes.get("alignment")
        if not scored or "groups" not in scored["stages"]["output"]:
            continue
        baseline = scored["stages"].get("decoder", {}).get("groups", {})
        for group, s in scored["stages"]["output"]["groups"].items():
            b = baseline.get(group)
            base = "" if b is None else (f"{_fmt(b['median_abs_ms'])}/{_fmt(b['p90_abs_ms'])}/"
                                         f"{_fmt(b['mean_signed_ms'], True)}")
            print(f"{name:24s} {group:44s} {s['n']:5d} {_fmt(s['median_abs_ms']):>7s} {_fmt(s['p90_abs_ms']):>6s} "
                  f"{_fmt(s['mean_signed_ms'], True):>6s}   {base}")


def print_largest(results: dict[str, dict[str, Any]]) -> None:
    print("\nLargest output errors, alignment mode (word in brackets; times at each stage, s)")
    for name, modes in results.items():
        rows = modes.get("alignment", {}).get("largest_errors")
        if not rows:
            continue
        print(f"{name}:")
        for r in rows:
            stages = ", ".join(f"{STAGE_LABELS['alignment'][k]} {v}" for k, v in r["stages"].items())
            print(f"  {r['error_ms']:+6d} ms {r['side']:5s} {r['speaker']}: {r['context']:40s} truth {r['truth']:.3f} "
                  f"({r['truth_kind']}{', at a silence' if r['at_silence'] else ''}); {stages}")


def print_utterance_table(results: dict[str, dict[str, Any]]) -> None:
    rows = [(name, modes["alignment"]) for name, modes in results.items()
            if "alignment" in modes and "utterance_starts" in modes["alignment"]["stages"]["output"]]
    if not rows:
        return
    print("\nUtterance edges against hand-placed STM times (first word start, last word end), alignment mode, ms")
    head = f"{'condition':24s} {'stage':24s} {'edges':14s} {'n':>5s} {'median':>7s} {'p90':>6s} {'bias':>6s}"
    print(head)
    print("-" * len(head))
    for name, scored in rows:
        for stage, figures in scored["stages"].items():
            for key, label in (("utterance_starts", "starts"), ("utterance_ends", "ends"), ("all", "all")):
                s = figures[key]
                print(f"{name:24s} {STAGE_LABELS['alignment'][stage]:24s} {label:14s} {s['n']:5d} "
                      f"{_fmt(s['median_abs_ms']):>7s} {_fmt(s['p90_abs_ms']):>6s} {_fmt(s['mean_signed_ms'], True):>6s}")
        agreement = results[name].get("rttm_vs_stm")
        if agreement:
            s = agreement["all"]
            print(f"{name:24s} {'RTTM turns (2nd human)':24s} {'all':14s} {s['n']:5d} "
                  f"{_fmt(s['median_abs_ms']):>7s} {_fmt(s['p90_abs_ms']):>6s} {_fmt(s['mean_signed_ms'], True):>6s}"
                  f"  (baseline: the recording's two references; {agreement['unmatched']} edges more than "
                  f"{RTTM_MATCH_S} s apart not counted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the ~1 minute marks corpus instead of the ~9 minute one")
    parser.add_argument("--build-full", action="store_true", help="build the full marks corpus if it is not cached")
    parser.add_argument("--no-recognition", action="store_true", help="alignment mode only")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args()

    started = time.perf_counter()
    sources = load_sources(args.quick, args.build_full)
    results: dict[str, dict[str, Any]] = {}
    notes: dict[str, list[str]] = {}
    for source in sources:
        notes[source.name] = source.notes
        results[source.name] = {}
        agreement = rttm_agreement(source)
        if agreement:
            results[source.name]["rttm_vs_stm"] = agreement
        run = asr_sources.run(source, "alignment")
        results[source.name]["alignment"] = score_alignment(source, run)
        print(f"{source.name}: alignment took {run.seconds:.1f} s" + (f"; aligner refusal: {run.refusal}" if run.refusal else ""),
              flush=True)
        if not args.no_recognition and not source.utterances:
            run = asr_sources.run(source, "recognition")
            results[source.name]["recognition"] = score_recognition(source, run)
            print(f"{source.name}: recognition took {run.seconds:.1f} s", flush=True)
        if not source.utterances:
            results[source.name]["imitation"] = score_imitation(source)
            print(f"{source.name}: imitated Whisper times re-timed in {results[source.name]['imitation']['seconds']} s",
                  flush=True)
    print()
    for name, lines in notes.items():
        for line in lines:
            print(f"[{name}] {line}")
    print()
    print_main_table(results)
    print_breakdown(results)
    print_largest(results)
    print_utterance_table(results)
    total = time.perf_counter() - started
    print(f"\nbenchmark took {total:.0f} s")
    if args.json:
        payload = {"targets_ms": {"median_abs": TARGET_MEDIAN_MS, "p90_abs": TARGET_P90_MS},
                   "results": results, "notes": notes, "seconds": round(total, 1)}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
