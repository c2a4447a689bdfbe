"""Real-browser tests: headless Chromium (Debian's) driven by Selenium.

The briefing opens from a file URL without console errors and draws every chart;
text from scenario files is displayed, not run; charts export as PNG and SVG; in
the explorer, moving a slider re-runs the model and changes the plotted line;
script planted in a model, its card, scenario files and a sensitivity spec runs
in neither the briefing nor the explorer.
Skipped without Chromium and chromedriver, failed instead under SDKIT_REQUIRE_ALL=1.
"""

from __future__ import annotations

import dataclasses
import io
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import planted
import pytest
import synthetic
from conftest import REPO, skip_or_fail
from test_briefing import XSS, make_data

from sdkit import briefing_inputs
from sdkit.briefing import render_briefing
from sdkit.embed import find_browser, make_webdriver, write_embeds
from sdkit.errors import MissingComponentError
from sdkit.i18n import text
from sdkit.plots import stage_timeline


@pytest.fixture(scope="module")
def browser():
    if find_browser() is None:
        skip_or_fail("headless Chromium not installed (apt-get install chromium chromium-driver)")
    try:
        driver = make_webdriver(width=1200, height=900, log_browser=True)
    except MissingComponentError as err:
        skip_or_fail(str(err))
    yield driver
    driver.quit()


def _wait(driver, script: str, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}")


def _errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _drawn(png: bytes) -> int:
    """Number of distinct colours in a screenshot (a blank canvas has one or two)."""
    from PIL import Image

    return len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 20) or [])


IDLE = ("return window.Bokeh !== undefined && Bokeh.documents.length > 0 && "
        "Bokeh.documents.every(d => d.is_idle)")


def test_briefing_loads_offline_and_draws_every_chart(browser, scenario_results,
                                                      shipped_scenarios, tmp_path: Path) -> None:
    first = dataclasses.replace(shipped_scenarios[0], title={"en": XSS, "zh": XSS})
    page = tmp_path / "briefing.html"
    page.write_text(render_briefing(make_data(scenario_results, [first, *shipped_scenarios[1:]])),
                    encoding="utf-8")
    browser.get_log("browser")  # drop earlier entries
    browser.get(page.as_uri())
    _wait(browser, IDLE)
    assert _errors(browser) == []
    boxes = browser.find_elements("css selector", ".chart-box")
    assert len(boxes) == 5
    for box in boxes:
        browser.execute_script("arguments[0].scrollIntoView()", box)
        assert box.size["height"] > 100, box.get_attribute("data-chart")
        assert _drawn(box.screenshot_as_png) > 20, box.get_attribute("data-chart")
    # the scenario title is shown as text and never runs
    assert XSS in browser.find_element("tag name", "body").text
    assert browser.execute_script("return document.querySelectorAll('script').length") == \
        page.read_text("utf-8").count("<script")


