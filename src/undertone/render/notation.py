"""Jefferson notation: how each mark is written around the words, and which level shows what.

The transcript's annotations are data; this module turns them into the symbols researchers
read. Every word gets a prefix, a core (its text, possibly CAPITALISED, elongated or
underlined) and a suffix, nested in a fixed order so that the same document always prints the
same way::

    =[°>↑_WO::RD-_?<°]=
     latch, overlap, quiet, fast/slow, step | word | intonation, fast/slow, quiet, overlap, latch

Notation levels (``render.notation``):

- ``plain``: words, speakers and timed pauses and gaps (no micropauses, no other marks);
- ``standard`` (default): every mark whose accuracy on the benchmark is good enough to read
  without checking (see README, "Accuracy of the marks"): pauses, micropauses, gaps, latching,
  overlaps, cut-offs, louder/quieter, faster/slower, pitch steps, final intonation and emphasis
  (F1 0.86 clean, 0.67 in noise: as good as quieter and slower);
- ``jefferson``: everything, adding elongation (F1 0.55 on the benchmark: worth a listen
  before it is trusted).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from undertone.model import Annotation, Transcript

PLAIN = frozenset({"pause", "gap"})
STANDARD = frozenset(
    {
        "pause", "micropause", "gap", "overlap", "cutoff", "latch", "loud", "quiet", "fast",
        "slow", "pitch_up", "pitch_down", "rise", "fall", "level", "emphasis",
    }
)
JEFFERSON = STANDARD | {"elongation"}
LEVELS: dict[str, frozenset[str]] = {"plain": PLAIN, "standard": STANDARD, "jefferson": JEFFERSON}

INTONATION = {"rise": "?", "level": ",", "fall": "."}
# (opening, closing) symbols of the marks that bracket a stretch of words.
STRETCH = {"quiet": ("°", "°"), "fast": (">", "<"), "slow": ("<", ">")}
STEP = {"pitch_up": "↑", "pitch_down": "↓"}
COLON_S = 0.15  # each colon of an elongation stands for this much extra time (s), up to three
MAX_COLONS = 3

# ASCII stand-ins (``render.ascii``), one character for one so widths and numbering hold. None
# is a mark of the notation: ``/`` and ``\`` slope up and down, ``%`` for the degree sign,
# ``#`` for anything else; never ``?``, which is rising intonation. Curly quotes and dashes
# become their plain forms (a dash ending a word reads as a cut-off, as it does in UTF-8). The
# ellipsis is the one wider stand-in: the layout measures words in their ASCII width
# (:func:`print_width`), so lines stay within the width either way.
ASCII_STAND_INS = {
    "↑": "/", "↓": "\\", "°": "%", "…": "...",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
}
UNKNOWN_ASCII = "#"

# What each symbol means, for the key printed in the transcript header.
KEY = {
    "pause": "(0.7) silence in seconds",
    "micropause": "(.) micropause",
    "overlap": "[ ] overlapping talk",
    "latch": "= latched, no gap",
    "loud": "WORD louder",
    "quiet": "°word° quieter",
    "fast": ">word< faster",
    "slow": "<word> slower",
    "pitch_up": "↑ pitch step up",
    "pitch_down": "↓ pitch step down",
    "rise": "? rising",
    "level": ", continuing",
    "fall": ". falling end",
    "elongation": "wo::rd stretched sound",
    "cutoff": "wa- cut off",
    "emphasis": "_word_ stressed",
}


@dataclass
class Decoration:
    """What is written before, instead of, and after one word."""

    opening: list[str] = field(default_factory=list)
    core: str = ""
    closing: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.opening) + self.core + "".join(self.closing)


def to_ascii(text: str) -> str:
    """``text`` in pure ASCII: the notation's stand-ins, accents dropped (``café`` -> ``cafe``),
    ``#`` for what has no ASCII form (see ``ASCII_STAND_INS``)."""
    if text.isascii():
        return text
    return "".join(_ascii_char(char) for char in unicodedata.normalize("NFC", text))


def print_width(text: str) -> int:
    """The characters ``text`` takes printed in UTF-8 or in ASCII, whichever is more: the
    layout measures with it so that a line fits the width in both renderings."""
    return len(text) if text.isascii() else max(len(text), len(to_ascii(text)))


@lru_cache(maxsize=4096)
def _ascii_char(char: str) -> str:
    if char.isascii():
        return char
    if char in ASCII_STAND_INS:
        return ASCII_STAND_INS[char]
    if unicodedata.combining(char):
        return ""  # a stray accent on its own (NFC joined the others to their letters)
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    # A letter, digit or space only: a folded symbol could be a mark (fullwidth ？ is ?).
    if len(base) == 1 and base.isascii() and (base.isalnum() or base == " "):
        return base
    return UNKNOWN_ASCII


