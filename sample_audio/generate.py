"""Generate undertone's sample interview and its exact ground truth.

Run from the project root:

    .venv/bin/python sample_audio/generate.py

Writes, next to this script:

* ``interview.wav``             16 kHz mono 16-bit PCM, a synthetic two-person interview;
* ``interview.transcript.txt``  the known words, one turn per line (``I: ...`` / ``P: ...``);
* ``interview.truth.json``      exact times of every utterance, pause, gap, overlap and
                                prosodic mark, computed from the sample positions.

Why synthetic speech: a real recording cannot come with exact timings, and the
pipeline's pause, gap, overlap, pitch and loudness measurements need something exact to
be tested against. Each utterance is synthesised on its own with ``espeak-ng``, trimmed
to its first and last audible sample, and placed on a silent timeline at a chosen
offset, so every silence in the file is digital zero and every boundary is known to the
sample. Nothing here is random: the same espeak-ng version gives byte-identical files.

Only the standard library, numpy, scipy (resampling), soundfile and the ``espeak-ng``
command are used.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

# --------------------------------------------------------------------------- constants

OUT_DIR = Path(__file__).resolve().parent
WAV_PATH = OUT_DIR / "interview.wav"
TRANSCRIPT_PATH = OUT_DIR / "interview.transcript.txt"
TRUTH_PATH = OUT_DIR / "interview.truth.json"
GENERATOR = "sample_audio/generate.py"

SAMPLE_RATE = 16_000
"""Output rate; espeak-ng itself synthesises at 22 050 Hz and is resampled."""

TRIM_THRESHOLD = 0.002
"""Absolute amplitude (full scale = 1.0, about -54 dBFS) below which espeak's leading and
trailing samples count as silence and are cut, so an utterance starts and ends exactly
at its first and last audible sample."""

PEAK_DBFS = -3.0
"""The whole mix is scaled once, at the end, so its peak sits here."""

QUIET_GAIN_DB = -10.0
"""The participant's quiet aside is the same voice scaled down by this much."""

EMPHASIS_GAIN_DB = 8.0
"""The emphasised word is synthesised on its own, louder by this much ..."""

EMPHASIS_PITCH_BOOST = 30
"""... and with espeak's base pitch (0-99 scale) raised by this much, then spliced
between its neighbours with no silence. espeak-ng's SSML <emphasis> is too subtle
to measure reliably, so the emphasis is made explicitly and is known exactly."""

SPEAKERS: dict[str, dict[str, object]] = {
    # Interviewer: low British male voice, a little slower.
    "I": {"voice": "en-gb+m3", "pitch": 38, "speed": 140, "amplitude": 100},
    # Participant: higher American female voice.
    "P": {"voice": "en-us+f3", "pitch": 65, "speed": 150, "amplitude": 100},
}

RISE_PITCH = "+80%"
"""espeak-ng's own '?' tune is a fall then a small rise that stays below the earlier
pitch, too weak to count as Jefferson's rising '?'. For the questions marked ``rise``
the final word is wrapped in SSML <prosody pitch=RISE_PITCH> (read with ``-m``), which
puts the last ~300 ms clearly above the rest of the question. Other questions keep
espeak's plain tune and get no ``rise`` mark."""

LEAD_IN = 0.5
"""Silence (s) before the first word and after the last."""


@dataclass(frozen=True)
class Seg:
    """One separately synthesised piece of a turn.

    ``pause_before`` is the silence (s) between the previous piece's last audible sample
    and this piece's first one; 0 means the pieces are spliced end to end (used for the
    emphasised word, which is not a pause). ``rise`` raises the final word's pitch
    (see RISE_PITCH); the transcript text is unchanged.
    """

    text: str
    style: str = "normal"  # normal | question | quiet | emphasis | backchannel
    pause_before: float = 0.0
    rise: bool = False


@dataclass(frozen=True)
class Turn:
    """A speaker's turn: one transcript line.

    ``gap`` is the silence (s) from the end of everything heard so far to this turn's
    first sample. A negative gap starts the turn that long *before* the previous turn
    ends, i.e. an overlap (used for the backchannel).
    """

    speaker: str
    gap: float
    segs: list[Seg] = field(default_factory=list)


