"""Word document (``.docx``): the numbered transcript as researchers code it, with media sync.

Qualitative researchers code transcripts in Word or import them into NVivo, ATLAS.ti or MAXQDA.
The document is the .txt, line for line: a title, the header block (source, duration,
speakers, engines, profile, date, notation key), then one paragraph per printed line with
exactly the line number and text of ``transcript.lines``, so a citation ``(P2, Lines 216-22)``
points at the same words in either file. The font is monospaced (and sized to fit the lines on
the page) so the notation's overlap brackets and the hanging indents line up as printed.

Timestamps: each turn's first line starts with ``[hh:mm:ss]``, the turn's start rounded down,
in a column of its own in front of the line number (other lines are padded to keep the columns).
NVivo imports Word transcripts whose paragraphs *start* with a timestamp, in ``hh:mm:ss``,
optionally in ``[ ]`` or ``# #`` (NVivo help, "Import audio or video transcripts"; it keeps
tenths at most); ``[hh:mm:ss]`` is also the form QDA exporters such as aTrain write for
MAXQDA's and ATLAS.ti's "transcript with timestamps" import. Bracketed whole seconds are the
form all three read, and the one the .txt prints with ``timestamps = true``. If the lines were
laid out with their own timestamps, no column is added (the stamp is already in the text).

Rendering the same document twice gives the same bytes: the file's creation and modification
times are the document's ``pipeline.created``, and so are the zip entries' dates.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

from undertone.config import RenderSettings
from undertone.model import Transcript
from undertone.render.layout import numbered
from undertone.render.text import render_text, to_ascii
from undertone.render.timecode import clock

if TYPE_CHECKING:  # the registry in undertone.render imports this module
    from undertone.render import RenderContext

MONOSPACE = "Courier New"
CHAR_WIDTH_EM = 0.6  # Courier New's advance width: every character is 0.6 of the font size
LARGEST_FONT_PT = 10.0
SMALLEST_FONT_PT = 6.0
MARGIN = Cm(2)
# Zip entries cannot be dated before 1980; a document whose date cannot be read gets this one.
EARLIEST = datetime(1980, 1, 1, tzinfo=timezone.utc)


def render_docx(transcript: Transcript, settings: RenderSettings, context: RenderContext) -> bytes:
    """The .docx file's bytes."""
    text_lines = render_text(transcript, settings).splitlines()
    header = text_lines[: len(text_lines) - len(transcript.lines)]  # title, header block, rule
    stamps = _turn_stamps(transcript)
    stamp_width = max(map(len, stamps.values()), default=-1) + 1  # "[00:01:05] ", or no column
    first_words = {turn.first_word for turn in transcript.turns}
    # Only the numbered lines must not wrap; a long header line (the engines) may.
    widest = max([settings.width] + [stamp_width + len(numbered(line)) for line in transcript.lines])

    document = Document()
    _set_page_and_font(document, widest)
    document.add_heading(header[0], level=0)
    for row in header[1:]:
        document.add_paragraph(row)
    for line in transcript.lines:
        printed = numbered(line)
        margin, text = printed[: len(printed) - len(line.text)], line.text
        label = transcript.speaker_label(line.speaker) + ":"
        runs = [(stamps.get(line.n, "").ljust(stamp_width), False), (margin, False)]
        if line.first_word in first_words and text.startswith(label):
            runs += [(label, True), (text[len(label) :], False)]
        else:
            runs.append((text, False))
        _add_runs(document.add_paragraph(), runs, settings.ascii)

    created = _created(transcript)
    properties = document.core_properties
    properties.title = header[0]
    properties.author = properties.last_modified_by = "undertone"
    properties.comments = f"undertone {transcript.pipeline.version}, profile {transcript.pipeline.profile}"
    properties.revision = 1
    properties.created = properties.modified = created
    buffer = io.BytesIO()
    document.save(buffer)
    return _dated_zip(buffer.getvalue(), created)


def _turn_stamps(transcript: Transcript) -> dict[int, str]:
    """Line number -> ``[hh:mm:ss]`` for every turn's first line, unless the lines carry them."""
    starts = {turn.first_word: turn.start for turn in transcript.turns}
    stamps = {
        line.n: f"[{clock(starts[line.first_word])}]"
        for line in transcript.lines
        if line.first_word in starts and line.speaker is not None
    }
    texts = {line.n: line.text for line in transcript.lines}
    if stamps and all(stamp in texts[n] for n, stamp in stamps.items()):
        return {}
    return stamps


def _set_page_and_font(document: Document, widest_line: int) -> None:
    """2 cm margins, and the largest monospaced size up to 10 pt that fits ``widest_line`` characters."""
    section = document.sections[0]
    section.left_margin = section.right_margin = MARGIN
    usable_pt = (section.page_width - section.left_margin - section.right_margin) / Pt(1)
    fitting = usable_pt / (CHAR_WIDTH_EM * max(widest_line, 1))
    size = max(SMALLEST_FONT_PT, min(LARGEST_FONT_PT, int(fitting * 2) / 2))  # whole half-points
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


def _add_runs(paragraph: Paragraph, runs: list[tuple[str, bool]], ascii_only: bool) -> None:
    for text, bold in runs:
        if text:
            paragraph.add_run(to_ascii(text) if ascii_only else text).bold = bold or None


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
