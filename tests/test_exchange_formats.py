"""Exchange formats: each file opens in its own format's library and gives back the document.

Word (python-docx), SubRip (srt) and WebVTT (webvtt-py), ELAN (pympi), Praat TextGrid (praatio)
and the words table (csv): the words and their times to the millisecond, the line numbers, the
pauses, marks and overlaps on their tiers, non-ASCII text, the ASCII option, and the empty
transcript.
"""

from __future__ import annotations

import csv
import html
import io
import re
import stat
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import docx
import srt
import webvtt
from docx.oxml.ns import qn
from docx.shared import Length
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from praatio import textgrid
from pympi import Elan

from documents import from_words, make_transcript
from undertone.config import RenderSettings
from undertone.model import Annotation, Overlap, Transcript
from undertone.outputs import write_outputs
from undertone.render import RENDERERS, RenderContext, parse_formats
from undertone.render.layout import layout_lines
from undertone.render.text import render_text
from undertone.render.tiers import mark_tiers, overlap_tiers
from undertone.render.timecode import to_ms
from undertone.render.word import CHAR_WIDTH_EM, STAMP_COLUMN

EXCHANGE_FORMATS = ("docx", "srt", "vtt", "eaf", "textgrid", "csv")
LONG_TURN = ("S2", ("and then I do not sleep very well because I keep thinking about everything "
                    "that I have to do the next morning at work").split())
TURN_START = re.compile(r"^\[(\d{2}:\d{2}:\d{2})\] ([^:\s]+):")


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


