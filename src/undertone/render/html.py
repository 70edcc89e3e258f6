"""The review page (``<stem>.html``): the numbered transcript beside its recording, in one file.

A researcher opens it from disk (no server, no network: a Content-Security-Policy forbids any
request) to listen to the interview while reading it: click a line to hear it, follow the
current word, hover a mark for the measurement behind it, switch kinds of marks off, search,
and select lines to get a ready citation such as ``(P2, Lines 216–222)``.

The page is rendered from the transcript document only. Lines, numbers and text are exactly
those of ``transcript.lines`` (the .txt); each printed word becomes a span with its times, each
mark a span with its measurement. The behaviour and look live in ``review/review.js`` and
``review/review.css`` beside this module (package data), inlined into every page.
"""

from __future__ import annotations

import base64
import html
import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, get_args
from urllib.parse import quote

import numpy as np

from undertone.cite import citation_label
from undertone.config import RenderSettings
from undertone.frames import Frames
from undertone.model import Annotation, AnnotationKind, Line, Overlap, Pause, Transcript, Turn, Word
from undertone.render import notation
from undertone.render.layout import overlapped_words, pause_mark
from undertone.render.notation import Decoration
from undertone.render.text import to_ascii

if TYPE_CHECKING:
    from undertone.render import RenderContext

# The speaker colours: Okabe & Ito's palette, distinguishable with every common colour-vision
# deficiency. The CSS defines one class per colour (.s0 ... .s6); speakers beyond seven reuse them.
PALETTE_SIZE = 7
# Pitch contours: F0 averaged over 20 ms steps (half the frame rate: small enough to embed for
# an hour of talk, fine enough to show a rise on one syllable), in semitones re the speaker's
# median, drawn within +-8 st (beyond that is clipped: voices rarely leave that range).
CONTOUR_STEP_S = 0.02
CONTOUR_RANGE_ST = 8.0
# Contours fill their column, except that a turn shorter than about 2.4 s gets a shorter one
# (a one-word backchannel is not drawn as long as a story).
CONTOUR_REM_PER_S = 4.0
# A voiced stretch is drawn as one line unless the pitch track is unvoiced for longer than this.
CONTOUR_BREAK_S = 0.06

AUDIO_TYPES = {
    ".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
    ".mp4": "audio/mp4", ".aac": "audio/aac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
    ".opus": "audio/ogg", ".webm": "audio/webm", ".aiff": "audio/aiff", ".aif": "audio/aiff",
}

# Toggle groups of marks: (name used in CSS classes, checkbox label, how the marks look, kinds).
MARK_GROUPS: list[tuple[str, str, str, frozenset[str]]] = [
    ("pauses", "pauses", "(.)", frozenset({"pause", "micropause", "gap"})),
    ("overlaps", "overlaps", "[ ]", frozenset({"overlap"})),
    ("latching", "latching", "=", frozenset({"latch"})),
    ("loudness", "loud/quiet", "°", frozenset({"loud", "quiet"})),
    ("tempo", "tempo", "> <", frozenset({"fast", "slow"})),
    ("pitch", "pitch steps", "↑↓", frozenset({"pitch_up", "pitch_down"})),
    ("intonation", "intonation", "? , .", frozenset({"rise", "level", "fall"})),
    ("elongation", "elongation", "::", frozenset({"elongation"})),
    ("emphasis", "emphasis", "_", frozenset({"emphasis"})),
]
GROUP_OF = {kind: group for group, _, _, kinds in MARK_GROUPS for kind in kinds}

# What a mark is called in its tooltip, before its measurement.
MARK_NAMES = {
    "loud": "louder", "quiet": "quieter", "fast": "faster", "slow": "slower",
    "pitch_up": "pitch step up", "pitch_down": "pitch step down", "rise": "rising",
    "level": "continuing", "fall": "falling", "elongation": "stretched", "emphasis": "stressed",
    "latch": "latched, no gap", "overlap": "overlapping talk",
}
# Which kind each symbol before / after a word stands for (from the notation's own tables).
OPENING_KIND = {"[": "overlap", "=": "latch"} | {
    symbol: kind for kind, symbol in notation.STEP.items()
} | {opening: kind for kind, (opening, _) in notation.STRETCH.items()}
CLOSING_KIND = {"]": "overlap", "=": "latch"} | {
    symbol: kind for kind, symbol in notation.INTONATION.items()
} | {closing: kind for kind, (_, closing) in notation.STRETCH.items()}

