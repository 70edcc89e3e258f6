"""How words sound: phones from the CMU pronouncing dictionary, with a letter-to-sound fallback.

Tempo, elongation and speech-rate marks compare a word's measured duration with how long its
sounds take (:func:`expected_duration`), so they need the word's phones. The English dictionary
inside the pocketsphinx wheel covers almost all interview vocabulary; other words (names, typos,
other languages written in Latin letters) get phones from a crude letter-to-sound table, which is
still right about how many sounds, and which kinds, a word has.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())

# Inherent phone durations (s) from Klatt's duration rules (Klatt 1979; Allen, Hunnicutt & Klatt,
# "From Text to Speech: the MITalk System", 1987). Only the ratios matter here: each speaker's own
# tempo scales them (see ``undertone.features``), so a long vowel is allowed to be long.
INHERENT_DURATION_S = {
    "AA": 0.240, "AE": 0.230, "AH": 0.140, "AO": 0.240, "AW": 0.260, "AY": 0.250, "EH": 0.150,
    "ER": 0.180, "EY": 0.190, "IH": 0.135, "IY": 0.155, "OW": 0.220, "OY": 0.280, "UH": 0.160,
    "UW": 0.210,
    "B": 0.085, "CH": 0.070, "D": 0.075, "DH": 0.050, "F": 0.100, "G": 0.080, "HH": 0.080,
    "JH": 0.070, "K": 0.080, "L": 0.080, "M": 0.070, "N": 0.060, "NG": 0.095, "P": 0.090,
    "R": 0.080, "S": 0.105, "SH": 0.105, "T": 0.075, "TH": 0.090, "V": 0.060, "W": 0.080,
    "Y": 0.080, "Z": 0.075, "ZH": 0.070,
}
_UNKNOWN_PHONE_S = 0.1


# Letter groups to phones, longest first. Crude, but it gives a word roughly the right number
# and kind of sounds, which is all alignment needs to place it between its neighbours.
LETTER_RULES: list[tuple[str, str]] = sorted(
    {
        "tch": "CH", "sch": "S K", "igh": "AY", "ough": "AO", "augh": "AO", "eigh": "EY",
        "tion": "SH AH N", "sion": "ZH AH N", "ture": "CH ER",
        "sh": "SH", "ch": "CH", "th": "TH", "ph": "F", "wh": "W", "ng": "NG", "ck": "K",
        "qu": "K W", "ee": "IY", "ea": "IY", "oo": "UW", "ou": "AW", "ow": "OW", "oi": "OY",
        "oy": "OY", "ai": "EY", "ay": "EY", "au": "AO", "aw": "AO", "ei": "EY", "ey": "EY",
        "ie": "IY", "ue": "UW", "ew": "UW", "oa": "OW", "ar": "AA R", "er": "ER", "ir": "ER",
        "ur": "ER", "or": "AO R",
        "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH",
        "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P",
        "q": "K", "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S",
        "y": "IY", "z": "Z",
    }.items(),
    key=lambda rule: -len(rule[0]),
)
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def letters_to_phones(word: str) -> list[str]:
    """Letter-to-sound fallback for a lower-case ASCII word (``zorblat`` -> Z AO R B L AE T)."""
    letters = re.sub(r"(.)\1+", r"\1", word)  # doubled letters sound once: "ll" -> "l"
    if len(letters) > 2 and letters.endswith("e") and letters[-2] not in "aeiouy":
        letters = letters[:-1]  # silent final e
    phones, position = [], 0
    while position < len(letters):
        for graphemes, sounds in LETTER_RULES:
            if letters.startswith(graphemes, position):
                phones.extend(_context_sounds(letters, position, graphemes, sounds))
                position += len(graphemes)
                break
        else:
            position += 1  # not a letter we know: silent
    return phones


def _context_sounds(letters: str, position: int, graphemes: str, sounds: str) -> list[str]:
    """A few context rules the table cannot express (soft c, consonant y, initial kn/wr)."""
    following = letters[position + len(graphemes) : position + len(graphemes) + 1]
    if graphemes == "c" and following in ("e", "i", "y"):
        return ["S"]
    if graphemes == "y" and position == 0:
        return ["Y"]
    if position == 0 and (graphemes, following) in (("k", "n"), ("w", "r")):
        return []  # silent k and w: "knee", "write"
    return sounds.split()


@cache
def _dictionary() -> dict[str, tuple[str, ...]]:
    """The CMU dictionary shipped with pocketsphinx: first pronunciation of each word."""
    from pocketsphinx import get_model_path

    entries: dict[str, tuple[str, ...]] = {}
    with open(get_model_path("en-us/cmudict-en-us.dict"), encoding="utf-8") as handle:
        for line in handle:
            word, _, phones = line.partition(" ")
            if "(" not in word:  # "really(2)" is an alternative pronunciation
                entries[word] = tuple(phones.split())
    return entries


def lookup_key(text: str) -> str:
    """A word as a dictionary key: lower case, no accents, no punctuation but ' and -."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9'\-]", "", plain).strip("-'")


def phones(text: str) -> tuple[str, ...]:
    """The phones of a word: dictionary, else per hyphen/apostrophe part, digits by name, else rules."""
    key = lookup_key(text)
    entries = _dictionary()
    if key in entries:
        return entries[key]
    result: list[str] = []
    for part in re.split(r"[-']+", key):
        if part in entries:
            result.extend(entries[part])
            continue
        for run in re.findall(r"[a-z]+|[0-9]", part):
            result.extend(entries[DIGIT_WORDS[int(run)]] if run.isdigit() else letters_to_phones(run))
    return tuple(result)


def syllable_count(word_phones: tuple[str, ...]) -> int:
    """Syllables = vowel phones (at least one: a word is never shorter than a syllable)."""
    return max(1, sum(phone in VOWELS for phone in word_phones))


def expected_duration(word_phones: tuple[str, ...]) -> float:
    """How long the word's sounds take at Klatt's inherent durations (s)."""
    if not word_phones:
        return 2 * _UNKNOWN_PHONE_S
    return sum(INHERENT_DURATION_S.get(phone, _UNKNOWN_PHONE_S) for phone in word_phones)
