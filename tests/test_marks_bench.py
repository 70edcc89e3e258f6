"""The marks benchmark (bench/marks.py, bench/marks_corpus.py): scoring on hand-made cases, and
(slow) a tiny synthetic corpus whose truth is checked against its own audio."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import marks  # noqa: E402
import marks_corpus  # noqa: E402


def silence(start: float, end: float, kind: str = "pause") -> dict:
    return {"start": start, "end": end, "duration": round(end - start, 3), "kind": kind}


def annotation(kind: str, first: int, last: int, start: float = 0.0) -> dict:
    return {"kind": kind, "start": start, "end": start, "first_word": first, "last_word": last,
            "value": 0.0, "unit": ""}


# --------------------------------------------------------------------------- silences

def test_one_miss_and_one_false_positive_give_exact_recall_and_precision():
    truth = [silence(1.0, 1.5), silence(3.0, 3.15), silence(5.0, 6.0)]
    predicted = [silence(1.02, 1.48, "pause"), silence(5.0, 6.05, "pause"), silence(8.0, 8.2, "pause")]
    s = marks.score_silences(truth, predicted, classify=True)
    assert (s["n_found"], s["n_predicted"], s["false_positives"]) == (2, 3, 1)
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["first_misses"] == [{"start": 3.0, "end": 3.15, "duration": 0.15}]
    assert s["first_false_positives"][0]["start"] == 8.0
    errors = s["duration_error_ms"]
    assert errors["mae"] == pytest.approx(45.0)  # -40 ms and +50 ms
    assert errors["mean_signed"] == pytest.approx(5.0)
    assert s["class_agreement"] == 1.0


def test_micropause_against_timed_pause_disagreement_is_counted():
    truth = [silence(1.0, 1.15), silence(2.0, 2.6)]
    predicted = [silence(1.0, 1.21, "pause"), silence(2.0, 2.6, "pause")]
    s = marks.score_silences(truth, predicted, classify=True)
    assert s["class_agreement"] == 0.5
    assert s["class_confusion"] == {"micropause->pause": 1, "pause->pause": 1}


def test_a_prediction_counts_against_the_truth_it_overlaps_most():
    truth = [silence(1.0, 2.0)]
    predicted = [silence(0.9, 1.05), silence(1.1, 1.95)]  # a split pause: both overlap it
    s = marks.score_silences(truth, predicted)
    assert s["recall"] == 1.0 and s["precision"] == 1.0
    assert s["duration_error_ms"]["mae"] == pytest.approx(150.0)


def test_empty_inputs_do_not_divide_by_zero():
    s = marks.score_silences([], [])
    assert s["recall"] is None and s["precision"] is None and s["duration_error_ms"]["n"] == 0


# --------------------------------------------------------------------------- marks by words

def test_marks_match_by_shared_words_one_to_one():
    truth = [{"kind": "loud", "word_range": [2, 4], "words": ["a", "b", "c"], "start": 1.0},
             {"kind": "emphasis", "word_range": [10, 10], "words": ["d"], "start": 5.0}]
    predicted = [annotation("loud", 3, 5), annotation("loud", 20, 21), annotation("quiet", 2, 4)]
    mapping = list(range(30))
    s = marks.score_marks(truth, predicted, mapping, kinds=("loud", "quiet", "emphasis"))
    assert (s["loud"]["tp"], s["loud"]["fp"], s["loud"]["fn"]) == (1, 1, 0)
    assert s["loud"]["precision"] == 0.5 and s["loud"]["recall"] == 1.0
    assert s["loud"]["f1"] == pytest.approx(2 / 3)
    assert s["loud"]["mean_jaccard"] == pytest.approx(2 / 4)  # words 3-4 shared, 2-5 in either
    assert s["quiet"]["fp"] == 1 and s["quiet"]["fp_on_other_truth"] == 1 and s["quiet"]["recall"] is None
    assert s["emphasis"]["recall"] == 0.0 and s["emphasis"]["precision"] is None
    assert s["emphasis"]["first_misses"][0]["words"] == "d"


def test_a_stretch_reported_in_two_pieces_is_one_hit_and_one_fragment():
    truth = [{"kind": "loud", "word_range": [0, 2], "words": ["not", "at", "all"], "start": 0.7}]
    predicted = [annotation("loud", 0, 0), annotation("loud", 2, 2)]
    s = marks.score_marks(truth, predicted, list(range(5)), kinds=("loud",))["loud"]
    assert (s["tp"], s["fp"], s["fragments"]) == (1, 1, 1)


def test_each_truth_takes_its_best_prediction():
    truth = [(0, 3), (5, 6)]
    predicted = [(3, 5), (0, 2)]
    pairs = marks.match_ranges(truth, predicted)
    assert sorted((i, j) for i, j, _ in pairs) == [(0, 1), (1, 0)]


def test_jaccard_of_word_ranges():
    assert marks.jaccard((0, 3), (2, 5)) == pytest.approx(2 / 6)
    assert marks.jaccard((0, 1), (2, 3)) == 0.0
    assert marks.jaccard((4, 4), (4, 4)) == 1.0


# --------------------------------------------------------------------------- word mapping

def doc_of(words: list[tuple[str, str]]) -> dict:
    return {"speakers": [{"id": "S1", "label": "I"}, {"id": "S2", "label": "P"}],
            "words": [{"i": i, "text": t, "speaker": {"I": "S1", "P": "S2"}[s]} for i, (s, t) in enumerate(words)]}


def test_identical_word_sequences_map_one_to_one():
    reference = marks.transcript_words("I: Hello there.\nP: Yes, hello?\n")
    mapping, info = marks.map_words(doc_of([("I", "Hello"), ("I", "there"), ("P", "Yes"), ("P", "hello")]), reference)
    assert mapping == [0, 1, 2, 3] and info["identical_order"]


def test_a_backchannel_aligned_inside_the_other_turn_maps_by_speaker_order():
    reference = marks.transcript_words("P: we went home\nI: yeah\nP: and then\n")
    # The aligner put "yeah" (word 3 of the transcript) before "home".
    out = [("P", "we"), ("P", "went"), ("I", "yeah"), ("P", "home"), ("P", "and"), ("P", "then")]
    mapping, info = marks.map_words(doc_of(out), reference)
    assert mapping == [0, 1, 3, 2, 4, 5]
    assert not info["identical_order"] and info["mapped"] == 6 and info["moved"] == 2
    assert marks.mapped_range(2, 3, mapping) == (2, 3)


# --------------------------------------------------------------------------- intonation, latches, overlaps

def test_intonation_accuracy_and_confusion():
    units = [{"label": "rise", "last_word": 4}, {"label": "fall", "last_word": 9},
             {"label": "level", "last_word": 14, "overlapped": True}, {"label": "fall", "last_word": 19}]
    predicted = [annotation("rise", 4, 4), annotation("rise", 9, 9), annotation("level", 14, 14),
                 annotation("fall", 7, 7)]  # not at a unit end: ignored
    s = marks.score_intonation(units, predicted, list(range(25)))
    assert s["accuracy"] == 0.5
    assert s["rise_fall_accuracy"] == pytest.approx(1 / 3)
    assert s["confusion"]["fall"] == {"rise": 1, "fall": 0, "level": 0, "none": 1}
    assert s["not_overlapped"]["n"] == 3


def test_latch_found_within_tolerance_only():
    latches = [{"start": 10.0, "end": 10.02}, {"start": 20.0, "end": 20.03}]
    predicted = [annotation("latch", 1, 2, start=10.1), annotation("latch", 5, 6, start=20.5)]
    s = marks.score_latches(latches, predicted)
    assert (s["tp"], s["fp"], s["fn"]) == (1, 1, 1)


def test_overlaps_by_time():
    truth = [{"start": 1.0, "end": 1.3}, {"start": 5.0, "end": 5.4}]
    predicted = [{"start": 1.2, "end": 1.5}, {"start": 9.0, "end": 9.2}]
    s = marks.score_overlaps(truth, predicted)
    assert s["recall"] == 0.5 and s["precision"] == 0.5


# --------------------------------------------------------------------------- STM

STM = """sample 1 A 1.0 2.0 Hello?
sample 1 B 2.5 3.0 Hi.
sample 1 B 3.05 4.0 How are you?
sample 1 A 3.9 5.0 Fine, thanks.
"""


def test_stm_becomes_a_transcript_and_silences():
    rows = marks.parse_stm(STM)
    assert marks.stm_transcript(rows) == "A: Hello?\nB: Hi. How are you?\nA: Fine, thanks.\n"
    silences = marks.stm_silences(rows)
    assert [(s["kind"], s["duration"]) for s in silences] == [("gap", 0.5), ("pause", 0.05), ("gap", -0.1)]


def test_pyannote_sample_scoring_on_a_made_up_output():
    rows = marks.parse_stm(STM)
    doc = {"pauses": [silence(2.05, 2.45, "gap"), silence(1.4, 1.6, "micropause")]}
    s = marks.score_pyannote_sample(doc, rows, 0.1)
    assert (s["stm_silences_at_least_min"], s["found"], s["kind_agrees"]) == (1, 1, 1)
    assert s["duration_error_ms"]["mae"] == pytest.approx(100.0)
    assert len(s["reported_inside_stm_utterances"]) == 1


# --------------------------------------------------------------------------- corpus helpers

def test_tokens_strip_punctuation_like_the_transcript_reader():
    assert marks_corpus.tokens("so the garden was lovely?") == ["so", "the", "garden", "was", "lovely"]
    assert marks_corpus.tokens("that's right,") == ["that's", "right"]


def test_longest_run_and_silence_check():
    assert marks_corpus.longest_run(np.array([0, 1, 1, 0, 1, 1, 1, 0], dtype=bool)) == 3
    assert marks_corpus.longest_run(np.zeros(4, dtype=bool)) == 0
    tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(8000) / 16000)
    params = marks_corpus.CorpusParams()
    assert marks_corpus.silence_check(tone, params) is None
    gapped = tone.copy()
    gapped[3000:3000 + 1400] = 0.0  # 87.5 ms of digital silence inside
    assert marks_corpus.silence_check(gapped, params) == "internal silence"
    dipped = tone.copy()
    dipped[3000:3000 + 1400] *= 0.01  # -40 dB for 87.5 ms: above the trim threshold, still a gap
    assert marks_corpus.silence_check(dipped, params) == "near silence"


# --------------------------------------------------------------------------- a tiny corpus (slow)

@pytest.mark.slow
def test_tiny_corpus_truth_matches_its_audio(tmp_path):
    import soundfile as sf

    params = marks_corpus.CorpusParams(name="test", per_kind=1, seed=3)
    corpus = marks_corpus.load_corpus(params, cache_dir=tmp_path, log=lambda *_: None)
    truth = corpus.truth
    clean, rate = sf.read(corpus.clean, dtype="float64")
    noisy, _ = sf.read(corpus.noisy, dtype="float64")
    assert rate == marks_corpus.SR and len(clean) == len(noisy)
    assert len(clean) / rate == pytest.approx(truth["duration"], abs=0.001)

    counts = truth["stats"]["counts"]
    for kind in marks_corpus.MARK_KINDS:
        assert counts[kind] == 1
    assert counts["latch"] >= 1 and counts["overlap"] >= 1 and counts["micropause"] >= 1

    # The transcript's words are the truth's words, in the order the indices say.
    words = marks.transcript_words(corpus.transcript.read_text(encoding="utf-8"))
    assert len(words) == counts["words"]
    for mark in truth["marks"]:
        a, b = mark["word_range"]
        assert [w for _, w in words[a:b + 1]] == mark["words"]
        assert all(spk == mark["speaker"] for spk, _ in words[a:b + 1])
    for unit in truth["units"]:
        assert words[unit["last_word"]][1] == unit["text"].split()[-1].strip(".,?")

    # Planned silences are digital zero, bounded by sound, and within their planned ranges.
    p = truth["params"]
    for pause in truth["pauses"]:
        a, b = round(pause["start"] * rate), round(pause["end"] * rate)
        assert not np.any(clean[a + 8: b - 8]), pause
        assert np.any(clean[a - 40: a]) and np.any(clean[b: b + 40])
        low, high = p["micropause_s"] if pause["kind"] == "micropause" else p["pause_s"]
        assert low - 0.001 <= pause["duration"] <= high + 0.001
    for gap in truth["gaps"]:
        assert gap["duration"] < 0.05 or p["gap_s"][0] - 0.001 <= gap["duration"] <= p["gap_s"][1] + 0.001
        a, b = round(gap["start"] * rate), round(gap["end"] * rate)
        assert not np.any(clean[a + 8: b - 8])
    for overlap in truth["overlaps"]:
        assert p["overlap_s"][0] - 0.001 <= overlap["end"] - overlap["start"] <= p["overlap_s"][1] + 0.001
    assert all(g["duration"] < 0.05 for g in truth["latches"])
    # The noisy condition is the same timeline, with no digital silence left.
    lead_in = round(0.4 * rate)
    assert not np.any(clean[:lead_in]) and np.count_nonzero(noisy[:lead_in]) > 0.9 * lead_in

    # Each piece in the mix is its re-synthesised audio times its gain times one global scale.
    utterances = truth["utterances"]
    pcm_scale = None
    gains = []
    for u in utterances:
        if u["style"] in ("backchannel",) or any(
                o["start"] < u["end"] and o["end"] > u["start"] for o in truth["overlaps"]):
            continue  # pieces under an overlap are mixed with the other voice
        audio = marks_corpus.resynthesise(u, tmp_path)
        segment = clean[u["start_sample"]:u["end_sample"]]
        assert len(audio) == len(segment), u["text"]
        k = float(np.dot(segment, audio) / np.dot(audio, audio))  # least-squares scale
        residual = np.sqrt(np.mean((segment - k * audio) ** 2)) / np.sqrt(np.mean(segment ** 2))
        assert residual < 0.01, u["text"]  # int16 rounding only
        gain = 10 ** (u["synth"]["gain_db"] / 20)
        pcm_scale = pcm_scale or k / gain
        gains.append((u["style"], 20 * math.log10(k / pcm_scale), u["synth"]["gain_db"]))
    for style, measured, stated in gains:
        assert measured == pytest.approx(stated, abs=0.05), style
    assert {"loud", "quiet", "emphasis"} <= {style for style, _, _ in gains}

    # Unit ends show their label on the mixed audio too (same samples, so the same F0).
    for unit in truth["units"]:
        if unit["overlapped"]:
            continue
        a, b = round(unit["tail_start"] * rate), round(unit["end"] * rate)
        movement, _ = marks_corpus.final_movement_st(clean[a:b], unit["speaker"])
        assert movement == pytest.approx(unit["final_movement_st"], abs=0.3)