_STAMP = re.compile(r"\[\d{2}:\d{2}:\d{2}\] ")


STATIC_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self' file: data: blob:; img-src data:"
# Served by the review server: audio and edits from that server only, nothing else.
EDITING_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self'; connect-src 'self'; img-src data:"


@dataclass(frozen=True)
class Editing:
    """Editing turned on: the page is served by ``undertone review`` (see undertone.correct.server).

    ``api`` is the server's address for this transcript's edits, ``media`` its recording's;
    ``applied`` is how many journal edits the shown version already includes (later ones are
    shown as pending), ``version`` its version id (None: the machine version).
    """

    api: str
    media: str | None
    media_problem: str | None = None
    applied: int = 0
    version: str | None = None


def render_html(
    transcript: Transcript, settings: RenderSettings, context: RenderContext, editing: Editing | None = None
) -> str:
    """The review page as one self-contained HTML document (with ``editing``: the review server's page)."""
    page = _Page(transcript, settings, context, editing)
    lines = page.transcript_html()  # first: it finds the kinds of marks the page shows
    document = _TEMPLATE.format(
        csp=EDITING_CSP if editing else STATIC_CSP,
        title=page.esc(f"{page.file_name} · undertone review"),
        version=page.esc(transcript.pipeline.version),
        css=_asset("review.css") + (_asset("edit.css") if editing else ""),
        header=page.header(),
        controls=page.controls(),
        body_class=" ".join(page.body_classes),
        transcript=lines,
        columns=max((len(line.text) for line in transcript.lines), default=1),
        citation_panel=_CITATION_PANEL,
        data=_script_json(page.data()),
        js=_asset("review.js") + (_asset("edit.js") if editing else ""),
    )
    # Pure ASCII on disk whatever the words are: characters outside ASCII become character
    # references (the inlined CSS, JS and JSON are ASCII already), so no viewer can mis-decode.
    return document.encode("ascii", "xmlcharrefreplace").decode("ascii")


def audio_mime_type(path: Path) -> str:
    return AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream")


def turn_contour(
    frames: Frames, turn: Turn, median_hz: float | None, step_s: float = CONTOUR_STEP_S
) -> list[list[tuple[float, float]]]:
    """The turn's pitch as voiced stretches of (seconds from turn start, semitones re ``median_hz``).

    Only frames attributed to the turn's speaker alone count (in overlapping talk the track
    mixes two voices). F0 is averaged in semitones over ``step_s`` bins. Without a median, the
    turn's own median F0 is the reference; an unvoiced turn has no contour.
    """
    low, high = np.searchsorted(frames.times, [turn.start, turn.end])
    times = frames.times[low:high]
    f0 = frames.f0_hz[low:high]
    voiced = (frames.speaker[low:high] == turn.speaker) & np.isfinite(f0) & (f0 > 0)
    if not voiced.any():
        return []
    reference = median_hz or float(np.median(f0[voiced]))
    semitones = 12.0 * np.log2(f0[voiced] / reference)
    bins = np.floor((times[voiced] - turn.start) / step_s).astype(int)
    counts = np.bincount(bins)
    sums = np.bincount(bins, weights=semitones)
    filled = np.flatnonzero(counts)
    means = sums[filled] / counts[filled]
    stretches: list[list[tuple[float, float]]] = []
    previous = None
    for index, value in zip(filled, means):
        if previous is None or (index - previous) * step_s > CONTOUR_BREAK_S:
            stretches.append([])
        stretches[-1].append(((index + 0.5) * step_s, float(value)))
        previous = index
    return stretches


