"""Chinese text renders with the embedded font in a Chromium that has no CJK font.

Glyph checks, not only "an element was added": a browser without a font for a
character draws the same empty box for every character, so two different Chinese
characters drawn alike are boxes. In a Chromium that sees only a Latin font folder
(``bare_browser`` of tests/report/test_browser.py), on the SIR model's Chinese briefing:
headings, table headers, findings, notes and the navigation name the embedded font
first, each of their characters draws a glyph of its own, and each element draws
exactly as the embedded font alone draws it (Chromium keeps the boxes of text laid
out while a font later in the list was loading); every chart draws as it does when its
text is drawn again now; a chart's exported PNG and SVG (the SVG opened alone) draw two
characters differently; the Chinese explorer embeds the font and draws with it.
Skipped without Chromium and chromedriver, failed instead under SDKIT_REQUIRE_ALL=1.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import test_browser
from bokeh.plotting import figure
from test_browser import IDLE, _errors, _serve_explorer, _wait

from sdkit.report.embed import write_embeds
from sdkit.report.fonts import FONT_FAMILY
from sdkit.report.plot_parts import use_font

#: The fixtures of tests/report/test_browser.py: a Chromium without any CJK font, the SIR briefing.
bare_browser = test_browser.bare_browser
generic_pages = test_browser.generic_pages

#: Two different Chinese characters: drawn alike, they are boxes.
PAIR = ("政", "策")
#: A PNG data URL of ``arguments[0]`` drawn on a canvas in the font list ``arguments[1]``.
DRAW = ("const c = document.createElement('canvas'); c.width = 80; c.height = 80;"
        "const x = c.getContext('2d'); x.font = '60px ' + arguments[1];"
        "x.fillStyle = '#000'; x.fillText(arguments[0], 5, 65); return c.toDataURL()")
#: Set every chart text's font to ``arguments[0]``; Bokeh draws the charts again.
CHART_FONT = """
let count = 0;
for (const doc of Bokeh.documents) for (const m of doc.all_models) {
  for (const name of Object.keys(m.properties)) {
    if (!name.endsWith('text_font')) continue;
    const now = m.properties[name].get_value();
    const font = arguments[0];
    m.setv({[name]: (now != null && typeof now === 'object') ? {value: font} : font});
    count++;
  }
}
return count;
"""
#: The embedded font, then Latin ones (a font list no chart has drawn with yet).
FRESH_CANVAS_FONT = f'"{FONT_FAMILY}", helvetica, arial, sans-serif, serif'
#: Page elements with Chinese text.
ELEMENTS = ["h1", "#findings h2", "#findings li", "nav a", "table.scenarios th",
            "details summary", ".notes li"]


def _image(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


def _differ(a: bytes, b: bytes) -> int:
    """How many pixels of two same-sized screenshots differ visibly (all if sizes differ)."""
    one, two = _image(a), _image(b)
    if one.shape != two.shape:
        return max(one.size, two.size)
    return int(np.count_nonzero(np.abs(one - two) > 40))


#: Pixels a redraw may change (antialiasing); two boxes instead of two characters at 9 pt
#: change over a hundred.
NOISE = 8


def _drawn_alike(driver, fonts: str) -> bool:
    first, second = (driver.execute_script(DRAW, char, fonts) for char in PAIR)
    return first == second


def _chinese_page(driver, page: Path) -> None:
    driver.get_log("browser")
    driver.get(page.as_uri())
    _wait(driver, IDLE)
    _wait(driver, "return document.fonts.status === 'loaded'")
    assert _errors(driver) == []


def test_the_bare_browser_draws_boxes_without_the_embedded_font(bare_browser,
                                                                generic_pages) -> None:
    # the premise of every check below: in this browser, without the font, two different
    # characters are the same box; with it, they differ
    pages, _ = generic_pages
    _chinese_page(bare_browser, pages["zh"])
    assert _drawn_alike(bare_browser, "monospace")
    assert not _drawn_alike(bare_browser, f'"{FONT_FAMILY}"')
    assert bare_browser.execute_script("return document.fonts.check(arguments[0], arguments[1])",
                                       f'16px "{FONT_FAMILY}"', "".join(PAIR) + "简报")


@pytest.mark.parametrize("selector", ELEMENTS)
def test_chinese_page_text_uses_the_embedded_font(bare_browser, generic_pages,
                                                  selector: str) -> None:
    pages, _ = generic_pages
    _chinese_page(bare_browser, pages["zh"])
    element = bare_browser.find_element("css selector", selector)
    bare_browser.execute_script("arguments[0].scrollIntoView()", element)
    family = bare_browser.execute_script("return getComputedStyle(arguments[0]).fontFamily",
                                         element)
    assert family.startswith(f'"{FONT_FAMILY}"'), (selector, family)
    # each of its characters draws as a glyph of its own in its font list...
    chars = list(dict.fromkeys(c for c in element.text if unicodedata.east_asian_width(c)
                               == "W"))
    assert len(chars) >= 2, selector
    assert len({bare_browser.execute_script(DRAW, c, family) for c in chars}) == len(chars)
    # ...and the element shows those glyphs: it draws as the embedded font alone draws
    # it (Chromium keeps boxes for text laid out while a font later in the list loaded)
    before = element.screenshot_as_png
    bare_browser.execute_script("arguments[0].style.fontFamily = arguments[1]", element,
                                f'"{FONT_FAMILY}"')
    assert _differ(element.screenshot_as_png, before) <= NOISE, selector


def test_chinese_charts_draw_their_text_with_the_font_loaded(bare_browser,
                                                             generic_pages) -> None:
    pages, _ = generic_pages
    _chinese_page(bare_browser, pages["zh"])
    boxes = bare_browser.find_elements("css selector", ".chart-box")
    assert boxes
    before = []
    for box in boxes:
        bare_browser.execute_script("arguments[0].scrollIntoView()", box)
        before.append(box.screenshot_as_png)
    # canvas text is drawn once: boxes drawn before the font loaded would stay, where the
    # text drawn again now in the embedded font (then Latin fonts) shows glyphs
    assert bare_browser.execute_script(CHART_FONT, FRESH_CANVAS_FONT) > 10
    _wait(bare_browser, IDLE)
    for box, shot in zip(boxes, before, strict=True):
        bare_browser.execute_script("arguments[0].scrollIntoView()", box)
        assert _differ(box.screenshot_as_png, shot) <= NOISE, box.get_attribute("data-chart")


def _titled(title: str, font: bool) -> figure:
    fig = figure(title=title, width=160, height=120, toolbar_location=None)
    fig.title.text_font_size = "40px"
    fig.line([0, 1], [0, 1])
    if font:
        use_font(fig)
    else:
        fig.title.text_font = "monospace"
    return fig


def test_exported_png_and_svg_draw_chinese_glyphs(bare_browser, tmp_path: Path) -> None:
    charts = {f"{kind}-{i}": _titled(char, kind == "font")
              for kind in ("font", "plain") for i, char in enumerate(PAIR)}
    write_embeds(charts, tmp_path, driver=bare_browser)
    png = {name: (tmp_path / f"{name}.png").read_bytes() for name in charts}
    assert png["plain-0"] == png["plain-1"]  # without the font: two identical boxes
    assert _differ(png["font-0"], png["font-1"]) > 100
    for name in ("font-0", "font-1"):
        svg = (tmp_path / f"{name}.svg").read_text("utf-8")
        assert f'@font-face {{ font-family: "{FONT_FAMILY}"' in svg
        texts = svg.count("<text")
        assert texts and svg.count(f'font-family="&quot;{FONT_FAMILY}&quot;') == texts
    # the SVG files alone, opened in the browser, draw the two characters differently
    shots = []
    for name in ("font-0", "font-1"):
        bare_browser.get((tmp_path / f"{name}.svg").as_uri())
        _wait(bare_browser, "return document.fonts.status === 'loaded' && "
                            "document.fonts.size > 0")
        shots.append(bare_browser.find_element("css selector", "svg").screenshot_as_png)
    assert _differ(*shots) > 100


@pytest.mark.slow
def test_the_chinese_explorer_embeds_the_font(bare_browser, sdkit_cache) -> None:
    with _serve_explorer("--lang", "zh") as url:
        bare_browser.get_log("browser")
        bare_browser.get(url)
        _wait(bare_browser, IDLE)
        assert bare_browser.execute_script(
            "return Array.from(document.fonts).some(f => f.family.replace(/\"/g, '') === "
            "arguments[0] && f.status === 'loaded')", FONT_FAMILY)
        slider = bare_browser.execute_script(
            "return getComputedStyle(document.querySelector('.bk-Row')).getPropertyValue("
            "'--bokeh-base-font')")
        assert slider.strip().startswith(f'"{FONT_FAMILY}"')
        plot = bare_browser.find_element("css selector", ".bk-Row")
        before = plot.screenshot_as_png
        assert bare_browser.execute_script(CHART_FONT, FRESH_CANVAS_FONT) > 10
        _wait(bare_browser, IDLE)
        assert _differ(plot.screenshot_as_png, before) <= NOISE
        assert _errors(bare_browser) == []
