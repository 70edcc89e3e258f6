"""Every prosodic mark, found in generated audio where the answer is known by construction.

Each "word" is a buzzy harmonic tone lasting as long as its sounds take at Klatt's inherent
durations (scaled by a pace), at a chosen pitch and level, so loudness, pitch, tempo and
silence are exact. The words go through the real analysis (:func:`build_transcript`) with their
times given, as an aligner would give them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from synth import SR, glide, silence, voiced
from undertone.audio import from_array
from undertone.config import load_settings
from undertone.marks.pitch import final_movement
from undertone.pipeline import build_transcript
from undertone.pronounce import expected_duration, phones
from undertone.transcribe import Recognition, RecognizedWord

PACE = 0.8  # tones last 0.8 x the inherent durations: an ordinary conversational pace
BASE_AMPLITUDE = 0.1
SENTENCE = (
    "so we went down to the river and the water was cold but we stayed there for most of the "
    "afternoon talking about work and the people we know"
).split()


@dataclass(frozen=True)
class W:
    """One word to generate: pitch, level and length relative to the speaker's usual."""

    text: str
    speaker: str = "A"
    f0: float = 120.0
    gain_db: float = 0.0
    stretch: float = 1.0
    glide_to: float | None = None


@dataclass(frozen=True)
class Pause:
    seconds: float


def speak(plan: list[W | Pause]) -> tuple[np.ndarray, list[RecognizedWord]]:
    pieces, words, cursor = [silence(0.3)], [], 0.3
    for item in plan:
        if isinstance(item, Pause):
            pieces.append(silence(item.seconds))
            cursor += item.seconds
            continue
        seconds = round(expected_duration(phones(item.text)) * PACE * item.stretch, 2)
        amplitude = BASE_AMPLITUDE * 10 ** (item.gain_db / 20)
        tone = (
            glide(item.f0, item.glide_to, seconds, amplitude)
            if item.glide_to
            else voiced(item.f0, seconds, amplitude)
        )
        pieces.append(tone)
        words.append(RecognizedWord(item.text, cursor, cursor + seconds, speaker=item.speaker))
        cursor += seconds
    pieces.append(silence(0.3))
    return np.concatenate(pieces), words


def analyse(plan: list[W | Pause], **marks: float):
    signal, words = speak(plan)
    settings = load_settings("offline", overrides={"marks": marks} if marks else None)
    transcript = build_transcript(
        from_array(signal, SR, "generated.wav"), Recognition(words, "test", "test", "en"), None, settings
    ).transcript
    return transcript


def found(transcript, kind: str) -> list[tuple[int, int]]:
    return [(a.first_word, a.last_word) for a in transcript.annotations if a.kind == kind]


def annotation(transcript, kind: str):
    (only,) = [a for a in transcript.annotations if a.kind == kind]
    return only


def plain(n: int = len(SENTENCE), **changes_by_index: dict) -> list[W]:
    return [W(text) for text in SENTENCE[:n]]


def test_ordinary_speech_gets_no_marks_but_its_final_intonation():
    transcript = analyse(plain())
    kinds = {a.kind for a in transcript.annotations}
    assert kinds == {"level"}, transcript.annotations


def test_a_louder_stretch_is_loud_with_its_level_re_speaker():
    plan = plain()
    for index in (6, 7, 8):
        plan[index] = W(plan[index].text, gain_db=9.0)
    transcript = analyse(plan)
    assert found(transcript, "loud") == [(6, 8)]
    mark = annotation(transcript, "loud")
    assert mark.value == pytest.approx(9.0, abs=1.0) and mark.unit == "dB re speaker"
    assert not found(transcript, "emphasis") and not found(transcript, "quiet")


def test_a_quieter_stretch_is_quiet_but_a_single_quiet_word_is_not():
    plan = plain()
    for index in (10, 11, 12):
        plan[index] = W(plan[index].text, gain_db=-9.0)
    plan[20] = W(plan[20].text, gain_db=-9.0)
    transcript = analyse(plan)
    assert found(transcript, "quiet") == [(10, 12)]
    assert annotation(transcript, "quiet").value == pytest.approx(-9.0, abs=1.0)


@pytest.mark.parametrize(("kind", "stretch", "rate"), [("fast", 0.6, 1 / 0.6), ("slow", 1.7, 1 / 1.7)])
def test_a_faster_or_slower_stretch_is_marked_with_its_rate(kind, stretch, rate):
    plan = plain()
    for index in range(8, 14):
        plan[index] = W(plan[index].text, stretch=stretch)
    transcript = analyse(plan)
    (span,) = found(transcript, kind)
    assert 7 <= span[0] <= 9 and 12 <= span[1] <= 14  # the stretch, give or take an edge word
    assert annotation(transcript, kind).value == pytest.approx(rate, rel=0.15)
    assert not found(transcript, "elongation")


