"""The review page (<stem>.html): one self-contained file, the transcript exactly as in the .txt.

Unit tests read the HTML; the slow test drives it in real headless Chromium (Debian's
chromium + chromium-driver, never anything selenium-manager would download).
"""

from __future__ import annotations

import base64
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SAMPLE_AUDIO
from documents import make_transcript
from undertone.config import RenderSettings
from undertone.frames import Frames
from undertone.model import Annotation, Transcript
from undertone.render import RENDERERS, RenderContext
from undertone.render.html import render_html, turn_contour
from undertone.render.layout import layout_lines
from undertone.render.text import to_ascii

CHROMIUM = Path("/usr/bin/chromium")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMEDRIVER = Path("/usr/bin/chromedriver")


class _Page(HTMLParser):
    """Each line's text (``.tx``) and word count, the script blocks, and attributes of note."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, list[str]]] = []
        self.lines: dict[int, str] = {}
        self.words: dict[int, int] = {}
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.links: list[str] = []
        self.titles: list[str] = []
        self.audio: dict[str, str | None] | None = None
        self.contours = 0
        self.notices: list[str] = []
        self._line: int | None = None
        self._script: dict[str, str | None] | None = None
        self._notice: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        self.stack.append((tag, classes))
        for name in ("src", "href"):
            if attributes.get(name):
                self.links.append(attributes[name] or "")
        if attributes.get("title"):
            self.titles.append(attributes["title"] or "")
        if "line" in classes:
            self._line = int(attributes["data-n"] or 0)
            self.lines[self._line] = ""
            self.words[self._line] = 0
        if "w" in classes and self._line is not None:
            self.words[self._line] += 1
        if tag == "script":
            self._script = attributes
            self.scripts.append((attributes, ""))
        if tag == "audio":
            self.audio = attributes
        if tag == "svg" and "contour" in classes:
            self.contours += 1
        if "notice" in classes:
            self._notice = []

    def handle_endtag(self, tag: str) -> None:
        _, classes = self.stack.pop()
        if "tx" in classes:
            self._line = None
        if tag == "script":
            self._script = None
        if "notice" in classes and self._notice is not None:
            self.notices.append("".join(self._notice))
            self._notice = None

    def handle_data(self, data: str) -> None:
        if self._line is not None and any("tx" in classes for _, classes in self.stack):
            self.lines[self._line] += data
        if self._script is not None:
            attributes, text = self.scripts[-1]
            self.scripts[-1] = (attributes, text + data)
        if self._notice is not None:
            self._notice.append(data)

    def data(self) -> dict:
        return json.loads(next(text for a, text in self.scripts if a.get("type") == "application/json"))


def _transcript() -> Transcript:
    """Two speakers, a pause, a gap, and loud, rising and stretched words with their measures."""
    transcript = make_transcript(
        [("S1", ["so", "how", "was", "it"]), ("S2", ["well", "it", "was", "really", "hard", "you", "know"])],
        pauses={1: 0.72},
        gaps={3: 0.84},
    )
    words = transcript.words
    transcript.annotations = [
        Annotation(kind="rise", start=words[3].start, end=words[3].end, first_word=3, last_word=3,
                   value=3.1, unit="st end re before"),
        Annotation(kind="loud", start=words[7].start, end=words[8].end, first_word=7, last_word=8,
                   value=7.2, unit="dB re speaker"),
        Annotation(kind="elongation", start=words[4].start, end=words[4].end, first_word=4, last_word=4,
                   value=2.0, unit="x usual duration"),
    ]
    transcript.lines = layout_lines(transcript, JEFFERSON)
    return transcript


JEFFERSON = RenderSettings(notation="jefferson")  # every mark shown, elongation included


def _frames(transcript: Transcript, f0_hz: float = 200.0) -> Frames:
    times = np.arange(0.005, transcript.source.duration, 0.01)
    speaker = np.full(len(times), "", dtype=object)
    for word in transcript.words:
        speaker[(times >= word.start) & (times < word.end)] = word.speaker
    f0 = np.where(speaker != "", f0_hz, np.nan)
    return Frames(times=times, f0_hz=f0, intensity_db=np.full(len(times), -20.0), speaker=speaker)


def _render(transcript: Transcript, tmp_path: Path, settings: RenderSettings | None = None, **context) -> str:
    context.setdefault("out_dir", tmp_path)
    return render_html(transcript, settings or RenderSettings(), RenderContext(**context))


def test_page_is_self_contained(tmp_path: Path):
    page_text = _render(_transcript(), tmp_path, frames=_frames(_transcript()))
    page = _Page(page_text)
    assert not [link for link in page.links if re.match(r"\s*(https?:)?//", link, re.I)]
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", page_text, re.I)
    assert "default-src 'none'" in page_text  # the browser refuses any request the page might make
    assert not re.search(r"\bfetch\(|XMLHttpRequest|import\(|@import|url\(", page_text)
    assert all(attributes.get("src") is None for attributes, _ in page.scripts)
    assert page_text.isascii()


def test_lines_numbers_and_text_are_exactly_those_of_the_document(tmp_path: Path):
    transcript = _transcript()
    page = _Page(_render(transcript, tmp_path, frames=_frames(transcript)))
    data = page.data()
    assert [(line["n"], line["text"]) for line in data["lines"]] == [(line.n, line.text) for line in transcript.lines]
    assert page.lines == {line.n: line.text for line in transcript.lines}
    # Every printed word is a span with its times (the line was parsed, not shown as plain text).
    for line in transcript.lines:
        expected = 0 if line.first_word is None else line.last_word - line.first_word + 1
        assert page.words[line.n] == expected
    assert data["label"] == "P2"


def test_marks_carry_their_measurements(tmp_path: Path):
    page = _Page(_render(_transcript(), tmp_path, JEFFERSON))
    assert "louder: +7.2 dB re speaker" in page.titles
    assert "rising: +3.1 st end re before" in page.titles
    assert "stretched: 2 x usual duration" in page.titles
    assert "(0.7) 0.72 s silence" in page.titles
    assert "(0.8) 0.84 s silence between speakers" in page.titles


def test_every_kind_of_mark_is_a_span_and_the_text_stays_exact(tmp_path: Path):
    """Overlap, latch, quiet, tempo, steps, emphasis, cut-off, stamps: lines still parse word by word."""
    settings = RenderSettings(notation="jefferson", timestamps=True, width=44)
    transcript = make_transcript(
        [("S1", ["so", "what", "did", "you", "do", "then"]),
         ("S2", ["I", "just", "left", "the", "room", "and", "never", "came", "back", "there", "wa-"])],
        overlaps=[(2.0, 2.7)],
        render=settings,
    )
    w = transcript.words

    def mark(kind: str, first: int, last: int, value: float | None, unit: str | None) -> Annotation:
        return Annotation(kind=kind, start=w[first].start, end=w[last].end, first_word=first, last_word=last,
                          value=value, unit=unit)

    w[10].kind = "cutoff"
    transcript.annotations = [
        mark("latch", 5, 6, 0.02, "s"), mark("quiet", 7, 8, -7.5, "dB re speaker"),
        mark("fast", 1, 3, 1.42, "x speaker rate"), mark("slow", 12, 14, 0.7, "x speaker rate"),
        mark("pitch_up", 9, 9, 4.6, "st re preceding words"), mark("pitch_down", 13, 13, -4.4, "st re preceding words"),
        mark("emphasis", 4, 4, 3.8, "prominence"), mark("elongation", 11, 11, 2.2, "x usual duration"),
        mark("loud", 11, 12, 6.4, "dB re speaker"), mark("fall", 5, 5, -2.5, "st end re before"),
        mark("level", 16, 16, 0.4, "st end re before"),
    ]
    transcript.lines = layout_lines(transcript, settings)
    page_text = _render(transcript, tmp_path, settings)
    page = _Page(page_text)
    assert page.lines == {line.n: line.text for line in transcript.lines}
    for line in transcript.lines:
        assert page.words[line.n] == (0 if line.first_word is None else line.last_word - line.first_word + 1)
    for kind in ("overlaps", "latching", "loudness", "tempo", "pitch", "intonation", "elongation", "emphasis"):
        assert f'data-group="{kind}"' in page_text
    assert "quieter: -7.5 dB re speaker" in page.titles and "latched, no gap: 0.02 s" in page.titles
    assert any(t.startswith("overlapping talk: 0.70 s") for t in page.titles)
    assert 'class="stamp"' in page_text
    assert 'data-plain="never"' in page_text  # LOUD words keep their spoken form for the toggle


def test_words_are_escaped_and_cannot_close_the_script(tmp_path: Path):
    transcript = make_transcript([("S1", ["a", "</script><script>alert(1)</script>", "b&c", '"q"', "<!--"])])
    page_text = _render(transcript, tmp_path)
    assert page_text.count("</script>") == 2  # the data block's and the code's own
    assert "<script>alert" not in page_text
    page = _Page(page_text)
    assert page.data()["lines"][0]["text"] == transcript.lines[0].text
    assert page.lines[1] == transcript.lines[0].text


def test_audio_is_linked_relative_to_the_page(tmp_path: Path):
    recording = tmp_path / "recordings" / "p 2#1.wav"
    recording.parent.mkdir()
    recording.write_bytes(b"RIFF")
    page = _Page(_render(_transcript(), tmp_path, out_dir=tmp_path / "out", audio=recording))
    assert page.audio is not None and page.audio["src"] == "../recordings/p%202%231.wav"
    assert page.notices == []


def test_embed_audio_gives_a_data_uri(tmp_path: Path):
    recording = tmp_path / "p2.wav"
    payload = bytes(range(256)) * 3
    recording.write_bytes(payload)
    page = _Page(_render(_transcript(), tmp_path, RenderSettings(embed_audio=True), audio=recording))
    assert page.audio is not None
    prefix = "data:audio/wav;base64,"
    assert page.audio["src"].startswith(prefix)
    assert base64.b64decode(page.audio["src"][len(prefix):]) == payload
    assert page.data()["media"] == "embedded"


def test_missing_recording_is_announced_and_the_page_still_renders(tmp_path: Path):
    transcript = _transcript()
    missing = _Page(_render(transcript, tmp_path, audio=tmp_path / "moved.wav"))
    assert any("not found" in notice for notice in missing.notices)
    assert missing.audio is not None and missing.audio["src"] == "moved.wav"
    unlinked = _Page(_render(transcript, tmp_path))
    assert unlinked.audio is not None and "src" not in unlinked.audio
    assert any("No recording" in notice for notice in unlinked.notices)
    embedded = _Page(_render(transcript, tmp_path, RenderSettings(embed_audio=True), audio=tmp_path / "gone.wav"))
    assert any("could not be embedded" in notice for notice in embedded.notices)
    assert embedded.lines == {line.n: line.text for line in transcript.lines}


def test_pitch_contours_come_from_the_frames_and_are_optional(tmp_path: Path):
    transcript = _transcript()
    without = _render(transcript, tmp_path)
    assert _Page(without).contours == 0 and 'class="no-contours"' in without
    with_frames = _render(transcript, tmp_path, frames=_frames(transcript))
    assert _Page(with_frames).contours == len(transcript.turns)
    points = re.findall(r'<polyline points="([^"]*)"', with_frames)
    assert points and all(re.fullmatch(r"-?\d+,-?\d+(\.\d)?( -?\d+,-?\d+(\.\d)?)*", p) for p in points)


def test_turn_contour_is_semitones_re_the_speaker_in_20_ms_steps():
    transcript = _transcript()
    turn = transcript.turns[1]
    stretches = turn_contour(_frames(transcript, f0_hz=200.0), turn, median_hz=100.0)
    values = [st for stretch in stretches for _, st in stretch]
    assert values and np.allclose(values, 12.0)
    times = [t for stretch in stretches for t, _ in stretch]
    assert np.allclose(np.diff(times)[np.diff(times) < 0.05], 0.02)
    assert all(0 <= t <= turn.end - turn.start + 0.02 for t in times)
    # Words separated by 0.1 s of unvoiced frames are separate stretches.
    assert len(stretches) == turn.last_word - turn.first_word + 1


def test_ascii_setting_gives_the_ascii_text(tmp_path: Path):
    transcript = _transcript()
    transcript.annotations.append(
        Annotation(kind="pitch_up", start=0.0, end=0.3, first_word=0, last_word=0, value=4.4, unit="st re preceding words")
    )
    transcript.lines = layout_lines(transcript, RenderSettings())
    assert "↑" in transcript.lines[0].text
    page_text = _render(transcript, tmp_path, RenderSettings(ascii=True))
    page = _Page(page_text)
    assert page.lines == {line.n: to_ascii(line.text) for line in transcript.lines}
    assert page.data()["dash"] == "-"
    assert "&#8593;" not in page_text


def test_html_is_registered_after_txt_and_written_with_the_frames(tmp_path: Path):
    from undertone.outputs import write_outputs

    names = list(RENDERERS)
    assert names[names.index("txt") + 1] == "html" and RENDERERS["html"].suffix == ".html"
    transcript = _transcript()
    written = write_outputs(transcript, tmp_path, RenderSettings(), ["json", "html"], frames=_frames(transcript))
    page = next(p for p in written if p.suffix == ".html")
    assert page.stat().st_mode & 0o777 == 0o600
    assert _Page(page.read_text(encoding="utf-8")).contours == len(transcript.turns)


def test_speakers_have_distinct_colours(tmp_path: Path):
    """Each speaker's turns get their own class, and the page's CSS a different colour for each."""
    transcript = make_transcript([("S1", ["so"]), ("S2", ["well"]), ("S3", ["yes"]), ("S1", ["right"])])
    page_text = _render(transcript, tmp_path)
    by_speaker = {speaker: css_class for css_class, speaker in re.findall(r'<div class="turn (s\d+)" data-speaker="(S\d)"', page_text)}
    assert set(by_speaker) == {"S1", "S2", "S3"} and len(set(by_speaker.values())) == 3
    style = "".join(re.findall(r"<style[^>]*>(.*?)</style>", page_text, re.S))
    colours = {css_class: re.search(rf"\.{css_class}\s*\{{[^}}]*--c:\s*(#[0-9a-fA-F]{{6}})", style) for css_class in by_speaker.values()}
    assert all(colours.values()), colours
    assert len({match.group(1).lower() for match in colours.values()}) == 3
    assert re.search(r"\.who\s*\{[^}]*color:\s*var\(--c-text\)", style)  # the label is in the speaker's colour


def test_a_label_on_its_own_line_opens_its_turn_block(tmp_path: Path):
    """At narrow widths the label stands on a line of its own: it belongs to its turn's block
    (colour, contour), not among the gap lines."""
    narrow = RenderSettings(width=30, timestamps=True)
    transcript = make_transcript([("S1", ["so", "how", "was", "it"]), ("S2", ["well", "it", "was", "hard"])],
                                 gaps={3: 0.84}, render=narrow)
    for speaker in transcript.speakers:
        speaker.label = "Interviewer" if speaker.id == "S1" else "Participant"
    transcript.lines = layout_lines(transcript, narrow)
    label_lines = [line for line in transcript.lines if line.first_word is None and line.speaker is not None]
    assert len(label_lines) == 2  # the layout did put the labels on lines of their own
    page_text = _render(transcript, tmp_path, narrow)
    for line in label_lines:
        block = re.search(rf'<div class="turn s\d+" data-speaker="{line.speaker}"[^>]*>(.*?)</div><svg|'
                          rf'<div class="turn s\d+" data-speaker="{line.speaker}"[^>]*>(.*?)</div></div>', page_text, re.S)
        assert block and f'id="L{line.n}"' in (block.group(1) or block.group(2)), line
        assert f'<div class="line gap" id="L{line.n}"' not in page_text


def test_review_assets_are_plain_ascii():
    folder = REPO / "src" / "undertone" / "render" / "review"
    for name in ("review.js", "review.css"):
        assert (folder / name).read_text(encoding="utf-8").isascii(), name


# ---- in a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Transcript]:
    """The sample interview processed (offline, aligned to its transcript) into a fresh folder."""
    from undertone.config import load_settings
    from undertone.outputs import write_outputs
    from undertone.pipeline import process_file

    out = tmp_path_factory.mktemp("review") / "out"
    here = Path.cwd()
    os.chdir(REPO)  # so that the document records the recording as sample_audio/interview.wav
    try:
        settings = load_settings("offline")
        audio = Path("sample_audio/interview.wav")
        result = process_file(audio, settings, SAMPLE_AUDIO / "interview.transcript.txt")
        write_outputs(result.transcript, out, settings.render, ["json", "txt", "html"], frames=result.frames, audio=audio)
    finally:
        os.chdir(here)
    return out / "interview.html", result.transcript


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.is_file() or not CHROMEDRIVER.is_file():
        pytest.skip(f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER})")
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # A driver path given to Service means selenium-manager is never run (nothing is downloaded).
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1280, 1000)
    yield driver
    driver.quit()


@pytest.mark.slow
def test_review_page_in_a_browser(sample_page: tuple[Path, Transcript], browser, tmp_path: Path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from undertone.cite import citation, citation_label
    from undertone.render.layout import numbered

    page, transcript = sample_page
    driver = browser
    script = driver.execute_script
    wait = WebDriverWait(driver, 15)

    driver.get(page.as_uri())
    wait.until(lambda d: script("return document.body.dataset.ready") == "1")
    # The recording is found through its relative link, from a file: page.
    assert not script("return document.getElementById('player').getAttribute('src')").startswith(("/", "file:"))
    wait.until(lambda d: script("return document.getElementById('player').readyState") >= 1)
    script("document.getElementById('player').muted = true")

    # Click a line (not the first): playback jumps to its start and the line is current.
    line = next(line for line in transcript.lines[3:] if line.first_word is not None)
    driver.find_element(By.CSS_SELECTOR, f"#L{line.n} .tx").click()
    assert script("return document.getElementById('player').currentTime") == pytest.approx(line.start, abs=0.3)
    assert "current" in driver.find_element(By.ID, f"L{line.n}").get_attribute("class").split()

    # While it plays, the word being spoken is highlighted.
    wait.until(lambda d: script("return document.getElementById('player').currentTime") > line.start + 1.0)
    assert not script("return document.getElementById('player').paused")
    assert script("return document.querySelectorAll('.t.now').length") >= 1
    script("document.getElementById('player').pause()")

    # Line numbers, the second with Shift, cite a range.
    first, last = line.n + 6, line.n + 9
    ActionChains(driver).click(driver.find_element(By.CSS_SELECTOR, f"#L{first} .n")).perform()
    ActionChains(driver).key_down(Keys.SHIFT).click(driver.find_element(By.CSS_SELECTOR, f"#L{last} .n")).key_up(
        Keys.SHIFT
    ).perform()
    expected = citation(citation_label(transcript), first, last)
    assert expected == f"(P, Lines {first}–{last})"
    assert driver.find_element(By.ID, "citation").text == expected
    extract = script("return document.getElementById('extract').textContent").splitlines()
    assert extract == [numbered(line) for line in transcript.lines if first <= line.n <= last]
    assert set(extract) <= set(page.with_suffix(".txt").read_text(encoding="utf-8").splitlines())

    # Selecting text cites the lines it covers.
    script(
        "var r = document.createRange();"
        "r.setStart(document.querySelector('#L4 .tx').firstChild, 0);"
        "r.setEnd(document.querySelector('#L6 .tx').lastChild, 0);"
        "getSelection().removeAllRanges(); getSelection().addRange(r);"
    )
    wait.until(lambda d: d.find_element(By.ID, "citation").text == "(P, Lines 4–6)")
    script("getSelection().removeAllRanges()")

    # A kind of mark switched off disappears; switched on, it is back.
    pauses = driver.find_elements(By.CSS_SELECTOR, ".p")
    assert pauses and any(p.is_displayed() for p in pauses)
    toggle = driver.find_element(By.CSS_SELECTOR, "input[data-group=pauses]")
    toggle.click()
    assert not any(p.is_displayed() for p in pauses)
    toggle.click()
    assert any(p.is_displayed() for p in pauses)

    # Keys: right arrow seeks 5 s.
    before = script("return document.getElementById('player').currentTime")
    ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
    assert script("return document.getElementById('player').currentTime") == pytest.approx(before + 5, abs=0.3)

    # Search marks the matching lines ("lunch" would be found through "lu::nch" too).
    search = driver.find_element(By.ID, "search")
    search.send_keys("lunch")
    assert script("return document.querySelectorAll('.line.match').length") == 1
    search.send_keys(Keys.ESCAPE)

    # Nothing in the page asked for anything outside it (a blocked request would be logged).
    problems = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert problems == []

    # A picture of the page, in the test's own folder: tests never write into the repository.
    script("window.scrollTo(0, 0)")
    driver.find_element(By.CSS_SELECTOR, f"#L{line.n} .tx").click()
    wait.until(lambda d: script("return document.getElementById('player').currentTime") > line.start + 0.8)
    script("var player = document.getElementById('player'); player.pause(); player.muted = false;")
    ActionChains(driver).click(driver.find_element(By.CSS_SELECTOR, f"#L{first} .n")).perform()
    ActionChains(driver).key_down(Keys.SHIFT).click(driver.find_element(By.CSS_SELECTOR, f"#L{last} .n")).key_up(
        Keys.SHIFT
    ).perform()
    script("window.scrollTo(0, 0)")
    ActionChains(driver).move_to_element(driver.find_element(By.TAG_NAME, "h1")).perform()  # no hover state
    screenshot = tmp_path / "review-page.png"
    assert driver.save_screenshot(str(screenshot))
    picture = screenshot.read_bytes()
    assert picture.startswith(PNG_SIGNATURE) and len(picture) > 10_000
    # The README's screenshot (docs/review-page.png) is refreshed only when asked for:
    # UNDERTONE_UPDATE_DOCS=1 UNDERTONE_SLOW=1 uv run pytest tests/test_review_page.py -k browser
    if os.environ.get("UNDERTONE_UPDATE_DOCS") == "1":
        (REPO / "docs").mkdir(exist_ok=True)
        (REPO / "docs" / "review-page.png").write_bytes(picture)