@dataclass(frozen=True)
class _Piece:
    """A run of a printed word: plain text, or a mark (``kind``) with its measurement."""

    text: str
    kind: str | None = None
    title: str | None = None
    plain: str | None = None  # for LOUD letters: the word as spoken, shown when loudness is off


class _Page:
    def __init__(
        self, transcript: Transcript, settings: RenderSettings, context: RenderContext, editing: Editing | None = None
    ) -> None:
        self.transcript = transcript
        self.settings = settings
        self.context = context
        self.editing = editing
        self.ascii = settings.ascii
        self.file_name = transcript.source.path.replace("\\", "/").rsplit("/", 1)[-1]
        self.label = citation_label(transcript)
        self.speaker_class = {s.id: f"s{i % PALETTE_SIZE}" for i, s in enumerate(transcript.speakers)}
        self.body_classes: list[str] = [] if context.frames is not None else ["no-contours"]
        if editing is not None:
            from undertone.correct.attention import attention

            self.body_classes.append("editing")
            self.attention = attention(transcript)
        # Corrected versions carry their version id (undertone.correct.apply): citations name it.
        self.version = (getattr(transcript, "correction", None) or {}).get("version")
        self.notices: list[str] = []
        self.media = self._media()
        # The notation level the lines were laid out at is the document's own (its settings),
        # unless re-rendered at another; a word is matched at the first level it prints as.
        recorded = transcript.pipeline.config.get("render", {}).get("notation")
        candidates = [recorded, settings.notation, *notation.LEVELS]
        self._levels = [level for level in dict.fromkeys(candidates) if level in notation.LEVELS]
        self._decorations: dict[str, dict[int, Decoration]] = {}
        self._overlapped: set[int] | None = None
        self.marks = _MarkIndex(transcript)
        self.pauses_after = {p.after_word: p for p in transcript.pauses if p.kind != "gap"}
        self.gaps = [p for p in transcript.pauses if p.kind == "gap"]
        self.kinds_shown: set[str] = set()
        self._turn_starts = [t.first_word for t in transcript.turns]

    # -- text helpers --------------------------------------------------------------------

    def text(self, value: str) -> str:
        """Document text as the page shows it (ASCII stand-ins with the ``ascii`` setting)."""
        return to_ascii(value) if self.ascii else value

    def esc(self, value: str) -> str:
        return html.escape(self.text(value), quote=True)

    # -- page parts ----------------------------------------------------------------------

    def header(self) -> str:
        transcript, source = self.transcript, self.transcript.source
        pipeline = transcript.pipeline
        channels = "1 channel" if source.channels == 1 else f"{source.channels} channels"
        facts = [
            _duration(source.duration), f"{source.sample_rate} Hz", channels,
            f"{pipeline.profile} profile", f"undertone {pipeline.version}", pipeline.created[:10],
        ]
        legend = "".join(
            f'<li class="{self.speaker_class[s.id]}"><span class="swatch"></span>{self.esc(s.label)}'
            + (f' <span class="role">{self.esc(s.role)}</span>' if s.role else "")
            + "</li>"
            for s in transcript.speakers
        )
        notes = "".join(f"<li>{self.esc(note)}</li>" for note in pipeline.notes)
        key = "; ".join(notation.key_entries(transcript, self.settings.notation))
        return (
            f'<header class="masthead">'
            f'<div class="ident"><h1>{self.esc(self.file_name)}</h1>'
            f'<p class="facts">{" &middot; ".join(self.esc(f) for f in facts)}'
            f' &middot; <span class="sha" title="sha256 of the recording">{self.esc(source.sha256[:12])}</span></p></div>'
            f'<ul class="legend" aria-label="Speakers">{legend}</ul>'
            + (f'<ul class="caveats">{notes}</ul>' if notes else "")
            + (f'<p class="key"><strong>Key</strong> {self.esc(key)}</p>' if key else "")
            + "</header>"
        )

    def controls(self) -> str:
        notice_html = "".join(f'<p class="notice" data-static="1">{n}</p>' for n in self.notices)
        src = f' src="{html.escape(self.media, quote=True)}"' if self.media else ""
        present = self._present_groups()
        toggles = "".join(
            f'<label><input type="checkbox" data-group="{group}" checked> {label}'
            f' <code>{self.esc(sample)}</code></label>'
            for group, label, sample, _ in MARK_GROUPS
            if group in present
        )
        return (
            '<div class="controls" id="controls">'
            f'<div id="notices">{notice_html}</div>'
            f'<div class="player-row"><audio id="player" controls preload="metadata"{src}></audio>'
            '<div class="search"><input type="search" id="search" placeholder="Search the transcript" '
            'aria-label="Search the transcript" autocomplete="off" spellcheck="false">'
            '<span id="search-count" aria-live="polite"></span></div></div>'
            + (f'<fieldset class="toggles" id="marks"><legend>Marks</legend>{toggles}</fieldset>' if toggles else "")
            + '<p class="help" id="help"><kbd>Click</kbd> a line: play &middot; <kbd>Space</kbd> play/pause'
            ' &middot; <kbd>&larr;</kbd><kbd>&rarr;</kbd> 5 s &middot; <kbd>Shift</kbd>+<kbd>&larr;</kbd><kbd>&rarr;</kbd>'
            ' line &middot; <kbd>Alt</kbd>+click: from a word &middot; cite: line numbers'
            ' (<kbd>Shift</kbd>: range) or select text &middot; <kbd>/</kbd> search (<kbd>Enter</kbd>: next)'
            ' &middot; <kbd>Esc</kbd> clear</p>'
            "</div>"
        )

    def transcript_html(self) -> str:
        blocks: list[str] = []
        lines = self.transcript.lines
        index = 0
        while index < len(lines):
            line = lines[index]
            turn = self._turn_of(line)
            if turn is None and _is_label_line(line) and index + 1 < len(lines):
                turn = self._turn_of(lines[index + 1])  # a label on its own line opens its turn
            if turn is None:
                blocks.append(self.line_html(line))
                index += 1
                continue
            group = [line]
            while index + len(group) < len(lines) and self._turn_of(lines[index + len(group)]) is turn:
                group.append(lines[index + len(group)])
            index += len(group)
            blocks.append(self.turn_html(turn, group))
        return "\n".join(blocks)

    def turn_html(self, turn: Turn, lines: list[Line]) -> str:
        rows = "".join(self.line_html(line) for line in lines)
        return (
            f'<div class="turn {self.speaker_class.get(turn.speaker, "s0")}" data-speaker="{html.escape(turn.speaker)}"'
            f' data-start="{_t(turn.start)}" data-end="{_t(turn.end)}">{rows}{self.contour_svg(turn, len(lines))}</div>'
        )

    def line_html(self, line: Line) -> str:
        times = ""
        if line.start is not None and line.end is not None:
            times = f' data-start="{_t(line.start)}" data-end="{_t(line.end)}"'
        gap = " gap" if line.first_word is None and not _is_label_line(line) else ""
        return (
            f'<div class="line{gap}" id="L{line.n}" data-n="{line.n}"{times}>'
            f'<span class="n">{line.n}</span><span class="tx">{self.line_text_html(line)}</span></div>'
        )

    def line_text_html(self, line: Line) -> str:
        """The line's text, exactly, with its words and marks as spans (plain if it cannot be parsed)."""
        text = line.text
        prefix = ""
        label = self.transcript.speaker_label(line.speaker) + ":" if line.speaker is not None else None
        if label is not None and text.startswith(label):
            rest = text[len(label):]
            spaces = len(rest) - len(rest.lstrip(" "))
            prefix = f'<span class="who">{self.esc(label)}</span>{rest[:spaces]}'
            rest = rest[spaces:]
            stamp = _STAMP.match(rest)
            if stamp:
                prefix += f'<span class="stamp">{stamp.group()[:-1]}</span> '
                rest = rest[stamp.end():]
        else:
            spaces = len(text) - len(text.lstrip(" "))
            prefix, rest = text[:spaces], text[spaces:]
        body = self._body_html(line, rest)
        return prefix + (body if body is not None else self.esc(rest))

    def contour_svg(self, turn: Turn, n_rows: int) -> str:
        frames = self.context.frames
        if frames is None:
            return ""
        speaker = next((s for s in self.transcript.speakers if s.id == turn.speaker), None)
        median = speaker.f0_median_hz if speaker else None
        stretches = turn_contour(frames, turn, median)
        width = max(round((turn.end - turn.start) * 100), 1)  # centiseconds
        top = CONTOUR_RANGE_ST
        polylines = "".join(
            '<polyline points="'
            + " ".join(f"{round(t * 100):d},{_st(-max(-top, min(top, st)))}" for t, st in stretch)
            + '"/>'
            for stretch in stretches
            if len(stretch) > 1
        )
        tall = ' class="contour tall"' if n_rows > 1 else ' class="contour"'
        who = self.transcript.speaker_label(turn.speaker)
        reference = f"{who}'s median {median:.0f} Hz" if median else "the turn's median"
        title = (
            f"Pitch of {who}, {turn.start:.1f}-{turn.end:.1f} s: semitones re {reference} "
            f"(axis +-{top:g} st, midline = median). Click to play from there."
            if polylines
            else f"No pitch measured for {who} in this turn"
        )
        return (
            f'<svg viewBox="0 {-top:g} {width} {2 * top:g}" preserveAspectRatio="none" '
            f'style="grid-row: 1 / span {n_rows}; width: min(100%, {turn.end - turn.start:.2f} * {CONTOUR_REM_PER_S:g}rem)"{tall} role="img" aria-label="{self.esc(title)}">'
            f"<title>{self.esc(title)}</title>"
            f'<line class="mid" x1="0" y1="0" x2="{width}" y2="0"/>{polylines}'
            f'<line class="playhead" x1="0" y1="{-top:g}" x2="0" y2="{top:g}"/></svg>'
        )

    def data(self) -> dict:
        """What the script needs that the HTML does not already say."""
        return {
            "label": self.text(self.label),
            "dash": "-" if self.ascii else "–",
            "file": self.text(self.file_name),
            "media": None if self.media is None else ("embedded" if self.media.startswith("data:") else self.media),
            "duration": self.transcript.source.duration,
            "speakers": [
                {"id": s.id, "label": self.text(s.label), "role": s.role, "class": self.speaker_class[s.id]}
                for s in self.transcript.speakers
            ],
            "lines": [
                {"n": line.n, "text": self.text(line.text), "speaker": line.speaker, "start": line.start, "end": line.end}
                for line in self.transcript.lines
            ],
            "version": self.version,
            "editing": None if self.editing is None else self._editing_data(),
        }

    def _editing_data(self) -> dict:
        assert self.editing is not None
        correction = getattr(self.transcript, "correction", None) or {}
        return {
            "api": self.editing.api,
            "applied": self.editing.applied,
            "version": self.editing.version,
            "checked": bool(correction.get("checked")),
            "kinds": list(get_args(AnnotationKind)),
            "annotations": [
                {"kind": a.kind, "first": self._word_id(a.first_word), "last": self._word_id(a.last_word),
                 "added": getattr(a, "source", None) == "reviewer"}
                for a in self.transcript.annotations
            ],
        }

    def _word_id(self, index: int) -> str:
        return str(getattr(self.transcript.words[index], "id", None) or f"w{index}")

    # -- parsing a printed line back into its words and marks ----------------------------

    def _body_html(self, line: Line, body: str) -> str | None:
        if line.first_word is None:
            gap = self._gap_of(line)
            if gap is None or body != pause_mark(gap):
                return None
            return self._pause_html(gap, body, lead="", trail="")
        assert line.last_word is not None
        tokens = body.split(" ")
        items: list[tuple[bool, str]] = []  # (is a pause, html)
        index, position = line.first_word, 0
        while position < len(tokens):
            matched = self._match_word(index, tokens, position) if index <= line.last_word else None
            if matched is not None:
                word_html, used = matched
                items.append((False, word_html))
                position += used
                index += 1
                continue
            pause = self.pauses_after.get(index - 1)
            if pause is None or tokens[position] != pause_mark(pause):
                return None
            items.append((True, self._pause_html(pause, tokens[position], lead="", trail="")))
            position += 1
        if index != line.last_word + 1:
            return None
        parts: list[str] = []
        for number, (is_pause, item) in enumerate(items):
            if is_pause:
                lead = " " if number > 0 else ""
                trail = " " if number == 0 and len(items) > 1 else ""
                parts.append(f'<span class="g-pauses">{lead}{item}{trail}</span>')
            else:
                if number > 0 and not (number == 1 and items[0][0]):
                    parts.append(" ")
                parts.append(item)
        return "".join(parts)

    def _match_word(self, index: int, tokens: list[str], position: int) -> tuple[str, int] | None:
        """The word's HTML if ``tokens[position:]`` start with word ``index`` as printed at some level."""
        for level in self._levels:
            decoration = self._decorations_at(level)[index]
            printed = decoration.text()
            used = printed.count(" ") + 1
            if " ".join(tokens[position:position + used]) == printed:
                return self._word_html(self.transcript.words[index], decoration, notation.shown(level)), used
        return None

    def _word_html(self, word: Word, decoration: Decoration, kinds: frozenset[str]) -> str:
        pieces: list[_Piece] = []
        for symbol in decoration.opening:
            pieces.append(self._symbol(symbol, OPENING_KIND, word, at_start=True))
        pieces += self._core_pieces(word, decoration.core, kinds)
        for symbol in decoration.closing:
            pieces.append(self._symbol(symbol, CLOSING_KIND, word, at_start=False))
        inner = "".join(self._piece_html(piece) for piece in pieces)
        extra = ""
        if self.editing is not None:
            word_id = getattr(word, "id", None) or f"w{word.i}"
            flag = self.attention.get(word.i)
            extra = f' data-id="{html.escape(str(word_id), quote=True)}"'
            if word.confidence is not None:
                extra += f' data-conf="{word.confidence:.2f}"'
            if flag:
                extra += f' data-attn="{flag}"'
            if getattr(word, "timing", None) == "interpolated":
                extra += ' data-timing="interpolated"'
        return f'<span class="w t" data-i="{word.i}"{extra} data-start="{_t(word.start)}" data-end="{_t(word.end)}">{inner}</span>'

    def _symbol(self, symbol: str, kinds: dict[str, str], word: Word, at_start: bool) -> _Piece:
        kind = kinds.get(symbol)
        if kind is None:
            return _Piece(symbol)
        self.kinds_shown.add(kind)
        if kind == "overlap":
            return _Piece(symbol, kind, self._overlap_title(word))
        if kind == "latch":  # "=" closes the first word and opens the second of a latched pair
            mark = self.marks.first.get((kind, word.i)) if not at_start else self.marks.last.get((kind, word.i))
        elif kind in notation.STRETCH:
            mark = self.marks.first.get((kind, word.i)) if at_start else self.marks.last.get((kind, word.i))
        elif kind in notation.INTONATION:
            mark = self.marks.last.get((kind, word.i))
        else:
            mark = self.marks.first.get((kind, word.i))
        return _Piece(symbol, kind, _describe(kind, mark))

    def _core_pieces(self, word: Word, core: str, kinds: frozenset[str]) -> list[_Piece]:
        """The printed word between its marks: letters, elongation colons, emphasis underscores.

        Rebuilt from the word and its marks, and used only if it prints exactly as ``core``.
        """
        spoken = word.text
        if word.kind == "cutoff" and "cutoff" in kinds and not spoken.endswith("-"):
            spoken += "-"
        emphasis = self.marks.first.get(("emphasis", word.i)) if "emphasis" in kinds else None
        elongation = self.marks.first.get(("elongation", word.i)) if "elongation" in kinds else None
        loud = self.marks.loud.get(word.i) if "loud" in kinds else None
        letters = spoken.upper() if loud else spoken
        body = core
        if emphasis is not None:
            if not (len(body) >= 2 and body[0] == body[-1] == "_"):
                return [_Piece(core)]
            body = body[1:-1]
        split: tuple[int, str] | None = None
        if elongation is not None:
            for run in re.finditer(r":+", body):
                if body[: run.start()] + body[run.end():] == letters:
                    split = (run.start(), run.group())
                    break
            if split is None:
                return [_Piece(core)]
        elif body != letters:
            return [_Piece(core)]
        at = split[0] if split else len(letters)
        loud_title = _describe("loud", loud) if loud else None
        pieces: list[_Piece] = []
        for shown, spoken_part in ((letters[:at], spoken[:at]), (split[1] if split else "", None), (letters[at:], spoken[at:])):
            if not shown:
                continue
            if spoken_part is None:
                pieces.append(_Piece(shown, "elongation", _describe("elongation", elongation)))
            elif loud is not None:
                pieces.append(_Piece(shown, "loud", loud_title, plain=spoken_part))
            else:
                pieces.append(_Piece(shown))
        if emphasis is not None:
            title = _describe("emphasis", emphasis)
            pieces = [_Piece("_", "emphasis", title), *pieces, _Piece("_", "emphasis", title)]
        self.kinds_shown.update(p.kind for p in pieces if p.kind)
        return pieces

    def _piece_html(self, piece: _Piece) -> str:
        text = self.esc(piece.text)
        title = f' title="{self.esc(piece.title)}"' if piece.title else ""
        if piece.kind is None:
            return text
        if piece.plain is not None:
            return f'<span class="lc"{title} data-plain="{self.esc(piece.plain)}">{text}</span>'
        return f'<span class="m g-{GROUP_OF[piece.kind]} k-{piece.kind}"{title}>{text}</span>'

    def _pause_html(self, pause: Pause, printed: str, lead: str, trail: str) -> str:
        self.kinds_shown.add(pause.kind)
        where = " between speakers" if pause.kind == "gap" else ""
        title = f"{printed} {pause.duration:.2f} s silence{where}"
        return (
            f'{lead}<span class="p t k-{pause.kind}" data-start="{_t(pause.start)}" data-end="{_t(pause.end)}"'
            f' title="{self.esc(title)}">{self.esc(printed)}</span>{trail}'
        )

    def _overlap_title(self, word: Word) -> str:
        best: Overlap | None = None
        best_shared = 0.0
        for overlap in self.transcript.overlaps:
            shared = min(word.end, overlap.end) - max(word.start, overlap.start)
            if shared > best_shared:
                best, best_shared = overlap, shared
        if best is None:
            return MARK_NAMES["overlap"]
        who = " and ".join(self.transcript.speaker_label(s) for s in best.speakers)
        return f"overlapping talk: {best.end - best.start:.2f} s ({best.start:.2f}-{best.end:.2f} s), {who}"

    def _decorations_at(self, level: str) -> dict[int, Decoration]:
        if level not in self._decorations:
            if self._overlapped is None:
                self._overlapped = overlapped_words(self.transcript)
            self._decorations[level] = notation.decorate_words(self.transcript, level, self._overlapped)
        return self._decorations[level]

    def _turn_of(self, line: Line) -> Turn | None:
        if line.first_word is None:
            return None
        position = bisect_right(self._turn_starts, line.first_word) - 1
        if position < 0:
            return None
        turn = self.transcript.turns[position]
        return turn if turn.first_word <= line.first_word <= turn.last_word else None

    def _gap_of(self, line: Line) -> Pause | None:
        if line.start is None:
            return None
        return next((g for g in self.gaps if abs(g.start - line.start) < 0.002), None)

    def _present_groups(self) -> set[str]:
        """Groups of marks the rendered lines show (after :meth:`transcript_html`)."""
        return {GROUP_OF[kind] for kind in self.kinds_shown if kind in GROUP_OF}

    # -- the recording ---------------------------------------------------------------------

    def _media(self) -> str | None:
        if self.editing is not None:
            if self.editing.media is None:
                self.notices.append(
                    "The recording cannot be played: " + html.escape(self.editing.media_problem or "not found")
                )
            return self.editing.media
        audio = self.context.audio
        if audio is None:
            self.notices.append(
                "No recording is linked to this page: the transcript, search and citations work, "
                "playback does not."
            )
            return None
        if self.settings.embed_audio:
            try:
                payload = base64.b64encode(audio.read_bytes()).decode("ascii")
            except OSError as error:
                self.notices.append(
                    f"The recording {html.escape(str(audio))} could not be embedded "
                    f"({html.escape(error.strerror or str(error))}): playback does not work."
                )
                return None
            return f"data:{audio_mime_type(audio)};base64,{payload}"
        link = self.context.media_link()
        if not audio.is_file():
            self.notices.append(
                f"The recording was not found at {html.escape(str(audio))} when this page was made. "
                f"Put it at <code>{html.escape(link or '')}</code> (relative to this page) to play it; "
                "the transcript, search and citations work without it."
            )
        return quote(link, safe="/") if link else None