def test_one_long_word_is_an_elongation_not_a_slow_stretch():
    plan = plain()
    plan[9] = W(plan[9].text, stretch=2.6)  # "river"
    transcript = analyse(plan)
    assert found(transcript, "elongation") == [(9, 9)]
    assert annotation(transcript, "elongation").value == pytest.approx(2.6, rel=0.15)
    assert not found(transcript, "slow")


@pytest.mark.parametrize(("kind", "semitones"), [("pitch_up", 6.0), ("pitch_down", -6.0)])
def test_a_word_far_above_or_below_the_preceding_words_is_a_pitch_step(kind, semitones):
    plan = plain()
    plan[7] = W(plan[7].text, f0=120.0 * 2 ** (semitones / 12))
    transcript = analyse(plan)
    assert found(transcript, kind) == [(7, 7)]
    assert annotation(transcript, kind).value == pytest.approx(semitones, abs=1.0)
    other = "pitch_down" if kind == "pitch_up" else "pitch_up"
    assert not found(transcript, other)  # the return to ordinary pitch is not a step


@pytest.mark.parametrize(
    ("end_hz", "kind"), [(120.0 * 2 ** (6 / 12), "rise"), (120.0 * 2 ** (-6 / 12), "fall"), (120.0, "level")]
)
def test_final_intonation_of_each_unit(end_hz, kind):
    first = [W(text) for text in SENTENCE[:6]]
    second = [W(text) for text in SENTENCE[6:11]]
    second[-1] = W(second[-1].text, stretch=1.5, glide_to=end_hz)
    transcript = analyse(first + [Pause(0.6)] + second)
    finals = [(a.kind, a.last_word) for a in transcript.annotations if a.kind in ("rise", "fall", "level")]
    assert finals == [("level", 5), (kind, 10)]


def test_latching_and_gaps_between_speakers():
    a_words = [W(text) for text in SENTENCE[:5]]
    b_words = [W(text, speaker="B", f0=200.0) for text in SENTENCE[5:10]]
    c_words = [W(text) for text in SENTENCE[10:15]]
    transcript = analyse(a_words + [Pause(0.02)] + b_words + [Pause(0.6)] + c_words)
    assert found(transcript, "latch") == [(4, 5)]
    assert [(p.kind, p.after_word) for p in transcript.pauses] == [("gap", 9)]


def test_emphasis_needs_several_cues_at_once():
    plan = plain()
    plan[8] = W(plan[8].text, gain_db=4.0, f0=120.0 * 2 ** (3 / 12), stretch=1.3)  # "down"... prominent
    plan[16] = W(plan[16].text, gain_db=4.5)  # louder only: not stress, and not loud enough for CAPS
    transcript = analyse(plan)
    assert found(transcript, "emphasis") == [(8, 8)]
    assert not found(transcript, "loud") and not found(transcript, "pitch_up")


def test_a_pitch_accent_with_lengthening_but_no_extra_loudness_is_not_emphasis():
    # What accented content words do (+3.5 st, 1.5x longer): listeners hear emphasis mainly
    # through loudness, so without it this is ordinary speech, not _stress_.
    plan = plain()
    plan[8] = W(plan[8].text, f0=120.0 * 2 ** (3.5 / 12), stretch=1.5)
    transcript = analyse(plan)
    assert not found(transcript, "emphasis")
    assert not found(transcript, "pitch_up") and not found(transcript, "elongation")


def test_a_rising_last_word_is_final_intonation_not_emphasis():
    # Louder and rising at the end of the unit: the rise is the "?", and loudness alone is no
    # emphasis; the same word with the same cues inside the unit would be emphasised.
    plan = plain(12)
    plan[11] = W(plan[11].text, gain_db=4.0, stretch=1.3, glide_to=120.0 * 2 ** (6 / 12))
    transcript = analyse(plan)
    assert [a.kind for a in transcript.annotations if a.last_word == 11] == ["rise"]


def _fall_at_the_end(every: int) -> tuple[np.ndarray, np.ndarray]:
    """1 s level, then 5 st down over the last 250 ms; a voiced frame every ``every`` x 10 ms."""
    times = np.arange(0.0, 1.25, 0.01)
    values = np.where(times < 1.0, 0.0, -5.0 * (times - 1.0) / 0.24)
    return values[::every], times[::every]


