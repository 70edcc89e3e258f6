"""Exchange formats: each file opens in its own format's library and gives back the document.

Word (python-docx), SubRip and WebVTT (parsed here), ELAN (pympi), Praat TextGrid (praatio) and
the words table (csv): the words and their times to the millisecond, the line numbers, the
pauses and marks on their tiers, non-ASCII text, and the empty transcript.
"""

from __future__ import annotations

import csv
import io
import re
import stat
import time
from pathlib import Path

import docx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from praatio import textgrid
from pympi import Elan

from documents import from_words, make_transcript
from undertone.config import RenderSettings
from undertone.model import Annotation, Transcript
from undertone.outputs import write_outputs
from undertone.render import RENDERERS, RenderContext, parse_formats
from undertone.render.layout import numbered
from undertone.render.text import render_text
from undertone.render.tiers import mark_tiers
from undertone.render.timecode import to_ms

EXCHANGE_FORMATS = ("docx", "srt", "vtt", "eaf", "textgrid", "csv")
CUE_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2})[,.](\d{3})$")
STAMPED_LINE = re.compile(r"^(\[\d{2}:\d{2}:\d{2}\] |\s{11})?(\s*\d+  .*)$")


def interview() -> Transcript:
    """Two speakers, a pause, a micropause, a gap, overlapping marks and non-ASCII words."""
    return make_transcript(
        [("S1", ["Thank", "you", "for", "talking", "with", "me", "today"]),
         ("Zoë", ["Sure", "café", "↑up", "°quiet°"])],
        pauses={1: 0.7, 2: 0.15}, gaps={6: 1.2},
        annotations=[
            ("loud", 3, 5, 7.2, "dB re speaker"),
            ("pitch_up", 4, 4, 4.5, "st re preceding words"),
            ("rise", 5, 5, 2.5, "st end re before"),
            ("fast", 7, 8, 1.42, "x speaker rate"),
        ],
    )


def render(name: str, transcript: Transcript, settings: RenderSettings | None = None, **context) -> str | bytes:
    context.setdefault("out_dir", Path("/tmp/out"))
    return RENDERERS[name].render(transcript, settings or RenderSettings(), RenderContext(**context))


def _ms(clock: str) -> int:
    h, m, s, ms = (int(part) for part in CUE_TIME.match(clock).groups())
    return ((h * 60 + m) * 60 + s) * 1000 + ms


def parse_cues(text: str) -> list[tuple[int, int, str]]:
    """(start ms, end ms, text) of every cue of a SubRip or WebVTT file."""
    cues = []
    for block in text.strip().split("\n\n"):
        rows = block.split("\n")
        timing = next((i for i, row in enumerate(rows) if " --> " in row), None)
        if timing is None:  # the WEBVTT header block
            continue
        start, end = rows[timing].split(" --> ")
        cues.append((_ms(start), _ms(end), "\n".join(rows[timing + 1 :])))
    return cues


def assert_cues_increase(cues: list[tuple[int, int, str]]) -> None:
    for (start, end, _), (next_start, _, _) in zip(cues, cues[1:] + [(None, None, None)]):
        assert start < end
        if next_start is not None:
            assert start < next_start and end <= next_start


def eaf_from(data: bytes, tmp_path: Path) -> Elan.Eaf:
    path = tmp_path / "p2.eaf"
    path.write_bytes(data)
    return Elan.Eaf(str(path))


def textgrid_from(text: str, tmp_path: Path) -> textgrid.Textgrid:
    path = tmp_path / "p2.TextGrid"
    path.write_text(text, encoding="utf-8")
    return textgrid.openTextgrid(str(path), includeEmptyIntervals=False)


def word_spans(transcript: Transcript, speaker: str) -> list[tuple[int, int, str]]:
    return [(to_ms(w.start), to_ms(w.end), w.text) for w in transcript.words if w.speaker == speaker]


# Word ------------------------------------------------------------------------------------------


def test_docx_has_the_txt_header_and_every_numbered_line_with_turn_stamps():
    transcript = interview()
    document = docx.Document(io.BytesIO(render("docx", transcript)))
    paragraphs = [p.text for p in document.paragraphs]
    txt = render_text(transcript, RenderSettings()).splitlines()

    assert paragraphs[0] == "undertone transcript: p2.wav" and document.paragraphs[0].style.name == "Title"
    rule = paragraphs.index("-" * 72)
    assert paragraphs[: rule + 1] == txt[: rule + 1]  # header block and key, as in the .txt
    body = [STAMPED_LINE.match(text).groups() for text in paragraphs[rule + 1 :]]
    assert [printed for _, printed in body] == [numbered(line) for line in transcript.lines]
    assert [int(printed.split()[0]) for _, printed in body] == [line.n for line in transcript.lines]
    stamps = [stamp.strip() if stamp and stamp.strip() else None for stamp, _ in body]
    assert stamps == ["[00:00:00]", None, "[00:00:04]"]  # turn starts 0.0 s and 4.85 s, rounded down
    assert "Zoë:  >Sure café< ↑up °quiet°" in paragraphs[-1]  # non-ASCII as printed

    label = next(run for run in document.paragraphs[rule + 1].runs if run.text == "I:")
    assert label.bold
    assert document.styles["Normal"].font.name == "Courier New"