class _MarkIndex:
    """The annotations by (kind, first word) and (kind, last word), and LOUD words."""

    def __init__(self, transcript: Transcript) -> None:
        self.first: dict[tuple[str, int], Annotation] = {}
        self.last: dict[tuple[str, int], Annotation] = {}
        self.loud: dict[int, Annotation] = {}
        for mark in transcript.annotations:
            self.first.setdefault((mark.kind, mark.first_word), mark)
            self.last.setdefault((mark.kind, mark.last_word), mark)
            if mark.kind == "loud":
                for index in range(mark.first_word, mark.last_word + 1):
                    self.loud.setdefault(index, mark)


def _describe(kind: str, mark: Annotation | None) -> str:
    """``louder: +7.2 dB re speaker``: the mark's name and the measurement behind it."""
    name = MARK_NAMES.get(kind, kind)
    if mark is None or mark.value is None:
        return name
    unit = mark.unit or ""
    relative = unit.startswith(("dB", "st"))  # differences: always signed
    value = f"{mark.value:+.1f}" if relative else f"{mark.value:g}"
    return f"{name}: {value} {unit}".rstrip()


def _asset(name: str) -> str:
    text = resources.files("undertone.render").joinpath("review", name).read_text(encoding="utf-8")
    if "</" + "script" in text.lower() or "</" + "style" in text.lower():
        raise ValueError(f"review/{name} must not contain a closing script or style tag")
    return text


