"""Real-browser tests: headless Chromium (Debian's) driven by Selenium.

The briefing opens from a file URL without console errors and draws every chart;
text from scenario files is displayed, not run; charts export as PNG and SVG; the
briefing of a small model that is not the empowerment model (an SIR model in days)
has no empty section and says "Day" on its time axes, also in a browser that has no
CJK font (``bare_browser``; tests/report/test_fonts_browser.py checks the glyphs there); in the
explorer, moving a slider re-runs the model and changes the plotted line, and the axes
say time and units; script planted in a model,
its card, scenario files and a sensitivity spec runs in neither the briefing nor
the explorer.
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
from generic_model import write_sir
from test_briefing import XSS, make_data

from sdkit.errors import MissingComponentError
from sdkit.report.briefing import inputs as briefing_inputs
from sdkit.report.briefing.page import render_briefing
from sdkit.report.embed import find_browser, make_webdriver, write_embeds
from sdkit.report.i18n import text
from sdkit.report.plots import stage_timeline


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
    assert len(boxes) == 11  # seven groups of the card, timeline, bars, fan, evidence
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


#: Fontconfig with one Latin font folder and no CJK font (a reader's bare machine).
LATIN_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{folder}</dir><cachedir>{cache}</cachedir></fontconfig>
"""


@pytest.fixture(scope="module")
def bare_browser(tmp_path_factory: pytest.TempPathFactory):
    """Headless Chromium that sees only a Latin font folder: no CJK font at all."""
    if find_browser() is None:
        skip_or_fail("headless Chromium not installed (apt-get install chromium chromium-driver)")
    folders = [f for f in sorted(Path("/usr/share/fonts").glob("**/*"))
               if f.is_dir() and any(f.glob("*.ttf")) and
               not any(k in f.name.lower() for k in ("cjk", "wqy", "noto", "droid", "arphic"))]
    if not folders:
        skip_or_fail("no Latin TrueType font folder under /usr/share/fonts")
    work = tmp_path_factory.mktemp("fonts")
    conf = work / "fonts.conf"
    conf.write_text(LATIN_FONTS.format(folder=folders[0], cache=work / "cache"), "utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FONTCONFIG_FILE", str(conf))
        try:
            driver = make_webdriver(width=1200, height=900, log_browser=True)
        except MissingComponentError as err:
            skip_or_fail(str(err))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def generic_pages(tmp_path_factory: pytest.TempPathFactory):
    """The briefing of the SIR model (its scenarios, a Latin hypercube study) in both
    languages, with its data."""
    folder = tmp_path_factory.mktemp("generic")
    files = write_sir(folder)
    data = briefing_inputs.collect_briefing(files["scenarios"], files["spec"],
                                            model=files["model"], work_dir=folder / "work",
                                            command="sdkit brief", executor="serial")
    pages = {}
    for lang in ("en", "zh"):
        pages[lang] = folder / f"briefing.{lang}.html"
        pages[lang].write_text(render_briefing(data, lang=lang), encoding="utf-8")
    return pages, data


AXIS_LABELS = ("return Bokeh.documents.flatMap(d => Array.from(d.all_models))"
               ".filter(m => m.axis_label != null).map(m => String(m.axis_label))")
