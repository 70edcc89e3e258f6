"""The sample interview through the whole pipeline: command line and Prefect flow.

Assertions are on content measured against the sample's exact ground truth
(``sample_audio/interview.truth.json``): words found, speakers separated, a known pause measured.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jiwer
import jsonschema
import pytest
from typer.testing import CliRunner

from conftest import SAMPLE_AUDIO
from undertone.cli import app
from undertone.model import json_schema

AUDIO = SAMPLE_AUDIO / "interview.wav"
TRANSCRIPT = SAMPLE_AUDIO / "interview.transcript.txt"
TRUTH = json.loads((SAMPLE_AUDIO / "interview.truth.json").read_text())
LONG_PAUSE = max(TRUTH["pauses"], key=lambda p: p["duration"])  # P's 1.3 s pause mid-turn
TOLERANCE_S = 0.050

pytestmark = pytest.mark.slow


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def _truth_speaker_at(time_s: float) -> str | None:
    for utterance in TRUTH["utterances"]:
        if utterance["start"] <= time_s <= utterance["end"] and utterance["style"] != "backchannel":
            return utterance["speaker"]
    return None


def _check_outputs(out: Path) -> tuple[dict, str]:
    document = json.loads((out / "interview.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, json_schema())
    text = (out / "interview.txt").read_text(encoding="utf-8")
    body = text.split("-" * 72 + "\n", 1)[1].splitlines()
    assert [int(row.split()[0]) for row in body] == list(range(1, len(body) + 1))
    assert [line["n"] for line in document["lines"]] == list(range(1, len(body) + 1))
    for row, line in zip(body, document["lines"]):
        assert row.endswith(line["text"].strip())
    return document, text


def _long_pause_measured(document: dict) -> dict:
    candidates = [
        p for p in document["pauses"]
        if abs(p["start"] - LONG_PAUSE["start"]) <= TOLERANCE_S and abs(p["end"] - LONG_PAUSE["end"]) <= TOLERANCE_S
    ]
    assert candidates, f"no pause within ±50 ms of the true {LONG_PAUSE}"
    return candidates[0]


@pytest.fixture(scope="module")
def aligned(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("aligned")
    result = CliRunner().invoke(
        app, ["process", str(AUDIO), "--transcript", str(TRANSCRIPT), "--profile", "offline", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return _check_outputs(out)


@pytest.fixture(scope="module")
def recognised(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("recognised")
    result = CliRunner().invoke(app, ["process", str(AUDIO), "--profile", "offline", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return _check_outputs(out)


def test_aligned_sample_keeps_every_word_speaker_and_pause(aligned):
    document, text = aligned
    truth_words = _normalise(" ".join(t["text"] for t in TRUTH["turns"])).split()
    assert _normalise(" ".join(w["text"] for w in document["words"])).split() == truth_words
    assert [s["label"] for s in document["speakers"]] == ["I", "P"]
    pause = _long_pause_measured(document)
    assert pause["kind"] == "pause" and pause["speaker"] == "S2"
    assert "(1.3)" in text
    assert re.search(r"^\s+1  I:  \W*Thank you", text.split("-" * 72)[1].lstrip("\n"), re.M)


def _words_marked(document: dict, kind: str) -> list[str]:
    return [
        " ".join(w["text"] for w in document["words"][a["first_word"] : a["last_word"] + 1])
        for a in document["annotations"]
        if a["kind"] == kind
    ]


def test_aligned_sample_marks_what_the_generator_put_there(aligned):
    document, text = aligned
    truth_quiet = next(u["text"] for u in TRUTH["utterances"] if u["style"] == "quiet")  # -10 dB
    assert _normalise(truth_quiet) in [_normalise(m) for m in _words_marked(document, "quiet")]
    assert "really" in _words_marked(document, "loud")  # +8 dB and higher, spliced in
    rising = [_normalise(m["text"]).split()[-1] for m in TRUTH["marks"] if m["kind"] == "rise"]
    assert set(rising) <= set(_words_marked(document, "rise"))
    for annotation in document["annotations"]:
        assert annotation["value"] is not None and annotation["unit"], annotation
    assert "°at" in text and "nights,°" in text and "REALLY" in text


def test_frames_table_has_a_row_per_10_ms_with_speakers(aligned, tmp_path_factory):
    out = next(p for p in tmp_path_factory.getbasetemp().glob("aligned*") if (p / "interview.frames.csv").exists())
    rows = (out / "interview.frames.csv").read_text().splitlines()
    assert rows[0] == "time,f0_hz,intensity_db,speaker"
    assert len(rows) - 1 == pytest.approx(TRUTH["duration"] / 0.01, abs=2)
    speakers = {row.rsplit(",", 1)[1] for row in rows[1:]}
    assert {"S1", "S2", ""} <= speakers
    voiced = [row for row in rows[1:] if row.split(",")[1]]
    assert 0.3 < len(voiced) / len(rows) < 0.9


def test_recognised_sample_finds_words_and_separates_speakers(recognised):
    document, text = recognised
    reference = _normalise(" ".join(t["text"] for t in TRUTH["turns"] if t["speaker"] == "P"))
    labels = {}
    for word in document["words"]:
        truth = _truth_speaker_at(0.5 * (word["start"] + word["end"]))
        if truth is not None:
            labels.setdefault(word["speaker"], []).append(truth)
    # Each detected speaker is mostly one true speaker, and both true speakers are found.
    majority = {sid: max(set(found), key=found.count) for sid, found in labels.items()}
    agreement = sum(found.count(majority[sid]) for sid, found in labels.items()) / sum(map(len, labels.values()))
    assert agreement >= 0.9 and set(majority.values()) == {"I", "P"}
    participant = [sid for sid, who in majority.items() if who == "P"]
    hypothesis = _normalise(" ".join(w["text"] for w in document["words"] if w["speaker"] in participant))
    # pocketsphinx on espeak-ng's female voice measured WER 0.62 here (0.37-0.49 on espeak's
    # default voice in the recogniser's own tests); a broken recogniser or a wrong speaker
    # assignment gives WER near 1. The figure itself belongs in the benchmark, not in a test.
    assert jiwer.wer(reference, hypothesis) <= 0.75
    _long_pause_measured(document)
    assert "offline profile" in text  # the lower accuracy is stated in the header


def test_prefect_flow_runs_the_sample_locally(tmp_path: Path, prefect_api: str):
    from flows.process_recording import process_recording

    outcome = process_recording(
        AUDIO, tmp_path / "out", profile="offline", transcript=TRANSCRIPT, cache_dir=tmp_path / "cache"
    )
    written = outcome.written
    assert {"interview.frames.csv", "interview.json", "interview.txt", "interview.html"} <= {p.name for p in written}
    document, _ = _check_outputs(tmp_path / "out")
    _long_pause_measured(document)
