"""Word document (``.docx``): the transcript as QDA software imports it, with the .txt's line numbers.

Qualitative researchers code transcripts in Word or import them into NVivo, ATLAS.ti or MAXQDA
beside the recording. What those tools read from a Word file:

- NVivo imports a transcript of *paragraphs that start with a timestamp*, ``hh:mm:ss`` with
  ``[ ]`` or ``# #`` allowed around it ("Timestamps must appear at the beginning of a
  paragraph", https://help-nv8-en.qsrinternational.com/Importing_Transcripts.htm;
  https://help-nv.qsrinternational.com/12/win/v12.1.90-d3ea61/Content/files/import-audio-video-transcripts.htm),
  and autocodes speakers from the name at the very start of a paragraph.
- MAXQDA's focus-group import codes every contribution by speaker when "each contribution
  begins in a new paragraph" with "the name of the participant, followed by a colon"
  (https://www.maxqda.com/help-mx22/import/importing-focus-group-transcripts); its
  "Transcript with Timestamps" import reads ``[hh:mm:ss]`` stamps, as written by aTrain for
  MAXQDA, ATLAS.ti and NVivo (https://github.com/aTrainTranscription/aTrain/wiki/Tutorials).
- ATLAS.ti turns such stamps into the anchors that synchronise a transcript with its media
  (https://manuals.atlasti.com/Win/en/manual/Transcription/WorkingWithMultimediaTranscripts.html).

So each turn is **one paragraph starting ``[hh:mm:ss] Label:``** (the turn's start, rounded
down). Researchers also cite the numbered lines, so the turn's paragraph keeps the .txt's
line breaks as manual breaks (``w:br``), every printed line exactly as in the .txt after an
11-character stamp column, in a monospaced font sized so that no line wraps again; and the
numbers are **Word's own line numbering** (``w:lnNumType``, ISO/IEC 29500-1 §17.6.8,
continuous over the document, https://learn.microsoft.com/en-us/openspecs/office_standards/ms-oi29500/c4252e13-48d2-4ac9-9fb5-3b276d02be30),
with the header block above the rule excluded (``w:suppressLineNumbers``): Word's number of
each line is the .txt's, and the numbers are not part of the text the QDA tools import. A gap
line (``(1.3)``) stays in the paragraph of the turn it follows, as it sits in its indent in
the .txt. With ``timestamps = true`` the lines carry their stamp too (``I:   [00:00:04] so``),
and the paragraph still starts with one.

MAXQDA's focus-group import also reads the header's ``Source:``, ``Key:`` ... as speakers:
delete the header block (above the rule) before that import, or the codes it makes.

Rendering the same document twice gives the same bytes: the file's creation and modification
times are the document's ``pipeline.created``, and so are the zip entries' dates.
"""

from __future__ import annotations

import io
import math
import zipfile
from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Cm, Inches, Pt
from docx.text.paragraph import Paragraph

from undertone.config import RenderSettings
from undertone.model import Line, Transcript
from undertone.render.notation import to_ascii
from undertone.render.text import header_lines, title, title_lines
from undertone.render.timecode import clock

if TYPE_CHECKING:  # the registry in undertone.render imports this module
    from undertone.render import RenderContext

MONOSPACE = "Courier New"
CHAR_WIDTH_EM = 0.6  # Courier New's advance width: every character is 0.6 of the font size
LARGEST_FONT_PT = 10.0
SMALLEST_FONT_PT = 6.0
MARGIN = Cm(2)  # also holds Word's line numbers, left of the text
WIDEST_PAGE = Inches(22)  # Word's largest page width, for very wide lines
STAMP_COLUMN = len("[00:00:00] ")
# Elements that follow w:suppressLineNumbers in a paragraph's properties, and w:lnNumType in a
# section's (the schema fixes the order of both).
_AFTER_SUPPRESS = (
    "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
    "w:rPr", "w:sectPr", "w:pPrChange",
)
_AFTER_LINE_NUMBERS = (
    "w:pgNumType", "w:cols", "w:formProt", "w:vAlign", "w:noEndnote", "w:titlePg", "w:textDirection",
    "w:bidi", "w:rtlGutter", "w:docGrid", "w:printerSettings", "w:sectPrChange",
)
# Zip entries cannot be dated before 1980; a document whose date cannot be read gets this one.
EARLIEST = datetime(1980, 1, 1, tzinfo=timezone.utc)


def render_docx(transcript: Transcript, settings: RenderSettings, context: RenderContext) -> bytes:
    """The .docx file's bytes."""
    printable: Callable[[str], str] = to_ascii if settings.ascii else str
    header = header_lines(transcript, settings) + ["-" * settings.width]
    n_title = len(title_lines(transcript, settings))
    paragraphs = turn_paragraphs(transcript)
    widest = max([settings.width] + [STAMP_COLUMN + len(printable(line.text)) for line in transcript.lines])

    document = Document()
    _set_page_and_font(document, widest)
    _number_lines(document)
    for index, row in enumerate(header):
        paragraph = document.add_paragraph(row, style="Title" if index < n_title else None)
        _suppress_line_numbers(paragraph)
    for lines in paragraphs:
        _add_turn(document.add_paragraph(), transcript, lines, printable)

    created = _created(transcript)
    properties = document.core_properties
    properties.title = printable(title(transcript))
    properties.author = properties.last_modified_by = "undertone"
    properties.comments = f"undertone {transcript.pipeline.version}, profile {transcript.pipeline.profile}"
    properties.revision = 1
    properties.created = properties.modified = created
    buffer = io.BytesIO()
    document.save(buffer)
    return _dated_zip(buffer.getvalue(), created)


