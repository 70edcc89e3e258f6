"""The line-numbered transcript: numbering, wrapping, labels, pauses, overlaps."""

import json
import os

import hypothesis
import jsonschema
import pytest
from hypothesis import strategies as st

from documents import make_transcript
from undertone.config import RenderSettings
from undertone.model import Transcript, json_schema
from undertone.render import render_json
from undertone.render.layout import MIN_TEXT_WIDTH, layout_lines, numbered
from undertone.render.notation import print_width
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


# The header --------------------------------------------------------------------------------


def _header(text: str, width: int = 72) -> list[str]:
    return text.split("-" * width + "\n", 1)[0].splitlines()


def _fields(header: list[str]) -> dict[str, str]:
    """Field name -> value, continuation rows (under the value) joined back with a space."""
    fields: dict[str, str] = {}
    name = ""
    for row in header[1:]:
        name = row[:11].strip() or name
        fields[name] = (fields[name] + " " if name in fields else "") + row[11:]
    return fields


def test_header_names_source_duration_speakers_engines_profile_and_date():
    transcript = make_transcript([("S1", ["how", "are", "you"]), ("S2", ["fine"])], pauses={0: 0.5})
    transcript.speakers[1].role = "participant"
    header = _header(render_text(transcript, RenderSettings()))
    assert header[0] == "undertone transcript: p2.wav"
    fields = _fields(header)
    assert fields["Source:"] == "interviews/p2.wav (sha256 abababababab), 0:03, 16000 Hz, 1 channel"
    assert fields["Speakers:"] == "I, P2 (participant)"
    assert fields["Engines:"] == "words by test none (en); speakers by test"
    assert fields["Profile:"] == "offline; undertone test; created 2026-01-01T00:00:00+00:00"
    assert fields["Note:"] == "a test document"
    assert fields["Key:"].startswith("(0.7) silence in seconds")


LONG_PATH = "/home/researcher/projects/2026 wellbeing study/recordings/site-b/participant_017_second_interview_final.wav"


@pytest.mark.parametrize("width", [30, 41, 72, 100])
@pytest.mark.parametrize("ascii", [False, True])
def test_every_line_header_included_fits_the_width(width: int, ascii: bool):
    settings = RenderSettings(width=width, ascii=ascii, timestamps=True, notation="jefferson")
    transcript = make_transcript(
        [("S1", ["so", "how", "was", "it"]), LONG_TURN], pauses={0: 0.7, 1: 0.1}, gaps={3: 1.3}, overlaps=[(1.2, 2.0)],
        annotations=[("loud", 5, 6, 7.0, "dB"), ("quiet", 7, 8, -6.0, "dB"), ("pitch_up", 9, 9, 4.0, "st"),
                     ("latch", 3, 4, 0.0, "s"), ("rise", 10, 10, 3.0, "st"), ("emphasis", 11, 11, 3.0, "dB")],
        render=settings,
    )
    transcript.source.path = LONG_PATH
    transcript.speakers = [s.model_copy(update={"label": label}) for s, label in zip(transcript.speakers, ["Interviewer (Dr Amélie Fontaine-Lefèbvre)", "P17"])]
    transcript.pipeline.notes.append("speaker labels from " + LONG_PATH.replace(".wav", ".speakers.toml"))
    transcript.lines = layout_lines(transcript, settings)
    text = render_text(transcript, settings)
    assert all(len(row) <= width for row in text.splitlines())
    header = _header(text, width)
    # Values continue under the value, after the field names' column.
    assert all(row[:11].strip() in {"", "Source:", "Speakers:", "Engines:", "Profile:", "Note:", "Key:"}
               for row in header[1:])
    assert all(row[11] != " " for row in header[1:])
    source = _fields(header)["Source:"]
    assert source.replace(" ", "").startswith(LONG_PATH.replace(" ", ""))