def test_docx_bytes_are_the_same_for_the_same_document(monkeypatch):
    transcript = interview()
    first = render("docx", transcript)
    later = time.time() + 3600  # zip entries would otherwise carry the clock's time
    monkeypatch.setattr(time, "time", lambda: later)
    assert render("docx", transcript) == first
    properties = docx.Document(io.BytesIO(first)).core_properties
    assert properties.created.isoformat().startswith("2026-01-01T00:00:00")
    assert properties.modified == properties.created and properties.author == "undertone"


def test_docx_adds_no_stamp_column_when_the_lines_carry_their_own():
    transcript = make_transcript([("S1", ["so"]), ("S2", ["well", "yes"])], render=RenderSettings(timestamps=True))
    paragraphs = [p.text for p in docx.Document(io.BytesIO(render("docx", transcript))).paragraphs]
    assert paragraphs[-2:] == ["    1  I:   [00:00:00] so", "    2  P2:  [00:00:00] well yes"]


def test_ascii_setting_replaces_the_symbols_in_the_printed_formats():
    ascii_only = RenderSettings(ascii=True)
    paragraphs = [p.text for p in docx.Document(io.BytesIO(render("docx", interview(), ascii_only))).paragraphs]
    assert all(text.isascii() for text in paragraphs)
    assert "oquieto" in paragraphs[-1]
    for name in ("srt", "vtt"):
        text = render(name, interview(), ascii_only)
        assert text.isascii() and "^up oquieto" in text


# SubRip and WebVTT ------------------------------------------------------------------------------


def test_srt_has_one_cue_per_timed_line_with_the_speaker_where_a_turn_starts():
    transcript = interview()
    text = render("srt", transcript)
    cues = parse_cues(text)
    assert text.startswith("1\n00:00:00,000 --> ")
    assert [c[:2] for c in cues] == [(to_ms(line.start), to_ms(line.end)) for line in transcript.lines]
    assert cues[0][2].startswith("I: Thank you (0.7) for (.) TALKING ↑WITH ME? today")
    assert cues[1][2] == "(1.2)"
    assert cues[2][2] == "Zoë: >Sure café< ↑up °quiet°"
    assert_cues_increase(cues)


def test_vtt_uses_voice_spans_and_escapes_the_notation():
    transcript = interview()
    text = render("vtt", transcript)
    assert text.startswith("WEBVTT\n\n")
    cues = parse_cues(text)
    assert [c[:2] for c in cues] == [(to_ms(line.start), to_ms(line.end)) for line in transcript.lines]
    assert cues[0][2].startswith("<v I>Thank you (0.7)")
    assert cues[1][2] == "(1.2)"
    assert cues[2][2] == "<v Zoë>&gt;Sure café&lt; ↑up °quiet°"  # >fast< is notation, not markup
    assert_cues_increase(cues)


def test_overlapping_lines_become_ordered_cues_that_do_not_overlap():
    transcript = from_words([("S1", "so", 0.0, 0.5), ("S1", "anyway", 0.6, 2.0), ("S2", "mhm", 1.0, 1.4),
                             ("S2", "right", 1.5, 1.8), ("S1", "yes", 2.5, 3.0)])
    # Lines: I 0.0-2.0 "so anyway", P2 1.0-1.8 "mhm right", I 2.5-3.0 "yes"; the first is cut
    # where the second starts, and the third keeps its own time.
    for name in ("srt", "vtt"):
        cues = parse_cues(render(name, transcript))
        assert [(start, end) for start, end, _ in cues] == [(0, 1000), (1000, 1800), (2500, 3000)]
        assert "so anyway" in cues[0][2] and "mhm right" in cues[1][2]
        assert_cues_increase(cues)


def test_turn_timestamps_in_the_lines_are_left_out_of_cues():
    transcript = make_transcript([("S1", ["so"])], render=RenderSettings(timestamps=True))
    assert parse_cues(render("srt", transcript))[0][2] == "I: so"


# ELAN -----------------------------------------------------------------------------------------