def turn_paragraphs(transcript: Transcript) -> list[list[Line]]:
    """The printed lines grouped by turn: a turn's lines, then the gap line that follows it.

    A turn starts at a line beginning with its speaker's label (continuation and gap lines
    begin with their indent).
    """
    groups: list[list[Line]] = []
    for line in transcript.lines:
        label = None if line.speaker is None else transcript.speaker_label(line.speaker) + ":"
        if not groups or (label is not None and line.text.startswith(label)):
            groups.append([])
        groups[-1].append(line)
    return groups


def _add_turn(paragraph: Paragraph, transcript: Transcript, lines: list[Line], printable: Callable[[str], str]) -> None:
    """``[hh:mm:ss] Label: ...`` and the turn's further lines after manual line breaks."""
    stamp = _turn_stamp(transcript, lines)
    label = None if lines[0].speaker is None else transcript.speaker_label(lines[0].speaker) + ":"
    for index, line in enumerate(lines):
        column = stamp.ljust(STAMP_COLUMN) if index == 0 and stamp else " " * STAMP_COLUMN
        if index > 0:
            paragraph.runs[-1].add_break()
        if index == 0 and label is not None and line.text.startswith(label):
            paragraph.add_run(printable(column))
            paragraph.add_run(printable(label)).bold = True
            paragraph.add_run(printable(line.text[len(label):]))
        else:
            paragraph.add_run(printable(column + line.text))


def _turn_stamp(transcript: Transcript, lines: list[Line]) -> str:
    """``[hh:mm:ss]``: the start of the turn whose words the lines print, rounded down."""
    first_word = next((line.first_word for line in lines if line.first_word is not None), None)
    if first_word is None or not transcript.turns:
        return ""
    position = bisect_right([turn.first_word for turn in transcript.turns], first_word) - 1
    return f"[{clock(transcript.turns[max(position, 0)].start)}]"


def _number_lines(document: Document) -> None:
    """Word's line numbering: every line, continuous over pages (``w:start`` 0: from 1)."""
    numbering = OxmlElement("w:lnNumType")
    numbering.set(qn("w:countBy"), "1")
    numbering.set(qn("w:restart"), "continuous")
    section: BaseOxmlElement = document.sections[0]._sectPr
    section.insert_element_before(numbering, *_AFTER_LINE_NUMBERS)


def _suppress_line_numbers(paragraph: Paragraph) -> None:
    properties: BaseOxmlElement = paragraph._p.get_or_add_pPr()
    properties.insert_element_before(OxmlElement("w:suppressLineNumbers"), *_AFTER_SUPPRESS)


def _set_page_and_font(document: Document, widest_line: int) -> None:
    """2 cm margins and the largest monospaced size up to 10 pt that fits ``widest_line``
    characters; below 6 pt the page is widened instead (up to Word's 22 inches), so that
    Word never wraps a printed line and its line numbers stay the .txt's."""
    section = document.sections[0]
    section.left_margin = section.right_margin = MARGIN
    size = _fitting_size(section, widest_line)
    if size < SMALLEST_FONT_PT:
        needed = Pt(SMALLEST_FONT_PT * CHAR_WIDTH_EM * widest_line) + section.left_margin + section.right_margin
        section.page_width = min(needed + Pt(1), WIDEST_PAGE)
        size = min(SMALLEST_FONT_PT, _fitting_size(section, widest_line))
    style = document.styles["Normal"]
    style.font.name = MONOSPACE
    style.font.size = Pt(size)
    # Word picks a font per script; without these, ↑ ↓ ° could come from a proportional font.
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for script in ("w:eastAsia", "w:cs"):
        fonts.set(qn(script), MONOSPACE)
    paragraphs = style.paragraph_format
    paragraphs.space_before = paragraphs.space_after = Pt(0)
    paragraphs.line_spacing = 1.0


def _fitting_size(section: Section, characters: int) -> float:
    """The largest font size in whole half-points, at most 10 pt, that fits ``characters``."""
    usable_pt = (section.page_width - section.left_margin - section.right_margin) / Pt(1)
    return min(LARGEST_FONT_PT, math.floor(usable_pt / (CHAR_WIDTH_EM * max(characters, 1)) * 2) / 2)


def _created(transcript: Transcript) -> datetime:
    """The document's creation time in UTC (the earliest zip date if it cannot be read)."""
    try:
        created = datetime.fromisoformat(transcript.pipeline.created)
    except ValueError:
        return EARLIEST
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return max(created.astimezone(timezone.utc), EARLIEST)


def _dated_zip(data: bytes, when: datetime) -> bytes:
    """The same package with every entry dated ``when`` (python-docx dates them with the clock)."""
    date_time = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()
