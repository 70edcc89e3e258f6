"""Phones, syllables and inherent durations: what tempo and elongation marks are measured against."""

from __future__ import annotations

import pytest

from undertone.pronounce import INHERENT_DURATION_S, expected_duration, letters_to_phones, phones, syllable_count
from undertone.transcribe import sphinx


def test_dictionary_words_get_their_dictionary_phones():
    assert phones("Really") == ("R", "IH", "L", "IY")
    assert phones("don’t") == phones("don't") == ("D", "OW", "N", "T")


@pytest.mark.parametrize(
    ("word", "syllables"),
    [("a", 1), ("really", 2), ("interesting", 3), ("understanding", 4), ("mm", 1), ("well-known", 2), ("zorblat", 2)],
)
def test_syllables_are_the_vowels_of_the_pronunciation(word, syllables):
    assert syllable_count(phones(word)) == syllables


def test_words_outside_the_dictionary_still_get_sounds():
    assert phones("zorblat") == ("Z", "AO", "R", "B", "L", "AE", "T")
    assert phones("café") == phones("cafe")
    assert phones("東京") == ()  # nothing pronounceable: duration falls back to a default
    assert expected_duration(()) > 0


def test_letter_to_sound_fallback_uses_only_model_phones():
    assert letters_to_phones("zorblat") == ["Z", "AO", "R", "B", "L", "AE", "T"]
    for word in ("knight", "cycle", "yesterday", "schmidt", "quixotic", "xylophone", "aaa"):
        assert set(letters_to_phones(word)) <= set(sphinx.PHONES), word


def test_every_model_phone_has_an_inherent_duration():
    assert set(sphinx.PHONES) == set(INHERENT_DURATION_S)


def test_longer_words_take_longer():
    assert expected_duration(phones("strengths")) > expected_duration(phones("a")) * 3
