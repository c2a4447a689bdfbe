"""Embeddable pieces of the briefing's charts: components, JSON items, PNG and SVG images.

:func:`write_embeds` writes, for each chart, ``NAME.html`` (the ``<script>`` and
``<div>`` of :func:`bokeh.embed.components`, for a page that already loads
BokehJS), ``NAME.json`` (:func:`bokeh.embed.json_item`, for
``Bokeh.embed.embed_item``), and, for documents, ``NAME.png`` and ``NAME.svg``
exported through a headless Chromium driven by Selenium
(:func:`make_webdriver`). The browser is the system's (``/usr/bin/chromium``
and ``/usr/bin/chromedriver`` by default, or ``$SDKIT_CHROMIUM`` and
``$SDKIT_CHROMEDRIVER``); nothing is ever downloaded. When the charts show Chinese
text, every piece carries a subset of the embedded CJK font (:mod:`sdkit.report.fonts`):
the components and JSON items as a Bokeh global stylesheet, the SVG images in a
``<style>`` element, so they render where no Chinese font is installed. Each image is
drawn in a page of its own that holds Bokeh back until the font is loaded
(:func:`sdkit.report.fonts.bokeh_template`): canvas text drawn before would stay boxes.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sdkit.errors import MissingComponentError
from sdkit.util.files import atomic_write, write_text_atomic

__all__ = ["CHROMIUM_ARGS", "find_browser", "make_webdriver", "webdriver", "slug",
           "write_embeds", "bokeh_script_tags"]

#: Flags for a quiet, private headless Chromium.
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--force-device-scale-factor=1")
_DEFAULTS = {"SDKIT_CHROMIUM": ("/usr/bin/chromium", "chromium"),
             "SDKIT_CHROMEDRIVER": ("/usr/bin/chromedriver", "chromedriver")}
_INSTALL = ("install Debian's chromium and chromium-driver packages "
            "(apt-get install -y chromium chromium-driver) or set $SDKIT_CHROMIUM and "
            "$SDKIT_CHROMEDRIVER")


def _program(variable: str) -> str | None:
    given = os.environ.get(variable)
    if given:
        return given if Path(given).is_file() else None
    path, name = _DEFAULTS[variable]
    return path if Path(path).is_file() else shutil.which(name)


def find_browser() -> tuple[str, str] | None:
    """The paths of Chromium and its driver, or None when either is missing."""
    browser, driver = _program("SDKIT_CHROMIUM"), _program("SDKIT_CHROMEDRIVER")
    return (browser, driver) if browser and driver else None


def make_webdriver(*, width: int = 1200, height: int = 900, log_browser: bool = False) -> Any:
    """Start a headless Chromium through Selenium with the system browser and driver.

    Parameters
    ----------
    width, height : int
        Window size in pixels.
    log_browser : bool
        Record the browser console (``driver.get_log("browser")``).

    Returns
    -------
    selenium.webdriver.Chrome
        The caller must ``quit()`` it (or use :func:`webdriver`).

    Raises
    ------
    MissingComponentError
        If Selenium, Chromium or chromedriver is not installed.
    """
    found = find_browser()
    if found is None:
        raise MissingComponentError(f"No headless browser for image export: {_INSTALL}.")
    try:
        from selenium import webdriver as selenium_webdriver
        from selenium.webdriver.chrome.service import Service
    except ModuleNotFoundError as err:
        raise MissingComponentError(
            "Image export needs Selenium: pip install selenium.") from err
    options = selenium_webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    profile = tempfile.mkdtemp(prefix="sdkit-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    if log_browser:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = selenium_webdriver.Chrome(service=Service(executable_path=found[1]),
                                           options=options)
    except Exception as err:  # selenium raises WebDriverException and OSError subclasses
        shutil.rmtree(profile, ignore_errors=True)
        raise MissingComponentError(
            f"Cannot start headless Chromium ({found[0]}) with {found[1]}: "
            f"{' '.join(str(err).split())[:300]}") from err
    # An attribute of sdkit's own on selenium's (typed) WebDriver, read back by webdriver().
    driver.sdkit_profile = profile  # type: ignore[attr-defined]
    return driver


@contextmanager
def webdriver(**kwargs: Any) -> Iterator[Any]:
    """:func:`make_webdriver` as a context manager that quits and removes its profile."""
    driver = make_webdriver(**kwargs)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(getattr(driver, "sdkit_profile", ""), ignore_errors=True)


def slug(name: str) -> str:
    """A file-name-safe form of a chart name (``fan_Buyers on`` -> ``fan-buyers-on``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "chart"


def bokeh_script_tags() -> str:
    """The ``<script>`` tags that load this Bokeh version's BokehJS from its CDN.

    A page showing the ``NAME.html`` or ``NAME.json`` pieces needs them first.
    """
    from bokeh.resources import CDN

    return CDN.render_js()


def write_embeds(charts: Mapping[str, Any], folder: str | os.PathLike[str], *,
                 images: bool = True, driver: Any | None = None) -> list[Path]:
    """Write each chart as components, a JSON item and (optionally) PNG and SVG images.

    Parameters
    ----------
    charts : mapping of str to bokeh.models.LayoutDOM
        Chart name -> chart (e.g. :func:`sdkit.report.briefing.page.briefing_charts`).
    folder : path-like
        Output folder (created).
    images : bool
        Also export PNG and SVG images through a headless browser.
    driver : selenium webdriver, optional
        A driver to reuse; default one made by :func:`make_webdriver`.

    Returns
    -------
    list of Path
        Every file written, chart by chart.

    Raises
    ------
    MissingComponentError
        If ``images`` and no headless browser is installed.
    """
    from bokeh.embed import components, json_item

    from sdkit.report.fonts import chart_stylesheet, chart_text, font_face_css, is_font_stylesheet

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for chart in charts.values():  # a font sheet of an earlier call is replaced, not repeated
        chart.stylesheets = [s for s in chart.stylesheets if not is_font_stylesheet(s)]
    css = font_face_css(" ".join(chart_text(chart) for chart in charts.values()))
    images_written: list[Path] = []
    if images:
        if driver is None:
            with webdriver() as made:
                images_written = _images(charts, out, made, css)
        else:
            images_written = _images(charts, out, driver, css)
    if css:
        for chart in charts.values():
            chart.stylesheets = [*chart.stylesheets, chart_stylesheet(css)]
    for name, chart in charts.items():
        base = slug(name)
        script, div = components(chart)
        written.append(write_text_atomic(out / f"{base}.html", f"{div}\n{script}\n"))
        item = json.dumps(json_item(chart, target=base))
        written.append(write_text_atomic(out / f"{base}.json", item))
    return written + images_written


#: The size of the page's root view and the device pixel ratio.
_SIZE = ("const {width, height} = Bokeh.index.roots[0].el.getBoundingClientRect();"
         "return [Math.ceil(width), Math.ceil(height), window.devicePixelRatio]")
#: The SVG images of the root view whose model id is ``arguments[0]``.
_SVGS = ("const out = []; for (const view of Bokeh.index) { if (view.model.id === arguments[0])"
         " { out.push(view.export('svg').ctx.get_serialized_svg(true)); } } return out")
_EXPORT_CSS = ("html, body { box-sizing: border-box; width: 100%; height: 100%; margin: 0; "
               "border: 0; padding: 0; overflow: hidden; }")


def _images(charts: Mapping[str, Any], out: Path, driver: Any, css: str = "") -> list[Path]:
    """PNG and SVG of each chart, rendered in memory and written atomically.

    Each chart is drawn in a page of its own whose head carries ``css`` (the embedded
    font's ``@font-face``) and :data:`sdkit.report.fonts.FONT_WAIT_SCRIPT`, so its canvas text is
    drawn with the font, never as boxes; each SVG carries ``css`` too.
    """
    from sdkit.report.fonts import embed_in_svg

    written = []
    size = driver.get_window_size()
    try:
        with tempfile.TemporaryDirectory(prefix="sdkit-export-") as work:
            for name, chart in charts.items():
                base = slug(name)
                image, svgs = _render(chart, driver, css, Path(work) / f"{base}.html")
                written.append(atomic_write(out / f"{base}.png",
                                            partial(image.save, format="PNG")))
                for i, svg in enumerate(svgs):
                    suffix = "" if len(svgs) == 1 else f"_{i}"
                    written.append(write_text_atomic(out / f"{base}{suffix}.svg",
                                                     embed_in_svg(svg, css)))
    finally:
        driver.set_window_size(size["width"], size["height"])
    return written


def _render(chart: Any, driver: Any, css: str, page: Path,
            timeout: int = 30) -> tuple[Any, list[str]]:
    """Draw ``chart`` alone in ``page`` (written) and return its PNG image and SVG texts."""
    from bokeh.embed import file_html
    from bokeh.io.export import wait_until_render_complete
    from bokeh.resources import INLINE
    from PIL import Image

    from sdkit.report.fonts import bokeh_template

    template, variables = bokeh_template(css, _EXPORT_CSS)
    write_text_atomic(page, file_html(chart, INLINE, title="", template=template,
                                      template_variables=variables,
                                      suppress_callback_warning=True))
    driver.get(page.as_uri())
    wait_until_render_complete(driver, timeout)
    width, height, ratio = driver.execute_script(_SIZE)
    outer = driver.execute_script("return [window.outerWidth - window.innerWidth, "
                                  "window.outerHeight - window.innerHeight]")
    driver.set_window_size(max(0, outer[0]) + width * ratio + 100,
                           max(0, outer[1]) + height * ratio + 100)
    png = driver.get_screenshot_as_png()
    image = Image.open(io.BytesIO(png)).convert("RGBA").crop(
        (0, 0, round(width * ratio), round(height * ratio)))
    return image, list(driver.execute_script(_SVGS, chart.id))
