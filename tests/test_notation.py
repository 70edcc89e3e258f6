"""Jefferson notation: marks written around words, nested in a fixed order, per notation level."""

from __future__ import annotations

import pytest

from documents import make_transcript
from undertone.config import RenderSettings
from undertone.model import Annotation
from undertone.render.layout import layout_lines
from undertone.render.notation import colons, elongate
from undertone.render.text import render_text, to_ascii


def _with_marks(marks: list[tuple[str, int, int, float]], level: str = "standard", **document):
    transcript = make_transcript(
        document.pop("turns", [("S1", "so we went down to the river".split()), ("S2", "yes we did".split())]),
        **document,
    )
    transcript.annotations = [
        Annotation(
            kind=kind,
            start=transcript.words[first].start,
            end=transcript.words[last].end,
            first_word=first,
            last_word=last,
            value=value,
            unit="test",
        )
        for kind, first, last, value in marks
    ]
    settings = RenderSettings(notation=level)
    transcript.lines = layout_lines(transcript, settings)
    return transcript, settings


def _words(transcript) -> str:
    return " ".join(line.text.split(":", 1)[1].strip() for line in transcript.lines)


def test_every_mark_is_written_where_researchers_expect_it():
    transcript, _ = _with_marks(
        [
            ("loud", 1, 1, 8.0),
            ("quiet", 4, 6, -8.0),
            ("fast", 2, 3, 1.5),
            ("pitch_up", 5, 5, 5.0),
            ("fall", 6, 6, -4.0),
            ("rise", 9, 9, 4.0),
            ("latch", 6, 7, 0.0),
        ]
    )
    assert _words(transcript) == "so WE >went down< °to ↑the river.°= =yes we did?"


def test_nesting_order_is_fixed_when_marks_share_a_word():
    transcript, _ = _with_marks(
        [("slow", 1, 1, 0.7), ("quiet", 1, 1, -7.0), ("pitch_down", 1, 1, -5.0), ("level", 1, 1, 0.5),
         ("loud", 2, 2, 7.0), ("emphasis", 2, 2, 4.0)],
        level="jefferson",
        turns=[("S1", ["so", "well", "now"])],
    )
    assert _words(transcript) == "so °<↓well,>° _NOW_"


def test_elongation_colons_grow_with_the_extra_time():
    # a word lasting 0.3 s at 2x its usual duration has 0.15 s extra: one colon
    transcript, _ = _with_marks([("elongation", 0, 0, 2.0)], level="jefferson", turns=[("S1", ["so", "well"])])
    assert _words(transcript) == "so: well"
    standard, _ = _with_marks([("elongation", 0, 0, 2.0)], level="standard", turns=[("S1", ["so", "well"])])
    assert _words(standard) == "so well"  # elongation is shown at the jefferson level only
    assert [colons(s) for s in (0.05, 0.15, 0.3, 0.45, 2.0)] == [1, 1, 2, 3, 3]
    assert [elongate(w, 2) for w in ("so", "well", "sure", "and", "mm", "wa-")] == [
        "so::", "we::ll", "su::re", "a::nd", "mm::", "wa::-"
    ]


def test_cut_off_words_end_in_a_dash():
    transcript = make_transcript([("S1", ["I", "wa", "want"])])
    transcript.words[1].kind = "cutoff"
    transcript.lines = layout_lines(transcript, RenderSettings())
    assert _words(transcript) == "I wa- want"


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("plain", "so we (0.5) went down to the river yes we did"),
        ("standard", "so WE (0.5) went (.) _down_ to the river yes we did"),
        ("jefferson", "so WE (0.5) went (.) _down_ to the river yes we did"),
    ],
)
def test_notation_levels_choose_what_is_shown(level, expected):
    transcript, settings = _with_marks(
        [("loud", 1, 1, 8.0), ("emphasis", 3, 3, 3.5)], level=level, pauses={1: 0.5, 2: 0.15}
    )
    assert _words(transcript) == expected
    assert len(transcript.annotations) == 2  # the data keeps every mark whatever is shown