def test_final_movement_counts_voiced_time_whatever_the_trackers_frame_step():
    full = final_movement(*_fall_at_the_end(1))
    # A track with every other 10 ms frame empty inside the voicing: the last 250 ms of
    # voicing is still the fall, not half a second reaching back into the level part.
    holes = final_movement(*_fall_at_the_end(2))
    assert full is not None and holes is not None
    assert full == pytest.approx(-2.5, abs=0.3)
    assert holes == pytest.approx(full, abs=0.3)
    # A real silence (a voiceless stretch) is not bridged: 200 ms without voicing before the
    # final 250 ms does not count as voiced time.
    values, times = _fall_at_the_end(1)
    times = np.where(times >= 1.0, times + 0.2, times)
    assert final_movement(values, times) == pytest.approx(full, abs=0.1)


def test_thresholds_come_from_the_settings():
    plan = plain()
    for index in (6, 7, 8):
        plan[index] = W(plan[index].text, gain_db=4.0)
    assert not found(analyse(plan), "loud")
    assert found(analyse(plan, loud_db=3.0), "loud") == [(6, 8)]


def test_one_long_word_among_slightly_slow_ones_is_still_not_a_slow_stretch():
    plan = plain()
    plan[9] = W(plan[9].text, stretch=2.6)  # "river", stretched
    for index in (8, 10):  # its neighbours a little slow, as phrase-final words are
        plan[index] = W(plan[index].text, stretch=1.15)
    transcript = analyse(plan)
    assert found(transcript, "elongation") == [(9, 9)]
    assert not found(transcript, "slow")


def test_a_word_after_a_quiet_stretch_is_not_emphasised_for_being_louder_than_it():
    plan = plain()
    for index in (10, 11, 12):
        plan[index] = W(plan[index].text, gain_db=-9.0)
    plan[13] = W(plan[13].text, f0=120.0 * 2 ** (3 / 12))  # ordinary level, a small pitch accent
    transcript = analyse(plan)
    assert found(transcript, "quiet") == [(10, 12)]
    assert not found(transcript, "emphasis")


def test_a_quiet_stretch_is_judged_as_a_whole():
    # Words differ in loudness by their sounds: one word of a quieter stretch may be only a
    # little under the norm. The stretch as a whole is what drops away.
    plan = plain()
    for index, gain in ((10, -9.0), (11, -5.0), (12, -9.0)):
        plan[index] = W(plan[index].text, gain_db=gain)
    transcript = analyse(plan)
    assert found(transcript, "quiet") == [(10, 12)]
    assert -9.0 < annotation(transcript, "quiet").value <= -6.0


def test_a_stretch_only_somewhat_quieter_is_not_quiet():
    plan = plain()
    for index in (10, 11, 12, 13):
        plan[index] = W(plan[index].text, gain_db=-4.0)
    assert not found(analyse(plan), "quiet")


def test_short_silences_between_words_count_towards_a_slow_stretch():
    # Slowed talk is slow in its gaps as well as its sounds: silences too short to be reported
    # as pauses (< micropause_min_s) are part of the time the stretch took.
    words = plain()
    slowed: list[W | Pause] = []
    for index, word in enumerate(words):
        in_stretch = 8 <= index <= 13
        slowed.append(W(word.text, stretch=1.2) if in_stretch else word)
        if 8 <= index < 13:
            slowed.append(Pause(0.08))
    (span,) = found(analyse(slowed), "slow")
    assert 7 <= span[0] <= 9 and 12 <= span[1] <= 14
    # The same sounds without the silences between them are not slow enough to mark.
    assert not found(analyse([W(w.text, stretch=1.2) if 8 <= i <= 13 else w for i, w in enumerate(words)]), "slow")


def test_words_squeezed_by_a_misplaced_boundary_make_no_fast_stretch():
    # The aligner sometimes gives two words 20 ms each and the next word the rest: that is a
    # boundary error, not fast talk (no one speaks a word in a tenth of its usual time).
    signal, words = speak(plain())
    squeezed = list(words)
    first, second, after = squeezed[9], squeezed[10], squeezed[11]
    squeezed[9] = RecognizedWord(first.text, first.start, first.start + 0.02, speaker=first.speaker)
    squeezed[10] = RecognizedWord(second.text, first.start + 0.02, first.start + 0.04, speaker=second.speaker)
    squeezed[11] = RecognizedWord(after.text, first.start + 0.04, after.end, speaker=after.speaker)
    settings = load_settings("offline")
    transcript = build_transcript(
        from_array(signal, SR, "generated.wav"), Recognition(squeezed, "test", "test", "en"), None, settings
    ).transcript
    assert not found(transcript, "fast") and not found(transcript, "slow")