@pytest.mark.parametrize("width", [40, 52, 72])
def test_the_key_wraps_between_entries_only(width: int):
    transcript = make_transcript(
        [("S1", ["so", "well", "now", "then"])], pauses={0: 0.7, 1: 0.1},
        annotations=[("loud", 0, 0, 7.0, "dB"), ("quiet", 1, 1, -6.0, "dB"), ("latch", 2, 3, 0.0, "s"),
                     ("fast", 2, 2, 1.4, "x"), ("pitch_down", 3, 3, -4.0, "st"), ("level", 3, 3, 0.0, None)],
    )
    header = _header(render_text(transcript, RenderSettings(width=width)), width)
    key = header[next(n for n, row in enumerate(header) if row.startswith("Key:")):]
    rows = [row[11:] for row in key]
    assert all(row.endswith(";") for row in rows[:-1]) and not rows[-1].endswith(";")
    entries = " ".join(rows).split("; ")
    assert "= latched, no gap" in entries and "(.) micropause under 0.2 s" in entries
    assert all(len(row) <= width for row in key)


# Narrow widths -------------------------------------------------------------------------------


def test_a_label_too_long_for_the_width_stands_on_its_own_line():
    settings = RenderSettings(width=30, timestamps=True)
    transcript = make_transcript([("S1", ["so", "how", "was", "the", "interview", "today"]), ("S2", ["fine"])])
    transcript.speakers[0].label = "Interviewer"
    transcript.lines = layout_lines(transcript, settings)
    body = [numbered(line) for line in transcript.lines]
    assert body == [
        "    1  Interviewer: [00:00:00]",
        "    2    so how was the",
        "    3    interview today",
        "    4  P2: [00:00:02]",
        "    5    fine",
    ]
    head = transcript.lines[0]
    assert (head.speaker, head.first_word, head.start) == ("S1", None, None)  # a label, no words or times
    assert (transcript.lines[1].first_word, transcript.lines[2].last_word) == (0, 5)


def test_a_word_wider_than_the_text_column_is_cut_over_lines():
    settings = RenderSettings(width=30)
    url = "https://example.org/a/very/long/path"
    transcript = make_transcript([("S1", ["see", url, "ok"])], render=settings)
    assert all(len(numbered(line)) <= 30 for line in transcript.lines)
    assert [line.text for line in transcript.lines] == ["I:  see", "    https://example.org", "    /a/very/long/path", "    ok"]
    assert [(line.first_word, line.last_word) for line in transcript.lines] == [(0, 0), (1, 1), (1, 1), (2, 2)]


LABEL = st.text(alphabet="AIPaezéÆ …-", min_size=1, max_size=40).map(str.strip).filter(bool)
# Words that fit the narrowest text column (a wider one is cut: see the test above).
WORD = st.text(alphabet="abcxyzéöŁ…’°↑", min_size=1, max_size=12).filter(lambda w: print_width(w) <= MIN_TEXT_WIDTH)


@hypothesis.settings(max_examples=int(os.environ.get("UNDERTONE_EXAMPLES", 150)), deadline=None)
@hypothesis.given(
    width=st.integers(30, 120), timestamps=st.booleans(), labels=st.lists(LABEL, min_size=2, max_size=2, unique=True),
    turns=st.lists(st.lists(WORD, min_size=1, max_size=25), min_size=1, max_size=4),
)
def test_no_line_is_ever_wider_than_the_width_and_every_word_is_there_in_order(width, timestamps, labels, turns):
    settings = RenderSettings(width=width, timestamps=timestamps)
    transcript = make_transcript([("S1" if n % 2 == 0 else "S2", words) for n, words in enumerate(turns)],
                                 gaps={sum(map(len, turns[: n + 1])) - 1: 0.9 for n in range(len(turns) - 1)})
    for speaker, label in zip(transcript.speakers, labels):
        speaker.label = label
    transcript.lines = layout_lines(transcript, settings)
    for ascii in (False, True):
        body = render_text(transcript, settings.model_copy(update={"ascii": ascii})).split("-" * width + "\n", 1)[1]
        assert all(len(row) <= width for row in body.splitlines())
    # Every word on its line(s), in order; a line's words are the ones it prints.
    worded = [line for line in transcript.lines if line.first_word is not None]
    assert [i for line in worded for i in range(line.first_word, line.last_word + 1)] == list(range(len(transcript.words)))
    for line in worded:
        assert line.text.endswith(" ".join(w.text for w in transcript.words[line.first_word : line.last_word + 1]))
    assert layout_lines(transcript, settings) == transcript.lines  # the same lines every time
