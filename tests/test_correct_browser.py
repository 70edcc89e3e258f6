"""The review page with editing on, in real headless Chromium, served by ``undertone review``'s server.

Open the page, correct a word, move a turn to the other speaker, reload (the edits are still
there), save (apply), and find the corrected version in the page and in its outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_correct_support import STEM, processed_folder, word_id
from undertone.correct.apply import CORRECTED_DIR, read_document
from undertone.correct.server import ReviewServer
from undertone.render.layout import numbered

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.slow


@pytest.fixture()
def browser(tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.is_file() or not CHROMEDRIVER.is_file():
        pytest.skip(f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER})")
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in (
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1280, 1000)
    yield driver
    driver.quit()


def test_correct_move_reload_and_save_in_a_browser(tmp_path: Path, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    out, machine = processed_folder(tmp_path)
    server = ReviewServer(out)
    server.start_in_thread()
    driver, wait = browser, WebDriverWait(browser, 20)
    script = driver.execute_script
    lovely, yeah = word_id(machine, "lovely"), word_id(machine, "yeah")

    def ready() -> None:
        wait.until(lambda d: script("return document.body.dataset.editing") == "1")
        wait.until(lambda d: d.find_element(By.ID, "edit-status").text != "")

    try:
        driver.get(server.urls()[0])
        ready()
        assert "token=" not in driver.current_url  # the token went into a cookie
        wait.until(lambda d: script("return document.getElementById('player').readyState") >= 1)
        script("document.getElementById('player').muted = true")

        # Correct a word: click it, type, Enter.
        driver.find_element(By.CSS_SELECTOR, f'.w[data-id="{lovely}"]').click()
        text = driver.find_element(By.ID, "we-text")
        assert text.get_attribute("value") == "lovely"
        text.clear()
        text.send_keys("charming", Keys.ENTER)
        wait.until(lambda d: d.find_element(By.ID, "edit-status").text.startswith("1 edit"))

        # Move the interviewer's "yeah" turn to the participant.
        driver.find_element(By.CSS_SELECTOR, f'.w[data-id="{yeah}"]').click()
        Select(driver.find_element(By.ID, "we-speaker")).select_by_value("S2")
        driver.find_element(By.ID, "we-move-turn").click()
        wait.until(lambda d: d.find_element(By.ID, "edit-status").text.startswith("2 edit"))

        # Reload: the edits are there (pending, from the journal).
        driver.refresh()
        ready()
        corrected_word = driver.find_element(By.CSS_SELECTOR, f'.w[data-id="{lovely}"]')
        assert corrected_word.text == "charming" and "edited" in corrected_word.get_attribute("class")
        turn = driver.find_element(By.CSS_SELECTOR, f'.w[data-id="{yeah}"]').find_element(By.XPATH, "./ancestor::div[contains(@class, 'turn')]")
        assert turn.get_attribute("data-speaker") == "S2"
        assert turn.find_element(By.CSS_SELECTOR, ".who").text == "P:"
        assert driver.find_element(By.ID, "edit-status").text.startswith("2 edit")

        # Playback speed and "replay the last 3 seconds".
        Select(driver.find_element(By.ID, "speed")).select_by_value("0.5")
        assert script("return document.getElementById('player').playbackRate") == 0.5
        script("var p = document.getElementById('player'); p.pause(); p.currentTime = 6;")
        wait.until(lambda d: abs(script("return document.getElementById('player').currentTime") - 6) < 0.05)
        driver.find_element(By.TAG_NAME, "h1").click()
        ActionChains(driver).send_keys("r").perform()
        wait.until(lambda d: script("return document.getElementById('player').currentTime") < 3.6)
        script("document.getElementById('player').pause()")

        # Save: the corrected version is written and the page shows it.
        driver.find_element(By.ID, "save").click()
        wait.until(lambda d: "showing corrected version c2-" in d.find_element(By.ID, "edit-bar").text)
        ready()
        assert driver.find_element(By.ID, "edit-status").text == "all edits applied"
        words = [w.text for w in driver.find_elements(By.CSS_SELECTOR, "#transcript .w")]
        assert "charming" in words and "lovely" not in words

        # A citation from the corrected page names its version, with the .txt's line numbers.
        corrected = read_document(out / CORRECTED_DIR / f"{STEM}.json")
        version = corrected.correction["version"]
        line = next(line for line in corrected.lines if "charming" in line.text)
        driver.find_element(By.CSS_SELECTOR, f"#L{line.n} .n").click()
        assert driver.find_element(By.ID, "citation").text == f"(P, Line {line.n}, version {version})"
        extract = script("return document.getElementById('extract').textContent")
        txt = (out / CORRECTED_DIR / f"{STEM}.txt").read_text(encoding="utf-8").splitlines()
        assert extract == numbered(line) and extract in txt
        yeah_line = next(line for line in corrected.lines if line.first_word is not None and "yeah" in line.text)
        assert yeah_line.speaker == "S2"

        problems = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert problems == []
    finally:
        server.close()

    journal = [json.loads(row) for row in (out / f"{STEM}.corrections.jsonl").read_text().splitlines()]
    assert [edit["kind"] for edit in journal] == ["correct_word", "move_words"]
    assert journal[0]["word"] == lovely and journal[0]["line"] >= 1