def srt_cues(text: str) -> list[tuple[int, int, str]]:
    """(start ms, end ms, text) of every cue, as the ``srt`` package parses the file."""
    return [
        (subtitle.start // timedelta(milliseconds=1), subtitle.end // timedelta(milliseconds=1), subtitle.content)
        for subtitle in srt.parse(text)
    ]


def vtt_cues(text: str) -> list[tuple[int, int, str]]:
    """(start ms, end ms, cue text as written) of every cue, as ``webvtt-py`` parses the file."""
    return [
        (caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds(), caption.raw_text)
        for caption in webvtt.from_string(text)
    ]


def line_spans(transcript: Transcript) -> list[tuple[int, int]]:
    """Each timed line's own span in ms, in order of start: what the cues must keep."""
    timed = [line for line in transcript.lines if line.start is not None and line.end is not None]
    return [(to_ms(line.start), max(to_ms(line.end), to_ms(line.start) + 1))
            for line in sorted(timed, key=lambda line: (to_ms(line.start), line.n))]


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


def _suppressed(paragraph) -> bool:
    properties = paragraph._p.pPr
    return properties is not None and properties.find(qn("w:suppressLineNumbers")) is not None


def docx_rows(document) -> tuple[list, list[str]]:
    """The header paragraphs (down to the rule) and the printed rows of the turn paragraphs."""
    texts = [p.text for p in document.paragraphs]
    rule = next(n for n, text in enumerate(texts) if text and set(text) == {"-"})
    body = document.paragraphs[rule + 1 :]
    return document.paragraphs[: rule + 1], [row for p in body for row in p.text.split("\n")]


def usable_pt(document) -> float:
    section = document.sections[0]
    return Length(section.page_width - section.left_margin - section.right_margin).pt


def test_docx_turns_are_paragraphs_starting_with_stamp_and_label_and_keep_the_txt_lines():
    transcript = interview()
    document = docx.Document(io.BytesIO(render("docx", transcript)))
    txt = render_text(transcript, RenderSettings()).splitlines()
    header, rows = docx_rows(document)

    assert header[0].text == "undertone transcript: p2.wav" and header[0].style.name == "Title"
    assert [p.text for p in header] == txt[: len(header)]  # header block and key, as in the .txt
    # One paragraph per turn (the gap line stays with the turn before it), each starting with
    # the turn's stamp and the speaker's label, as NVivo, ATLAS.ti and MAXQDA import them.
    turns = document.paragraphs[len(header) :]
    assert [TURN_START.match(p.text).groups() for p in turns] == [("00:00:00", "I"), ("00:00:04", "Zoë")]
    assert turns[0].runs[1].text == "I:" and turns[0].runs[1].bold
    assert "\n" in turns[0].text  # a manual line break (w:br) where the .txt breaks the line
    # Every printed line, in order, exactly as in the .txt after the stamp column.
    assert [row[STAMP_COLUMN:] for row in rows] == [line.text for line in transcript.lines]
    assert "Zoë:  >Sure café< ↑up °quiet°" in rows[-1]  # non-ASCII as printed
    assert document.styles["Normal"].font.name == "Courier New"


def test_docx_line_numbers_are_words_own_and_equal_the_txt_numbers():
    transcript = make_transcript([("S1", ["so"]), LONG_TURN, ("S1", ["right"])], gaps={0: 1.2})
    document = docx.Document(io.BytesIO(render("docx", transcript)))
    header, rows = docx_rows(document)
    txt_body = render_text(transcript, RenderSettings()).split("-" * 72 + "\n", 1)[1].splitlines()

    numbering = document.sections[0]._sectPr.find(qn("w:lnNumType"))
    assert numbering is not None
    assert (numbering.get(qn("w:countBy")), numbering.get(qn("w:restart"))) == ("1", "continuous")
    assert numbering.get(qn("w:start")) is None  # Word skips no numbers: the first counted line is 1
    # The header is not counted; every turn paragraph is, one number per printed row.
    assert all(_suppressed(p) for p in header)
    assert not any(_suppressed(p) for p in document.paragraphs[len(header) :])
    assert len(rows) == len(transcript.lines) > len(document.paragraphs) - len(header)
    assert [f"{n:>5}  {row[STAMP_COLUMN:]}".rstrip() for n, row in enumerate(rows, start=1)] == txt_body
    # No row is wider than the page, so Word breaks lines only where the .txt does.
    assert max(map(len, rows)) * CHAR_WIDTH_EM * document.styles["Normal"].font.size.pt <= usable_pt(document)


def test_docx_rows_fit_the_page_at_the_widest_width():
    """At 400 characters even 6 pt is too wide for A4 or Letter: the page grows instead."""
    widest = RenderSettings(width=400)
    transcript = make_transcript([LONG_TURN], render=widest)
    document = docx.Document(io.BytesIO(render("docx", transcript, widest)))
    header, rows = docx_rows(document)
    widest_row = max(len(row) for row in rows + [p.text for p in header])
    assert widest_row == 400
    assert widest_row * CHAR_WIDTH_EM * document.styles["Normal"].font.size.pt <= usable_pt(document)


def test_docx_bytes_are_the_same_for_the_same_document(monkeypatch):
    transcript = interview()
    first = render("docx", transcript)
    later = time.time() + 3600  # zip entries would otherwise carry the clock's time
    monkeypatch.setattr(time, "time", lambda: later)
    assert render("docx", transcript) == first
    properties = docx.Document(io.BytesIO(first)).core_properties
    assert properties.created.isoformat().startswith("2026-01-01T00:00:00")
    assert properties.modified == properties.created and properties.author == "undertone"


def test_docx_paragraphs_start_with_a_stamp_when_the_lines_carry_their_own():
    transcript = make_transcript([("S1", ["so"]), ("S2", ["well", "yes"])], render=RenderSettings(timestamps=True))
    paragraphs = [p.text for p in docx.Document(io.BytesIO(render("docx", transcript))).paragraphs]
    assert paragraphs[-2:] == ["[00:00:00] I:   [00:00:00] so", "[00:00:00] P2:  [00:00:00] well yes"]


# SubRip and WebVTT ------------------------------------------------------------------------------


def test_srt_has_one_cue_per_timed_line_with_the_speaker_where_a_turn_starts():
    transcript = interview()
    text = render("srt", transcript)
    cues = srt_cues(text)
    assert text.startswith("1\n00:00:00,000 --> ")
    assert [c[:2] for c in cues] == [(to_ms(line.start), to_ms(line.end)) for line in transcript.lines]
    assert cues[0][2].startswith("I: Thank you (0.7) for (.) TALKING ↑WITH ME? today")
    assert cues[1][2] == "(1.2)"
    assert cues[2][2] == "Zoë: >Sure café< ↑up °quiet°"


def test_vtt_uses_voice_spans_and_escapes_the_notation():
    transcript = interview()
    text = render("vtt", transcript)
    assert text.startswith("WEBVTT\n\n")
    captions = webvtt.from_string(text).captions
    assert [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds()) for c in captions] == [
        (to_ms(line.start), to_ms(line.end)) for line in transcript.lines]
    assert [c.voice for c in captions] == ["I", None, "Zoë"]
    assert captions[0].raw_text.startswith("<v I>Thank you (0.7)")
    assert captions[1].raw_text == "(1.2)"
    assert captions[2].raw_text == "<v Zoë>&gt;Sure café&lt; ↑up °quiet°"  # >fast< is notation, not markup
    assert html.unescape(captions[2].text) == ">Sure café< ↑up °quiet°"