def test_eaf_has_turn_and_word_tiers_per_speaker_pauses_marks_and_the_linked_recording(tmp_path: Path):
    transcript = interview()
    audio = tmp_path / "recordings" / "p 2.wav"
    eaf = eaf_from(render("eaf", transcript, out_dir=tmp_path / "out", audio=audio), tmp_path)

    assert set(eaf.get_tier_names()) == {"I", "I words", "Zoë", "Zoë words", "pauses", "marks", "marks 2"}
    for speaker, label in (("S1", "I"), ("Zoë", "Zoë")):
        assert sorted(eaf.get_annotation_data_for_tier(f"{label} words")) == word_spans(transcript, speaker)
        assert eaf.get_parameters_for_tier(f"{label} words")["PARENT_REF"] == label
        assert eaf.get_parameters_for_tier(label)["PARTICIPANT"] == label
    assert [a[2] for a in sorted(eaf.get_annotation_data_for_tier("Zoë"))] == [">Sure café< ↑up °quiet°"]
    assert [a[2] for a in sorted(eaf.get_annotation_data_for_tier("pauses"))] == ["(0.7)", "(.)", "(1.2)"]
    marks = sorted(a for tier in ("marks", "marks 2") for a in eaf.get_annotation_data_for_tier(tier))
    assert marks == [
        (2050, 3150, "loud +7.2 dB re speaker"),
        (2450, 2750, "pitch_up +4.5 st re preceding words"),
        (2850, 3150, "rise +2.5 st end re before"),
        (4850, 5550, "fast 1.42 x speaker rate"),
    ]
    [media] = eaf.media_descriptors
    assert media["RELATIVE_MEDIA_URL"] == "../recordings/p%202.wav"
    assert media["MEDIA_URL"] == audio.resolve().as_uri() and media["MIME_TYPE"] == "audio/x-wav"
    assert eaf.adocument["DATE"] == "2026-01-01T00:00:00+00:00"


def test_eaf_without_a_recording_links_nothing(tmp_path: Path):
    eaf = eaf_from(render("eaf", interview()), tmp_path)
    assert eaf.media_descriptors == []


# Praat ----------------------------------------------------------------------------------------


def test_textgrid_has_word_tiers_per_speaker_pauses_and_marks_over_the_recording(tmp_path: Path):
    transcript = interview()
    grid = textgrid_from(render("textgrid", transcript), tmp_path)

    assert grid.tierNames == ("I words", "Zoë words", "pauses", "marks", "marks 2")
    assert (grid.minTimestamp, to_ms(grid.maxTimestamp)) == (0, to_ms(transcript.source.duration))
    for speaker, label in (("S1", "I"), ("Zoë", "Zoë")):
        entries = [(to_ms(e.start), to_ms(e.end), e.label) for e in grid.getTier(f"{label} words").entries]
        assert entries == word_spans(transcript, speaker)
    assert [e.label for e in grid.getTier("pauses").entries] == ["(0.7)", "(.)", "(1.2)"]
    assert [e.label for e in grid.getTier("marks").entries] == ["loud +7.2 dB re speaker", "fast 1.42 x speaker rate"]
    assert [e.label for e in grid.getTier("marks 2").entries] == [
        "pitch_up +4.5 st re preceding words", "rise +2.5 st end re before"]


def test_degenerate_words_and_latches_still_make_valid_tiers(tmp_path: Path):
    """Zero-length and overlapping words of one speaker, and a latch with no duration."""
    transcript = from_words([("S1", "a", 0.2, 0.6), ("S1", "b", 0.5, 0.5), ("S1", "c", 0.9, 1.2)])
    transcript.annotations = [
        Annotation(kind="latch", start=0.6, end=0.6, first_word=1, last_word=2, value=0.0, unit="s")
    ]
    grid = textgrid_from(render("textgrid", transcript), tmp_path)
    entries = [(to_ms(e.start), to_ms(e.end), e.label) for e in grid.getTier("I words").entries]
    assert entries == [(200, 600, "a"), (600, 601, "b"), (900, 1200, "c")]
    assert [(to_ms(e.start), to_ms(e.end)) for e in grid.getTier("marks").entries] == [(500, 1200)]  # b and c
    eaf = eaf_from(render("eaf", transcript), tmp_path)
    assert sorted(eaf.get_annotation_data_for_tier("I words")) == entries


def test_overlapping_marks_spread_over_as_few_tiers_as_needed():
    transcript = interview()
    assert [len(tier.intervals) for tier in mark_tiers(transcript)] == [2, 2]
    transcript.annotations = transcript.annotations[:1] + transcript.annotations[3:]
    assert [tier.name for tier in mark_tiers(transcript)] == ["marks"]


