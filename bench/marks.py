"""Accuracy of undertone's pauses, gaps, latches, overlaps and prosodic marks.

Run from the repository root::

    uv run python bench/marks.py                 # full corpus (~9 min of audio), clean + noisy
    uv run python bench/marks.py --quick         # ~1 minute corpus, for fast iteration
    uv run python bench/marks.py --json out.json # also write every figure as JSON
    uv run python bench/marks.py --keep DIR      # also keep the two output documents

Run time on a 2-core machine: about 6 minutes for the full corpus (building it once, ~35 s;
``process_file`` ~100 s per condition, twice that when the aligner refuses the transcript and
the run is repeated), about 40 s with ``--quick``.

Data
----
1. A synthetic two-person interview with exact ground truth, built (and cached) by
   ``bench/marks_corpus.py`` - see its docstring for how every pause, gap, latch, overlap and
   mark is made and verified. Two conditions with the same truth: *clean* (digital silence
   between pieces) and *noisy* (light reverb, RT60 0.3 s at +10 dB DRR, then speech-shaped
   noise at 20 dB SNR re the active speech level).
2. The real two-person phone call in the pyannote.audio wheel (``sample/sample.wav`` with
   ``sample.stm``): the STM utterances (speaker, start, end, text) become a known transcript
   and the silences between consecutive utterances are compared with the measured gaps and
   pauses. Beside each, two cross-checks: how much of it the wheel's RTTM (a second hand
   annotation) covers with speech, and the silence in the signal itself (longest run of 10 ms
   frames within 15 dB of the noise floor, within 0.2 s of the STM silence). STM utterance times are placed by hand, to a few tens of milliseconds at best and
   with inconsistent conventions about breath and trailing sounds, so these figures say whether
   the right silences are found and roughly how long they are - not millisecond accuracy, for
   which only the synthetic truth is exact. Silences inside an STM utterance are not in the STM
   at all; the ones undertone reports there are listed, not counted as errors.

Every run uses ``process_file`` with the known transcript (words force-aligned, speakers from
the transcript), the ``offline`` profile and ``render.notation = "jefferson"`` so every mark is
produced. If the aligner refuses the transcript as not matching the audio (it is correct by
construction), the refusal is reported and the run repeated with that guard relaxed. Scoring reads only the output JSON contract (``/work/shared/contract.md``): ``words``,
``speakers``, ``pauses``, ``overlaps`` and ``annotations``.

Scoring
-------
* Word indices: the output's words are mapped onto the transcript's words by order within each
  speaker (the speakers' ``label`` is the transcript's label); a backchannel aligned inside the
  other speaker's turn changes the global order but not the per-speaker order. The mapping is
  verified (same text) and reported.
* Pauses (within a turn): a truth pause is found by a predicted ``pause`` or ``micropause``
  overlapping it in time; a predicted one overlapping no truth pause is a false positive (the
  first few are listed with times). Duration error is predicted minus true duration of the
  best-overlapping prediction; micropause (< 0.2 s) vs timed agreement is checked on found ones.
* Gaps: the same with predicted ``gap`` against truth gaps of >= 0.05 s (latches excluded);
  durations also split into gaps after an overlapping backchannel (the aligner cannot place
  overlapping words, which shows up here) and gaps between main turns.
* Latches: a truth latch (speaker change with gap < 0.05 s) is found by an annotation of kind
  ``latch`` within +-0.15 s of it; each prediction matches at most one truth.
* Marks (loud, quiet, fast, slow, pitch_up, pitch_down, emphasis, elongation): matched by words -
  an annotation's first_word..last_word against the truth word range; a pair is a true positive
  when they share at least one word; pairs are taken best word-Jaccard first, each truth and
  each prediction at most once. For stretch marks the mean Jaccard of matched pairs is shown.
* Final intonation: for every truth unit end, the annotation of kind rise/fall/level whose
  last_word is the unit's last word ("none" if there is none); accuracy over all units, the
  confusion matrix, and the accuracy over units whose truth is rise or fall. Units whose end is
  overlapped by the other speaker's backchannel are included (also shown separately).
* Overlaps: a truth overlap is found by a predicted ``overlaps`` entry overlapping it in time;
  precision likewise.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import itertools
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for path in (REPO / "src", REPO / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import marks_corpus  # noqa: E402

MARK_KINDS = marks_corpus.MARK_KINDS
STRETCH_KINDS = ("loud", "quiet", "fast", "slow")
INTONATION = ("rise", "fall", "level")
LATCH_TOLERANCE_S = 0.15
MICROPAUSE_BELOW_S = 0.2  # Jefferson: (.) under two tenths of a second, timed from 0.2 s
LATCH_BELOW_S = 0.05
SETTINGS_OVERRIDES = {"render": {"notation": "jefferson"}}

# (label, path into the scores, target, higher is better, format)
TARGETS: list[tuple[str, tuple[str, ...], float | None, bool, str]] = [
    ("pauses recall", ("pauses", "recall"), 0.98, True, "{:.3f}"),
    ("pauses precision", ("pauses", "precision"), 0.95, True, "{:.3f}"),
    ("pause duration MAE ms", ("pauses", "duration_error_ms", "mae"), 30.0, False, "{:.0f}"),
    ("pause duration median |err| ms", ("pauses", "duration_error_ms", "median_abs"), None, False, "{:.0f}"),
    ("pause duration p90 |err| ms", ("pauses", "duration_error_ms", "p90_abs"), None, False, "{:.0f}"),
    ("pause duration bias ms", ("pauses", "duration_error_ms", "mean_signed"), None, False, "{:+.0f}"),
    ("micropause/timed agreement", ("pauses", "class_agreement"), None, True, "{:.3f}"),
    ("gaps recall", ("gaps", "recall"), 0.98, True, "{:.3f}"),
    ("gaps precision", ("gaps", "precision"), 0.95, True, "{:.3f}"),
    ("gap duration MAE ms", ("gaps", "duration_error_ms", "mae"), 30.0, False, "{:.0f}"),
    ("gap duration median |err| ms", ("gaps", "duration_error_ms", "median_abs"), None, False, "{:.0f}"),
    ("gap duration p90 |err| ms", ("gaps", "duration_error_ms", "p90_abs"), None, False, "{:.0f}"),
    ("gap duration bias ms", ("gaps", "duration_error_ms", "mean_signed"), None, False, "{:+.0f}"),
    ("  gaps after a backchannel: MAE", ("gaps_after_backchannel", "duration_error_ms", "mae"), None, False, "{:.0f}"),
    ("  other gaps: MAE", ("gaps_between_main_turns", "duration_error_ms", "mae"), None, False, "{:.0f}"),
    ("latch F1", ("latch", "f1"), None, True, "{:.3f}"),
    ("overlaps recall", ("overlaps", "recall"), None, True, "{:.3f}"),
    ("overlaps precision", ("overlaps", "precision"), None, True, "{:.3f}"),
    ("loud F1", ("marks", "loud", "f1"), 0.8, True, "{:.3f}"),
    ("quiet F1", ("marks", "quiet", "f1"), 0.8, True, "{:.3f}"),
    ("fast F1", ("marks", "fast", "f1"), 0.8, True, "{:.3f}"),
    ("slow F1", ("marks", "slow", "f1"), 0.8, True, "{:.3f}"),
    ("pitch_up F1", ("marks", "pitch_up", "f1"), None, True, "{:.3f}"),
    ("pitch_down F1", ("marks", "pitch_down", "f1"), None, True, "{:.3f}"),
    ("emphasis F1", ("marks", "emphasis", "f1"), 0.7, True, "{:.3f}"),
    ("elongation F1", ("marks", "elongation", "f1"), None, True, "{:.3f}"),
    ("intonation accuracy", ("intonation", "accuracy"), None, True, "{:.3f}"),
    ("rise/fall accuracy", ("intonation", "rise_fall_accuracy"), 0.90, True, "{:.3f}"),
    ("  units not under a backchannel", ("intonation", "not_overlapped", "rise_fall_accuracy"), None, True, "{:.3f}"),
]


# --------------------------------------------------------------------------- word mapping

def normalise(word: str) -> str:
    return re.sub(r"[^\w'-]", "", word.lower())


def transcript_words(transcript_text: str) -> list[tuple[str, str]]:
    """(speaker label, word) for every word of a known transcript, in file order."""
    out = []
    for line in transcript_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        speaker, text = line.split(":", 1)
        out.extend((speaker.strip(), w) for w in marks_corpus.tokens(text))
    return out


def map_words(doc: dict[str, Any], reference: list[tuple[str, str]]) -> tuple[list[int | None], dict[str, Any]]:
    """For each output word, the index of the same word in the reference transcript (or None).

    Identical sequences map one to one. Otherwise words are matched by order within each
    speaker (by the speakers' labels), with difflib for any text differences.
    """
    labels = {s["id"]: s.get("label") or s["id"] for s in doc.get("speakers", [])}
    out_words = [(labels.get(w["speaker"], w["speaker"]), normalise(w["text"])) for w in doc["words"]]
    ref_words = [(spk, normalise(w)) for spk, w in reference]
    info: dict[str, Any] = {"reference_words": len(ref_words), "output_words": len(out_words)}
    if [w for _, w in out_words] == [w for _, w in ref_words]:
        info.update(identical_order=True, mapped=len(out_words), moved=0)
        return list(range(len(out_words))), info
    mapping: list[int | None] = [None] * len(out_words)
    for speaker in dict.fromkeys(spk for spk, _ in ref_words):
        ref_idx = [i for i, (spk, _) in enumerate(ref_words) if spk == speaker]
        out_idx = [i for i, (spk, _) in enumerate(out_words) if spk == speaker]
        matcher = difflib.SequenceMatcher(a=[out_words[i][1] for i in out_idx],
                                          b=[ref_words[i][1] for i in ref_idx], autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                mapping[out_idx[block.a + k]] = ref_idx[block.b + k]
    mapped = sum(m is not None for m in mapping)
    moved = sum(1 for i, m in enumerate(mapping) if m is not None and m != i)
    info.update(identical_order=False, mapped=mapped, moved=moved)
    return mapping, info


def mapped_range(first: int, last: int, mapping: list[int | None]) -> tuple[int, int] | None:
    """The reference word range covered by output words first..last."""
    idx = [mapping[i] for i in range(max(first, 0), min(last, len(mapping) - 1) + 1) if mapping[i] is not None]
    return (min(idx), max(idx)) if idx else None


# --------------------------------------------------------------------------- silences

def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def error_stats(errors_s: list[float]) -> dict[str, float | None]:
    if not errors_s:
        return {"n": 0, "mae": None, "median_abs": None, "p90_abs": None, "mean_signed": None}
    e = np.array(errors_s) * 1000.0
    return {"n": len(e), "mae": float(np.mean(np.abs(e))), "median_abs": float(np.median(np.abs(e))),
            "p90_abs": float(np.percentile(np.abs(e), 90)), "mean_signed": float(np.mean(e))}


def score_silences(truth: list[dict], predicted: list[dict], words: list[dict] | None = None,
                   classify: bool = False, show: int = 8) -> dict[str, Any]:
    """Recall, precision and duration error of predicted silences against truth silences.

    Both are lists of ``{start, end, duration[, kind]}``. A truth silence is found when a
    prediction overlaps it in time (the best-overlapping one gives the duration error); a
    prediction overlapping no truth silence is a false positive.
    """
    errors, found, agree, n_class = [], 0, 0, 0
    misses, confusion = [], {}
    used = set()
    for t in truth:
        hits = [(_overlap(t["start"], t["end"], p["start"], p["end"]), j) for j, p in enumerate(predicted)]
        hits = [(ov, j) for ov, j in hits if ov > 0]
        if not hits:
            misses.append({"start": t["start"], "end": t["end"], "duration": t["duration"]})
            continue
        found += 1
        _, j = max(hits)
        used.update(j for _, j in hits)
        p = predicted[j]
        errors.append(p["duration"] - t["duration"])
        if classify:
            truth_kind = "micropause" if t["duration"] < MICROPAUSE_BELOW_S else "pause"
            key = f"{truth_kind}->{p.get('kind')}"
            confusion[key] = confusion.get(key, 0) + 1
            n_class += 1
            agree += truth_kind == p.get("kind")
    false_pos = []
    for j, p in enumerate(predicted):
        if j not in used and not any(_overlap(t["start"], t["end"], p["start"], p["end"]) > 0 for t in truth):
            false_pos.append(p)
    n_pred = len(predicted)
    result: dict[str, Any] = {
        "n_truth": len(truth), "n_found": found, "n_predicted": n_pred,
        "recall": found / len(truth) if truth else None,
        "precision": (n_pred - len(false_pos)) / n_pred if n_pred else None,
        "false_positives": len(false_pos),
        "duration_error_ms": error_stats(errors),
        "first_misses": misses[:show],
        "first_false_positives": [_describe_silence(p, words) for p in false_pos[:show]],
        "false_positive_list": [{k: p.get(k) for k in ("start", "end", "duration", "kind")} for p in false_pos],
    }
    if classify:
        result["class_agreement"] = agree / n_class if n_class else None
        result["class_confusion"] = confusion
    return result


def _describe_silence(p: dict, words: list[dict] | None) -> dict[str, Any]:
    out = {k: p.get(k) for k in ("start", "end", "duration", "kind")}
    if words is not None and p.get("after_word") is not None and p.get("before_word") is not None:
        out["between"] = f"{words[p['after_word']]['text']} | {words[p['before_word']]['text']}"
    return out


def cross_kind(truth: list[dict], predicted: list[dict]) -> int:
    """How many predictions overlap a truth silence of the *other* kind (pause vs gap)."""
    return sum(any(_overlap(t["start"], t["end"], p["start"], p["end"]) > 0 for t in truth) for p in predicted)


# --------------------------------------------------------------------------- events

def prf(tp: int, n_truth: int, n_pred: int) -> dict[str, Any]:
    precision = tp / n_pred if n_pred else None
    recall = tp / n_truth if n_truth else None
    f1 = (2 * tp / (n_truth + n_pred)) if (n_truth + n_pred) else None
    return {"n_truth": n_truth, "n_predicted": n_pred, "tp": tp, "fp": n_pred - tp, "fn": n_truth - tp,
            "precision": precision, "recall": recall, "f1": f1}


def jaccard(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def match_ranges(truth: list[tuple[int, int]], pred: list[tuple[int, int]]) -> list[tuple[int, int, float]]:
    """One-to-one pairs (truth i, prediction j, Jaccard) of word ranges sharing a word, best first."""
    pairs = sorted(((jaccard(t, p), i, j) for i, t in enumerate(truth) for j, p in enumerate(pred)
                    if jaccard(t, p) > 0), reverse=True)
    used_t, used_p, out = set(), set(), []
    for score, i, j in pairs:
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            out.append((i, j, score))
    return out


def score_marks(truth_marks: list[dict], annotations: list[dict], mapping: list[int | None],
                kinds: tuple[str, ...] = MARK_KINDS, words: list[dict] | None = None,
                show: int = 5) -> dict[str, dict[str, Any]]:
    """Precision, recall, F1 per mark kind, matching by words.

    Besides the counts: ``fragments`` = false positives sharing a word with a truth mark of the
    same kind that another prediction already matched (one stretch reported in pieces), and
    ``fp_on_other_truth`` = false positives whose words carry a truth mark of another kind.
    """
    out = {}
    for kind in kinds:
        truth = [tuple(m["word_range"]) for m in truth_marks if m["kind"] == kind]
        pred_raw = [a for a in annotations if a["kind"] == kind]
        ranges = [mapped_range(a["first_word"], a["last_word"], mapping) for a in pred_raw]
        usable = [j for j, r in enumerate(ranges) if r]
        pairs = match_ranges(truth, [ranges[j] for j in usable])
        result = prf(len(pairs), len(truth), len(pred_raw))
        result["mean_jaccard"] = float(np.mean([s for _, _, s in pairs])) if pairs else None
        matched_t = {i for i, _, _ in pairs}
        matched_p = {usable[j] for _, j, _ in pairs}
        result["first_misses"] = [truth_marks_of(truth_marks, kind)[i] for i in range(len(truth))
                                  if i not in matched_t][:show]
        false_pos = [j for j in range(len(pred_raw)) if j not in matched_p]
        result["fragments"] = sum(1 for j in false_pos if ranges[j] and any(jaccard(truth[i], ranges[j]) > 0 for i in matched_t))
        others = [tuple(m["word_range"]) for m in truth_marks if m["kind"] != kind]
        result["fp_on_other_truth"] = sum(1 for j in false_pos if ranges[j] and any(jaccard(o, ranges[j]) > 0 for o in others))
        result["first_false_positives"] = [
            {"start": pred_raw[j]["start"], "value": pred_raw[j].get("value"),
             "words": " ".join(w["text"] for w in words[pred_raw[j]["first_word"]:pred_raw[j]["last_word"] + 1])
             if words else None} for j in false_pos[:show]]
        out[kind] = result
    return out


def truth_marks_of(truth_marks: list[dict], kind: str) -> list[dict]:
    return [{"words": " ".join(m["words"]), "start": m["start"], "word_range": m["word_range"]}
            for m in truth_marks if m["kind"] == kind]


def score_intonation(units: list[dict], annotations: list[dict], mapping: list[int | None]) -> dict[str, Any]:
    """Accuracy and confusion of the final intonation of truth units."""
    by_last: dict[int, str] = {}
    for a in annotations:
        if a["kind"] in INTONATION:
            r = mapped_range(a["last_word"], a["last_word"], mapping)
            if r:
                by_last[r[1]] = a["kind"]
    columns = (*INTONATION, "none")

    def tally(selected: list[dict]) -> dict[str, Any]:
        confusion = {t: {p: 0 for p in columns} for t in INTONATION}
        for u in selected:
            confusion[u["label"]][by_last.get(u["last_word"], "none")] += 1
        n = len(selected)
        correct = sum(confusion[t][t] for t in INTONATION)
        rf_n = sum(sum(confusion[t].values()) for t in ("rise", "fall"))
        rf_ok = confusion["rise"]["rise"] + confusion["fall"]["fall"]
        return {"n": n, "accuracy": correct / n if n else None,
                "rise_fall_accuracy": rf_ok / rf_n if rf_n else None, "confusion": confusion}

    result = tally(units)
    result["not_overlapped"] = tally([u for u in units if not u.get("overlapped")])
    result["n_predicted"] = sum(a["kind"] in INTONATION for a in annotations)
    return result


def score_latches(latches: list[dict], annotations: list[dict]) -> dict[str, Any]:
    """Truth latches found by a ``latch`` annotation within LATCH_TOLERANCE_S."""
    pred = [a for a in annotations if a["kind"] == "latch"]
    pairs = sorted((max(0.0, p["start"] - t["end"], t["start"] - p["end"]), i, j)
                   for i, t in enumerate(latches) for j, p in enumerate(pred))
    used_t, used_p = set(), set()
    for dist, i, j in pairs:
        if dist <= LATCH_TOLERANCE_S and i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
    return prf(len(used_t), len(latches), len(pred))


def score_overlaps(truth: list[dict], predicted: list[dict]) -> dict[str, Any]:
    found = sum(any(_overlap(t["start"], t["end"], p["start"], p["end"]) > 0 for p in predicted) for t in truth)
    good = sum(any(_overlap(t["start"], t["end"], p["start"], p["end"]) > 0 for t in truth) for p in predicted)
    return {"n_truth": len(truth), "n_predicted": len(predicted), "n_found": found,
            "recall": found / len(truth) if truth else None,
            "precision": good / len(predicted) if predicted else None}


def score_document(doc: dict[str, Any], truth: dict[str, Any], transcript_text: str) -> dict[str, Any]:
    """Every figure for one output document against the corpus truth."""
    mapping, map_info = map_words(doc, transcript_words(transcript_text))
    pauses_pred = [p for p in doc["pauses"] if p["kind"] in ("pause", "micropause")]
    gaps_pred = [p for p in doc["pauses"] if p["kind"] == "gap"]
    truth_gaps = [g for g in truth["gaps"] if g["duration"] >= LATCH_BELOW_S]
    annotations = doc.get("annotations", [])
    places = [("at a truth latch", truth["latches"]), ("at a truth gap", truth["gaps"]),
              ("at a truth pause", truth["pauses"]), ("in a truth overlap", truth["overlaps"]),
              ("in a quiet stretch", [m for m in truth["marks"] if m["kind"] == "quiet"])]
    scores = {
        "word_mapping": map_info,
        "pauses": score_silences(truth["pauses"], pauses_pred, doc["words"], classify=True),
        "gaps": score_silences(truth_gaps, gaps_pred, doc["words"]),
        # The same, split: the gap after an overlapping backchannel, and the other gaps.
        "gaps_after_backchannel": score_silences([g for g in truth_gaps if g.get("after_backchannel")], gaps_pred),
        "gaps_between_main_turns": score_silences([g for g in truth_gaps if not g.get("after_backchannel")], gaps_pred),
        "pauses_reported_at_truth_gaps": cross_kind(truth["gaps"], pauses_pred),
        "gaps_reported_at_truth_pauses": cross_kind(truth["pauses"], gaps_pred),
        "latch": score_latches(truth["latches"], annotations),
        "overlaps": score_overlaps(truth["overlaps"], doc.get("overlaps", [])),
        "marks": score_marks(truth["marks"], annotations, mapping, words=doc["words"]),
        "intonation": score_intonation(truth["units"], annotations, mapping),
        "annotation_counts": {k: sum(a["kind"] == k for a in annotations)
                              for k in sorted({a["kind"] for a in annotations})},
    }
    for key in ("gaps_after_backchannel", "gaps_between_main_turns"):  # recall and durations only
        scores[key].update(precision=None, false_positives=None, first_false_positives=[], false_positive_list=[])
    for key in ("pauses", "gaps"):
        for fp in scores[key]["first_false_positives"]:
            fp["where"] = [label for label, spans in places if any(
                _overlap(x["start"] - 0.05, x["end"] + 0.05, fp["start"], fp["end"]) > 0 for x in spans)]
        scores[key]["false_positives_where"] = {
            label: sum(any(_overlap(x["start"] - 0.05, x["end"] + 0.05, p["start"], p["end"]) > 0 for x in spans)
                       for p in scores[key]["false_positive_list"])
            for label, spans in places}
    return scores


# --------------------------------------------------------------------------- running the pipeline

RELAXED_GUARD = -1e9


def process_despite_refusal(audio: Path, settings: Any, transcript: Path | None) -> tuple[Any, str | None]:
    """``process_file``'s result, and the aligner's refusal if it refused the transcript.

    The aligner refuses a transcript that "fits the sound poorly" (a log-likelihood guard against
    the wrong transcript). The benchmarks' transcripts are correct by construction, so on a
    refusal the message is kept for the report and the run is repeated with that guard relaxed
    (a module constant patched for the duration of the run, nothing in ``src/`` is edited).
    """
    from undertone.errors import TranscriptFileError
    from undertone.pipeline import process_file
    from undertone.transcribe import sphinx

    try:
        return process_file(audio, settings, transcript), None
    except TranscriptFileError as error:
        refusal = str(error)
    saved = sphinx.MISMATCH_LLR_PER_FRAME
    sphinx.MISMATCH_LLR_PER_FRAME = RELAXED_GUARD
    try:
        return process_file(audio, settings, transcript), refusal
    finally:
        sphinx.MISMATCH_LLR_PER_FRAME = saved


def run_pipeline(audio: Path, transcript: Path) -> tuple[dict[str, Any], float, str | None]:
    """The output JSON of ``process_file`` with the known transcript, its run time, and the
    aligner's refusal if it refused (see :func:`process_despite_refusal`)."""
    from undertone.config import load_settings

    settings = load_settings("offline", overrides=SETTINGS_OVERRIDES)
    started = time.perf_counter()
    result, refusal = process_despite_refusal(audio, settings, transcript)
    # process_file returns the Transcript model, or an Analysis holding it (with frame tracks).
    doc = getattr(result, "transcript", result).to_json_dict()
    return doc, time.perf_counter() - started, refusal


# --------------------------------------------------------------------------- pyannote sample

def pyannote_sample_dir() -> Path:
    """The pyannote.audio wheel's sample folder, found without importing torch."""
    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pyannote.audio is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "sample"


def parse_stm(text: str) -> list[dict[str, Any]]:
    """STM lines ``uri channel speaker start end text`` as dicts, sorted by start."""
    rows = []
    for line in text.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) < 5 or line.startswith(";;"):
            continue
        rows.append({"speaker": parts[2], "start": float(parts[3]), "end": float(parts[4]),
                     "text": parts[5] if len(parts) > 5 else ""})
    return sorted(rows, key=lambda r: r["start"])


