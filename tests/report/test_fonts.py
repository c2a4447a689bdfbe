"""The embedded CJK font: coverage of the shipped subset, the rule, every font list.

Without a Chinese font on the reader's machine, a character the embedded font lacks
is a box, and so is text whose font list names the embedded font after a Latin one
(Chromium keeps the boxes it drew while the font loaded; tests/report/test_fonts_browser.py
shows it in a browser). So: the shipped subset has every Chinese character sdkit and
its example ship; a page's rule lists the characters it has; every font list of the
page, the charts, the explorer and the exports names the embedded font first.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.plotting import figure
from conftest import REPO

from sdkit.report.embed import write_embeds
from sdkit.report.fonts import (
    CANVAS_FONT,
    FONT_FAMILY,
    FONT_WAIT_SCRIPT,
    MONO_FONTS,
    PAGE_FONTS,
    bokeh_template,
    document_text,
    font_chars,
    font_face_css,
    is_font_stylesheet,
    missing_chars,
)
from sdkit.report.plot_parts import use_font

#: A character of CJK Extension B: in no GB 2312 subset.
RARE = "\U00020000"


def _shipped_text() -> str:
    """sdkit's sources (its message catalogues) and the example's model, card, scenarios."""
    templates = REPO / "sdkit" / "report" / "briefing" / "templates"
    files = [*(REPO / "sdkit").rglob("*.py"), *templates.glob("*"),
             *(REPO / "models").glob("*.toml"), *(REPO / "models").glob("*.mdl"),
             *(REPO / "models").glob("*.csv"), *(REPO / "scenarios").rglob("*.toml")]
    return "".join(f.read_text("utf-8", errors="replace") for f in files if f.is_file())


def test_the_shipped_font_has_every_chinese_character_sdkit_ships() -> None:
    text = _shipped_text()
    assert "政策简报" in text and "生态化" in text  # the catalogue and the card were read
    assert missing_chars(text) == set()
    assert missing_chars(RARE + "中") == {RARE}  # the check finds what the font lacks


def test_a_missing_character_is_named_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sdkit.report.fonts"):
        css = font_face_css(f"政策{RARE}")
    assert css and RARE in caplog.text and "SDKIT_CJK_FONT" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sdkit.report.fonts"):
        font_face_css("政策简报")
    assert caplog.text == ""


def range_points(css: str) -> set[int]:
    """The code points of a rule's ``unicode-range``."""
    found: set[int] = set()
    value = re.search(r"unicode-range: ([^;]+);", css)
    assert value is not None
    for part in value.group(1).split(", "):
        low, _, high = part.removeprefix("U+").partition("-")
        found.update(range(int(low, 16), int(high or low, 16) + 1))
    return found


def test_the_rule_lists_its_characters_so_latin_keeps_the_readers_font() -> None:
    chinese = font_face_css("政策简报 Policy")
    assert "font-display: swap" in chinese
    points = range_points(chinese)
    assert points >= {ord(c) for c in "政策简报 Pol"}  # Latin text of a Chinese page too
    assert ord("x") not in points  # only the characters of the text
    assert ord(RARE) not in points  # only what the font has
    # an English page with an arrow: the arrow only, Latin stays in Helvetica or Arial
    assert font_chars("Notes ↑") == {"↑"}
    assert range_points(font_face_css("Notes ↑")) == {ord("↑")}
    assert font_chars("plain English · café") == set()


def test_every_font_list_names_the_embedded_font_first() -> None:
    for fonts_ in (CANVAS_FONT, PAGE_FONTS):
        assert fonts_.startswith(f'"{FONT_FAMILY}", ')
    assert MONO_FONTS.endswith(f', "{FONT_FAMILY}"')  # code: Latin monospace, then Chinese
    template = (REPO / "sdkit" / "report" / "briefing" / "templates" / "briefing.html"
                ).read_text("utf-8")
    # the briefing's template takes the wait script from sdkit.report.fonts, and has the
    # code font list
    assert re.search(r"<script>\s*\{\{ font_wait \| safe \}\}\s*</script>", template)
    assert MONO_FONTS in template and FONT_WAIT_SCRIPT.lstrip().startswith("(function")
    assert "--bokeh-base-font: {{ fonts | safe }}" in template


def test_a_bokeh_page_gets_the_font_before_its_charts(tmp_path: Path) -> None:
    fig = figure(title="政策", width=200, height=150)
    fig.line([0, 1], [0, 1], legend_label="基准")
    use_font(fig)
    template, variables = bokeh_template(font_face_css("政策基准"))
    page = file_html(fig, "inline", title="", template=template, template_variables=variables)
    face, bokeh, wait = (page.index(f'@font-face {{ font-family: "{FONT_FAMILY}"'),
                         page.index("Bokeh.set_log_level"), page.index(FONT_WAIT_SCRIPT))
    assert face < bokeh < wait < page.index("embed_items(docs_json")
    assert f"--bokeh-base-font: {PAGE_FONTS}" in page
    assert fig.title.text_font == CANVAS_FONT
    served = figure(title="政策", width=200, height=150)
    served.line([0, 1], [0, 1], legend_label="基准")
    doc = Document()
    doc.add_root(served)
    doc.title = "kept"
    assert "政策" in document_text(doc) and "基准" in document_text(doc)
    assert doc.title == "kept"


def test_embeds_carry_one_font_sheet_however_often_written(tmp_path: Path) -> None:
    fig = figure(title="政策简报", width=200, height=150)
    fig.line([0, 1], [0, 1])
    for _ in range(2):
        files = write_embeds({"chart": fig}, tmp_path, images=False)
    assert sorted(f.name for f in files) == ["chart.html", "chart.json"]
    assert sum(is_font_stylesheet(s) for s in fig.stylesheets) == 1
    assert f'font-family: \\"{FONT_FAMILY}\\"' in (tmp_path / "chart.json").read_text("utf-8")