def _script_json(value: object) -> str:
    """JSON safe inside ``<script>``: ``<`` is escaped, so no ``</script>`` or ``<!--`` can occur."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _is_label_line(line: Line) -> bool:
    """A speaker's label printed on a line of its own (narrow widths): no words, a speaker."""
    return line.first_word is None and line.speaker is not None


def _t(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") or "0"


def _st(value: float) -> str:
    text = f"{value:.1f}"
    return "0" if text in ("0.0", "-0.0") else text.rstrip("0").rstrip(".")


def _duration(seconds: float) -> str:
    whole = int(round(seconds))
    hours, minutes, secs = whole // 3600, whole % 3600 // 60, whole % 60
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


_CITATION_PANEL = (
    '<aside class="cite-panel" id="cite-panel" hidden aria-label="Citation">'
    '<div class="cite-head"><span class="cite-label">Cite</span>'
    '<output id="citation"></output> <output id="cite-span"></output>'
    '<span class="cite-actions">'
    '<button type="button" id="cite-play" title="Play these lines">Play</button>'
    '<button type="button" id="copy-citation" title="Copy the citation">Copy citation</button>'
    '<button type="button" id="copy-extract" title="Copy the numbered lines and the citation">Copy with extract</button>'
    '<button type="button" id="cite-clear" title="Clear (Esc)" aria-label="Clear">&times;</button>'
    "</span></div>"
    '<pre id="extract"></pre></aside>'
)

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="undertone {version}">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body class="{body_class}">
{header}
{controls}
<main class="transcript" id="transcript" style="--columns: {columns}">
{transcript}
</main>
{citation_panel}
<script type="application/json" id="undertone-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""