def test_overlapping_lines_keep_their_own_times_in_both_subtitle_formats():
    transcript = from_words([("S1", "so", 0.0, 0.5), ("S1", "anyway", 0.6, 2.0), ("S2", "mhm", 1.0, 1.4),
                             ("S2", "right", 1.5, 1.8), ("S1", "yes", 2.5, 3.0)])
    # Lines: I 0.0-2.0 "so anyway", P2 1.0-1.8 "mhm right", I 2.5-3.0 "yes": the first two
    # overlap, and each cue keeps its line's span (players show both at once).
    assert line_spans(transcript) == [(0, 2000), (1000, 1800), (2500, 3000)]
    for cues in (srt_cues(render("srt", transcript)), vtt_cues(render("vtt", transcript))):
        assert [(start, end) for start, end, _ in cues] == line_spans(transcript)
        assert "so anyway" in cues[0][2] and "mhm right" in cues[1][2] and "yes" in cues[2][2]


def test_turn_timestamps_in_the_lines_are_left_out_of_cues():
    transcript = make_transcript([("S1", ["so"])], render=RenderSettings(timestamps=True))
    assert srt_cues(render("srt", transcript))[0][2] == "I: so"


# ELAN -----------------------------------------------------------------------------------------


def test_eaf_has_turn_and_word_tiers_per_speaker_pauses_marks_and_the_linked_recording(tmp_path: Path):
    transcript = interview()
    audio = tmp_path / "recordings" / "p 2.wav"
    eaf = eaf_from(render("eaf", transcript, out_dir=tmp_path / "out", audio=audio), tmp_path)

    assert set(eaf.get_tier_names()) == {"I", "I words", "Zoë", "Zoë words", "pauses", "marks", "marks 2", "overlaps"}
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

    assert grid.tierNames == ("I words", "Zoë words", "pauses", "marks", "marks 2", "overlaps")
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


def overlapping_talk() -> Transcript:
    """I talks over P2 twice; the second stretch overlaps a third speaker's backchannel too."""
    transcript = make_transcript(
        [("S1", ["well", "I", "think", "so", "too"]), ("S2", ["yeah", "right", "sure"])], overlaps=[(0.8, 1.5)]
    )
    transcript.overlaps += [
        Overlap(start=1.6, end=2.4, speakers=["S2", "S1"]),
        Overlap(start=2.0, end=2.2, speakers=["S1", "S2"]),
    ]
    return transcript


def test_overlaps_are_on_their_own_tiers_in_elan_and_praat(tmp_path: Path):
    transcript = overlapping_talk()
    expected = [(800, 1500, "overlap I+P2"), (1600, 2400, "overlap I+P2"), (2000, 2200, "overlap I+P2")]
    assert [tier.name for tier in overlap_tiers(transcript)] == ["overlaps", "overlaps 2"]

    eaf = eaf_from(render("eaf", transcript), tmp_path)
    assert {"overlaps", "overlaps 2"} <= set(eaf.get_tier_names())
    assert sorted(a for tier in ("overlaps", "overlaps 2") for a in eaf.get_annotation_data_for_tier(tier)) == expected
    assert eaf.get_annotation_data_for_tier("overlaps 2") == [(2000, 2200, "overlap I+P2")]

    grid = textgrid_from(render("textgrid", transcript), tmp_path)
    assert grid.tierNames[-2:] == ("overlaps", "overlaps 2")
    entries = [(to_ms(e.start), to_ms(e.end), e.label) for t in ("overlaps", "overlaps 2") for e in grid.getTier(t).entries]
    assert sorted(entries) == expected


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
    assert {r["overlap"] for r in rows} == {""}  # nobody talks at once here


def test_words_csv_marks_the_words_spoken_in_overlap():
    transcript = make_transcript([("S1", ["well", "I", "think"]), ("S2", ["yeah", "right"])], overlaps=[(0.8, 1.5)])
    rows = list(csv.DictReader(io.StringIO(render("csv", transcript))))
    assert [(r["text"], r["overlap"]) for r in rows] == [
        ("well", ""), ("I", ""), ("think", "1"), ("yeah", "1"), ("right", "")]
    assert list(rows[0])[-3:] == ["overlap", "pause_after", "pause_after_kind"]


# Every format ---------------------------------------------------------------------------------