def test_charts_export_as_png_and_svg(browser, tmp_path: Path) -> None:
    names = ("baseline", "fast")
    chart = stage_timeline(synthetic.transitions(names), dict.fromkeys(names, 2030.0))
    files = write_embeds({"stage timeline": chart}, tmp_path, driver=browser)
    assert sorted(f.name for f in files) == ["stage-timeline.html", "stage-timeline.json",
                                             "stage-timeline.png", "stage-timeline.svg"]
    assert _drawn((tmp_path / "stage-timeline.png").read_bytes()) > 20
    assert (tmp_path / "stage-timeline.svg").read_text("utf-8").startswith("<svg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve_explorer(*args: str) -> Iterator[str]:
    """Run ``sdkit explore ARGS`` on a free port; yield its URL once it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sdkit.cli", "explore", *args, "--port", str(port)], cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    end = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            break
        except OSError as err:
            if process.poll() is not None or time.monotonic() > end:
                process.kill()
                log = process.stderr.read().decode(errors="replace")[-2000:]
                raise AssertionError(f"explorer did not start: {log}") from err
            time.sleep(0.5)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def explorer(sdkit_cache):
    with _serve_explorer() as url:
        yield url


CURRENT = ("const s = Bokeh.documents[0].get_model_by_name('current');"
           "return s ? Array.from(s.data.v0) : null")


def test_moving_a_slider_changes_the_plotted_line(browser, explorer: str) -> None:
    browser.get_log("browser")
    browser.get(explorer)
    before = _wait(browser, "return window.Bokeh && Bokeh.documents.length > 0 && "
                            "Bokeh.documents[0].get_model_by_name('current') && true")
    assert before
    start = browser.execute_script(CURRENT)
    plot = browser.find_element("css selector", ".bk-Row")
    shot = plot.screenshot_as_png
    browser.execute_script(
        "const s = Bokeh.documents[0].get_model_by_name('talent budget share');"
        "s.value = 0.55; s.value_throttled = 0.55;")
    end = time.monotonic() + 60
    while browser.execute_script(CURRENT) == start:
        assert time.monotonic() < end, "the line did not change after moving the slider"
        time.sleep(0.3)
    after = browser.execute_script(CURRENT)
    assert len(after) == len(start) and after[-1] != start[-1]
    time.sleep(0.5)
    assert plot.screenshot_as_png != shot
    status = browser.execute_script(
        "return Bokeh.documents[0].get_model_by_name('status').text")
    assert "Re-run in" in status
    assert _errors(browser) == []


#: Every element, in the page and in the shadow roots Bokeh renders into, that
#: would run script: an event-handler attribute, a javascript: URL, a script
#: element inside a Bokeh view.
LIVE_ELEMENTS = """
const found = [];
const walk = (root, shadow) => {
  for (const el of root.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value)) {
        found.push(`${el.tagName} ${a.name}=${a.value}`);
      }
    }
    if (shadow && el.tagName === 'SCRIPT') found.push('SCRIPT in a Bokeh view');
    if (el.shadowRoot) walk(el.shadowRoot, true);
  }
};
walk(document, false);
return found;
"""
#: The text of the page, shadow roots included.
ALL_TEXT = """
const texts = [document.body.innerText];
const walk = (root) => {
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { texts.push(el.shadowRoot.textContent); walk(el.shadowRoot); }
  }
};
walk(document);
return texts.join(' ');
"""


def _assert_inert(driver, url: str, title: str, shown: str) -> None:
    """Open ``url``: no planted script ran, none is live in the DOM, ``shown`` is shown as text."""
    driver.get_log("browser")  # drop earlier entries
    driver.get(url)
    _wait(driver, IDLE)
    _wait(driver, "return document.readyState === 'complete'")
    time.sleep(1.0)  # an image's error handler would have run by now
    assert driver.execute_script("return window.__pwned") is None
    assert driver.title == title
    assert driver.execute_script(LIVE_ELEMENTS) == []
    assert _errors(driver) == []  # e.g. no failed load of the planted image
    assert shown in driver.execute_script(ALL_TEXT)


@pytest.mark.slow
def test_script_planted_in_files_never_runs(browser, tmp_path: Path, monkeypatch) -> None:
    model = planted.plant_model(tmp_path / "model")
    scenarios = planted.plant_scenarios(tmp_path / "scenarios", model)
    monkeypatch.setattr(briefing_inputs, "load_run_sensitivity",
                        lambda: lambda spec, *, output_dir, executor: planted.sensitivity())
    # the spec's name is its file's stem: the payloads that fit in a file name
    spec = tmp_path / (" ".join(p for p in planted.PAYLOADS if "/" not in p) + ".toml")
    data = briefing_inputs.collect_briefing(scenarios, spec, work_dir=tmp_path / "work",
                                            command=planted.planted("sdkit brief"),
                                            executor="serial")
    assert data.model_title["en"] == planted.planted(
        "Dynamic empowerment of an industrial internet platform (Ouyeel, 2015-2030)")
    for lang in ("en", "zh"):
        page = tmp_path / f"briefing.{lang}.html"
        page.write_text(render_briefing(data, lang=lang), encoding="utf-8")
        title = text("page.title", lang, model=data.model_title[lang])
        _assert_inert(browser, page.as_uri(), title, planted.planted("Comment"))
    with _serve_explorer(str(model)) as url:
        _assert_inert(browser, url, text("explore.title", "en", model=model.name),
                      planted.planted("intelligentization"))