def shown(level: str) -> frozenset[str]:
    """The kinds of marks (and pauses) a notation level shows."""
    return LEVELS[level]


def decorate_words(transcript: Transcript, level: str, overlapped: set[int]) -> dict[int, Decoration]:
    """Every word's printed form at ``level``; ``overlapped`` = words spoken in overlap."""
    kinds = shown(level)
    by_kind: dict[str, list[Annotation]] = {}
    for annotation in transcript.annotations:
        if annotation.kind in kinds:
            by_kind.setdefault(annotation.kind, []).append(annotation)

    decorations = {w.i: Decoration(core=w.text) for w in transcript.words}
    for word in transcript.words:
        if word.kind == "cutoff" and "cutoff" in kinds and not word.text.endswith("-"):
            decorations[word.i].core += "-"
    for mark in by_kind.get("elongation", []):
        decoration = decorations[mark.first_word]
        extra = (mark.value - 1.0) * (mark.end - mark.start) / mark.value if mark.value else 0.0
        decoration.core = elongate(decoration.core, colons(extra))
    for mark in by_kind.get("loud", []):
        for index in range(mark.first_word, mark.last_word + 1):
            decorations[index].core = decorations[index].core.upper()
    for mark in by_kind.get("emphasis", []):
        decorations[mark.first_word].core = f"_{decorations[mark.first_word].core}_"
    # Openings are added innermost first (each goes in front), closings innermost first (each
    # goes behind): step and intonation hug the word, then tempo, quiet, overlap, latch.
    for kind, symbol in STEP.items():
        for mark in by_kind.get(kind, []):
            decorations[mark.first_word].opening.insert(0, symbol)
    for kind, symbol in INTONATION.items():
        for mark in by_kind.get(kind, []):
            decorations[mark.last_word].closing.append(symbol)
    for kind in ("fast", "slow", "quiet"):
        opening, closing = STRETCH[kind]
        for mark in by_kind.get(kind, []):
            decorations[mark.first_word].opening.insert(0, opening)
            decorations[mark.last_word].closing.append(closing)
    if "overlap" in kinds:
        _bracket_overlaps(transcript, overlapped, decorations)
    for mark in by_kind.get("latch", []):
        decorations[mark.first_word].closing.append("=")
        decorations[mark.last_word].opening.insert(0, "=")
    return decorations


def colons(extra_s: float) -> int:
    """How many colons an elongation gets: one per ``COLON_S`` of extra time, one to three."""
    return max(1, min(MAX_COLONS, round(extra_s / COLON_S)))


def elongate(word: str, n_colons: int) -> str:
    """Colons after the word's last vowel letter group (``so`` -> ``so::``, ``well`` -> ``we::ll``).

    Without phone timing the stretched sound is not known; the vowel nucleus of the last
    syllable is where stretching most often happens. A final silent ``e`` is not a vowel here.
    """
    core = word.rstrip("-")
    search = core[:-1] if len(core) > 2 and core[-1] in "eE" and core[-2].lower() not in "aeiouy" else core
    nuclei = list(re.finditer(r"[aeiouyAEIOUY]+", search))
    position = nuclei[-1].end() if nuclei else len(core)
    return core[:position] + ":" * n_colons + core[position:] + word[len(core) :]


def _bracket_overlaps(transcript: Transcript, overlapped: set[int], decorations: dict[int, Decoration]) -> None:
    """``[`` before the first and ``]`` after the last overlapped word of each stretch in a turn."""
    for turn in transcript.turns:
        for index in range(turn.first_word, turn.last_word + 1):
            if index not in overlapped:
                continue
            if index == turn.first_word or index - 1 not in overlapped:
                decorations[index].opening.insert(0, "[")
            if index == turn.last_word or index + 1 not in overlapped:
                decorations[index].closing.append("]")


def key_entries(transcript: Transcript, level: str, ascii: bool = False) -> list[str]:
    """The key to the symbols that actually appear in this transcript at this level (in their
    ASCII stand-ins with ``ascii``)."""
    kinds = shown(level)
    present = {a.kind for a in transcript.annotations if a.kind in kinds}
    present |= {p.kind for p in transcript.pauses if p.kind in kinds}
    if "gap" in present:
        present.add("pause")
    if transcript.overlaps and "overlap" in kinds:
        present.add("overlap")
    if "cutoff" in kinds and any(w.kind == "cutoff" for w in transcript.words):
        present.add("cutoff")
    entries = [text for kind, text in KEY.items() if kind in present]
    return [to_ascii(entry) for entry in entries] if ascii else entries
