"""The ASR benchmarks (bench/boundaries.py, bench/wer.py, bench/asr_sources.py): scoring and
ground-truth functions on hand-made cases with known answers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import asr_sources  # noqa: E402
import boundaries  # noqa: E402
import wer  # noqa: E402
from asr_sources import RefUtterance, RefWord, Run, Source  # noqa: E402

# --------------------------------------------------------------------------- boundary scoring


def test_summary_gives_median_p90_and_bias_in_ms():
    s = boundaries.summarise([0.010, -0.020, 0.030, 0.100, -0.300])
    assert s["n"] == 5
    assert s["gross"] == 1  # |error| over 250 ms
    s = boundaries.summarise([0.010, -0.020, 0.030, 0.100])
    assert s["median_abs_ms"] == pytest.approx(25.0)
    assert s["p90_abs_ms"] == pytest.approx(79.0)  # linear interpolation between 30 and 100
    assert s["mean_signed_ms"] == pytest.approx(30.0)
    assert boundaries.summarise([])["median_abs_ms"] is None


def test_verdict_names_the_missed_target():
    summary = {"n": 10, "median_abs_ms": 30.0, "p90_abs_ms": 80.0, "mean_signed_ms": 0.0}
    assert boundaries.verdict(summary) == "meets"
    assert boundaries.verdict({**summary, "p90_abs_ms": 80.5}) == "MISSES p90"
    assert boundaries.verdict({**summary, "median_abs_ms": 31.0, "p90_abs_ms": 200.0}) == "MISSES median and p90"
    assert boundaries.verdict({"n": 0, "median_abs_ms": None, "p90_abs_ms": None, "mean_signed_ms": None}) == "-"


def _words() -> list[RefWord]:
    # "one two" spliced, a 0.5 s silence, then "three" (whose end is unknown).
    return [
        RefWord("one", "P", 1.00, 1.30, start_exact=True),
        RefWord("two", "P", 1.30, 1.60, end_exact=True),
        RefWord("three", "P", 2.10, None, start_exact=True),
    ]


def test_edge_errors_are_signed_and_know_their_kind_of_truth():
    predicted = [(1.02, 1.25), (1.25, 1.70), (2.05, 2.40)]
    errors = boundaries.edge_errors(_words(), predicted)
    got = [(e.word, e.side, round(e.error * 1000), e.exact, e.at_silence) for e in errors]
    assert got == [
        (0, "start", 20, True, True),  # nothing before the first word
        (0, "end", -50, False, False),  # touches "two"
        (1, "start", -50, False, False),
        (1, "end", 100, True, True),  # 0.5 s of silence follows
        (2, "start", -50, True, True),  # the unknown end is skipped
    ]


def test_edge_errors_follow_the_given_pairs_and_skip_missing_predictions():
    errors = boundaries.edge_errors(_words(), [None, (1.40, 1.60)], pairs=[(0, 0), (1, 1)])
    assert [(e.word, e.side, round(e.error * 1000)) for e in errors] == [(1, "start", 100), (1, "end", 0)]


def test_recognised_words_match_by_text_alignment():
    reference = ["The", "cat", "sat", "on", "the", "mat."]
    hypothesis = ["the", "bat", "sat", "on", "mat"]
    assert boundaries.match_words(reference, hypothesis) == [(0, 0), (2, 2), (3, 3), (5, 4)]
    assert boundaries.match_words(reference, []) == []


def test_only_pairs_with_a_matched_neighbour_are_anchored():
    pairs = [(0, 0), (1, 1), (4, 3), (7, 6), (8, 7), (10, 12)]
    assert boundaries.anchored_pairs(pairs) == [(0, 0), (1, 1), (7, 6), (8, 7)]
    assert boundaries.anchored_pairs([(3, 3)]) == []


def test_a_text_match_far_from_the_reference_word_is_not_the_same_word():
    word = RefWord("the", "P", 10.0, 10.2)
    assert boundaries.near_in_time(word, 10.9, 11.1)
    assert not boundaries.near_in_time(word, 11.3, 11.5)
    assert not boundaries.near_in_time(word, 8.5, 8.9)
    assert boundaries.near_in_time(RefWord("the", "P"), 50.0, 50.2)  # no truth: cannot tell


def test_utterance_errors_use_first_start_and_last_end():
    utterances = [RefUtterance("A", 1.0, 2.0, 0, 1, "a b"), RefUtterance("B", 3.0, 4.0, 2, 2, "c")]
    predicted = [(1.1, 1.4), (1.5, 1.9), None]
    errors = boundaries.utterance_errors(utterances, predicted)
    assert errors["start"] == pytest.approx([0.1])
    assert errors["end"] == pytest.approx([-0.1])


def test_the_second_human_reference_is_compared_edge_by_edge_where_it_segments_alike(tmp_path, capsys):
    """The RTTM baseline row: nearest RTTM start/end to each STM start/end, within 0.5 s."""
    (tmp_path / "call.wav").write_bytes(b"")
    (tmp_path / "call.rttm").write_text(
        "SPEAKER call 1 1.10 0.80 <NA> <NA> A <NA> <NA>\n"  # 1.10-1.90
        "SPEAKER call 1 3.00 2.00 <NA> <NA> B <NA> <NA>\n"  # 3.00-5.00
    )
    utterances = [RefUtterance("A", 1.0, 2.0, 0, 0, "hello"), RefUtterance("B", 3.05, 4.0, 1, 1, "yes")]
    source = Source("call", tmp_path / "call.wav", "", [RefWord("hello", "A"), RefWord("yes", "B")], utterances)
    agreement = boundaries.rttm_agreement(source)
    # starts: 1.10 vs 1.0 (+100 ms), 3.00 vs 3.05 (-50 ms); ends: 1.90 vs 2.0 (-100 ms); 4.0 has
    # no RTTM end within 0.5 s (5.00): a different segmentation, not counted
    assert agreement["unmatched"] == 1
    assert agreement["all"]["n"] == 3
    assert agreement["all"]["median_abs_ms"] == pytest.approx(100.0)
    assert agreement["utterance_starts"]["mean_signed_ms"] == pytest.approx(25.0)
    assert boundaries.rttm_agreement(Source("x", tmp_path / "none" / "x.wav", "", [], utterances)) is None

    results = {"call": {"rttm_vs_stm": agreement, "alignment": {"stages": {"output": {
        "utterance_starts": agreement["utterance_starts"], "utterance_ends": agreement["utterance_ends"],
        "all": agreement["all"]}}}}}
    boundaries.print_main_table(results)
    boundaries.print_utterance_table(results)
    assert "RTTM turns (2nd human)" in capsys.readouterr().out


def test_breakdown_groups_by_side_context_and_truth():
    errors = boundaries.edge_errors(_words(), [(1.02, 1.25), (1.25, 1.70), (2.05, 2.40)])
    groups = boundaries.group_summaries(errors)
    assert groups["starts at a silence, piece edge"]["n"] == 2
    assert groups["starts at a silence, piece edge"]["mean_signed_ms"] == pytest.approx(-15.0)
    assert groups["ends at a silence, piece edge"]["n"] == 1
    assert groups["starts touching words, espeak event"]["median_abs_ms"] == pytest.approx(50.0)
    assert len(groups) == 4


def test_edges_near_overlapping_talk_are_found():
    spans = [("I", 0.0, 5.0), ("P", 4.5, 5.5), ("I", 6.0, 9.0), ("P", 12.0, 14.0)]
    assert boundaries.overlap_regions(spans) == [(4.5, 5.0)]
    words = [RefWord("a", "I", 1.0, 3.4), RefWord("b", "I", 3.6, None), RefWord("yeah", "P", 4.5, 5.5),
             RefWord("c", "I", 7.0, 8.0), RefWord("d", "P", None, None)]
    assert boundaries.near_overlap(words, [(4.5, 5.0)]) == [False, True, True, False, False]


# --------------------------------------------------------------------------- word truth inside a piece

RATE = 1000  # one sample per ms keeps the hand-made case readable


def _piece_audio() -> np.ndarray:
    audio = np.zeros(1000)
    audio[100:300] = 0.5  # "aaa bbb", audible from sample 100
    audio[520:800] = 0.5  # "ccc" after a pause; its word event (500) is before its first sound
    return audio


def _events(with_bbb: bool = True) -> list[tuple[int, int, int, bytes]]:
    word, phoneme = asr_sources.ESPEAK_EVENT_WORD, asr_sources.ESPEAK_EVENT_PHONEME
    events = [(word, 90, 1, b""), (phoneme, 95, 1, b"a"), (word, 200, 5, b""), (phoneme, 330, 8, b"_:"),
              (word, 500, 9, b"")]
    return [e for e in events if with_bbb or e[2] != 5]


def test_piece_word_times_from_events_and_the_audible_silence():
    offsets = asr_sources.word_offsets("aaa bbb ccc.")
    assert offsets == [(1, "aaa"), (5, "bbb"), (9, "ccc")]
    times = asr_sources.piece_word_times(_events(), offsets, _piece_audio(), 0.1, RATE)
    # Seconds from the first audible sample (100): the pause is the inaudible run 300-520.
    assert [t for pair in times for t in pair] == pytest.approx([0.0, 0.1, 0.1, 0.2, 0.42, 0.7])


def test_an_unreported_word_leaves_unknown_what_its_event_would_have_told():
    offsets = asr_sources.word_offsets("aaa bbb ccc.")
    times = asr_sources.piece_word_times(_events(with_bbb=False), offsets, _piece_audio(), 0.1, RATE)
    # The pause could lie before or after "bbb": neither side of it is known.
    assert times == [(0.0, None), (None, None), (None, pytest.approx(0.7))]
    events = [e for e in _events(with_bbb=False) if e[3] != b"_:"]  # no pause: ccc starts at its event
    times = asr_sources.piece_word_times(events, offsets, _piece_audio(), 0.1, RATE)
    assert times[2] == pytest.approx((0.4, 0.7))


def test_ssml_tags_are_not_words_but_keep_character_positions():
    assert asr_sources.word_offsets('when it went <prosody pitch="+80%">out?</prosody>') == [
        (1, "when"), (6, "it"), (9, "went"), (36, "out")]


# --------------------------------------------------------------------------- stage mapping


def test_alignment_stages_are_mapped_back_to_transcript_order():
    # The backchannel "yeah" (3rd in the transcript) is aligned inside the first turn, so the
    # output, sorted by time, lists it second; "x" could not be pronounced and "oh" was not
    # placed by the decoder: both keep their final (interpolated) time at the decoder stage.
    engine = [("so", 0.0, 0.5), ("well", 1.0, 1.5), ("yeah", 0.6, 0.9), ("x", 1.5, 1.6), ("oh", 1.6, 1.7)]
    output = [("so", 0.0, 0.48), ("yeah", 0.62, 0.9), ("well", 1.0, 1.5), ("x", 1.5, 1.6), ("oh", 1.6, 1.7)]
    decoder = [("so", 0.0, 0.51), ("well", 0.95, 1.5), ("yeah", 0.6, 0.9), ("oh", None, None)]
    run = Run("alignment", {}, {"engine": engine, "output": output, "decoder": decoder}, 0.0)
    times = asr_sources.alignment_stage_times(run, 5)
    assert times["output"] == [(0.0, 0.48), (1.0, 1.5), (0.62, 0.9), (1.5, 1.6), (1.6, 1.7)]
    assert times["decoder"] == [(0.0, 0.51), (0.95, 1.5), (0.6, 0.9), (1.5, 1.6), (1.6, 1.7)]
    with pytest.raises(RuntimeError):
        asr_sources.alignment_stage_times(run, 6)


# --------------------------------------------------------------------------- WER


def test_wer_counts_errors_after_the_same_normalisation_on_both_sides():
    s = wer.error_rate(["The", "cat", "sat."], ["the", "bat", "sat"])
    assert s["wer"] == pytest.approx(1 / 3)
    assert (s["substitutions"], s["deletions"], s["insertions"], s["hits"]) == (1, 0, 0, 2)
    assert wer.error_rate(["Don't", "go,", "well-known"], ["dont", "go", "well", "known"])["wer"] == 0.0
    assert wer.error_rate(["a", "b"], ["a", "c", "b", "d"])["wer"] == pytest.approx(1.0)  # two insertions


def test_wer_of_nothing_recognised_is_one():
    s = wer.error_rate(["hello", "there"], [])
    assert (s["wer"], s["deletions"], s["reference_words"]) == (1.0, 2, 2)
    assert wer.error_rate([], ["hello"])["wer"] is None


def test_words_are_given_to_the_speaker_talking_then():
    spans = [("I", 0.0, 1.0), ("P", 1.2, 3.0), ("I", 2.8, 3.2)]
    words = [("a", 0.2, 0.4), ("b", 1.12, 1.18), ("c", 2.0, 2.5), ("d", 2.85, 3.15), ("e", 5.0, 5.5)]
    assert wer.attribute_by_time(words, spans) == ["I", "P", "P", "I", "I"]


def _source() -> Source:
    words = [RefWord(t, s) for s, t in [("I", "how"), ("I", "are"), ("I", "you"), ("P", "fine"), ("P", "thanks")]]
    return Source("test", Path("x.wav"), "", words, spans=[("I", 0.0, 1.0), ("P", 1.5, 2.5)])


def _document(words: list[tuple[str, float, float, str]], labels: dict[str, str]) -> dict:
    return {"speakers": [{"id": sid, "label": label} for sid, label in labels.items()],
            "words": [{"text": t, "start": s, "end": e, "speaker": spk} for t, s, e, spk in words]}


def test_recognition_wer_per_speaker_by_time_not_by_diarizer_label():
    # The diarizer put everything on S1; "are" was missed and "thanks" heard as "tanks".
    doc = _document([("how", 0.1, 0.3, "S1"), ("you", 0.5, 0.8, "S1"), ("fine", 1.6, 1.9, "S1"),
                     ("tanks", 2.0, 2.3, "S1")], {"S1": "S1"})
    s = wer.score(_source(), Run("recognition", doc, {}, 1.0))
    assert s["overall"]["wer"] == pytest.approx(2 / 5)
    assert s["per_speaker"]["I"]["wer"] == pytest.approx(1 / 3)
    assert s["per_speaker"]["P"]["wer"] == pytest.approx(1 / 2)


def test_alignment_wer_per_speaker_uses_the_transcript_labels():
    doc = _document([("how", 0.1, 0.3, "S1"), ("are", 0.3, 0.5, "S1"), ("you", 0.5, 0.8, "S1"),
                     ("fine", 1.6, 1.9, "S2"), ("thanks", 2.0, 2.3, "S2")], {"S1": "I", "S2": "P"})
    s = wer.score(_source(), Run("alignment", doc, {}, 1.0))
    assert s["overall"]["wer"] == 0.0
    assert {k: v["wer"] for k, v in s["per_speaker"].items()} == {"I": 0.0, "P": 0.0}


def test_filled_spans_share_a_run_reported_as_one_by_letters():
    """espeak reports "of the" as one event: the imitation still needs both words (Whisper would
    hear both), so their inner edge is shared out by letters, and the run ends where "road" starts."""
    words = [RefWord("bottom", "I", 1.0, 1.6), RefWord("of", "I", 1.6, None), RefWord("the", "I", None, None),
             RefWord("road", "I", 2.1, 2.8), RefWord("yes", "P", None, 3.5), RefWord("mm", "P", 4.0, None)]
    spans = boundaries.filled_spans(words)
    assert spans[0] == (1.0, 1.6) and spans[3] == (2.1, 2.8)
    assert spans[1] == pytest.approx((1.6, 1.6 + 0.5 * 2 / 5)) and spans[2] == pytest.approx((1.8, 2.1))
    assert spans[4] is None and spans[5] is None  # no known edge bounds them
