"""Diarisation error rate and speed of the embedded diariser.

Run from the repository root::

    .venv/bin/python bench/der.py            # everything, including a one-hour speed run
    .venv/bin/python bench/der.py --no-hour  # skip the one-hour speed run (about 40 s)
    .venv/bin/python bench/der.py --only ami --only sample  # some groups of rows, no hour run

Metric: pyannote.metrics ``DiarizationErrorRate(collar=0.25, skip_overlap=False)``. pyannote's
collar is the *total* width, so 0.125 s either side of every reference boundary is not scored.
Overlapped speech is scored (the embedded diariser never outputs overlap, so every second
speaker in an overlap counts as missed).

Baseline, measured in the same run: *all speech found by our own voice activity detection,
labelled as one speaker*. It shares our VAD's misses and false alarms, so the difference
between the baseline and our rows is exactly what the speaker assignment adds. For reference
the table also shows the one-speaker DER on the *reference* speech regions ("ref 1-spk"),
which has no VAD error at all, and the best any speaker labelling of our VAD's speech could do
("best lab."): every speech frame given the reference speaker talking there (the one who
talks most overall if several do or none does). Where "best lab." equals BASELINE no
labelling can beat the baseline: the excerpt's errors are the VAD's and the missed second
voices of overlapped speech (the embedded diariser labels each frame with one speaker).

Data:
- the pyannote.audio wheel's ``sample.wav`` / ``sample.rttm`` (two people on a phone call);
- ten 30-second AMI excerpts in ``/work/shared/data/ami-debug-train`` (scored 0-30 s by the
  UEM file; skipped with a message when the directory is absent);
- synthetic interviews built here with espeak-ng: three two-person interviews (different
  scripts and voice pairs), one three-person interview and one single-voice monologue. Turns
  alternate with gaps drawn uniformly from 0.2-1.5 s, sentences within a turn are 0.25-0.45 s
  apart, and the reference is the placement of each trimmed sentence. Low white noise
  (-55 dBFS) is added so the silence is not digital zero.
- the same two-person scripts recorded *with one microphone per person* (stereo rows, one per
  script and voice pair), with a question started 0.5 s before the previous answer ends and a
  backchannel ("mm hm") under one answer. "2 mics": each voice leaks into the other
  microphone 15 dB down and 3 ms late, the second microphone 6 dB quieter. "2 mics in a room":
  the leak is the other voice's direct sound 15 dB down plus the room's reverberation (T60
  0.5 s, reverberant sound 10 dB below the direct sound at each wearer's own microphone, equally
  loud at both microphones). "by channel" rows use ``undertone.diarize.channels`` (the layout is
  detected first; the verdict says if it was not found to be split); "mono mix" rows give the
  embedded diariser the mix of the same recording, which is what ``--channels mixed`` does.

The number of speakers is passed where the reference count is known (pyannote sample,
synthetic), and the estimated-count variant is always reported too. AMI rows use the
estimate only (meetings have up to four people, some barely audible).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate
from scipy.signal import resample_poly

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from undertone.diarize import channels, embedded  # noqa: E402

SR = 16_000  # Hz
COLLAR_S = 0.25  # s, total (pyannote convention): +-0.125 s around reference boundaries
AMI_DIR = Path("/work/shared/data/ami-debug-train")
TARGET_SAMPLE_DER = 0.25
TARGET_SYNTHETIC_DER = 0.15
TARGET_STEREO_DER = 0.05  # one microphone per person: channel activity is nearly perfect
GROUPS = ("sample", "ami", "synthetic", "stereo")  # for --only

# espeak-ng interviews ----------------------------------------------------------------------

SCRIPTS = [
    [
        ["Thanks for coming in today.", "Could you tell me how you started working here?"],
        ["Sure.", "I joined about six years ago straight after university."],
        ["And what did you do at first?"],
        ["Mostly data entry which was boring but it paid the rent."],
        ["Did that change over time?"],
        ["Yes.", "After two years they moved me to the research team and everything changed."],
        ["What was different about the research team?"],
        ["People actually asked what I thought.", "That had never happened before."],
    ],
    [
        ["Let us talk about your neighbourhood.", "How long have you lived there?"],
        ["Almost twenty years now."],
        ["What do you remember about the first year?"],
        ["The noise mostly.", "There was a building site across the road for months."],
        ["Has the area changed much since then?"],
        ["Enormously.", "The old shops have gone and the rents have doubled."],
        ["Do you still know your neighbours?"],
        ["A few of them.", "We look after each other's cats when someone goes away."],
    ],
    [
        ["Can you describe a normal working day for me?"],
        ["I get up at six and start the first delivery round at seven."],
        ["That is early.", "Do you mind it?"],
        ["Not really.", "The roads are empty and the customers are friendly in the morning."],
        ["What is the hardest part of the job?"],
        ["Winter.", "Ice on the steps and the van does not like the cold."],
        ["Would you recommend the work to a young person?"],
        ["Only if they like being outside and do not mind lifting heavy boxes all day."],
    ],
]
VOICE_PAIRS = [("en-gb+m3", "en-us+f3"), ("en-us+m1", "en-gb+f2"), ("en-gb-scotland+m7", "en-us+f4")]
TRIO_VOICES = ("en-gb+m3", "en-us+f3", "en-gb-scotland+m7")
MONO_VOICE = ("en-gb+m7",)
TURN_GAP_S = (0.2, 1.5)  # s: silence between turns
SENTENCE_GAP_S = (0.25, 0.45)  # s: silence between sentences of one turn
NOISE_DBFS = -55.0  # dB full scale: background hiss
TRIM_DB = -40.0  # dB re peak: espeak's leading/trailing silence is cut at this level


def espeak(text: str, voice: str) -> np.ndarray:
    """One sentence from espeak-ng at 16 kHz, trimmed to where the sound starts and stops."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "u.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", path, text], check=True)
        x, rate = soundfile.read(path, dtype="float32")
    if rate != SR:
        g = np.gcd(rate, SR)
        x = resample_poly(x, SR // g, rate // g).astype(np.float32)
    loud = np.flatnonzero(np.abs(x) > np.abs(x).max() * 10 ** (TRIM_DB / 20))
    return x[loud[0] : loud[-1] + 1]


def espeak_interview(turns: list[list[str]], voices: tuple[str, ...], seed: int, uri: str) -> tuple[np.ndarray, Annotation]:
    """Turns rotate through ``voices``; the reference is the placement of every sentence."""
    rng = np.random.default_rng(seed)
    placed: list[tuple[float, np.ndarray]] = []
    reference = Annotation(uri=uri)
    t = 0.6
    for i, turn in enumerate(turns):
        speaker = f"voice{i % len(voices)}"
        for j, sentence in enumerate(turn):
            if j:
                t += rng.uniform(*SENTENCE_GAP_S)
            audio = espeak(sentence, voices[i % len(voices)])
            placed.append((t, audio))
            reference[Segment(t, t + len(audio) / SR)] = speaker
            t += len(audio) / SR
        t += rng.uniform(*TURN_GAP_S)
    signal = np.zeros(int((t + 0.4) * SR), np.float32)
    for start, audio in placed:
        i = int(round(start * SR))
        signal[i : i + len(audio)] += audio
    signal *= 0.5 / np.abs(signal).max()
    signal += rng.standard_normal(len(signal)).astype(np.float32) * 10 ** (NOISE_DBFS / 20)
    return signal, reference


STEREO_CROSSTALK_DB = -15.0  # dB: the other voice's direct sound at a wearer's microphone
STEREO_DELAY_S = 0.003  # s: it arrives about a metre later
STEREO_SECOND_GAIN_DB = -6.0  # dB: the second recorder input is set lower
ROOM_T60_S = 0.5  # s: reverberation time of a furnished office
ROOM_REVERB_DB = -10.0  # dB re the direct sound at the wearer's own microphone
OVERLAP_S = 0.5  # s: the fifth turn starts this long before the fourth ends
BACKCHANNEL_AT_S = 1.0  # s into the fourth turn: the interviewer's "mm hm"


def espeak_two_mic_interview(
    turns: list[list[str]], voices: tuple[str, str], seed: int, uri: str, room: bool = False
) -> tuple[np.ndarray, Annotation]:
    """Like :func:`espeak_interview` for two voices, one microphone each: (2, n) samples.

    Adds an overlap at a change of turn and a backchannel under an answer; see the docstring.
    """
    rng = np.random.default_rng(seed)
    placed: list[tuple[int, float, np.ndarray]] = []
    reference = Annotation(uri=uri)
    t = previous_end = 0.6
    for i, turn in enumerate(turns):
        who = i % 2
        if i == 4:
            t = previous_end - OVERLAP_S
        turn_start = t
        for j, sentence in enumerate(turn):
            if j:
                t += rng.uniform(*SENTENCE_GAP_S)
            audio = espeak(sentence, voices[who])
            placed.append((who, t, audio))
            reference[Segment(t, t + len(audio) / SR), len(placed)] = f"voice{who}"
            t += len(audio) / SR
        if i == 3:
            audio = espeak("mm hm", voices[0])
            start = turn_start + BACKCHANNEL_AT_S
            placed.append((0, start, audio))
            reference[Segment(start, start + len(audio) / SR), len(placed)] = "voice0"
        previous_end = t
        t += rng.uniform(*TURN_GAP_S)
    n = int((t + 0.4) * SR)
    tracks = [np.zeros(n, np.float64) for _ in voices]
    for who, start, audio in placed:
        i = int(round(start * SR))
        tracks[who][i : i + len(audio)] += audio
    peak = max(np.abs(track).max() for track in tracks)
    tracks = [0.5 * track / peak for track in tracks]
    shift = int(round(STEREO_DELAY_S * SR))
    leak = 10 ** (STEREO_CROSSTALK_DB / 20)
    reverb = 10 ** (ROOM_REVERB_DB / 20)
    mics = []
    for k, own in enumerate(tracks):
        other = tracks[1 - k]
        mic = own.copy()
        mic[shift:] += leak * other[: n - shift]
        if room:  # the reverberant field is about equally loud everywhere in the room
            mic += reverb * (_reverberate(own, rng) + _reverberate(other, rng))
        mic *= 10 ** ((STEREO_SECOND_GAIN_DB if k else 0.0) / 20)
        mic += rng.standard_normal(n) * 10 ** (NOISE_DBFS / 20)
        mics.append(mic)
    return np.array(mics, dtype=np.float32), reference


def _reverberate(signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The reverberant part of a room's response: exponentially decaying noise (-60 dB at
    ``ROOM_T60_S``), starting 5 ms after the direct sound, unit energy."""
    from scipy.signal import fftconvolve

    length = int(ROOM_T60_S * SR)
    response = rng.standard_normal(length) * 10 ** (-3 * np.arange(length) / length)
    response[: int(0.005 * SR)] = 0.0
    response /= np.sqrt(np.sum(response**2))
    return fftconvolve(signal, response)[: len(signal)]


# cases and scoring -------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    group: str
    samples: np.ndarray  # mono, or (channels, samples) for "by channel" rows
    reference: Annotation
    uem: Timeline
    known_count: int | None  # passed as num_speakers for the "given" column
    by_channel: bool = False  # diarised by undertone.diarize.channels (count not given)

    @property
    def mix(self) -> np.ndarray:
        return self.samples.mean(axis=0) if self.samples.ndim == 2 else self.samples

    @property
    def duration(self) -> float:
        return self.samples.shape[-1] / SR


@dataclass
class Score:
    errors: float
    total: float

    @property
    def der(self) -> float:
        return self.errors / self.total if self.total else float("nan")


def score(reference: Annotation, hypothesis: Annotation, uem: Timeline) -> Score:
    metric = DiarizationErrorRate(collar=COLLAR_S, skip_overlap=False)
    d = metric(reference, hypothesis, uem=uem, detailed=True)
    errors = d["false alarm"] + d["missed detection"] + d["confusion"]
    return Score(errors, d["total"])


def one_speaker(timeline: Timeline) -> Annotation:
    annotation = Annotation()
    for segment in timeline.support():
        annotation[segment] = "all"
    return annotation


def best_labelling(reference: Annotation, speech: Timeline, duration: float, step: float = 0.01) -> Annotation:
    """The reference speakers painted onto our speech regions, frame by frame (see the docstring).

    The lowest DER any labelling of ``speech`` can reach with one speaker per frame (up to the
    frame step): a ceiling for the speaker assignment, separate from the VAD's own errors.
    """
    centres = (np.arange(int(np.ceil(duration / step))) + 0.5) * step

    def mask(timeline: Timeline) -> np.ndarray:
        on = np.zeros(len(centres), dtype=bool)
        for segment in timeline.support():
            on[(centres >= segment.start) & (centres < segment.end)] = True
        return on

    labels = sorted(reference.labels(), key=lambda label: -reference.label_duration(label))
    in_speech = mask(speech)
    painted = np.full(len(centres), -1)
    painted[in_speech] = 0  # where no reference speaker talks: the top talker
    for index in range(len(labels) - 1, -1, -1):  # most talk last, so it wins where several talk
        painted[in_speech & mask(reference.label_timeline(labels[index]))] = index
    annotation = Annotation()
    edges = np.flatnonzero(np.diff(np.concatenate(([-2], painted, [-2]))))
    for start, stop in zip(edges[:-1], edges[1:]):
        if painted[start] >= 0:
            annotation[Segment(start * step, stop * step)] = labels[painted[start]]
    return annotation


def load_cases(only: list[str] | None = None) -> list[Case]:
    """Every benchmark case, or only those in the groups named in ``only``."""
    wanted = set(only or GROUPS)
    cases: list[Case] = []
    if "sample" in wanted:
        from pyannote.database.util import load_rttm

        # Locate the wheel's sample without importing pyannote.audio (which would load torch).
        spec = importlib.util.find_spec("pyannote.audio")
        sample_dir = Path(spec.submodule_search_locations[0]) / "sample"
        x, rate = soundfile.read(sample_dir / "sample.wav", dtype="float32")
        ref = load_rttm(sample_dir / "sample.rttm")["sample"]
        cases.append(Case("pyannote sample", "sample", x, ref, Timeline([Segment(0, len(x) / rate)]), 2))

    if "ami" in wanted:
        cases.extend(ami_cases())
    if wanted & {"synthetic", "stereo"}:
        if shutil.which("espeak-ng"):
            cases.extend(espeak_cases(wanted))
        else:
            print("!! espeak-ng is not installed: synthetic interview rows skipped\n")
    return cases


def ami_cases() -> list[Case]:
    """The ten AMI excerpts, scored over their UEM (none when the directory is absent)."""
    from pyannote.database.util import load_rttm, load_uem

    if not AMI_DIR.is_dir():
        print(f"!! {AMI_DIR} is absent: AMI rows skipped\n")
        return []
    refs = load_rttm(AMI_DIR / "debug.train.rttm")
    uems = load_uem(AMI_DIR / "debug.train.uem")
    cases = []
    for uri in sorted(refs):
        x, _ = soundfile.read(AMI_DIR / f"{uri}.flac", dtype="float32")
        cases.append(Case(f"AMI {uri}", "ami", x, refs[uri], uems[uri], None))
    return cases


def espeak_cases(wanted: set[str]) -> list[Case]:
    """Synthetic interviews ("synthetic": one microphone; "stereo": one microphone each)."""
    cases = []
    if "synthetic" in wanted:
        for i, (turns, voices) in enumerate(zip(SCRIPTS, VOICE_PAIRS)):
            x, ref = espeak_interview(turns, voices, seed=i, uri=f"synth{i}")
            name = f"2 voices: {voices[0]} / {voices[1]}"
            cases.append(Case(name, "synthetic", x, ref, Timeline([Segment(0, len(x) / SR)]), 2))
        x, ref = espeak_interview(SCRIPTS[0] + SCRIPTS[1], TRIO_VOICES, seed=20, uri="trio")
        cases.append(Case("3 voices: " + " / ".join(TRIO_VOICES), "synthetic-3", x, ref, Timeline([Segment(0, len(x) / SR)]), 3))
        x, ref = espeak_interview(SCRIPTS[2], MONO_VOICE, seed=30, uri="mono")
        cases.append(Case(f"1 voice: {MONO_VOICE[0]}", "synthetic-1", x, ref, Timeline([Segment(0, len(x) / SR)]), 1))
    if "stereo" in wanted:
        for room in (False, True):
            condition = "2 mics in a room" if room else "2 mics"
            for i, (turns, voices) in enumerate(zip(SCRIPTS, VOICE_PAIRS)):
                x, ref = espeak_two_mic_interview(turns, voices, seed=40 + i, uri=f"stereo{i}", room=room)
                uem = Timeline([Segment(0, x.shape[1] / SR)])
                cases.append(Case(f"{condition} {i + 1}: by channel", f"{condition}: by channel", x, ref, uem, None, True))
                cases.append(Case(f"{condition} {i + 1}: mono mix", f"{condition}: mono mix", x.mean(axis=0), ref, uem, 2))
    return cases


@dataclass
class Row:
    case: Case
    ref_one: Score
    baseline: Score
    best_labelling: Score
    given: Score | None
    given_count: int | None
    estimated: Score
    estimated_count: int
    seconds: float  # diarisation time, both runs


def run_case(case: Case) -> Row:
    start = time.perf_counter()
    if case.by_channel:
        layout = channels.detect_layout(case.samples, SR)
        estimated = channels.diarize(case.samples, SR, layout=layout)
        case.name += "" if layout.split else " (NOT detected as split)"
    else:
        estimated = embedded.diarize(case.samples, SR)
    given = embedded.diarize(case.samples, SR, num_speakers=case.known_count) if case.known_count else None
    seconds = time.perf_counter() - start
    speech = embedded.speech_timeline(embedded.analyse(case.mix, SR))
    return Row(
        case=case,
        ref_one=score(case.reference, one_speaker(case.reference.get_timeline()), case.uem),
        baseline=score(case.reference, one_speaker(speech), case.uem),
        best_labelling=score(case.reference, best_labelling(case.reference, speech, case.duration), case.uem),
        given=score(case.reference, given.annotation, case.uem) if given else None,
        given_count=len(given.annotation.labels()) if given else None,
        estimated=score(case.reference, estimated.annotation, case.uem),
        estimated_count=len(estimated.annotation.labels()),
        seconds=seconds,
    )


def pooled(scores: list[Score]) -> Score:
    return Score(sum(s.errors for s in scores), sum(s.total for s in scores))


def fmt(s: Score | None) -> str:
    return "   -  " if s is None else f"{100 * s.der:6.1f}"


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'recording':42s} {'dur s':>6s} {'ref':>3s} {'ref 1-spk':>9s} {'BASELINE':>8s} {'best lab.':>9s} "
        f"{'given':>6s} {'n':>2s} {'est.':>6s} {'n':>2s} {'x RT':>6s}  verdict"
    )
    print("DER % (collar 0.25 s total = +-0.125 s, overlap scored). BASELINE = our VAD speech as one speaker.")
    print(head)
    print("-" * len(head))
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.case.group, []).append(row)
    for group, members in groups.items():
        for row in members:
            c = row.case
            dur = c.duration
            runs = 2 if row.given is not None else 1
            speed = runs * dur / row.seconds
            print(
                f"{c.name[:42]:42s} {dur:6.1f} {len(c.reference.labels()):3d} {fmt(row.ref_one):>9s} "
                f"{fmt(row.baseline):>8s} {fmt(row.best_labelling):>9s} {fmt(row.given):>6s} {row.given_count or '':>2} "
                f"{fmt(row.estimated):>6s} {row.estimated_count:2d} {speed:6.0f}  {verdict(row)}"
            )
        if len(members) > 1:
            print(
                f"{'  overall ' + group:42s} {'':6s} {'':3s} {fmt(pooled([r.ref_one for r in members])):>9s} "
                f"{fmt(pooled([r.baseline for r in members])):>8s} "
                f"{fmt(pooled([r.best_labelling for r in members])):>9s} "
                f"{fmt(pooled([r.given for r in members if r.given]) if members[0].given else None):>6s} {'':2s} "
                f"{fmt(pooled([r.estimated for r in members])):>6s}"
            )
        print()


def verdict(row: Row) -> str:
    group = row.case.group
    best = row.given if row.given is not None else row.estimated
    if group == "sample":
        return _target(best.der <= TARGET_SAMPLE_DER, f"target <= {100 * TARGET_SAMPLE_DER:.0f}%")
    if group.startswith("synthetic"):
        return _target(best.der <= TARGET_SYNTHETIC_DER, f"target <= {100 * TARGET_SYNTHETIC_DER:.0f}%")
    if group.endswith("by channel"):
        return _target(best.der <= TARGET_STEREO_DER, f"target <= {100 * TARGET_STEREO_DER:.0f}%")
    if group == "ami":
        diff = row.estimated.der - row.baseline.der
        if diff < -1e-9:
            return f"better than baseline by {-100 * diff:.1f} points"
        if diff > 1e-9:
            return f"WORSE than baseline by {100 * diff:.1f} points"
        if row.best_labelling.der >= row.baseline.der - 1e-9:
            return "same as baseline (no labelling beats it)"
        return "same as baseline (one speaker found)" if row.estimated_count == 1 else "same as baseline"
    return ""


def _target(ok: bool, text: str) -> str:
    return ("meets " if ok else "MISSES ") + text


def hour_speed() -> None:
    """Time one hour of audio: synthetic interviews end to end, with and without a count."""
    if not shutil.which("espeak-ng"):
        print("one-hour speed run skipped: espeak-ng is not installed")
        return
    pieces = []
    for i, (turns, voices) in enumerate(zip(SCRIPTS, VOICE_PAIRS[:1] * 3)):
        pieces.append(espeak_interview(turns, voices, seed=100 + i, uri="hour")[0])
    block = np.concatenate(pieces)
    hour = np.tile(block, int(np.ceil(3600 * SR / len(block))))[: 3600 * SR]
    for count in (2, None):
        start = time.perf_counter()
        result = embedded.diarize(hour, SR, num_speakers=count)
        seconds = time.perf_counter() - start
        label = "num_speakers=2" if count else "estimated count"
        print(
            f"one hour ({label}): {seconds:.1f} s = {3600 / seconds:.0f}x real time, "
            f"{len(result.annotation.labels())} speakers (target: <= 72 s, 50x)"
        )
    block = np.concatenate(
        [espeak_two_mic_interview(t, v, seed=110 + i, uri="hour")[0] for i, (t, v) in enumerate(zip(SCRIPTS, VOICE_PAIRS))],
        axis=1,
    )
    hour = np.tile(block, (1, int(np.ceil(3600 * SR / block.shape[1]))))[:, : 3600 * SR]
    start = time.perf_counter()
    layout = channels.detect_layout(hour, SR)
    result = channels.diarize(hour, SR, layout=layout)
    seconds = time.perf_counter() - start
    print(
        f"one hour, 2 mics ({'split' if layout.split else 'NOT split'}, by channel): {seconds:.1f} s = "
        f"{3600 / seconds:.0f}x real time, {len(result.annotation.labels())} speakers"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-hour", action="store_true", help="skip the one-hour speed run")
    parser.add_argument(
        "--only",
        choices=GROUPS,
        action="append",
        help="run only these groups of rows (repeatable; implies --no-hour): quicker iteration",
    )
    args = parser.parse_args()

    # Warm-up: the first call pays one-off import and library initialisation costs.
    embedded.diarize(np.zeros(SR, np.float32), SR)
    cases = load_cases(args.only)
    rows = [run_case(case) for case in cases]
    print_table(rows)
    total_audio = sum((2 if r.given else 1) * r.case.duration for r in rows)
    total_time = sum(r.seconds for r in rows)
    print(f"speed over the table: {total_audio:.0f} s of audio diarised in {total_time:.1f} s = {total_audio / total_time:.0f}x real time")
    if not args.no_hour and not args.only:
        hour_speed()


if __name__ == "__main__":
    main()