def _ending_under_a_backchannel(
    speaker_f0: float,
    listener_f0: float,
    listener_gain_db: float = -6.0,
    listener_from: float = 0.5,
    aligned_to_listener: bool = False,
):
    """Speaker A's two units, the second ending in a 6 st rise with B's "yeah" laid over its last
    word from ``listener_from`` of the way through; the final intonation mark of that word.

    ``aligned_to_listener`` ends A's last word where B starts, as an aligner often does: A's
    voice goes on under B's, and only the audio says how far.
    """
    first = [W(text, f0=speaker_f0) for text in SENTENCE[:8]]
    second = [W(text, f0=speaker_f0) for text in SENTENCE[8:14]]
    second[-1] = W(second[-1].text, f0=speaker_f0, stretch=1.5, glide_to=speaker_f0 * 2 ** (6 / 12))
    # B speaks elsewhere too, so that B has a usual pitch of their own.
    b_turn = [W(text, speaker="B", f0=listener_f0) for text in SENTENCE[14:22]]
    signal, words = speak(first + [Pause(0.6)] + second + [Pause(0.8)] + b_turn)
    last = words[13]
    start = round(last.start + listener_from * (last.end - last.start), 2)
    # A listener's "yeah" over someone's turn, a little softer than the speaker.
    yeah = voiced(listener_f0, last.end - start + 0.1, BASE_AMPLITUDE * 10 ** (listener_gain_db / 20))
    a = int(round(start * SR))
    signal = signal.copy()
    signal[a : a + len(yeah)] += yeah
    backchannel = RecognizedWord("yeah", start, start + len(yeah) / SR, speaker="B")
    if aligned_to_listener:
        words[13] = RecognizedWord(last.text, last.start, start, speaker=last.speaker)
    words = sorted([*words, backchannel], key=lambda w: w.start)
    settings = load_settings("offline")
    transcript = build_transcript(
        from_array(signal, SR, "generated.wav"), Recognition(words, "test", "test", "en"), None, settings
    ).transcript
    finals = {a.last_word: a for a in transcript.annotations if a.kind in ("rise", "fall", "level")}
    last_index = next(i for i, w in enumerate(transcript.words) if w.start == pytest.approx(last.start))
    return finals.get(last_index)


def _kind(mark) -> str | None:
    return mark.kind if mark is not None else None


@pytest.mark.parametrize("listener_gain_db", [-10.0, 0.0])
def test_a_unit_ending_under_a_lower_voice_keeps_its_final_intonation(listener_gain_db):
    # As loud as the speaker, the lower voice swamps the speaker's own track in the overlap;
    # with that voice cancelled, the rise is there again.
    assert _kind(_ending_under_a_backchannel(220.0, 100.0, listener_gain_db)) == "rise"


@pytest.mark.parametrize("listener_f0", [230.0, 130.0])
def test_a_unit_ending_under_a_higher_voice_keeps_its_final_intonation(listener_f0):
    # Uncancelled, a higher voice captures the tracker an octave or a twelfth down (230 Hz read
    # as 115 or 77 Hz, inside a 120 Hz speaker's range), and this rise came out as a fall; at
    # 130 Hz the speaker's rise (120 -> 170 Hz) crosses the listener's voice.
    assert _kind(_ending_under_a_backchannel(120.0, listener_f0)) == "rise"


def test_a_last_word_ended_where_the_listener_starts_is_measured_to_the_speakers_own_end():
    # B starts a fifth of the way into A's rising last word, and A's word is aligned to end
    # there: measured only up to B's onset, the rise is mostly missing (level); followed under
    # B's voice, it is the rise it was.
    mark = _ending_under_a_backchannel(220.0, 100.0, 0.0, listener_from=0.2, aligned_to_listener=True)
    assert _kind(mark) == "rise" and mark.value >= 3.0


def test_a_turn_latched_onto_a_falling_unit_does_not_extend_it():
    # The next speaker starts right where A's falling unit ends, an octave above the fall's end:
    # A's voicing stops at A's end, so B's voice is not read as A's.
    plan = [W(text, f0=120.0) for text in SENTENCE[:8]]
    plan[-1] = W(plan[-1].text, f0=120.0, stretch=1.5, glide_to=120.0 * 2 ** (-5 / 12))
    plan += [W(text, speaker="B", f0=180.0) for text in SENTENCE[8:16]]
    transcript = analyse(plan)
    finals = {a.last_word: a for a in transcript.annotations if a.kind in ("rise", "fall", "level")}
    assert finals[7].kind == "fall" and finals[7].value <= -3.0