# The interview. Ordinary words from the CMU pronouncing dictionary, numbers as words.
SCRIPT: list[Turn] = [
    Turn("I", LEAD_IN, [Seg("Thank you for talking with me today. "
                            "Could you start by telling me about your work?", "question")]),
    Turn("P", 0.8, [Seg("Sure. I work in a small office that helps people with their money, "
                         "and most of the time I like it. The people are kind and the work "
                         "is interesting.")]),
    Turn("I", 0.5, [Seg("What happens when work gets stressful?", "question")]),
    # The pause turn: a micropause, a long pause and a medium pause, in that order.
    Turn("P", 1.2, [
        Seg("Well, when there is a big deadline,"),
        Seg("I stay late,", pause_before=0.15),
        Seg("and then I do not sleep very well.", pause_before=1.3),
        Seg("I lie awake and think about everything I have to do.", pause_before=0.6),
    ]),
    Turn("I", 0.4, [Seg("Is that something that happens often?", "question", rise=True)]),
    Turn("P", 0.3, [Seg("Maybe once or twice a month. It depends on the time of year.")]),
    # Latched: the interviewer comes in almost at once.
    Turn("I", 0.02, [Seg("And how do you cope with it?", "question")]),
    # The emphasis turn: "really" is made louder and higher and spliced in.
    Turn("P", 0.7, [
        Seg("I started going for a walk after lunch, and that made a"),
        Seg("really", "emphasis"),
        Seg("big difference."),
    ]),
    # Backchannel laid over the end of the participant's last utterance.
    Turn("I", -0.3, [Seg("Yeah.", "backchannel")]),
    # The quiet aside: the same voice, ten decibels down.
    Turn("P", 0.5, [
        Seg("I also try to put my phone away before bed,"),
        Seg("at least most nights.", "quiet", pause_before=0.35),
    ]),
    Turn("I", 0.9, [Seg("Does that help you fall asleep?", "question", rise=True)]),
    Turn("P", 0.6, [Seg("Yes, I think it does. I feel calmer, and I wake up with more energy. "
                         "I also drink less coffee in the morning.")]),
    Turn("I", 1.0, [Seg("Is there anything else that helps when work feels like too much?",
                        "question")]),
    Turn("P", 1.5, [Seg("Talking to my friends helps a lot. "
                        "They remind me that work is only one part of life, "
                        "and that a bad week does not last forever.")]),
    Turn("I", 0.4, [Seg("That is a good place to stop. Thank you very much.")]),
]


# --------------------------------------------------------------------------- synthesis

def espeak_version() -> str:
    """Return espeak-ng's version number, recorded because the audio depends on it."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True,
                         check=True).stdout
    # "eSpeak NG text-to-speech: 1.51  Data at: ..."
    return out.split(":", 1)[1].split()[0]


def synthesise(text: str, voice: str, pitch: int, speed: int, amplitude: int,
               tmp: Path, ssml: bool = False) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng and return float samples at SAMPLE_RATE.

    espeak writes 22 050 Hz WAV; a polyphase resampler keeps the result deterministic.
    """
    wav = tmp / "utt.wav"
    cmd = ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed),
           "-a", str(amplitude), "-w", str(wav)]
    if ssml:
        cmd.append("-m")
    subprocess.run([*cmd, text], check=True)
    audio, rate = sf.read(wav, dtype="float64")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    g = math.gcd(SAMPLE_RATE, rate)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g)


def trim(audio: np.ndarray) -> np.ndarray:
    """Cut leading and trailing samples quieter than TRIM_THRESHOLD.

    After this the first and last samples are speech, so placing the array at sample n
    means the utterance starts at exactly n / SAMPLE_RATE seconds.
    """
    loud = np.flatnonzero(np.abs(audio) > TRIM_THRESHOLD)
    if loud.size == 0:
        raise RuntimeError("espeak-ng produced silence")
    return audio[loud[0]: loud[-1] + 1]


def db_to_gain(db: float) -> float:
    """Convert decibels to a linear amplitude factor."""
    return 10.0 ** (db / 20.0)


def rising_ssml(text: str) -> str:
    """Wrap a question's final word in an SSML pitch raise (text is plain words)."""
    head, _, last = text.rpartition(" ")
    return f'{head} <prosody pitch="{RISE_PITCH}">{last}</prosody>'