# Words table ----------------------------------------------------------------------------------


def test_words_csv_has_a_row_per_word_with_times_marks_and_the_pause_after():
    transcript = interview()
    rows = list(csv.DictReader(io.StringIO(render("csv", transcript))))
    assert [(r["i"], r["speaker"], r["speaker_label"], r["text"]) for r in rows] == [
        (str(w.i), w.speaker, transcript.speaker_label(w.speaker), w.text) for w in transcript.words]
    assert [(r["start"], r["end"]) for r in rows] == [(f"{w.start:.3f}", f"{w.end:.3f}") for w in transcript.words]
    assert rows[0]["duration"] == "0.300" and rows[0]["confidence"] == "0.9" and rows[0]["kind"] == "word"
    assert [r["loud"] for r in rows[2:7]] == ["", "7.2", "7.2", "7.2", ""]
    assert [r["pitch_up"] for r in rows[3:6]] == ["", "4.5", ""]
    assert (rows[8]["fast"], rows[9]["fast"]) == ("1.42", "")
    assert [(r["pause_after"], r["pause_after_kind"]) for r in rows[:3]] == [("", ""), ("0.700", "pause"), ("0.150", "micropause")]
    assert (rows[6]["pause_after"], rows[6]["pause_after_kind"]) == ("1.200", "gap")
    assert rows[10]["text"] == "°quiet°" and rows[7]["speaker_label"] == "Zoë"


# Every format ---------------------------------------------------------------------------------


def test_an_empty_transcript_renders_in_every_format(tmp_path: Path):
    transcript = make_transcript([])
    for name in EXCHANGE_FORMATS:
        render(name, transcript)
    assert render("srt", transcript) == ""
    assert parse_cues(render("vtt", transcript)) == []
    assert list(csv.reader(io.StringIO(render("csv", transcript))))[1:] == []
    assert textgrid_from(render("textgrid", transcript), tmp_path).tierNames == ("pauses", "marks")
    assert list(eaf_from(render("eaf", transcript), tmp_path).get_tier_names()) == ["pauses", "marks"]
    assert docx.Document(io.BytesIO(render("docx", transcript))).paragraphs[-1].text == "-" * 72


def test_every_format_is_written_owner_only(tmp_path: Path):
    audio = tmp_path / "p2.wav"
    audio.write_bytes(b"RIFF")
    out = tmp_path / "out"
    written = write_outputs(interview(), out, RenderSettings(), formats=parse_formats("all"), audio=audio)
    expected = [out / f"p2{RENDERERS[name].suffix}" for name in parse_formats("all")]
    assert written == expected
    assert {"p2.docx", "p2.srt", "p2.vtt", "p2.eaf", "p2.TextGrid", "p2.words.csv"} <= {p.name for p in written}
    for path in expected:
        assert path.is_file() and path.stat().st_size > 0
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert eaf_from((out / "p2.eaf").read_bytes(), tmp_path).media_descriptors[0]["RELATIVE_MEDIA_URL"] == "../p2.wav"


# Properties -----------------------------------------------------------------------------------

WORD_TEXT = st.text(alphabet="abcdeéüß°↑ŁZ", min_size=1, max_size=6)


@st.composite
def random_transcripts(draw) -> Transcript:
    """1-3 speakers, each with words in order that never overlap their own (times in whole ms)."""
    words = []
    for speaker in draw(st.lists(st.sampled_from(["S1", "S2", "Zoë"]), min_size=1, max_size=3, unique=True)):
        clock = draw(st.integers(0, 2000))
        for _ in range(draw(st.integers(0, 6))):
            clock += draw(st.integers(0, 800))
            length = draw(st.integers(1, 900))
            words.append((speaker, draw(WORD_TEXT), clock / 1000, (clock + length) / 1000))
            clock += length
    return from_words(words)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(transcript=random_transcripts())
def test_random_transcripts_round_trip_through_every_timed_format(transcript: Transcript, tmp_path: Path):
    for name in ("srt", "vtt"):
        cues = parse_cues(render(name, transcript))
        assert_cues_increase(cues)
        shown = " ".join(text for _, _, text in cues)
        assert all(word.text in shown for word in transcript.words)

    grid = textgrid_from(render("textgrid", transcript), tmp_path)
    eaf = eaf_from(render("eaf", transcript), tmp_path)
    for speaker in transcript.speakers:
        expected = word_spans(transcript, speaker.id)
        tier = f"{speaker.label} words"
        assert [(to_ms(e.start), to_ms(e.end), e.label) for e in grid.getTier(tier).entries] == expected
        assert sorted(eaf.get_annotation_data_for_tier(tier)) == expected