#: Each section with nothing to show in it (no chart, no list item, no table cell).
EMPTY_SECTIONS = ("return Array.from(document.querySelectorAll('section')).filter(s => "
                  "!s.querySelector('.chart-box, li, td')).map(s => s.id)")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_generic_briefing_loads_with_every_section_filled(bare_browser, generic_pages,
                                                          lang: str) -> None:
    pages, _ = generic_pages
    bare_browser.get_log("browser")
    bare_browser.get(pages[lang].as_uri())
    _wait(bare_browser, IDLE)
    assert _errors(bare_browser) == []
    assert bare_browser.execute_script(EMPTY_SECTIONS) == []
    ids = bare_browser.execute_script("return Array.from(document.querySelectorAll('section'))"
                                      ".map(s => s.id)")
    assert ids == ["findings", "comparison", "sensitivity", "assumptions", "reproduce"]
    for box in bare_browser.find_elements("css selector", ".chart-box"):
        bare_browser.execute_script("arguments[0].scrollIntoView()", box)
        assert _drawn(box.screenshot_as_png) > 20, box.get_attribute("data-chart")
    labels = bare_browser.execute_script(AXIS_LABELS)
    assert ("Day" if lang == "en" else "天") in labels
    assert not any(label in ("Year", "年份") for label in labels)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve_explorer(*args: str) -> Iterator[str]:
    """Run ``sdkit explore ARGS`` on a free port; yield its URL once it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sdkit.cli.app", "explore", *args, "--port", str(port)], cwd=REPO,
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
#: Set the slider named ``arguments[0]`` to ``arguments[1]`` as a released drag does.
SLIDE = ("const s = Bokeh.documents[0].get_model_by_name(arguments[0]);"
         "s.value = arguments[1]; s.value_throttled = arguments[1];")


def _open_explorer(driver, url: str) -> None:
    """Open the explorer at ``url`` and wait for its plotted data."""
    driver.get_log("browser")  # drop earlier entries
    driver.get(url)
    assert _wait(driver, "return window.Bokeh && Bokeh.documents.length > 0 && "
                         "Bokeh.documents[0].get_model_by_name('current') && true")


def _move_slider(driver, name: str, value: float, timeout: float = 60.0) -> tuple[list, list]:
    """Move the explorer's slider ``name`` to ``value``; wait until the plotted line (the
    first variable's) changes. Returns the line before and after."""
    start = driver.execute_script(CURRENT)
    driver.execute_script(SLIDE, name, value)
    end = time.monotonic() + timeout
    while (after := driver.execute_script(CURRENT)) == start:
        assert time.monotonic() < end, f"the line did not change after moving {name!r}"
        time.sleep(0.3)
    return start, after


def test_moving_a_slider_changes_the_plotted_line(browser, explorer: str) -> None:
    _open_explorer(browser, explorer)
    plot = browser.find_element("css selector", ".bk-Row")
    shot = plot.screenshot_as_png
    start, after = _move_slider(browser, "talent budget share", 0.55)
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
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert shown in driver.execute_script(ALL_TEXT)  # folded sectors opened


#: A study of the planted model (read before the briefing runs; its results are planted).
SPEC = """name = "planted"
scenario = "{scenario}"
[method]
name = "morris"
samples = 2
levels = 4
seed = 1
[parameters."attrition rate"]
distribution = "uniform"
low = 0.1
high = 0.3
[[outputs]]
kind = "transition"
stage = 2
"""


@pytest.mark.slow
def test_script_planted_in_files_never_runs(browser, tmp_path: Path, monkeypatch) -> None:
    model = planted.plant_model(tmp_path / "model")
    scenarios = planted.plant_scenarios(tmp_path / "scenarios", model)
    monkeypatch.setattr(briefing_inputs, "load_run_sensitivity",
                        lambda: lambda spec, *, output_dir, executor: planted.sensitivity())
    # the spec's name is its file's stem: the payloads that fit in a file name
    spec = tmp_path / (" ".join(p for p in planted.PAYLOADS if "/" not in p) + ".toml")
    spec.write_text(SPEC.format(scenario=scenarios / "baseline.toml"), encoding="utf-8")
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


TITLES = ("return Bokeh.documents[0].all_models ? Array.from(Bokeh.documents[0].all_models)"
          ".filter(m => m.type == 'Title' || (m.text != null && m.align != null))"
          ".map(m => String(m.text)) : []")


def test_the_explorer_works_for_a_model_without_a_card(browser, tmp_path, sdkit_cache) -> None:
    files = write_sir(tmp_path)
    with _serve_explorer(str(files["model"]), "--lever", "contact rate", "--show",
                         "Infected") as url:
        _open_explorer(browser, url)
        _move_slider(browser, "contact rate", 6)
        titles = browser.execute_script(TITLES)
        assert "Infected" in titles, titles
        assert browser.execute_script(
            "return Bokeh.documents[0].get_model_by_name('stages').text") == ""
        labels = browser.execute_script(AXIS_LABELS)
        assert "Day" in labels and "people" in labels, labels  # time and units
        assert _errors(browser) == []


def test_the_chinese_explorer_names_variables_from_the_card(browser, sdkit_cache) -> None:
    with _serve_explorer("--lang", "zh") as url:
        _open_explorer(browser, url)
        titles = browser.execute_script(TITLES)
        assert "平台买家数" in titles and "Buyers on platform" not in titles, titles
        assert "年份" in browser.execute_script(AXIS_LABELS)