def test_an_empty_transcript_renders_in_every_format(tmp_path: Path):
    transcript = make_transcript([])
    for name in EXCHANGE_FORMATS:
        render(name, transcript)
    assert render("srt", transcript) == ""
    assert vtt_cues(render("vtt", transcript)) == []
    assert list(csv.reader(io.StringIO(render("csv", transcript))))[1:] == []
    assert textgrid_from(render("textgrid", transcript), tmp_path).tierNames == ("pauses", "marks", "overlaps")
    assert list(eaf_from(render("eaf", transcript), tmp_path).get_tier_names()) == ["pauses", "marks", "overlaps"]
    assert docx.Document(io.BytesIO(render("docx", transcript))).paragraphs[-1].text == "-" * 72


def every_mark_and_non_ascii() -> Transcript:
    """Non-ASCII words, labels and notes, overlapping talk and every kind of mark."""
    transcript = make_transcript(
        [("S1", ["Zoë", "café", "“x”", "don’t", "naïve…", "wa–"]), ("Zoë", ["Łódź", "señor", "°so°", "↑up", "mm"])],
        pauses={0: 0.7, 1: 0.15}, gaps={5: 1.2}, overlaps=[(4.0, 5.2)],
        annotations=[(kind, 2, 3, 1.5, "dB re speakér") for kind in ("loud", "quiet", "fast", "pitch_up", "emphasis")]
        + [(kind, 7, 7, 2.0, "st") for kind in ("slow", "pitch_down", "rise", "elongation")]
        + [("latch", 5, 6, 0.0, "s"), ("level", 9, 9, 0.0, None), ("fall", 1, 1, -1.0, "st")],
    )
    transcript.words[4].kind = "cutoff"
    transcript.pipeline.notes.append("naïve “speaker” guess — check")
    transcript.source.path = "interviews/Zoë–café.wav"
    return transcript


def test_with_ascii_every_text_format_is_pure_ascii_and_the_json_stays_exact(tmp_path: Path):
    ascii_only = RenderSettings(ascii=True, notation="jefferson")
    transcript = every_mark_and_non_ascii()
    transcript.lines = layout_lines(transcript, ascii_only)
    audio = tmp_path / "recordings" / "Zoë café.wav"
    for name in ("txt", "srt", "vtt", "eaf", "textgrid", "csv"):
        output = render(name, transcript, ascii_only, out_dir=tmp_path, audio=audio)
        data = output if isinstance(output, bytes) else output.encode("utf-8")
        assert data.isascii(), (name, sorted({chr(b) for b in data if b > 127}))
    # The text and properties the .docx holds (its template's font table and theme name East
    # Asian fonts in their own scripts, which is no text of the transcript).
    with zipfile.ZipFile(io.BytesIO(render("docx", transcript, ascii_only))) as package:
        for entry in ("word/document.xml", "word/styles.xml", "docProps/core.xml", "docProps/app.xml"):
            assert package.read(entry).isascii(), entry
    assert not render("json", transcript, ascii_only).isascii()  # the data keeps every character
    # The stand-ins as printed: slopes for pitch steps, % for quiet, no ? but for rising.
    body = render("txt", transcript, ascii_only).split("-" * 72 + "\n", 1)[1].splitlines()
    assert body[0].endswith('I:    Zoe (0.7) cafe. (.) %>/_"X"_ DON\'T<% naive...- wa-=')
    assert body[2].endswith("Zoe:  =[#odz <\\seno:r?>] %so% /up, mm")
    assert "".join(body).count("?") == 1  # the one rising end
    tiers = {tier: [a[2] for a in annotations] for tier, annotations in _eaf_tiers(render("eaf", transcript, ascii_only), tmp_path)}
    assert "Zoe" in tiers and "Zoe words" in tiers and "overlap I+Zoe" in tiers["overlaps"]
    assert tiers["Zoe words"][0] == "#odz"


def _eaf_tiers(data: bytes, tmp_path: Path) -> list[tuple[str, list]]:
    eaf = eaf_from(data, tmp_path)
    return [(name, eaf.get_annotation_data_for_tier(name)) for name in eaf.get_tier_names()]


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
    for cues in (srt_cues(render("srt", transcript)), vtt_cues(render("vtt", transcript))):
        assert [(start, end) for start, end, _ in cues] == line_spans(transcript)  # each line's own span
        shown = " ".join(text for _, _, text in cues)
        assert all(word.text in shown for word in transcript.words)

    grid = textgrid_from(render("textgrid", transcript), tmp_path)
    eaf = eaf_from(render("eaf", transcript), tmp_path)
    for speaker in transcript.speakers:
        expected = word_spans(transcript, speaker.id)
        tier = f"{speaker.label} words"
        assert [(to_ms(e.start), to_ms(e.end), e.label) for e in grid.getTier(tier).entries] == expected
        assert sorted(eaf.get_annotation_data_for_tier(tier)) == expected