def test_key_lists_only_the_marks_shown_and_ascii_keeps_them_readable():
    transcript, settings = _with_marks([("quiet", 4, 6, -8.0), ("pitch_up", 2, 2, 5.0)])
    text = render_text(transcript, settings)
    key = text.split("Key:", 1)[1].split("-----", 1)[0]
    assert "°word° quieter" in key and "↑ pitch step up" in key
    assert "WORD louder" not in key and "faster" not in key
    ascii_text = render_text(transcript, settings.model_copy(update={"ascii": True}))
    assert ascii_text.isascii() and ascii_text == to_ascii(text)
    ascii_key = ascii_text.split("Key:", 1)[1].split("-----", 1)[0]
    assert "%word% quieter" in ascii_key and "/ pitch step up" in ascii_key
    assert "so we /went down %to the river%" in ascii_text
    assert "°" not in ascii_text and "?" not in ascii_text.split("-" * 72)[1]


def test_rendering_twice_gives_identical_lines():
    transcript, settings = _with_marks([("quiet", 4, 6, -8.0), ("fall", 6, 6, -3.0)])
    assert layout_lines(transcript, settings) == transcript.lines


# ASCII stand-ins ------------------------------------------------------------------------------


def test_ascii_stand_ins_are_readable_and_one_character_for_one():
    assert to_ascii("°word° ↓cope ↑up") == "%word% \\cope /up"
    assert to_ascii("Zoë café “x” don’t – naïve—Ångström") == 'Zoe cafe "x" don\'t - naive-Angstrom'
    assert to_ascii("e\u0301") == "e"  # a decomposed accent goes with its letter
    assert to_ascii("ß 漢 ？ ＜") == "# # # #"  # no ASCII form, and never ? (rising) or < (slower)
    for text in ("Zoë café “x” don’t", "°↑↓ –— ‘’", "ß 漢 ？"):
        assert len(to_ascii(text)) == len(text)
    assert to_ascii("so…") == "so..."  # the one wider stand-in (the layout measures it)


def test_no_ascii_stand_in_is_a_mark_of_the_notation():
    """Every mark at the fullest level, printed: the symbols they use are not stand-ins."""
    kinds = ["quiet", "pitch_up", "pitch_down", "loud", "fast", "slow", "rise", "level", "fall", "elongation",
             "emphasis", "latch"]
    transcript = make_transcript([("S1", "a b c d e f g h i j k l".split()), ("S2", ["m", "n"])],
                                 pauses={0: 0.5, 1: 0.1}, gaps={11: 1.0}, overlaps=[(4.6, 5.6)])
    transcript.words[3].kind = "cutoff"
    transcript.annotations = [
        Annotation(kind=kind, start=transcript.words[n].start, end=transcript.words[n].end, first_word=n,
                   last_word=n + 1 if kind == "latch" else n, value=1.0, unit="test")
        for n, kind in enumerate(kinds)
    ]
    settings = RenderSettings(notation="jefferson")
    transcript.lines = layout_lines(transcript, settings)
    printed = render_text(transcript, settings)
    key = printed.split("Key:", 1)[1].split("-----", 1)[0]
    symbols = {char for line in transcript.lines for char in line.text if not char.isalnum() and char != " "}
    assert symbols >= set("()[]=<>°↑↓?,.:_-")  # every kind of mark is there
    stand_ins = {to_ascii(symbol) for symbol in symbols if not symbol.isascii()}
    assert stand_ins == {"%", "/", "\\"} and not stand_ins & symbols
    assert "#" not in symbols
    ascii_key = to_ascii(key)
    assert render_text(transcript, settings.model_copy(update={"ascii": True})).split("Key:", 1)[1].startswith(
        ascii_key.split("\n")[0])
    for entry in ("%word% quieter", "/ pitch step up", "\\ pitch step down", "? rising"):
        assert entry in " ".join(ascii_key.split())
