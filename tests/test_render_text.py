"""The line-numbered transcript: numbering, wrapping, labels, pauses, overlaps."""

import json

import jsonschema
import pytest

from documents import make_transcript
from undertone.config import RenderSettings
from undertone.model import Transcript, json_schema
from undertone.render import render_json
from undertone.render.layout import layout_lines, numbered
from undertone.render.text import render_text

LONG_TURN = ("S2", ("and then I do not sleep very well because I keep thinking about everything "
                    "that I have to do the next morning at work").split())


def _body(text: str) -> list[str]:
    return text.split("-" * 72 + "\n", 1)[1].splitlines()


def test_lines_numbered_from_one_with_labels_pauses_and_gap():
    transcript = make_transcript(
        [("S1", ["how", "are", "you"]), ("S2", ["fine", "thanks"])], pauses={0: 0.15, 1: 0.74}, gaps={2: 1.26}
    )
    body = _body(render_text(transcript, RenderSettings()))
    assert body == [
        "    1  I:   how (.) are (0.7) you",
        "    2       (1.3)",
        "    3  P2:  fine thanks",
    ]
    assert [line.n for line in transcript.lines] == [1, 2, 3]
    assert transcript.lines[1].speaker is None and transcript.lines[1].first_word is None
    assert (transcript.lines[2].first_word, transcript.lines[2].last_word) == (3, 4)


def test_long_turn_wraps_within_width_with_hanging_indent():
    transcript = make_transcript([("S1", ["so"]), LONG_TURN])
    body = _body(render_text(transcript, RenderSettings()))
    assert len(body) >= 3 and all(len(row) <= 72 for row in body)
    assert body[1].startswith("    2  P2:  and then")
    assert body[2].startswith("    3       ") and body[2][12] != " "
    words_on_lines = " ".join(row[12:] for row in body[1:]).split()
    assert words_on_lines == LONG_TURN[1]
    # Every word belongs to exactly one line, in order.
    spans = [(line.first_word, line.last_word) for line in transcript.lines]
    assert spans[0] == (0, 0) and spans[1][0] == 1 and spans[-1][1] == len(transcript.words) - 1
    assert all(a[1] + 1 == b[0] for a, b in zip(spans[1:], spans[2:]))


def test_width_setting_and_stable_numbering():
    narrow = RenderSettings(width=40)
    transcript = make_transcript([LONG_TURN], render=narrow)
    assert all(len(numbered(line)) <= 40 for line in transcript.lines)
    assert layout_lines(transcript, narrow) == transcript.lines  # re-rendering never renumbers


def test_overlap_is_bracketed_on_both_speakers():
    transcript = make_transcript([("S1", ["well", "I", "think"]), ("S2", ["yeah", "right"])], overlaps=[(0.8, 1.5)])
    body = _body(render_text(transcript, RenderSettings()))
    assert body[0].endswith("well I [think]")
    assert body[1].endswith("[yeah] right")


def test_timestamps_and_ascii_option():
    transcript = make_transcript([("S1", ["hello"])], render=RenderSettings(timestamps=True))
    assert "[00:00:00] hello" in transcript.lines[0].text
    text = render_text(transcript, RenderSettings(ascii=True)) + "°↑"
    assert render_text(transcript, RenderSettings(ascii=True)).isascii()
    assert not text.isascii()


def test_json_validates_against_schema_and_round_trips():
    transcript = make_transcript([("S1", ["how", "are", "you"]), ("S2", ["fine"])], pauses={0: 0.5}, gaps={2: 1.0})
    document = json.loads(render_json(transcript, RenderSettings()))
    jsonschema.validate(document, json_schema())
    assert document["schema"] == "undertone.transcript/1"
    assert Transcript.model_validate(document).to_json_dict() == document


def test_schema_rejects_a_broken_document():
    document = json.loads(render_json(make_transcript([("S1", ["hi"])]), RenderSettings()))
    document["words"][0]["kind"] = "noise"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, json_schema())


@pytest.mark.parametrize(("seconds", "printed"), [(0.25, "(0.3)"), (0.35, "(0.4)"), (0.45, "(0.5)"), (1.249, "(1.2)")])
def test_pauses_round_half_up_to_tenths(seconds, printed):
    transcript = make_transcript([("S1", ["so", "well"])], pauses={0: seconds})
    assert transcript.lines[0].text.endswith(f"so {printed} well")


def test_continuation_lines_carry_their_speaker_and_gap_lines_none():
    transcript = make_transcript([LONG_TURN, ("S1", ["right"])], gaps={len(LONG_TURN[1]) - 1: 0.8})
    speakers = [line.speaker for line in transcript.lines]
    assert speakers == ["S2"] * (len(speakers) - 2) + [None, "S1"]


def test_schema_requires_what_the_contract_requires():
    schema = json_schema()
    word = schema["$defs"]["Word"]["required"]
    speaker = schema["$defs"]["Speaker"]["required"]
    assert {"i", "text", "start", "end", "speaker", "confidence", "kind"} <= set(word)
    assert {"id", "label", "f0_median_hz", "intensity_median_db"} <= set(speaker)
    assert "schema" in schema["required"]