def render_segment(speaker: str, seg: Seg, tmp: Path) -> np.ndarray:
    """Synthesise one segment in its speaker's voice, applying its style."""
    v = SPEAKERS[speaker]
    pitch = int(v["pitch"])
    gain = 1.0
    if seg.style == "emphasis":
        pitch += EMPHASIS_PITCH_BOOST
        gain = db_to_gain(EMPHASIS_GAIN_DB)
    elif seg.style == "quiet":
        gain = db_to_gain(QUIET_GAIN_DB)
    text = rising_ssml(seg.text) if seg.rise else seg.text
    audio = synthesise(text, str(v["voice"]), pitch, int(v["speed"]),
                       int(v["amplitude"]), tmp, ssml=seg.rise)
    return trim(audio) * gain


# --------------------------------------------------------------------------- layout

def secs(samples: int) -> float:
    """Sample index to seconds, rounded to 1 ms as the truth file promises."""
    return round(samples / SAMPLE_RATE, 3)


def to_samples(seconds: float) -> int:
    """Seconds to a whole number of samples."""
    return int(round(seconds * SAMPLE_RATE))


@dataclass
class Placed:
    """An utterance placed on the timeline, in samples (end is exclusive)."""

    speaker: str
    text: str
    style: str
    rise: bool
    turn: int
    start: int
    end: int
    audio: np.ndarray


def layout(script: list[Turn], tmp: Path) -> tuple[list[Placed], int]:
    """Synthesise every segment and give it a start sample; return them and the length."""
    placed: list[Placed] = []
    heard_until = 0  # end of everything placed so far
    for t_idx, turn in enumerate(script):
        cursor = heard_until + to_samples(turn.gap)
        if turn.gap < 0:
            # Overlap: count back from the end of the previous turn's last utterance.
            cursor = placed[-1].end + to_samples(turn.gap)
        for s_idx, seg in enumerate(turn.segs):
            audio = render_segment(turn.speaker, seg, tmp)
            if s_idx > 0:
                cursor += to_samples(seg.pause_before)
            placed.append(Placed(turn.speaker, seg.text, seg.style, seg.rise, t_idx,
                                 cursor, cursor + len(audio), audio))
            cursor += len(audio)
        heard_until = max(heard_until, cursor)
    return placed, heard_until + to_samples(LEAD_IN)


def mix(placed: list[Placed], length: int) -> np.ndarray:
    """Add every utterance into one silent buffer and normalise the peak to PEAK_DBFS.

    A single global gain keeps all relative levels (the quiet aside, the emphasis) as
    designed. Rounding to int16 leaves the silences at exact digital zero.
    """
    buf = np.zeros(length, dtype=np.float64)
    for p in placed:
        buf[p.start:p.end] += p.audio
    buf *= db_to_gain(PEAK_DBFS) / np.max(np.abs(buf))
    return np.round(buf * 32767.0).astype(np.int16)


# --------------------------------------------------------------------------- ground truth

def turn_text(turn: Turn) -> str:
    """A turn's transcript line text: its pieces joined with single spaces."""
    return " ".join(seg.text for seg in turn.segs)