def stm_transcript(rows: list[dict[str, Any]]) -> str:
    """A known transcript: consecutive utterances of one speaker make one turn (line)."""
    lines: list[tuple[str, list[str]]] = []
    for row in rows:
        if lines and lines[-1][0] == row["speaker"]:
            lines[-1][1].append(row["text"])
        else:
            lines.append((row["speaker"], [row["text"]]))
    return "".join(f"{spk}: {' '.join(texts)}\n" for spk, texts in lines)


def stm_silences(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The silence between each utterance and the next (negative = overlap), pause or gap."""
    out = []
    for a, b in itertools.pairwise(rows):
        out.append({"start": a["end"], "end": b["start"], "duration": round(b["start"] - a["end"], 3),
                    "kind": "pause" if a["speaker"] == b["speaker"] else "gap",
                    "between": f"{a['speaker']} | {b['speaker']}"})
    return out


def parse_rttm(text: str) -> list[tuple[float, float]]:
    """Speech turns (start, end) of an RTTM file, any speaker."""
    spans = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0] == "SPEAKER":
            start = float(parts[3])
            spans.append((start, start + float(parts[4])))
    return spans


ENERGY_SILENCE_ABOVE_FLOOR_DB = 15.0
ENERGY_SEARCH_S = 0.2


def energy_silence(samples: np.ndarray, rate: int, start: float, end: float) -> dict[str, float] | None:
    """The longest run of 10 ms frames within 15 dB of the recording's noise floor (5th
    percentile of frame levels) inside [start - 0.2 s, end + 0.2 s]: a plain-signal reference."""
    hop = rate // 100
    n = len(samples) // hop
    db = 10 * np.log10(np.mean(samples[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    threshold = np.percentile(db, 5) + ENERGY_SILENCE_ABOVE_FLOOR_DB
    a = max(0, int((start - ENERGY_SEARCH_S) * 100))
    b = min(n, int(np.ceil((end + ENERGY_SEARCH_S) * 100)))
    quiet = np.concatenate(([0], (db[a:b] < threshold).astype(np.int8), [0]))
    edges = np.diff(quiet)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) == 0:
        return None
    k = int(np.argmax(ends - starts))
    return {"start": (a + starts[k]) / 100, "end": (a + ends[k]) / 100, "duration": (ends[k] - starts[k]) / 100}


def score_pyannote_sample(doc: dict[str, Any], rows: list[dict[str, Any]], min_silence_s: float,
                          rttm: list[tuple[float, float]] | None = None,
                          audio: tuple[np.ndarray, int] | None = None) -> dict[str, Any]:
    """Measured silences against the silences between STM utterances.

    Two cross-checks per STM silence: the share of it that the wheel's RTTM (a second hand
    annotation) covers with speech, and the silence found in the signal itself
    (:func:`energy_silence`).
    """
    silences = stm_silences(rows)
    if audio is not None:
        for s in silences:
            s["energy_silence"] = energy_silence(audio[0], audio[1], s["start"], s["end"])
    if rttm is not None:
        for s in silences:
            length = s["end"] - s["start"]
            covered = sum(max(0.0, _overlap(s["start"], s["end"], a, b)) for a, b in rttm)
            s["rttm_speech_share"] = round(min(1.0, covered / length), 2) if length > 0 else None
    expected = [s for s in silences if s["duration"] >= min_silence_s]
    below = [s for s in silences if s["duration"] < min_silence_s]
    predicted = doc["pauses"]
    rows_out, errors = [], []
    for s in expected:
        hits = [p for p in predicted if _overlap(s["start"], s["end"], p["start"], p["end"]) > 0]
        best = max(hits, key=lambda p: _overlap(s["start"], s["end"], p["start"], p["end"])) if hits else None
        if best:
            errors.append(best["duration"] - s["duration"])
        rows_out.append({**s, "measured": None if best is None else
                         {k: best[k] for k in ("start", "end", "duration", "kind")}})
    # Predictions at STM boundaries shorter than the micropause threshold, and inside utterances.
    at_short = []
    for s in below:
        near = [p for p in predicted if p["start"] <= s["end"] + 0.1 and p["end"] >= s["start"] - 0.1]
        at_short.extend({**{k: p[k] for k in ("start", "end", "duration", "kind")},
                         "stm_silence": s["duration"], "between": s["between"],
                         "energy_silence": s.get("energy_silence")} for p in near)
    inside = []
    for p in predicted:
        in_utt = any(r["start"] + 0.05 < p["start"] and p["end"] < r["end"] - 0.05 for r in rows)
        if in_utt:
            inside.append({k: p[k] for k in ("start", "end", "duration", "kind")})
    signal_errors = [r["measured"]["duration"] - r["energy_silence"]["duration"] for r in rows_out
                     if r["measured"] is not None and r.get("energy_silence")]
    found = sum(r["measured"] is not None for r in rows_out)
    kind_ok = sum(r["measured"] is not None and (r["measured"]["kind"] == "gap") == (r["kind"] == "gap")
                  for r in rows_out)
    return {"stm_utterances": len(rows), "stm_silences": len(silences),
            "stm_silences_at_least_min": len(expected), "min_silence_s": min_silence_s,
            "found": found, "kind_agrees": kind_ok, "duration_error_ms": error_stats(errors),
            "duration_error_vs_signal_ms": error_stats(signal_errors),
            "silences": rows_out, "reported_at_shorter_stm_boundaries": at_short,
            "reported_inside_stm_utterances": inside,
            "predicted_pauses": sum(p["kind"] != "gap" for p in predicted),
            "predicted_gaps": sum(p["kind"] == "gap" for p in predicted)}


def pyannote_sample() -> dict[str, Any]:
    from undertone.config import load_settings

    folder = pyannote_sample_dir()
    import soundfile

    rows = parse_stm((folder / "sample.stm").read_text(encoding="utf-8"))
    samples, rate = soundfile.read(folder / "sample.wav", dtype="float64")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    rttm_path = folder / "sample.rttm"
    rttm = parse_rttm(rttm_path.read_text(encoding="utf-8")) if rttm_path.is_file() else None
    with tempfile.TemporaryDirectory() as tmp:
        transcript = Path(tmp) / "sample.transcript.txt"
        transcript.write_text(stm_transcript(rows), encoding="utf-8")
        doc, seconds, refusal = run_pipeline(folder / "sample.wav", transcript)
    min_silence = load_settings("offline", overrides=SETTINGS_OVERRIDES).pauses.micropause_min_s
    result = score_pyannote_sample(doc, rows, min_silence, rttm, (samples, rate))
    result["seconds"] = round(seconds, 1)
    result["aligner_refusal"] = refusal
    return result


# --------------------------------------------------------------------------- report

def _get(scores: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(scores, dict) or key not in scores:
            return None
        scores = scores[key]
    return scores


def print_table(results: dict[str, dict[str, Any]]) -> None:
    conditions = list(results)
    head = f"{'metric':32s} {'target':>8s} " + " ".join(f"{c:>9s}" for c in conditions) + "  verdict"
    print(head)
    print("-" * len(head))
    for label, path, target, higher, fmt in TARGETS:
        values = [_get(results[c], path) for c in conditions]
        cells = " ".join(f"{fmt.format(v) if v is not None else '-':>9s}" for v in values)
        if target is None:
            tgt, verdict = "", ""
        else:
            tgt = ("≥ " if higher else "≤ ") + fmt.format(target).lstrip("+")
            ok = [v is not None and (v >= target if higher else v <= target) for v in values]
            verdict = "meets" if all(ok) else "MISSES (" + ", ".join(c for c, k in zip(conditions, ok) if not k) + ")"
        print(f"{label:32s} {tgt:>8s} {cells}  {verdict}")


def print_details(name: str, scores: dict[str, Any]) -> None:
    m = scores["word_mapping"]
    print(f"\n[{name}] words: {m['output_words']} output / {m['reference_words']} transcript, "
          f"{m['mapped']} mapped, identical order: {m['identical_order']}, {m['moved']} moved")
    for key in ("pauses", "gaps"):
        s = scores[key]
        print(f"[{name}] {key}: {s['n_found']}/{s['n_truth']} found, {s['n_predicted']} predicted, "
              f"{s['false_positives']} false positives")
        if s.get("class_confusion"):
            print(f"[{name}]   micropause/timed: {s['class_confusion']}")
        for miss in s["first_misses"]:
            print(f"[{name}]   missed {miss['start']:.3f}-{miss['end']:.3f} ({miss['duration']:.3f} s)")
        for fp in s["first_false_positives"]:
            where = f" [{', '.join(fp['where'])}]" if fp.get("where") else ""
            print(f"[{name}]   false positive {fp['start']:.3f}-{fp['end']:.3f} ({fp['duration']:.3f} s, "
                  f"{fp['kind']}) {fp.get('between', '')}{where}")
        if s["false_positives"]:
            print(f"[{name}]   false positives by place: " + ", ".join(
                f"{label} {n}" for label, n in s["false_positives_where"].items() if n) + " (a place may overlap another)")
    print(f"[{name}] pauses reported where the truth has a gap: {scores['pauses_reported_at_truth_gaps']}; "
          f"gaps where it has a pause: {scores['gaps_reported_at_truth_pauses']}")
    o = scores["overlaps"]
    print(f"[{name}] overlaps: {o['n_found']}/{o['n_truth']} found, {o['n_predicted']} predicted")
    print(f"[{name}] annotations produced: {scores['annotation_counts'] or 'none'}")
    for kind, s in scores["marks"].items():
        jac = f", mean Jaccard {s['mean_jaccard']:.2f}" if s["mean_jaccard"] is not None and kind in STRETCH_KINDS else ""
        print(f"[{name}] {kind:10s} tp {s['tp']:3d} fp {s['fp']:3d} fn {s['fn']:3d}{jac}; "
              f"fp that are fragments of a found mark {s['fragments']}, on another kind's truth "
              f"{s['fp_on_other_truth']}")
        if s["first_false_positives"]:
            print(f"[{name}]   e.g. false " + "; ".join(
                f"{fp['start']:.2f} '{fp['words']}' ({fp['value']})" for fp in s["first_false_positives"]))
        if s["first_misses"]:
            print(f"[{name}]   e.g. missed " + "; ".join(f"{m['start']:.2f} '{m['words']}'" for m in s["first_misses"]))
    i = scores["intonation"]
    print(f"[{name}] intonation (rows truth, columns predicted): "
          + "; ".join(f"{t}: " + " ".join(f"{p} {n}" for p, n in row.items()) for t, row in i["confusion"].items()))
    acc = i["not_overlapped"]["accuracy"]
    print(f"[{name}]   units not overlapped by a backchannel: {i['not_overlapped']['n']}, accuracy "
          f"{acc if acc is None else round(acc, 3)}")


def print_pyannote(result: dict[str, Any]) -> None:
    if result.get("aligner_refusal"):
        print(f"\n!! pyannote sample: the aligner refused the STM transcript (re-run with the guard relaxed): "
              f"{result['aligner_refusal']}")
    print(f"\npyannote.audio sample (real phone call, STM hand-placed times): {result['stm_utterances']} "
          f"utterances, {result['stm_silences_at_least_min']} silences >= {result['min_silence_s']} s between "
          f"them; found {result['found']}, kind (pause/gap) agrees {result['kind_agrees']}")
    e = result["duration_error_ms"]
    if e["n"]:
        print(f"  duration error (measured - STM): MAE {e['mae']:.0f} ms, median |err| {e['median_abs']:.0f} ms, "
              f"bias {e['mean_signed']:+.0f} ms")
    e = result["duration_error_vs_signal_ms"]
    if e["n"]:
        print(f"  duration error (measured - silence in the signal): MAE {e['mae']:.0f} ms, "
              f"bias {e['mean_signed']:+.0f} ms over {e['n']}")
    for s in result["silences"]:
        m = s["measured"]
        got = "not found" if m is None else f"{m['kind']} {m['start']:.3f}-{m['end']:.3f} ({m['duration']:.3f} s)"
        rttm = "" if s.get("rttm_speech_share") is None else f"; RTTM: speech over {100 * s['rttm_speech_share']:.0f}% of it"
        e = s.get("energy_silence")
        energy = "" if "energy_silence" not in s else (
            "; signal: no silence" if e is None else f"; signal: silent {e['start']:.2f}-{e['end']:.2f} ({e['duration']:.2f} s)")
        print(f"  STM {s['kind']:5s} {s['start']:.3f}-{s['end']:.3f} ({s['duration']:.3f} s) {s['between']:16s} -> {got}"
              f"  [{(rttm + energy).lstrip('; ')}]")
    for p in result["reported_at_shorter_stm_boundaries"]:
        e = p.get("energy_silence")
        energy = "" if e is None else f"  [signal: silent {e['start']:.2f}-{e['end']:.2f} ({e['duration']:.2f} s)]"
        print(f"  at an STM boundary of {p['stm_silence']:.3f} s ({p['between']}): {p['kind']} "
              f"{p['start']:.3f}-{p['end']:.3f} ({p['duration']:.3f} s){energy}")
    print(f"  silences reported inside STM utterances (no truth): {len(result['reported_inside_stm_utterances'])}"
          + "".join(f"\n    {p['kind']} {p['start']:.3f}-{p['end']:.3f} ({p['duration']:.3f} s)"
                    for p in result["reported_inside_stm_utterances"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~1 minute corpus instead of ~9 minutes")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--no-pyannote", action="store_true", help="skip the pyannote.audio sample")
    parser.add_argument("--keep", type=Path, help="also write each output document here (<condition>.json)")
    args = parser.parse_args()

    started = time.perf_counter()
    params = marks_corpus.QUICK if args.quick else marks_corpus.FULL
    corpus = marks_corpus.load_corpus(params)
    truth = corpus.truth
    transcript_text = corpus.transcript.read_text(encoding="utf-8")
    print(f"corpus {corpus.folder.name}: {truth['duration']:.1f} s; "
          + ", ".join(f"{k} {v}" for k, v in truth["stats"]["counts"].items()))
    results: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    for condition, audio in (("clean", corpus.clean), ("noisy", corpus.noisy)):
        doc, seconds, refusal = run_pipeline(audio, corpus.transcript)
        timings[condition] = round(seconds, 1)
        results[condition] = score_document(doc, truth, transcript_text)
        results[condition]["aligner_refusal"] = refusal
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            (args.keep / f"{condition}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"{condition}: process_file took {seconds:.1f} s ({truth['duration'] / seconds:.1f}x real time)")
        if refusal:
            print(f"  !! the aligner refused the (correct) transcript; re-run with its fit guard relaxed:\n"
                  f"     {refusal}")
    print()
    print_table(results)
    for condition, scores in results.items():
        print_details(condition, scores)
    sample = None
    if not args.no_pyannote:
        try:
            sample = pyannote_sample()
            print_pyannote(sample)
        except FileNotFoundError as error:
            print(f"\npyannote.audio sample skipped: {error}")
    total = time.perf_counter() - started
    print(f"\nbenchmark took {total:.0f} s")
    if args.json:
        payload = {"corpus": {"folder": str(corpus.folder), "duration": truth["duration"],
                              "counts": truth["stats"]["counts"], "params": truth["params"]},
                   "targets": [{"metric": label, "path": list(path), "target": target,
                                "higher_is_better": higher} for label, path, target, higher, _ in TARGETS],
                   "results": results, "pyannote_sample": sample,
                   "seconds": {"pipeline": timings, "total": round(total, 1)}}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
