"""Words to speakers, turns and overlaps."""

from pyannote.core import Annotation, Segment

from undertone.align import (
    assign_speakers,
    find_overlaps,
    group_turns,
    overlaps_from_turns,
    speaker_ids,
)
from undertone.transcribe import RecognizedWord


def _words(*spans: tuple[float, float]) -> list[RecognizedWord]:
    return [RecognizedWord(f"w{i}", start, end) for i, (start, end) in enumerate(spans)]


def _annotation(*turns: tuple[float, float, str]) -> Annotation:
    annotation = Annotation()
    for start, end, label in turns:
        annotation[Segment(start, end)] = label
    return annotation


def test_word_goes_to_the_speaker_covering_most_of_it():
    diarization = _annotation((0.0, 1.0, "SPEAKER_07"), (0.9, 2.0, "SPEAKER_02"))
    words = _words((0.1, 0.5), (0.8, 1.3), (1.5, 1.9))
    assert assign_speakers(words, diarization) == ["SPEAKER_07", "SPEAKER_02", "SPEAKER_02"]


def test_word_in_a_gap_takes_the_nearest_speaker_or_keeps_the_previous_one():
    diarization = _annotation((0.0, 1.0, "A"), (3.0, 4.0, "B"))
    words = _words((0.2, 0.6), (2.8, 2.95), (1.5, 1.7))
    # 2.8-2.95 is 0.05 s from B; 1.5-1.7 is 0.6 s from A and 1.3 s from B.
    assert assign_speakers(words, diarization) == ["A", "B", "A"]
    far = _words((0.2, 0.6), (10.0, 10.5))
    assert assign_speakers(far, diarization) == ["A", "A"]


def test_ids_follow_first_appearance_not_engine_labels():
    assert speaker_ids(["SPEAKER_03", None, "SPEAKER_00", "SPEAKER_03"]) == {"SPEAKER_03": "S1", "SPEAKER_00": "S2"}


def test_turns_split_at_speaker_changes():
    words = _words((0, 1), (1, 2), (2, 3), (3, 4))
    turns = group_turns(words, ["S1", "S1", "S2", "S1"])
    assert [(t.speaker, t.first_word, t.last_word, t.start, t.end) for t in turns] == [
        ("S1", 0, 1, 0, 2), ("S2", 2, 2, 2, 3), ("S1", 3, 3, 3, 4),
    ]


def test_overlaps_from_diarization_ignore_jitter_and_unknown_speakers():
    diarization = _annotation((0.0, 2.0, "A"), (1.5, 3.0, "B"), (2.95, 4.0, "A"), (3.5, 3.8, "NOISE"))
    overlaps = find_overlaps(diarization, {"A": "S1", "B": "S2"})
    assert [(o.start, o.end, o.speakers) for o in overlaps] == [(1.5, 2.0, ("S1", "S2"))]


def test_overlaps_from_turns_that_run_into_each_other():
    words = _words((0.0, 2.0), (1.6, 2.2), (2.3, 3.0))
    turns = group_turns(words, ["S1", "S2", "S1"])
    assert [(o.start, o.end, o.speakers) for o in overlaps_from_turns(turns)] == [(1.6, 2.0, ("S1", "S2"))]


def test_an_overlap_split_by_a_backchannel_starting_before_the_last_word_is_one_overlap():
    """Words are ordered by start: a backchannel that starts before the other speaker's last
    word splits that turn in two, and the two touching pieces (here 0.08 s and 0.4 s, the first
    alone too short to count) are one overlap."""
    words = _words((0.0, 1.0), (0.92, 1.4), (1.0, 1.3), (2.0, 2.5))
    turns = group_turns(words, ["S1", "S2", "S1", "S1"])
    overlaps = overlaps_from_turns(turns)
    assert [(o.start, o.end, o.speakers) for o in overlaps] == [(0.92, 1.4, ("S1", "S2"))]


def test_a_backchannel_inside_the_other_speakers_turn_goes_to_its_speaker_by_the_exclusive_view():
    """pyannote.audio 4 gives an overlap-aware and an exclusive (one speaker at a time) view; words
    are attributed with the exclusive one, which gives the overlapped stretch to the speaker who
    starts talking there rather than to the long turn that covers it."""
    from undertone.diarize import Diarization
    from undertone.pipeline import _speaker_of_each_word

    overlapping = _annotation((0.0, 4.0, "I"), (1.9, 2.3, "P"))
    exclusive = _annotation((0.0, 1.9, "I"), (1.9, 2.3, "P"), (2.3, 4.0, "I"))
    words = _words((0.2, 0.8), (1.0, 1.8), (1.95, 2.25), (2.5, 3.5))  # "yeah" at 1.95-2.25
    both = Diarization(annotation=overlapping, backend="pyannote", model=None, exclusive=exclusive)
    speakers, label_to_id = _speaker_of_each_word(words, both)
    assert speakers == ["S1", "S1", "S2", "S1"] and label_to_id == {"I": "S1", "P": "S2"}
    without = Diarization(annotation=overlapping, backend="embedded", model=None)
    assert _speaker_of_each_word(words, without)[0] == ["S1"] * 4