def build_truth(script: list[Turn], placed: list[Placed], length: int,
                version: str) -> dict[str, object]:
    """Derive every ground-truth table from the placed sample positions.

    Gaps run from the end of everything heard so far to the next turn's start; a turn
    that starts before that is an overlap instead. An emphasis mark's ``word_index`` is
    the 0-based position of the word among the whitespace-separated words of its turn.
    """
    utterances = [{"speaker": p.speaker, "text": p.text, "start": secs(p.start),
                   "end": secs(p.end), "turn": p.turn, "style": p.style} for p in placed]

    turns: list[dict[str, object]] = []
    spans: list[tuple[str, int, int]] = []  # (speaker, start, end) per turn, in samples
    for t_idx, turn in enumerate(script):
        mine = [p for p in placed if p.turn == t_idx]
        start, end = mine[0].start, mine[-1].end
        spans.append((turn.speaker, start, end))
        turns.append({"speaker": turn.speaker, "start": secs(start), "end": secs(end),
                      "text": turn_text(turn)})

    pauses: list[dict[str, object]] = []
    for a, b in zip(placed, placed[1:]):
        if a.turn == b.turn and b.start > a.end:
            pauses.append({"speaker": a.speaker, "start": secs(a.end), "end": secs(b.start),
                           "duration": secs(b.start - a.end),
                           "after_text": a.text, "before_text": b.text})

    gaps: list[dict[str, object]] = []
    overlaps: list[dict[str, object]] = []
    marks: list[dict[str, object]] = []
    heard_until, last_speaker = spans[0][2], spans[0][0]
    for speaker, start, end in spans[1:]:
        if start >= heard_until:
            gaps.append({"start": secs(heard_until), "end": secs(start),
                         "duration": secs(start - heard_until),
                         "from_speaker": last_speaker, "to_speaker": speaker})
            if start - heard_until < to_samples(0.05):
                marks.append({"kind": "latch", "speaker": speaker, "start": secs(heard_until),
                              "end": secs(start), "text": "", "how": "gap under 50 ms"})
        else:
            overlaps.append({"start": secs(start), "end": secs(min(end, heard_until)),
                             "speakers": [last_speaker, speaker]})
        if end >= heard_until:
            heard_until, last_speaker = end, speaker

    for p in placed:
        if p.rise:
            marks.append({"kind": "rise", "speaker": p.speaker, "start": secs(p.start),
                          "end": secs(p.end), "text": p.text,
                          "how": "espeak-ng '?' tune with the final word wrapped in SSML "
                                 f'<prosody pitch="{RISE_PITCH}">; F0 over the last '
                                 "300 ms is above the rest of the question"})
        elif p.style == "quiet":
            marks.append({"kind": "quiet", "speaker": p.speaker, "start": secs(p.start),
                          "end": secs(p.end), "text": p.text,
                          "how": f"samples scaled by {QUIET_GAIN_DB:+.0f} dB"})
        elif p.style == "emphasis":
            words_before = sum(len(q.text.split()) for q in placed
                               if q.turn == p.turn and q.start < p.start)
            marks.append({"kind": "emphasis", "speaker": p.speaker, "start": secs(p.start),
                          "end": secs(p.end), "text": p.text, "word_index": words_before,
                          "how": f"synthesised alone with espeak pitch "
                                 f"+{EMPHASIS_PITCH_BOOST} and {EMPHASIS_GAIN_DB:+.0f} dB, "
                                 "spliced between its neighbours with no silence"})
        elif p.style == "backchannel":
            marks.append({"kind": "backchannel", "speaker": p.speaker,
                          "start": secs(p.start), "end": secs(p.end), "text": p.text,
                          "how": "mixed on top of the end of the previous utterance"})
    marks.sort(key=lambda m: (m["start"], m["kind"]))

    speakers = {k: {"voice": v["voice"], "pitch": v["pitch"], "speed": v["speed"]}
                for k, v in SPEAKERS.items()}
    return {"generator": GENERATOR, "espeak_ng_version": version,
            "sample_rate": SAMPLE_RATE, "duration": secs(length), "speakers": speakers,
            "trim_threshold": TRIM_THRESHOLD, "peak_dbfs": PEAK_DBFS,
            "utterances": utterances, "turns": turns, "pauses": pauses, "gaps": gaps,
            "overlaps": overlaps, "marks": marks}


# --------------------------------------------------------------------------- main

def main() -> None:
    """Synthesise, mix and write the WAV, transcript and truth file."""
    version = espeak_version()
    with tempfile.TemporaryDirectory() as tmp:
        placed, length = layout(SCRIPT, Path(tmp))
    pcm = mix(placed, length)

    sf.write(WAV_PATH, pcm, SAMPLE_RATE, subtype="PCM_16")
    TRANSCRIPT_PATH.write_text(
        "".join(f"{t.speaker}: {turn_text(t)}\n" for t in SCRIPT), encoding="utf-8")
    truth = build_truth(SCRIPT, placed, length, version)
    TRUTH_PATH.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    print(f"wrote {WAV_PATH.name} ({truth['duration']:.3f} s), "
          f"{TRANSCRIPT_PATH.name}, {TRUTH_PATH.name} (espeak-ng {version})")


if __name__ == "__main__":
    main()
